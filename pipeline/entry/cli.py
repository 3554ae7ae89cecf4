"""The `diplomates` command. Turns PipelineError into one clear paragraph and an exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import logs
from pipeline.core.errors import ConfigError, PipelineError, UsageError
from pipeline.core.vocabulary import PARIS, TROUBLED, UNSENT, MessageState

if TYPE_CHECKING:
    from pipeline.adapters.state.store import StateStore
    from pipeline.config import Settings

CONFIG_ENV = "DIPLOMATES_CONFIG"
CONFIG_HELP = f"TOML config file (default: the file named by ${CONFIG_ENV})"


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
    run.add_argument("--config", type=Path, help=CONFIG_HELP)
    run.add_argument("--dry-run", action="store_true", help="write nothing, send nothing; print")
    run.add_argument("--as-of", type=_as_of, metavar="ISO-DATETIME", help="run as if at that time")
    run.add_argument(
        "--force", action="store_true",
        help="go on even when the inputs look wrong (see [safety] in docs/exploitation.md)",
    )  # fmt: skip

    status = commands.add_parser("status", help="show the last runs and the message ledger")
    status.add_argument("--config", type=Path, help=CONFIG_HELP)

    schedule = commands.add_parser(
        "schedule", help="run on the schedule in config ([schedule]), one run at a time"
    )
    schedule.add_argument("--config", type=Path, help=CONFIG_HELP)

    resend = commands.add_parser(
        "resend", help="send again, on purpose, an email flagged incertain (or refused)"
    )
    resend.add_argument("--config", type=Path, help=CONFIG_HELP)
    resend.add_argument("--message", metavar="ID", help="message id, as `status` lists it")
    resend.add_argument("--person", metavar="ID", help="person ID (cohort sheet), with --template")
    resend.add_argument("--template", metavar="NAME", help="e.g. accuse_reception")
    resend.add_argument("--as-of", type=_as_of, metavar="ISO-DATETIME", help="run as if then")

    preview = commands.add_parser(
        "preview", help="write one email (subject, text, HTML, .eml) to proofread it"
    )
    preview.add_argument("template", metavar="TEMPLATE", help="e.g. inscription_confirmee")
    preview.add_argument("--config", type=Path, help=CONFIG_HELP)
    preview.add_argument("--email", metavar="ADDRESS", help="a real person's data (else sample)")
    preview.add_argument("--out", required=True, type=Path, help="folder for the four files")
    preview.add_argument("--as-of", type=_as_of, metavar="ISO-DATETIME", help="render as if then")
    sessions = commands.add_parser("sessions", help="the Sessions sheet (after registration)")
    sessions.add_argument("action", choices=["init"], help="init: create the empty sheet")
    sessions.add_argument("--config", required=True, type=Path, help="TOML config file")
    verify = commands.add_parser("verify", help="say whose document a verification code is")
    verify.add_argument("code", metavar="CODE", help="e.g. DT26-7K4M-Q9ZP")
    verify.add_argument("--config", required=True, type=Path, help="TOML config file")
    _privacy_commands(commands)
    for command in commands.choices.values():  # `diplomates run --debug` works as well
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS,
            help="show tracebacks and debug logs",
        )  # fmt: skip
    return parser


def _privacy_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`export`, `erase` and `purge`: personal data (docs/donnees-personnelles.md)."""
    export = commands.add_parser(
        "export", help="print everything held about a person (GDPR access request)"
    )
    export.add_argument("email", metavar="EMAIL", help="the person's email address")
    export.add_argument("--config", type=Path, help=CONFIG_HELP)
    export.add_argument(
        "--format", choices=("text", "json"), default="text", help="French text or JSON"
    )
    export.add_argument(
        "--include-messages", action="store_true", help="also print each email's full content"
    )
    erase = commands.add_parser(
        "erase", help="erase a person everywhere the pipeline writes (dry run without --yes)"
    )
    erase.add_argument("email", metavar="EMAIL", help="the person's email address")
    erase.add_argument("--config", type=Path, help=CONFIG_HELP)
    erase.add_argument(
        "--include-source", action="store_true",
        help="also clear their rows in the form responses sheet (else: skipped by later runs)",
    )  # fmt: skip
    erase.add_argument("--yes", action="store_true", help="erase for real (default: dry run)")
    purge = commands.add_parser(
        "purge", help="apply privacy.retention_days now and compact the state database"
    )
    purge.add_argument("--config", type=Path, help=CONFIG_HELP)
    purge.add_argument("--as-of", type=_as_of, metavar="ISO-DATETIME", help="purge as if then")


def _print_plan(report: object) -> None:
    from pipeline.app.dry_run import change_lines, message_lines
    from pipeline.app.run import RunReport

    assert isinstance(report, RunReport)
    for sheet in report.plan.sheets:
        if sheet.empty:
            continue
        rows = len({c.row for c in sheet.cells})
        created = " (new sheet)" if sheet.create else ""
        layout = ", and its layout (formatting)" if sheet.layout is not None else ""
        print(f"  sheet '{sheet.sheet}'{created}: {len(sheet.cells)} cells in {rows} rows{layout}")
        for line in change_lines(sheet, report.before.get(sheet.sheet)):
            print(f"    {line}")
    templates = Counter(t.value for _, t in report.due)
    for template, count in sorted(templates.items()):
        print(f"  message {template}: {count} to send")
    for line in message_lines(report.due, report.addresses):
        print(f"    {line}")


