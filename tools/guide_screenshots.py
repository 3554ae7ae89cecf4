"""Screenshots for docs/guide-equipe.md: the demo workbook as LibreOffice shows it.

Builds the demo in a temporary folder (synthetic data, nothing leaves it), runs the pipeline as
`make demo` does, types a few staff decisions as the team would, runs once more, then renders
parts of each output sheet through LibreOffice (headless, to PDF) and poppler (to PNG), cropped
to what is printed. Needs `soffice` (apt-get install libreoffice-calc) and `pdftoppm`
(poppler-utils); no Python imaging library.

    .venv/bin/python scripts/guide_screenshots.py            # writes docs/images/*.png
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.entry.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("2026-03-20T10:00", "2026-05-05T10:00")
AFTER_DECISIONS = "2026-05-06T10:00"
DPI = 100
MARGIN = 12  # pixels kept around the printed content


def config(folder: Path) -> Path:
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    path = folder / "demo.toml"
    path.write_text(text.replace("demo/out/", f"{folder}/"), encoding="utf-8")
    return path


def header_index(sheet: Any) -> dict[str, int]:
    return {str(cell.value): cell.column for cell in sheet[1] if cell.value}


def staff_decisions(book: Path, cohort: str) -> None:
    """What the team types after the opening: decisions, notes, one value off the list."""
    from openpyxl import load_workbook

    workbook = load_workbook(book)
    sheet = workbook[cohort]
    col = header_index(sheet)
    by_status: dict[str, list[int]] = {}
    for row in range(2, sheet.max_row + 1):
        status = sheet.cell(row=row, column=col["Statut"]).value
        by_status.setdefault(str(status), []).append(row)
    placed, waiting = by_status["Inscrit·e"], by_status["Liste d'attente"]
    edits = [
        (placed[0], "Refusé", "Mandat terminé : ne peut pas suivre la formation"),
        (placed[1], "Désisté", "Désistement par courriel du 4 mai"),
        (placed[2], "Accepté", "Appelée le 2 mai : confirme sa venue"),
        (waiting[0], "Accepté", "Priorité : délégation aux relations internationales"),
        (waiting[1], "peut-être", ""),
    ]
    for row, decision, note in edits:
        sheet.cell(row=row, column=col["Décision CUF"]).value = decision
        if note:
            sheet.cell(row=row, column=col["Notes CUF"]).value = note
    workbook.save(book)


def only(book: Path, target: Path, name: str, prepare: Callable[[Any], str]) -> None:
    """A copy of the workbook holding the sheet `name` alone, set up to print what `prepare`
    keeps (it hides rows and columns and returns the print area) on one landscape page."""
    from openpyxl import load_workbook
    from openpyxl.worksheet.properties import PageSetupProperties

    workbook = load_workbook(book)
    for sheet in list(workbook.worksheets):
        if sheet.title != name:
            workbook.remove(sheet)
    sheet = workbook[name]
    sheet.print_area = prepare(sheet)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.print_options.gridLines = True
    sheet.print_options.headings = True
    for side in ("left", "right", "top", "bottom"):
        setattr(sheet.page_margins, side, 0.3)
    workbook.save(target)


def hide_columns(sheet: Any, names: set[str]) -> None:
    from openpyxl.utils import get_column_letter

    for title, number in header_index(sheet).items():
        if title in names:
            sheet.column_dimensions[get_column_letter(number)].hidden = True


def keep_rows(sheet: Any, rows: set[int]) -> None:
    for row in range(2, sheet.max_row + 1):
        if row not in rows:
            sheet.row_dimensions[row].hidden = True


def cohort_view(sheet: Any) -> str:
    """Identity, eligibility, status, rank and the team's columns; a few rows of each status."""
    hide_columns(
        sheet,
        {"Courriel", "Téléphone", "Fonction", "Collectivité (saisie)", "Correspondance",
         "Première réponse", "Dernière réponse", "Réponses", "Courriels envoyés"},
    )  # fmt: skip
    col = header_index(sheet)
    chosen: set[int] = set()
    seen: dict[str, int] = {}
    for row in range(2, sheet.max_row + 1):
        status = str(sheet.cell(row=row, column=col["Statut"]).value)
        decided = sheet.cell(row=row, column=col["Décision CUF"]).value
        if decided or seen.get(status, 0) < 2:
            chosen.add(row)
            seen[status] = seen.get(status, 0) + 1
    keep_rows(sheet, chosen)
    return f"A1:T{max(chosen)}"


def review_view(sheet: Any) -> str:
    """One row per reason, the key and the ID hidden."""
    hide_columns(sheet, {"Réf.", "ID"})
    col = header_index(sheet)
    chosen: set[int] = set()
    reasons: set[str] = set()
    for row in range(2, sheet.max_row + 1):
        reason = str(sheet.cell(row=row, column=col["Motif"]).value)
        if reason not in reasons:
            reasons.add(reason)
            chosen.add(row)
    keep_rows(sheet, chosen)
    return f"A1:H{max(chosen)}"


def dashboard_view(sheet: Any) -> str:
    return f"A1:L{max(sheet.max_row, 36)}"


SHOTS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("promotion", "cohort", cohort_view),
    ("a-verifier", "review", review_view),
    ("tableau-de-bord", "dashboard", dashboard_view),
)


def ppm_bbox(path: Path) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of what is not white in a binary PPM (P6) image."""
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    width, height, body = int(parts[1]), int(parts[2]), parts[4]
    stride = width * 3
    left, top, right, bottom = width, height, -1, -1
    for y in range(height):
        line = body[y * stride : (y + 1) * stride]
        if line.count(b"\xff") == stride:
            continue
        top, bottom = min(top, y), y
        first = next(x for x in range(width) if line[3 * x : 3 * x + 3] != b"\xff\xff\xff")
        last = next(
            x for x in range(width - 1, -1, -1) if line[3 * x : 3 * x + 3] != b"\xff\xff\xff"
        )
        left, right = min(left, first), max(right, last)
    return left, top, right, bottom


def render(workbook: Path, out: Path, work: Path) -> None:
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(workbook)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pdf = work / (workbook.stem + ".pdf")
    raw = work / workbook.stem
    common = ["pdftoppm", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run([*common, str(pdf), str(raw)], check=True)
    left, top, right, bottom = ppm_bbox(raw.with_suffix(".ppm"))
    x, y = max(left - MARGIN, 0), max(top - MARGIN, 0)
    size = ["-W", str(right - left + 2 * MARGIN), "-H", str(bottom - top + 2 * MARGIN)]
    subprocess.run(
        [*common, "-png", "-x", str(x), "-y", str(y), *size, str(pdf), str(out.with_suffix(""))],
        check=True,
    )


def main(argv: list[str]) -> int:
    from pipeline.config import load_settings
    from tools.demodata import write_workbook

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("soffice", "pdftoppm") if shutil.which(tool) is None]
    if missing:
        print(
            f"missing {', '.join(missing)}: apt-get install libreoffice-calc poppler-utils",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
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
        staff_decisions(book, settings.cohort.name)
        if cli(["run", "--config", str(path), "--as-of", AFTER_DECISIONS]):
            return 1
        names = {
            "cohort": settings.cohort.name,
            "review": settings.sheets.review,
            "dashboard": settings.sheets.dashboard,
        }
        for image, sheet, prepare in SHOTS:
            copy = work / f"{image}.xlsx"
            only(book, copy, names[sheet], prepare)
            render(copy, args.out / f"{image}.png", work)
            print(f"wrote {(args.out / image).with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
