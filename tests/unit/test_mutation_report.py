"""`tools/mutation_report.py`, the summary of a `make mutation` run: the score leaves out the
mutants reviewed as equivalent, names the unreviewed survivors and the stale listings, and exits
non-zero under the minimum score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import mutation_report

ORIGINAL = """def x_rule__mutmut_orig(a):
    return a < 3
def x_rule__mutmut_1(a):
    return a <= 3
def x_rule__mutmut_2(a):
    return a < 4
def x_rule__mutmut_3(a):
    return a > 3
"""


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake checkout: one mutated file with three mutants (two survived, one killed)."""
    core = tmp_path / "mutants" / "pipeline" / "core"
    core.mkdir(parents=True)
    (core / "matching.py").write_text(ORIGINAL, encoding="utf-8")
    codes = {
        "pipeline.core.matching.x_rule__mutmut_1": 0,
        "pipeline.core.matching.x_rule__mutmut_2": 0,
        "pipeline.core.matching.x_rule__mutmut_3": 1,
    }
    (core / "matching.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    monkeypatch.setattr(mutation_report, "ROOT", tmp_path)
    monkeypatch.setattr(mutation_report, "FILES", ("pipeline/core/matching.py",))
    monkeypatch.setattr(mutation_report, "SURVIVORS", tmp_path / "survivors.md")
    return tmp_path


def report(
    run: Path, capsys: pytest.CaptureFixture[str], listed: str, *args: str
) -> tuple[int, str, str]:
    """Run the report with `listed` as the survivors file: exit code, stdout, stderr."""
    (run / "survivors.md").write_text(listed, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.argv", ["mutation_report", *args])
        code = mutation_report.main()
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_score_leaves_out_the_listed_equivalents(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One killed, one survivor listed as equivalent, one not: 1 of 2 scored mutants, 50 %."""
    code, out, _ = report(run, capsys, "### pipeline.core.matching.x_rule__mutmut_2\n", "--diff")
    assert "3 total, 1 killed, 1 survived, 1 equivalent" in out
    assert "score: 50.0 % of 2 non-equivalent checked mutants killed" in out
    assert "pipeline.core.matching.x_rule__mutmut_1: - return a < 3  |  + return a <= 3" in out
    assert "x_rule__mutmut_2:" not in out
    assert code == 1


def test_every_survivor_reviewed_reaches_the_minimum(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With both survivors listed, the one killed mutant is all that is scored: 100 %, exit 0."""
    listed = (
        "### pipeline.core.matching.x_rule__mutmut_1\n### pipeline.core.matching.x_rule__mutmut_2\n"
    )
    code, out, _ = report(run, capsys, listed)
    assert "score: 100.0 % of 1 non-equivalent" in out
    assert code == 0


def test_a_listed_mutant_that_no_longer_survives_is_named(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A listing that points at a killed mutant or at none is stale: the report says which."""
    listed = (
        "### pipeline.core.matching.x_rule__mutmut_3\n### pipeline.core.matching.x_gone__mutmut_9\n"
    )
    _, out, _ = report(run, capsys, listed, "--diff")
    assert "listed as equivalent but killed: pipeline.core.matching.x_rule__mutmut_3" in out
    assert (
        "listed as equivalent but not a mutant of this run: pipeline.core.matching.x_gone__mutmut_9"
        in out
    )


def test_without_results_it_says_to_run_mutmut_first(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No `.meta` file: exit 2 and the command to run."""
    (run / "mutants" / "pipeline" / "core" / "matching.py.meta").unlink()
    code, _, err = report(run, capsys, "")
    assert code == 2
    assert "run `make mutation` first" in err
