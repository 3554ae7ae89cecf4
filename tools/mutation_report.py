"""Summarize a mutmut run of the matcher: `python -m tools.mutation_report [--diff]`.

Reads mutmut's result files (`mutants/pipeline/core/*.py.meta`) and the mutated sources beside
them, and prints, per file and in total: mutants, killed, survived, no tests, timeouts, not yet
checked, and the score over the mutants not reviewed as equivalent (listed, one name per
`### ` heading, in `tests/unit/mutation-survivors.md`). With `--diff`, every surviving mutant
not in that list is printed as a one-line change against the original function, so it can be
reviewed (a test added, or listed as equivalent with why).

Exit code 0 when the score reaches `--min-score` (default 90), 1 below it, 2 without results.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("pipeline/core/matching.py", "pipeline/core/reference.py")
SURVIVORS = ROOT / "tests/unit/mutation-survivors.md"

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", None: "unchecked"}
TIMEOUTS = {24, -24, 152, 255, 36}


def status(code: int | None) -> str:
    if code in TIMEOUTS:
        return "timeout"
    return STATUS.get(code, "other")


def equivalent_names() -> set[str]:
    """Mutant names reviewed as equivalent (`### <name>` headings of mutation-survivors.md)."""
    if not SURVIVORS.exists():
        return set()
    return set(re.findall(r"^### `?([\w.ǁ]+)`?", SURVIVORS.read_text(encoding="utf-8"), re.M))


def function_sources(path: Path) -> dict[str, str]:
    """Each function of a mutated file by name (`x_name__mutmut_3`, `x_name__mutmut_orig`)."""
    text = path.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    starts = [m for m in re.finditer(r"^(?:    )?def (\w+)\(", text, re.M)]
    for m, nxt in zip(starts, [*starts[1:], None], strict=True):
        end = nxt.start() if nxt else len(text)
        body = text[m.start() : end]
        # stop at the trampoline table that follows each group of mutants
        body = body.split("\nmutants_", 1)[0].split("\nclass ", 1)[0]
        out[m.group(1)] = body
    return out


def change(sources: dict[str, str], mutant: str) -> str:
    """The changed lines of a mutant against its original, on one line."""
    local = mutant.rsplit(".", 1)[-1]
    original = sources.get(re.sub(r"__mutmut_\d+$", "__mutmut_orig", local), "")
    mutated = sources.get(local, "")
    lines = [
        line
        for line in difflib.unified_diff(
            original.splitlines()[1:], mutated.splitlines()[1:], lineterm="", n=0
        )
        if line[:1] in "-+" and not line.startswith(("---", "+++"))
    ]
    return "  |  ".join(" ".join(line.split()) for line in lines) or "(no textual change found)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diff", action="store_true", help="show unreviewed surviving mutants")
    parser.add_argument("--min-score", type=float, default=90.0)
    args = parser.parse_args()
    equivalent = equivalent_names()
    total: Counter[str] = Counter()
    unreviewed: list[tuple[str, str]] = []
    seen: dict[str, str] = {}  # every mutant of the run and its status
    for name in FILES:
        meta = ROOT / "mutants" / f"{name}.meta"
        if not meta.exists():
            print(f"No mutmut results for {name}: run `make mutation` first.", file=sys.stderr)
            return 2
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        sources = function_sources(ROOT / "mutants" / name)
        counts: Counter[str] = Counter()
        for mutant, code in sorted(codes.items()):
            kind = status(code)
            seen[mutant] = kind
            if kind in ("survived", "no tests", "timeout") and mutant in equivalent:
                kind = "equivalent"
            counts[kind] += 1
            if kind in ("survived", "no tests"):
                unreviewed.append((mutant, change(sources, mutant)))
        counts["total"] = len(codes)
        total.update(counts)
        print(f"{name}: {_line(counts)}")
    print(f"all: {_line(total)}")
    if args.diff:
        for mutant, diff in unreviewed:
            print(f"{mutant}: {diff}")
    # A listed name that no longer survives points at nothing, or (after its function changed
    # and mutmut renumbered it) at another edit: review the list for the functions named here.
    stale = sorted(n for n in equivalent if seen.get(n) not in ("survived", "no tests", "timeout"))
    for mutant in stale:
        print(f"listed as equivalent but {seen.get(mutant, 'not a mutant of this run')}: {mutant}")
    scored = total["total"] - total["equivalent"] - total["unchecked"]
    score = 100.0 * (total["killed"] + total["timeout"]) / scored if scored else 0.0
    print(
        f"score: {score:.1f} % of {scored} non-equivalent checked mutants killed "
        f"(timeouts count as killed; {total['unchecked']} not checked yet)"
    )
    return 0 if score >= args.min_score and not total["unchecked"] else 1


def _line(counts: Counter[str]) -> str:
    return ", ".join(
        f"{counts[k]} {k}"
        for k in ("total", "killed", "timeout", "survived", "no tests", "equivalent", "unchecked")
        if k == "total" or counts[k]
    )


if __name__ == "__main__":
    sys.exit(main())
