"""`make demo`: generate the synthetic workbook when missing, run twice, say where to look.

On a new workbook, run 1 is the interest phase (before registration opens) and run 2 replays a
day after closing (`--as-of`), so placement, the waiting list and late answers all show. Run it
again: one run at that same moment finds nothing to do and writes nothing (idempotence), and the
summary is the same. Pass `--fresh` to start over from a new workbook, ledger and outbox.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from pathlib import Path

from pipeline.config import load_settings
from pipeline.entry.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "demo.toml"
RUNS = ("2026-03-20T10:00", "2026-05-05T10:00")


def summary() -> None:
    from openpyxl import load_workbook

    settings = load_settings(CONFIG)
    book = settings.spreadsheet.workbook
    outbox = settings.email.outbox
    assert book is not None and outbox is not None
    workbook = load_workbook(book, read_only=True)
    cohort = list(workbook[settings.cohort.name].iter_rows(values_only=True))
    header = list(cohort[0])
    statuses = Counter(row[header.index("Statut")] for row in cohort[1:] if row[0])
    review = list(workbook[settings.sheets.review].iter_rows(values_only=True))
    reasons = Counter(row[5] for row in review[1:] if row[0])
    mails = Counter(p.name.split(".")[0] for p in outbox.glob("*.eml"))
    rel_book, rel_outbox = book.relative_to(ROOT), outbox.relative_to(ROOT)
    print()
    print("=== Démo terminée / Demo finished ===")
    print(f"Classeur / workbook : {rel_book}")
    print(f"  « {settings.cohort.name} » : {sum(statuses.values())} personnes / people")
    for status, count in statuses.most_common():
        print(f"    {status:20} {count}")
    print(f"  « {settings.sheets.review} » : {sum(reasons.values())} points / items to review")
    for reason, count in reasons.most_common():
        print(f"    {reason:28} {count}")
    print(f"Courriels / emails : {sum(mails.values())} fichiers .eml dans {rel_outbox}/")
    for template, count in mails.most_common():
        print(f"    {template:22} {count}")
    print("Ouvrez le classeur dans LibreOffice ou Excel, et un .eml dans un client de messagerie.")
    print("Open the workbook in LibreOffice or Excel, and any .eml file in a mail client.")


def main(argv: list[str]) -> int:
    from tools.demodata import write_workbook

    # logs as text lines even when the output is piped (JSON is for schedulers, not a reader)
    os.environ.setdefault("DIPLOMATES_LOG_FORMAT", "text")

    settings = load_settings(CONFIG)
    book = settings.spreadsheet.workbook
    assert book is not None
    out = book.parent
    if "--fresh" in argv and out.exists():
        shutil.rmtree(out)
    from tools.demo_sessions import (  # sessions, attendance, certificates
        LAST_RUN,
        after_registration,
    )

    runs, fresh = [LAST_RUN], False
    if not book.exists():
        out.mkdir(parents=True, exist_ok=True)
        write_workbook(book)
        print(f"generated {book.relative_to(ROOT)} (synthetic data)")
        runs, fresh = list(RUNS), True
    for as_of in runs:
        print(f"$ diplomates run --config config/demo.toml --as-of {as_of}")
        code = cli(["run", "--config", str(CONFIG), "--as-of", as_of])
        if code:
            return code
    if fresh and after_registration(cli, CONFIG, book):
        return 1
    summary()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
