"""Runs delivering over SMTP to a real aiosmtpd: ledger states, retries, limits, what staff see."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import pipeline.app.delivery
import pipeline.app.run
from pipeline.adapters.mail.smtp import PASSWORD_ENV
from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner
from pipeline.config import Settings
from pipeline.core.errors import MailError
from pipeline.core.people import person_id
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member
from tests.support.fakes import MemorySpreadsheet
from tests.support.smtp_server import LocalCA, Script, SmtpServer, free_port, make_ca

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 20, 10, 0, tzinfo=PARIS)  # interest phase: one accuse_reception each
PEOPLE = [f"p{n}@lyon.fr" for n in range(5)]
USER, PASSWORD = "cuf", "s3cret-pa55"


class FakeTime:
    """A monotonic clock that only moves when the run sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def tables(addresses: list[str] = PEOPLE) -> dict[str, list[list[str]]]:
    answers = [
        answer(f"0{n + 1}/03/2026 09:00:00", address, f"Nom{n}", f"Prénom{n}")
        for n, address in enumerate(addresses)
    ]
    return {
        "Réponses au formulaire 1": [FORM_HEADERS, *answers],
        "Adhérents": [MEMBER_HEADERS, member("Ville de Lyon")],
    }


def make_settings(tmp: Path, port: int, **email: Any) -> Settings:
    return Settings.model_validate(
        {
            "spreadsheet": {"backend": "local", "workbook": str(tmp / "unused.xlsx")},
            "email": {
                "transport": "smtp",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "none",
                "smtp_timeout": 5,
                "sender": "diplomates@cites-unies-france.org",
                "reply_to": "contact@cites-unies-france.org",
                **email,
            },
            "cohort": {
                "capacity": 3,
                "registration_opens": "2026-03-30T09:00:00+02:00",
                "registration_closes": "2026-04-30T23:59:59+02:00",
            },
            "programme": {"contact_email": "diplomates@cites-unies-france.org"},
            "state": {"url": f"sqlite:///{tmp / 'state.sqlite'}"},
        }
    )


class World:
    """One spreadsheet, one state DB, one settings object; runs at chosen times."""

    def __init__(self, tmp: Path, port: int, **email: Any) -> None:
        self.settings = make_settings(tmp, port, **email)
        self.sheet = MemorySpreadsheet(tables())
        self.store = StateStore(self.settings.state.url)
        self.time = FakeTime()

    def run(self, at: datetime) -> pipeline.app.run.RunReport:
        runner = Runner(
            self.settings, spreadsheet=self.sheet, store=self.store,
            sleep=self.time.sleep, monotonic=self.time.clock,
        )  # fmt: skip
        return runner.run(now=at)

    def states(self) -> dict[str, str]:
        records = self.store.find_messages(cohort="Promotion 2026")
        return {r.person_id: r.state for r in records}

    def rows(self, sheet: str) -> list[dict[str, str]]:
        header, *rows = self.sheet.tables.get(sheet, [[]])
        return [dict(zip(header, row, strict=False)) for row in rows if any(row)]

    def review(self, reason: str) -> list[dict[str, str]]:
        return [r for r in self.rows("À vérifier") if r["Code motif"] == reason]

    def cohort_row(self, address: str) -> dict[str, str]:
        return next(r for r in self.rows("Promotion 2026") if r["Courriel"] == address)


def pid(address: str) -> str:
    return person_id(address)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer("none") as running:
        yield running


def test_every_due_message_goes_once_over_one_connection(
    tmp_path: Path, server: SmtpServer
) -> None:
    """A first run sends one accuse_reception per person on one connection; a rerun sends none."""
    world = World(tmp_path, server.port)
    report = world.run(T0)
    assert sorted(server.handler.to()) == PEOPLE and len(server.handler.peers) == 1
    assert report.counts["emails_sent"] == 5 and report.counts["emails_waiting"] == 0
    assert set(world.states().values()) == {"sent"}
    assert world.run(T0 + timedelta(minutes=5)).counts["emails_sent"] == 0
    assert len(server.messages) == 5
    assert world.cohort_row("p0@lyon.fr")["Courriels envoyés"] == "Accusé de réception 20/03/2026"


