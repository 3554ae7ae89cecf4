"""Wall time and peak memory of a first run and an idle rerun, against the bare openpyxl floor.

The floor is what any tool pays to touch the workbook: openpyxl loading it and saving it again.
Each measurement runs in its own process (peak RSS from os.wait4). Figures, not assertions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[spreadsheet]
backend = "local"
workbook = "{dir}/bench.xlsx"
[email]
outbox = "{dir}/outbox"
sender = "diplomates@cites-unies-france.org"
reply_to = "diplomates@cites-unies-france.org"
[cohort]
capacity = 60
registration_opens = 2026-03-30T09:00:00+02:00
registration_closes = 2026-04-30T23:59:59+02:00
[programme]
contact_email = "diplomates@cites-unies-france.org"
[state]
url = "sqlite:///{dir}/state.sqlite"
"""
FLOOR = "from openpyxl import load_workbook; import sys; wb = load_workbook(sys.argv[1]); wb.save(sys.argv[1])"


def measure(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(args)}")
    return elapsed, usage.ru_maxrss / 1024


def bench(answers: int, members: int) -> None:
    with tempfile.TemporaryDirectory(prefix="diplomates-bench-") as folder:
        directory = Path(folder)
        config = directory / "bench.toml"
        config.write_text(CONFIG.format(dir=directory), encoding="utf-8")
        book = directory / "bench.xlsx"
        subprocess.run(
            [sys.executable, "-m", "tools.demodata", "--out", str(book),
             "--answers", str(answers), "--members", str(members), "--seed", "7"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        floor, floor_mb = measure([sys.executable, "-c", FLOOR, str(book)])
        run = [sys.executable, "-m", "pipeline", "run", "--config", str(config),
               "--as-of", "2026-05-05T10:00"]  # fmt: skip
        first, first_mb = measure(run)
        idle, idle_mb = measure(run)
        mails = len(list((directory / "outbox").glob("*.eml")))
        print(
            f"{answers:>6} answers x {members} members: floor {floor:6.2f} s ({floor_mb:4.0f} MB) | "
            f"first run {first:6.2f} s = {first / floor:4.2f}x floor ({first_mb:4.0f} MB, "
            f"{mails} emails, {answers / first:5.0f} rows/s) | "
            f"idle rerun {idle:6.2f} s = {idle / floor:4.2f}x floor ({idle_mb:4.0f} MB)"
        )


def main() -> None:
    print("== pipeline runs on the local workbook (targets: first <= 1.5x, idle <= 1.2x, < 500 MB)")
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000").split(",")]
    for answers in sizes:
        bench(answers, 1000)


if __name__ == "__main__":
    main()