def command_run(args: argparse.Namespace) -> int:
    import threading

    from pipeline.app.run import RunInterrupted, Runner
    from pipeline.config import load_settings
    from pipeline.entry.schedule import stop_on_signals

    settings = load_settings(args.config)
    stop = threading.Event()  # SIGTERM/SIGINT: finish the step in progress, then stop cleanly

    def pause(seconds: float) -> None:  # email pacing, cut short by a stop request
        stop.wait(seconds)

    try:
        with stop_on_signals(lambda signum: stop.set()):
            report = Runner(settings, stop=stop, sleep=pause).run(
                now=args.as_of, dry_run=args.dry_run, force=args.force
            )
    except RunInterrupted as exc:
        print(f"diplomates: {exc}.", file=sys.stderr)
        return 0
    counts = report.counts
    when = report.now.astimezone(PARIS).strftime("%Y-%m-%d %H:%M %Z")
    if args.dry_run:
        if report.guarded:
            print(
                "the sanity guard would refuse this run without --force: "
                + "; ".join(report.guarded)
            )
        print(f"dry run as of {when}: nothing written, nothing sent. Would change:")
        if report.plan.empty and not report.due:
            print("  nothing")
        _print_plan(report)
        return 0
    if not report.changed:
        skipped = counts.get("erased_skipped", 0)
        erased = f", {skipped} erased answers skipped" if skipped else ""
        read = f"{counts['rows_read']} rows read{erased}"
        print(f"run {report.run_id} as of {when}: nothing to do ({read}).")
        return 0
    print(
        f"run {report.run_id} as of {when}: {counts['rows_read']} rows read, "
        f"{counts['new']} new, {counts['updated']} updated, {counts['anomalies']} to review, "
        f"{counts['emails_sent']} emails sent, {counts['emails_failed']} refused"
        + "".join(
            f", {counts.get(key, 0)} {label}"
            for key, label in (
                ("emails_waiting", "waiting"),
                ("emails_uncertain", "uncertain"),
                ("emails_cancelled", "cancelled (consent withdrawn)"),
                ("erased_skipped", "erased answers skipped"),
                ("emails_recovered", "sent emails found in the sheet or outbox (ledger rebuilt)"),
            )
            if counts.get(key, 0)
        )
        + "."
    )
    return 0


def command_status(args: argparse.Namespace) -> int:
    from pipeline.adapters.state.store import StateStore
    from pipeline.config import load_settings

    settings = load_settings(args.config)
    store = StateStore(settings.state.url)
    _print_status(settings, store)
    check = store.find_messages(cohort=settings.cohort.name, states=TROUBLED)
    for message in check:
        state = "uncertain" if message.state == MessageState.INCERTAIN else message.state
        what = f"{state:9}  {message.template.value:21}  {message.person_id}"
        print(f"  {what}  {message.message_id}")
    if check:
        print(f"resend one on purpose: diplomates resend --config {args.config} --message ID")
    return 0


def _print_status(settings: Settings, store: StateStore) -> None:
    """Last runs, the ledger by state, the lock and the next scheduled run; ids, no names."""
    from datetime import UTC

    from pipeline.entry.schedule import describe, next_run

    runs = store.last_runs(10)
    print("last runs (Europe/Paris):" if runs else "no run recorded yet")
    for record in runs:
        started = record.started_at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
        took = (
            f"{(record.finished_at - record.started_at).total_seconds():7.1f} s"
            if record.finished_at
            else "      -  "
        )
        counts = " ".join(f"{k}={v}" for k, v in record.counts.items() if v)
        line = f"  {started}  {record.id}  {record.outcome:11} {took}  {counts}".rstrip()
        print(line + (f"  error: {record.error}" if record.error else ""))
    states = store.count_by_state()
    count = {state: states.get(state, 0) for state in MessageState}
    waiting = sum(count[state] for state in UNSENT)
    print(
        f"messages: {waiting} waiting (pending {count[MessageState.PENDING]}, retry "
        f"{count[MessageState.RETRY]}), {count[MessageState.FAILED]} failed, "
        f"{count[MessageState.INCERTAIN]} uncertain, {count[MessageState.SENDING]} sending, "
        f"{count[MessageState.SENT]} sent"
    )
    holder = store.lock_holder()
    alive = store.lock_alive()
    now = datetime.now(UTC)
    if alive:
        who = holder[0] if holder else "a run starting now"
        print(f"lock: held by {who} (alive: it holds {store.lock_kind()})")
    elif holder is None:
        print("lock: free")
    elif alive is False:
        print(f"lock: free (left by {holder[0]}, a run that was killed; the next run clears it)")
    else:
        late = "  (lease expired: the next run takes it over)" if holder[1] < now else ""
        print(f"lock: held by {holder[0]} until {holder[1]:%Y-%m-%d %H:%M:%S} UTC{late}")
    schedule = settings.schedule
    upcoming = next_run(schedule, now)
    when = upcoming.strftime("%Y-%m-%d %H:%M:%S %Z") if upcoming else "none"
    print(f"next scheduled run: {when}, {describe(schedule)}, while `diplomates schedule` runs")