def test_a_temporary_refusal_is_retried_with_backoff_then_sent_once(tmp_path: Path) -> None:
    """451 twice: `retry` at +5 min then +10 min, untouched before its time, then sent once."""
    script = Script(rcpt={"p1@lyon.fr": ["451 4.7.1 Greylisted", "451 4.7.1 Greylisted"]})
    with SmtpServer("none", script=script) as server:
        world = World(tmp_path, server.port)
        report = world.run(T0)
        assert world.states()[pid("p1@lyon.fr")] == "retry"
        assert report.counts["emails_sent"] == 4 and report.counts["emails_waiting"] == 1
        world.run(T0 + timedelta(minutes=4))  # not yet due
        assert server.handler.rcpts.count("p1@lyon.fr") == 1
        world.run(T0 + timedelta(minutes=5))  # second attempt, refused again: next in 10 min
        assert server.handler.rcpts.count("p1@lyon.fr") == 2
        world.run(T0 + timedelta(minutes=14))
        assert server.handler.rcpts.count("p1@lyon.fr") == 2
        report = world.run(T0 + timedelta(minutes=15))
        assert report.counts["emails_sent"] == 1 and world.states()[pid("p1@lyon.fr")] == "sent"
        assert server.handler.to().count("p1@lyon.fr") == 1 and len(server.messages) == 5
        assert world.review("courriel_rejete") == []


def test_retries_that_run_out_end_failed_and_shown_to_staff(tmp_path: Path) -> None:
    """Still 451 after email.retry_max_attempts: `failed`, in À vérifier with the last reply."""
    script = Script(always_refuse={"p2@lyon.fr": "451 4.2.1 Mailbox busy"})
    with SmtpServer("none", script=script) as server:
        world = World(tmp_path, server.port, retry_max_attempts=2, retry_first_delay_minutes=1)
        world.run(T0)
        report = world.run(T0 + timedelta(minutes=1))
        assert report.counts["emails_failed"] == 1
        assert world.states()[pid("p2@lyon.fr")] == "failed"
        [row] = world.review("courriel_rejete")
        assert row["ID"] == pid("p2@lyon.fr") and row["Personne"] == "Prénom2 Nom2"
        assert "451 4.2.1 Mailbox busy (après 2 tentatives)" in row["Explication"]
        world.run(T0 + timedelta(days=1))
        assert server.handler.rcpts.count("p2@lyon.fr") == 2  # never tried again


def test_a_permanent_refusal_is_failed_never_retried_and_visible(tmp_path: Path) -> None:
    """550: `failed` at once, the reply in À vérifier, `refusé` in Courriels envoyés, Journal."""
    reply = "550 5.1.1 <p3@lyon.fr>: Recipient address rejected: User unknown"
    with SmtpServer("none", script=Script(always_refuse={"p3@lyon.fr": reply})) as server:
        world = World(tmp_path, server.port)
        report = world.run(T0)
        assert report.counts["emails_failed"] == 1 and report.counts["emails_sent"] == 4
        [row] = world.review("courriel_rejete")
        assert reply in row["Explication"] and "vérifiez l'adresse" in row["Explication"]
        assert "diplomates resend" in row["Explication"]
        sent = world.cohort_row("p3@lyon.fr")["Courriels envoyés"]
        assert sent == "Accusé de réception refusé 20/03/2026"
        [journal] = world.rows("Journal")
        assert journal["Courriels envoyés"] == "4" and journal["Courriels en échec"] == "1"
        world.run(T0 + timedelta(days=2))
        assert server.handler.rcpts.count("p3@lyon.fr") == 1


def test_the_daily_limit_holds_back_the_newest_until_a_later_run(
    tmp_path: Path, server: SmtpServer
) -> None:
    """max_per_day = 3: the 3 oldest go, 2 wait (Journal says so) until 24 h have passed."""
    world = World(tmp_path, server.port, max_per_day=3)
    report = world.run(T0)
    assert server.handler.to() == PEOPLE[:3]
    assert report.counts["emails_waiting"] == 2
    assert world.rows("Journal")[0]["Courriels en attente"] == "2"
    assert world.run(T0 + timedelta(hours=23)).counts["emails_sent"] == 0
    report = world.run(T0 + timedelta(hours=24, minutes=1))
    assert report.counts["emails_sent"] == 2 and server.handler.to() == PEOPLE


