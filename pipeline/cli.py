"""The `diplomates` command. Turns PipelineError into one clear paragraph and an exit code."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.errors import ConfigError, PipelineError

PARIS = ZoneInfo("Europe/Paris")


def _as_of(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO date-time; use e.g. 2026-04-02T09:00 (Europe/Paris if no offset)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diplomates",
        description="Sync the 'Diplomates des territoires' form answers into the cohort sheets "
        "and send the confirmation emails.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the pipeline once")
    run.add_argument("--config", required=True, type=Path, help="TOML config file")
    run.add_argument("--dry-run", action="store_true", help="write nothing, send nothing; print")
    run.add_argument("--as-of", type=_as_of, metavar="ISO-DATETIME", help="run as if at that time")

    status = commands.add_parser("status", help="show the last runs and the message ledger")
    status.add_argument("--config", required=True, type=Path, help="TOML config file")
    return parser


def _print_plan(report: object) -> None:
    from pipeline.run import RunReport

    assert isinstance(report, RunReport)
    for sheet in report.plan.sheets:
        rows = len({c.row for c in sheet.cells})
        created = " (new sheet)" if sheet.create else ""
        print(f"  sheet '{sheet.sheet}'{created}: {len(sheet.cells)} cells in {rows} rows")
    templates = Counter(t.value for _, t in report.due)
    for template, count in sorted(templates.items()):
        print(f"  email {template}: {count}")


def command_run(args: argparse.Namespace) -> int:
    from pipeline.config import load_settings
    from pipeline.run import Runner

    settings = load_settings(args.config)
    report = Runner(settings).run(now=args.as_of, dry_run=args.dry_run)
    counts = report.counts
    when = report.now.astimezone(PARIS).strftime("%Y-%m-%d %H:%M %Z")
    if args.dry_run:
        print(f"dry run as of {when}: nothing written, nothing sent. Would change:")
        if report.plan.empty and not report.due:
            print("  nothing")
        _print_plan(report)
        return 0
    if not report.changed:
        print(f"run {report.run_id} as of {when}: nothing to do ({counts['rows_read']} rows read).")
        return 0
    print(
        f"run {report.run_id} as of {when}: {counts['rows_read']} rows read, "
        f"{counts['new']} new, {counts['updated']} updated, {counts['anomalies']} to review, "
        f"{counts['emails_sent']} emails sent, {counts['emails_failed']} refused."
    )
    return 0


def command_status(args: argparse.Namespace) -> int:
    from pipeline.adapters.state import StateStore
    from pipeline.config import load_settings

    settings = load_settings(args.config)
    store = StateStore(settings.state.url)
    runs = store.last_runs(10)
    if not runs:
        print("no run recorded yet")
    for record in runs:
        started = record.started_at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
        counts = " ".join(f"{k}={v}" for k, v in record.counts.items() if v)
        line = f"{started}  {record.id}  {record.outcome:8}  {counts}"
        print(line + (f"  error: {record.error}" if record.error else ""))
    states = store.count_by_state()
    print("messages: " + (", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "none"))
    holder = store.lock_holder()
    print(
        f"lock: held by {holder[0]} until {holder[1]:%Y-%m-%d %H:%M:%S} UTC"
        if holder
        else "lock: free"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handlers = {"run": command_run, "status": command_status}
    try:
        return handlers[args.command](args)
    except PipelineError as exc:
        if args.debug:
            raise
        kind = "configuration error" if isinstance(exc, ConfigError) else "error"
        print(f"diplomates: {kind}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("diplomates: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"diplomates: error: unexpected {type(exc).__name__}: {exc}. "
            "Rerun with --debug for the traceback.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