def command_schedule(args: argparse.Namespace) -> int:
    from pipeline.config import load_settings
    from pipeline.entry.schedule import Scheduler

    return Scheduler(load_settings(args.config)).serve()


def command_resend(args: argparse.Namespace) -> int:
    from pipeline.app.mail_commands import resend, template_named
    from pipeline.config import load_settings

    settings = load_settings(args.config)
    template = template_named(args.template) if args.template else None
    if bool(args.message) == bool(args.person) or bool(args.person) != bool(template):
        raise UsageError("say which message: --message ID, or --person ID with --template NAME")
    outcome = resend(
        settings, message_id=args.message, person_id=args.person, template=template, now=args.as_of
    )
    if not outcome.ran:
        print(f"message {outcome.message_id} queued again; a run is in progress and sends it next.")
    elif outcome.state == MessageState.SENT:
        print(f"message {outcome.message_id} sent again.")
    else:
        print(f"message {outcome.message_id} queued again, now '{outcome.state}' (see status).")
    return 0


def command_preview(args: argparse.Namespace) -> int:
    from pipeline.app.mail_commands import preview, template_named
    from pipeline.config import load_settings

    settings = load_settings(args.config)
    written = preview(
        settings, template_named(args.template), args.out, email=args.email, now=args.as_of
    )
    for path in written:
        print(path)
    return 0


def command_sessions(args: argparse.Namespace) -> int:
    from pipeline.app.programme_commands import sessions_init
    from pipeline.config import load_settings

    print(sessions_init(load_settings(args.config)))
    return 0


def command_verify(args: argparse.Namespace) -> int:
    """Exit 0 for a known code (valid or erased), 1 for an unknown or malformed one."""
    from pipeline.app.programme_commands import verify
    from pipeline.config import load_settings

    outcome = verify(load_settings(args.config), args.code)
    print(outcome.text)
    return 0 if outcome.found else 1


def command_export(args: argparse.Namespace) -> int:
    import json

    from pipeline.app.privacy import export
    from pipeline.config import load_settings
    from pipeline.core.privacy import export_text

    settings = load_settings(args.config)
    document = export(settings, args.email, include_messages=args.include_messages)
    if args.format == "json":
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(export_text(document), end="")
    return 0


def command_erase(args: argparse.Namespace) -> int:
    from pipeline.app.privacy import erase
    from pipeline.config import load_settings

    settings = load_settings(args.config)
    report = erase(settings, args.email, include_source=args.include_source, yes=args.yes)
    print(report.summary(), end="")
    return 1 if report.leftovers else 0


def command_purge(args: argparse.Namespace) -> int:
    from datetime import UTC

    from pipeline.adapters.state.store import StateStore
    from pipeline.app.privacy import purge_now
    from pipeline.config import load_settings

    settings = load_settings(args.config)
    report = purge_now(settings, StateStore(settings.state.url), args.as_of or datetime.now(UTC))
    if report.retention_days is None:
        print("privacy.retention_days is not set: nothing purged (docs/donnees-personnelles.md).")
        return 0
    assert report.cutoff is not None
    cutoff = report.cutoff.astimezone(PARIS).strftime("%Y-%m-%d %H:%M %Z")
    print(
        f"purged what was settled before {cutoff} ({report.retention_days} days): "
        f"{report.messages} message bodies, {report.runs} run records, {report.files} outbox "
        f"files, {report.documents} certificate PDFs; state database compacted{'' if report.compacted else ' (incomplete: in use)'}."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    logs.setup(debug=args.debug)
    if args.config is None:
        named = os.environ.get(CONFIG_ENV, "").strip()
        if not named:
            print(
                f"diplomates: configuration error: no config file; pass --config FILE or set "
                f"{CONFIG_ENV} to its path.",
                file=sys.stderr,
            )
            return 2
        args.config = Path(named)
    handlers = {
        "run": command_run, "status": command_status, "resend": command_resend,
        "preview": command_preview, "schedule": command_schedule, "export": command_export,
        "erase": command_erase, "purge": command_purge, "sessions": command_sessions,
        "verify": command_verify,
    }  # fmt: skip
    try:
        return handlers[args.command](args)
    except PipelineError as exc:
        if args.debug:
            raise
        kind = (
            "usage error"
            if isinstance(exc, UsageError)
            else "configuration error"
            if isinstance(exc, ConfigError)
            else "error"
        )
        # the config file's values are no participant's data: shown as they are
        text = str(exc) if isinstance(exc, ConfigError) else logs.scrub(str(exc))
        print(f"diplomates: {kind}: {text}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("diplomates: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        from pipeline.app.alerts import safe_error

        print(  # the exception's own text may quote a participant's data: not in the logs
            f"diplomates: error: {safe_error(exc)}. Rerun with --debug for the details.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