def test_the_minute_limit_paces_with_the_injected_clock(tmp_path: Path, server: SmtpServer) -> None:
    """max_per_minute = 2: five messages in one run, waiting 60 s twice on the fake clock."""
    world = World(tmp_path, server.port, max_per_minute=2)
    report = world.run(T0)
    assert report.counts["emails_sent"] == 5 and world.time.sleeps == [60.0, 60.0]


def test_the_send_budget_leaves_the_rest_for_the_next_run(
    tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run paces within SEND_BUDGET; what would fall after it waits for the next run."""
    monkeypatch.setattr(pipeline.app.delivery, "SEND_BUDGET", timedelta(seconds=90))
    world = World(tmp_path, server.port, max_per_minute=1)
    report = world.run(T0)
    assert report.counts["emails_sent"] == 2 and report.counts["emails_waiting"] == 3
    assert world.time.sleeps == [60.0]
    assert sorted(world.states().values()) == ["pending"] * 3 + ["sent"] * 2
    world.run(T0 + timedelta(minutes=5))
    world.run(T0 + timedelta(minutes=10))
    assert server.handler.to() == PEOPLE


def test_an_unreachable_server_leaves_everything_queued(tmp_path: Path) -> None:
    """No server: the run still writes the sheets; messages stay pending for the next run."""
    port = free_port()
    world = World(tmp_path, port)
    report = world.run(T0)
    assert report.outcome == "success" and report.counts["emails_waiting"] == 5
    assert set(world.states().values()) == {"pending"}
    assert len(world.rows("Promotion 2026")) == 5
    with SmtpServer("none") as server:
        world.settings = make_settings(tmp_path, server.port)
        world.run(T0 + timedelta(minutes=5))
        assert sorted(server.handler.to()) == PEOPLE


def test_a_wrong_password_fails_the_run_and_marks_no_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Login refused: the run fails with the fix in its error; no message leaves `pending`."""
    ca: LocalCA = make_ca(tmp_path / "ca")
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    with SmtpServer("starttls", ca=ca, users={USER: PASSWORD}) as server:
        world = World(
            tmp_path, server.port, smtp_security="starttls", smtp_username=USER,
            smtp_ca_file=str(ca.ca_file),
        )  # fmt: skip
        with pytest.raises(MailError, match=f"refused the login.*{PASSWORD_ENV}"):
            world.run(T0)
        assert set(world.states().values()) == {"pending"}
        [record] = world.store.last_runs(1)
        assert record.outcome == "failed" and record.error and "wrong" not in record.error
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
        world.run(T0 + timedelta(minutes=5))
        assert sorted(server.handler.to()) == PEOPLE


def test_a_refused_sender_puts_the_message_back_untouched(tmp_path: Path) -> None:
    """553 to MAIL FROM: MailError, and the message is `pending` again with no attempt counted."""
    script = Script(mail=["553 5.7.1 Sender address rejected: not owned by user"])
    with SmtpServer("none", script=script) as server:
        world = World(tmp_path, server.port)
        with pytest.raises(MailError, match="refused the sender address"):
            world.run(T0)
        records = world.store.find_messages(cohort="Promotion 2026")
        assert {(r.state, r.attempts) for r in records} == {("pending", 0)}
        world.run(T0 + timedelta(minutes=1))
        assert len(server.messages) == 5


def test_a_drop_after_data_is_flagged_incertain_and_never_resent(tmp_path: Path) -> None:
    """Dropped after the data: `incertain`, listed as envoi_incertain with the resend line."""
    with SmtpServer("none", script=Script(drop_after_data={"p1@lyon.fr"})) as server:
        world = World(tmp_path, server.port)
        report = world.run(T0)
        assert report.counts["emails_uncertain"] == 1 and report.counts["emails_sent"] == 4
        assert world.states()[pid("p1@lyon.fr")] == "incertain"
        [row] = world.review("envoi_incertain")
        assert row["ID"] == pid("p1@lyon.fr")
        expected = f"--person {pid('p1@lyon.fr')} --template accuse_reception"
        assert "diplomates resend --config" in row["Explication"] and expected in row["Explication"]
        assert world.rows("Journal")[0]["Courriels incertains"] == "1"
        world.run(T0 + timedelta(days=1))
        assert server.handler.to().count("p1@lyon.fr") == 1  # never resent by itself
