"""Screenshots of `Sessions`, `Émargement` and `Certificats` for docs/guide-equipe.md.

Builds the demo in a temporary folder (synthetic data) as `make demo` does, sessions and
attendance included, then prints a few rows of each sheet through LibreOffice and poppler, as
tools/guide_screenshots.py does for the other sheets (same tools needed).

    .venv/bin/python -m tools.session_screenshots          # writes docs/images/*.png
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.entry.cli import main as cli
from tools.demo_sessions import after_registration
from tools.guide_screenshots import (
    ROOT,
    RUNS,
    config,
    header_index,
    hide_columns,
    keep_rows,
    only,
    render,
)


def sessions_view(sheet: Any) -> str:
    return f"A1:H{sheet.max_row}"


def attendance_view(sheet: Any) -> str:
    """The first rows, the mistyped mark among them."""
    hide_columns(sheet, {"ID"})
    col = header_index(sheet)
    chosen = set(range(2, 9))
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row=row, column=col["T1"]).value == "Présnt":
            chosen.add(row)
    keep_rows(sheet, chosen)
    return f"A1:M{max(chosen)}"


def certificates_view(sheet: Any) -> str:
    """Each Statut once or twice: Envoyé, Refusé, Non atteint."""
    hide_columns(sheet, {"ID"})
    col = header_index(sheet)
    seen: dict[str, int] = {}
    chosen: set[int] = set()
    for row in range(2, sheet.max_row + 1):
        status = str(sheet.cell(row=row, column=col["Statut"]).value)
        if seen.get(status, 0) < 2:
            seen[status] = seen.get(status, 0) + 1
            chosen.add(row)
    keep_rows(sheet, chosen)
    return f"A1:M{max(chosen)}"


SHOTS = (
    ("sessions", "Sessions", sessions_view),
    ("emargement", "Émargement", attendance_view),
    ("certificats", "Certificats", certificates_view),
)


def main(argv: list[str]) -> int:
    from pipeline.config import load_settings
    from tools.demodata import write_workbook

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("soffice", "pdftoppm") if shutil.which(tool) is None]
    if missing:
        print(f"missing {', '.join(missing)}: apt-get install libreoffice-calc poppler-utils",
              file=sys.stderr)  # fmt: skip
        return 2
    with tempfile.TemporaryDirectory(prefix="diplomates-shots-") as temp:
        work = Path(temp)
        path = config(work)
        settings = load_settings(path)
        book = settings.spreadsheet.workbook
        assert book is not None
        write_workbook(book)
        for as_of in RUNS:
            if cli(["run", "--config", str(path), "--as-of", as_of]):
                return 1
        if after_registration(cli, path, book):
            return 1
        for image, sheet, prepare in SHOTS:
            copy = work / f"{image}.xlsx"
            only(book, copy, sheet, prepare)
            render(copy, args.out / f"{image}.png", work)
            print(f"wrote {(args.out / image).with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
