"""The [schedule] config, its trigger, the scheduler's job options and one scheduled run."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import ScheduleSettings, load_settings
from pipeline.core.errors import ConfigError, LockHeldError, SheetError
from pipeline.entry.schedule import (
    JOB_ID,
    Scheduler,
    crontab_weekdays,
    describe,
    make_trigger,
    next_run,
)
from tests.support.builders import settings
from tests.support.ops import CONFIG

PARIS = ZoneInfo("Europe/Paris")


def config_with(tmp: Path, section: str) -> Path:
    path = tmp / "config.toml"
    url = f"sqlite:///{tmp / 'state.sqlite'}"
    path.write_text(CONFIG.format(tmp=tmp, state_url=url) + section, encoding="utf-8")
    return path


def test_the_schedule_section_is_optional_with_defaults(tmp_path: Path) -> None:
    """No [schedule]: every 5 minutes, Europe/Paris, an hour of misfire grace."""
    schedule = load_settings(config_with(tmp_path, "")).schedule
    assert schedule.interval == 5 and schedule.cron is None
    assert schedule.timezone == "Europe/Paris" and schedule.misfire_grace_seconds == 3600
    assert describe(schedule) == "every 5 min (Europe/Paris)"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('interval_minutes = 5\ncron = "*/5 * * * *"', "not both"),
        ('timezone = "Europe/Lutece"', "schedule.timezone"),
        ('cron = "*/5 * * *"', "five fields"),
        ("interval_minutes = 0", "schedule.interval_minutes"),
        ("every = 5", "schedule.every"),
    ],
)
def test_a_bad_schedule_is_a_config_error(tmp_path: Path, section: str, message: str) -> None:
    """Both triggers, an unknown zone, a short crontab line, zero, an unknown key: exit-2 errors."""
    with pytest.raises(ConfigError, match=message):
        load_settings(config_with(tmp_path, "[schedule]\n" + section + "\n"))


def test_a_crontab_line_with_impossible_values_is_refused_at_start() -> None:
    """Five fields but hour 25: ConfigError naming the key when the scheduler builds its trigger."""
    with pytest.raises(ConfigError, match="schedule.cron"):
        make_trigger(ScheduleSettings(cron="*/5 25 * * *"))


def test_intervals_are_aligned_on_the_clock() -> None:
    """Every 5 min fires at :00, :05 … whenever asked, even right after an unaligned run at start."""
    schedule = ScheduleSettings(interval_minutes=5)
    at = datetime(2026, 3, 20, 10, 1, 30, tzinfo=PARIS)
    assert next_run(schedule, at) == datetime(2026, 3, 20, 10, 5, tzinfo=PARIS)
    trigger = make_trigger(schedule)
    assert trigger.get_next_fire_time(at, at) == datetime(2026, 3, 20, 10, 5, tzinfo=PARIS)
    fired = datetime(2026, 3, 20, 10, 5, tzinfo=PARIS)
    assert trigger.get_next_fire_time(fired, fired) == fired + timedelta(minutes=5)
    summer = datetime(2026, 3, 29, 3, 1, tzinfo=PARIS)  # the first hour of summer time
    assert next_run(schedule, summer) == datetime(2026, 3, 29, 3, 5, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("field", "days"),
    [("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("*/2", "sun,tue,thu,sat"),
     ("sat,sun", "sun,sat"), ("0-6", "*"), ("mon-fri", "mon,tue,wed,thu,fri")],
)  # fmt: skip
def test_crontab_weekdays_keep_their_crontab_meaning(field: str, days: str) -> None:
    """Crontab counts weekdays from Sunday = 0, APScheduler from Monday = 0: spelled out by name."""
    assert crontab_weekdays(field) == days


def test_a_cron_schedule_follows_its_time_zone() -> None:
    """'*/15 8-18 * * 1-5' in Europe/Paris: after Friday 18:50, next is Monday 08:00 Paris time."""
    schedule = ScheduleSettings(cron="*/15 8-18 * * 1-5")
    friday = datetime(2026, 3, 20, 18, 50, tzinfo=PARIS)
    assert next_run(schedule, friday) == datetime(2026, 3, 23, 8, 0, tzinfo=PARIS)
    assert describe(schedule) == "cron '*/15 8-18 * * 1-5' (Europe/Paris)"


def test_the_job_runs_at_start_once_at_a_time_and_coalesces(tmp_path: Path) -> None:
    """max_instances=1, coalesce, the configured misfire grace, first run now, one worker thread."""
    config = settings(tmp_path).model_copy(
        update={"schedule": ScheduleSettings(interval_minutes=2, misfire_grace_seconds=900)}
    )
    start = datetime(2026, 3, 20, 10, 1, 30, tzinfo=PARIS)
    scheduler = Scheduler(config).build(now=start)
    (job,) = scheduler.get_jobs()
    assert job.id == JOB_ID and job.max_instances == 1 and job.coalesce is True
    assert job.misfire_grace_time == 900 and job.next_run_time == start
    assert scheduler._executors["default"]._pool._max_workers == 1


class FakeRunner:
    def __init__(self, outcome: str | BaseException) -> None:
        self.outcome = outcome
        self.report: Any = None

    def run(self) -> Any:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        self.report = type("Report", (), {"outcome": self.outcome})()
        return self.report


def test_a_scheduled_run_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Lock held: skipped and logged; a failure: 'failed', logged; the schedule goes on."""
    caplog.set_level(logging.INFO, logger="diplomates")
    config = settings(tmp_path)
    held = Scheduler(config, runner_factory=lambda: FakeRunner(LockHeldError("held by x:1")))
    assert held.run_once() == "skipped"
    assert any("another run holds the lock" in r.getMessage() for r in caplog.records)
    broken = Scheduler(config, runner_factory=lambda: FakeRunner(SheetError("no sheet")))
    assert broken.run_once() == "failed"
    crashed = Scheduler(config, runner_factory=lambda: FakeRunner(ZeroDivisionError()))
    assert crashed.run_once() == "failed"
    fine = Scheduler(config, runner_factory=lambda: FakeRunner("idle"))
    assert fine.run_once() == "idle" and fine.outcomes == ["idle"]


def test_no_run_starts_once_a_stop_was_asked(tmp_path: Path) -> None:
    """After SIGTERM a run already queued in the executor returns at once, without running."""
    started: list[int] = []

    def factory() -> FakeRunner:
        started.append(1)
        return FakeRunner("idle")

    scheduler = Scheduler(settings(tmp_path), runner_factory=factory)
    scheduler.stop.set()
    assert scheduler.run_once() == "stopped" and started == []
