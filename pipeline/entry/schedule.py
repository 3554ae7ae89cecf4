"""`diplomates schedule`: the pipeline on the configured schedule, one run at a time.

APScheduler 3 (`BlockingScheduler`, one worker thread): a run at start, then every
`schedule.interval_minutes` (aligned on the clock: every 5 min runs at :00, :05 …) or on the
`schedule.cron` line, in `schedule.timezone`. `max_instances=1` and `coalesce=True`: a run never
overlaps the previous one in this process, and runs missed while the process was busy, suspended
or down collapse into one. Across processes and machines the state DB's lease lock decides: a
scheduled run that finds it held is skipped (logged), not fatal.

SIGTERM or SIGINT: the run in progress stops at its next step boundary (never between handing a
message to the mail server and writing the ledger), the lock is released, the process exits 0.
If a step is stuck past `schedule.stop_timeout_seconds`, the process exits 1 anyway; the next run
flags a message caught mid-send `incertain` and never resends it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pipeline import logs
from pipeline.config import ScheduleSettings, Settings
from pipeline.core.errors import ConfigError, LockHeldError
from pipeline.core.vocabulary import RunOutcome

if TYPE_CHECKING:
    from pipeline.adapters.state.store import StateStore
    from pipeline.app.run import Runner

log = logging.getLogger("diplomates.schedule")

JOB_ID = "diplomates-run"
# Interval runs are aligned on this moment (in the schedule's zone), whoever starts the scheduler
# and whenever: `diplomates status` can then tell the next run from the config alone.
ANCHOR = datetime(2026, 1, 1)


def make_trigger(schedule: ScheduleSettings) -> Any:
    """The APScheduler trigger for the config; ConfigError for a crontab line it rejects."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    zone = ZoneInfo(schedule.timezone)
    if schedule.cron is not None:
        try:
            minute, hour, day, month, weekday = schedule.cron.split()
            return CronTrigger(
                minute=minute, hour=hour, day=day, month=month,
                day_of_week=crontab_weekdays(weekday), timezone=zone,
            )  # fmt: skip
        except ValueError as exc:
            raise ConfigError(
                f"schedule.cron '{schedule.cron}' is not a valid crontab line ({exc}); "
                'write five fields, e.g. cron = "*/5 7-21 * * *"'
            ) from None

    class AlignedInterval(IntervalTrigger):  # type: ignore[misc]
        """Fires on the anchor's grid even after the run at start: every 5 min is :00, :05 …"""

        def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
            if previous is not None and now <= previous:
                now = previous + timedelta(microseconds=1)
            moment: datetime | None = super().get_next_fire_time(None, now)
            return moment

    minutes = schedule.interval
    assert minutes is not None
    return AlignedInterval(
        seconds=minutes * 60, start_date=ANCHOR.replace(tzinfo=zone), timezone=zone
    )


WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 and 7 = Sunday


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler 3 reads it (there 0 is Monday, in crontab Sunday):
    the days, spelled out by name. `1-5` -> `mon,tue,wed,thu,fri`."""

    def day(token: str) -> int:
        token = token.strip().lower()
        if token.isdigit() and 0 <= int(token) <= 7:
            return int(token) % 7
        if token[:3] in WEEKDAYS:
            return WEEKDAYS.index(token[:3])
        raise ValueError(f"'{token}' is not a weekday (0-7 or sun-sat)")

    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step '{step_text}' must be positive")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = day(start), day(end)
            if end.strip() == "7":
                last = 7
        else:
            first = day(span)
            last = 6 if step_text else first
        days.update(d % 7 for d in range(first, last + 1, step))
        if first > last:
            raise ValueError(f"range '{span}' goes backwards")
    if len(days) == 7:
        return "*"
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def next_run(schedule: ScheduleSettings, now: datetime) -> datetime | None:
    """When the schedule fires next after `now` (None: never again)."""
    moment: datetime | None = make_trigger(schedule).get_next_fire_time(None, now)
    return moment


def describe(schedule: ScheduleSettings) -> str:
    if schedule.cron is not None:
        return f"cron '{schedule.cron}' ({schedule.timezone})"
    minutes = schedule.interval or 0
    every = f"{minutes:g} min" if minutes >= 1 else f"{minutes * 60:g} s"
    return f"every {every} ({schedule.timezone})"


@contextmanager
def stop_on_signals(on_stop: Callable[[int], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call `on_stop` instead of killing the process (main thread only);
    a second SIGINT interrupts for good (KeyboardInterrupt). The old handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in caught}

    def handle(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        on_stop(signum)

    for sig in caught:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Scheduler:
    """Runs `Runner(settings).run()` on the schedule; see the module docstring."""

    def __init__(
        self, settings: Settings, *, runner_factory: Callable[[], Runner] | None = None
    ) -> None:
        self.settings = settings
        self.stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._started = threading.Event()
        self._factory = runner_factory or self._runner
        self._store: StateStore | None = None
        self._scheduler: Any = None
        self.outcomes: list[str] = []

    def _runner(self) -> Runner:
        from pipeline.adapters.state.store import StateStore
        from pipeline.app.run import Runner

        if self._store is None:
            self._store = StateStore(self.settings.state.url)
        return Runner(self.settings, store=self._store, stop=self.stop, sleep=self._pause)

    def _pause(self, seconds: float) -> None:
        """The runner's sleep (email pacing): cut short by a stop request."""
        self.stop.wait(seconds)

    # --- one scheduled run ------------------------------------------------------------------

    def run_once(self) -> str:
        """One scheduled run; returns its outcome and never raises, so the schedule goes on."""
        if self.stop.is_set():
            return "stopped"
        self._idle.clear()
        try:
            outcome = self._run_once()
        finally:
            self._idle.set()
        self.outcomes.append(outcome)
        upcoming = self._next_run_time()
        if upcoming is not None and not self.stop.is_set():
            log.info("next run at %s", upcoming.isoformat(), extra={"outcome": outcome})
        return outcome

    def _run_once(self) -> str:
        from pipeline.app.run import LeaseLostError, RunInterrupted

        runner = None
        try:
            runner = self._factory()
            report = runner.run()
        except RunInterrupted:
            return RunOutcome.INTERRUPTED  # the runner logged it
        except LeaseLostError:
            return RunOutcome.FAILED  # the runner logged it
        except LockHeldError as exc:
            log.info("run skipped: another run holds the lock", extra={"detail": str(exc)})
            return RunOutcome.SKIPPED
        except Exception as exc:
            partial = runner.report if runner is not None else None
            if partial is None or partial.outcome != RunOutcome.FAILED:  # else the runner logged it
                from pipeline.app.alerts import safe_error

                log.error("scheduled run failed", extra={"error": safe_error(exc)})
            return RunOutcome.FAILED
        return str(report.outcome)

    def _next_run_time(self) -> datetime | None:
        if self._scheduler is None:
            return None
        job = self._scheduler.get_job(JOB_ID)
        moment: datetime | None = getattr(job, "next_run_time", None)
        return moment

    # --- the scheduler ------------------------------------------------------------------------

    def build(self, now: datetime | None = None) -> Any:
        """The BlockingScheduler with its one job, not started; the first run is due `now`."""
        from apscheduler.events import EVENT_SCHEDULER_STARTED
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler

        schedule = self.settings.schedule
        zone = ZoneInfo(schedule.timezone)
        scheduler = BlockingScheduler(
            timezone=zone, executors={"default": ThreadPoolExecutor(max_workers=1)}
        )
        scheduler.add_job(
            self.run_once,
            make_trigger(schedule),
            id=JOB_ID,
            name="diplomates run",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=schedule.misfire_grace_seconds,
            next_run_time=now or datetime.now(zone),  # a run at start
            replace_existing=True,
        )
        scheduler.add_listener(lambda event: self._started.set(), EVENT_SCHEDULER_STARTED)
        self._scheduler = scheduler
        return scheduler

    def request_stop(self, signum: int | None = None) -> None:
        """Ask the scheduler to stop: no new run; the run in progress ends at its next step."""
        if self.stop.is_set():
            return
        self.stop.set()
        threading.Thread(
            target=self._shutdown, args=(signum,), name="diplomates-stop", daemon=True
        ).start()

    def _shutdown(self, signum: int | None) -> None:
        from apscheduler.schedulers import SchedulerNotRunningError

        name = signal.Signals(signum).name if signum else "request"
        log.info("stop requested (%s): finishing the step in progress", name)
        if not self._started.wait(30) or self._scheduler is None:
            return
        try:
            self._scheduler.shutdown(wait=False)
        except SchedulerNotRunningError:
            pass

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; 0 once the run in progress stopped cleanly."""
        schedule = self.settings.schedule
        scheduler = self.build()
        log.info(
            "scheduler started: %s, first run now",
            describe(schedule),
            extra={"pid": os.getpid(), "misfire_grace_seconds": schedule.misfire_grace_seconds},
        )
        with stop_on_signals(self.request_stop):
            scheduler.start()  # returns once request_stop shut it down
            stopped = self._idle.wait(schedule.stop_timeout_seconds)
        if not stopped:
            log.error(
                "the run in progress did not reach a safe point within %g s; exiting anyway "
                "(a message caught mid-send will be flagged incertain, never resent)",
                schedule.stop_timeout_seconds,
            )
            logs.flush()
            os._exit(1)
        if self._store is not None:
            self._store.close()
        log.info("scheduler stopped", extra={"runs": len(self.outcomes)})
        return 0
