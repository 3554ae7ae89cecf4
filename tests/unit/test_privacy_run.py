"""Personal data in a run: consent withdrawn, erased people skipped, retention purge, logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline import logs
from pipeline.adapters.mail.transport import OutboxTransport
from pipeline.adapters.state.store import StateStore
from pipeline.app.privacy import erase, export, purge_now
from pipeline.app.run import LOCK_LEASE, Runner
from pipeline.config import PrivacySettings, Settings
from pipeline.core.errors import LockHeldError
from pipeline.core.people import person_id
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 20, 10, 0, tzinfo=PARIS)
FORM = "Réponses au formulaire 1"
COHORT = "Promotion 2026"
REVIEW = "À vérifier"
ANA = answer("02/03/2026 09:00:00", "ana@lyon.fr", "Zéphyrine", "Ana")
BRUNO = answer("03/03/2026 09:00:00", "bruno@lyon.fr", "Quasimodo-Canari", "Bruno")


class World:
    def __init__(
        self, tmp: Path, opens: str = "2026-03-30T09:00:00+02:00", **email: object
    ) -> None:
        base = settings(
            tmp, registration_opens=opens, registration_closes="2026-12-01T00:00:00+01:00"
        )
        self.settings: Settings = base.model_copy(
            update={"email": base.email.model_copy(update=email)}
        )
        self.sheet = MemorySpreadsheet(
            {
                FORM: [FORM_HEADERS, ANA, BRUNO],
                "Adhérents": [MEMBER_HEADERS, member("Ville de Lyon")],
            }
        )
        self.store = StateStore(self.settings.state.url)
        self.transport = RecordingTransport()
        self.now = T0

    def run(self, at: datetime) -> dict[str, int]:
        self.now = at
        runner = Runner(
            self.settings, spreadsheet=self.sheet, transport=self.transport, store=self.store,
            clock=lambda: self.now,
        )  # fmt: skip
        return runner.run(now=at).counts

    def rows(self, sheet: str) -> list[dict[str, str]]:
        table = self.sheet.tables[sheet]
        return [dict(zip(table[0], row, strict=False)) for row in table[1:] if any(row)]

    def cohort(self) -> dict[str, dict[str, str]]:
        return {r["ID"]: r for r in self.rows(COHORT) if r.get("ID")}

    def sent_to(self) -> list[str]:
        return sorted(str(m["To"]) for m in self.transport.sent)


def test_consent_withdrawn_clears_the_row_and_cancels_unsent_mail(tmp_path: Path) -> None:
    """Bruno withdraws consent while his mail waits: never sent, row's pipeline cells cleared."""
    world = World(tmp_path, max_per_day=1)
    counts = world.run(T0)
    assert world.sent_to() == ["ana@lyon.fr"] and counts["emails_waiting"] == 1
    bruno = person_id("bruno@lyon.fr")
    table = world.sheet.tables[COHORT]
    row = next(r for r in table if r[0] == bruno)
    row[table[0].index("Notes CUF")] = "a appelé"
    world.sheet.tables[FORM][2] = answer(
        "03/03/2026 09:00:00", "bruno@lyon.fr", "Quasimodo-Canari", "Bruno", consent=""
    )  # he edits his answer in place: consent box unticked
    counts = world.run(T0 + timedelta(days=2))  # the daily limit has room again
    assert counts["emails_cancelled"] == 1 and counts["emails_sent"] == 0
    assert world.sent_to() == ["ana@lyon.fr"]
    assert world.store.find_messages(person_id=bruno) == []
    assert bruno not in world.cohort()
    left = [r for r in world.rows(COHORT) if r.get("Notes CUF") == "a appelé"]
    assert len(left) == 1 and not left[0]["Nom"] and not left[0]["Courriel"]  # staff note stays
    refusal = [r for r in world.rows(REVIEW) if r["Code motif"] == "consentement_absent"]
    assert [(r["Ligne"], r["Personne"], r["ID"]) for r in refusal] == [("3", "", "")]
    world.run(T0 + timedelta(days=4))
    assert world.sent_to() == ["ana@lyon.fr"]


def test_an_erased_person_is_skipped_until_they_answer_again(tmp_path: Path) -> None:
    """After erasure runs skip Ana's answer (counted); a new answer later makes her a newcomer."""
    world = World(tmp_path)
    world.run(T0)
    report = erase(
        world.settings, "Ana@Lyon.fr", yes=True, spreadsheet=world.sheet, store=world.store,
        clock=lambda: T0 + timedelta(hours=1),
    )  # fmt: skip
    assert report.acted and report.tombstone and report.leftovers == []
    ana = person_id("ana@lyon.fr")
    counts = world.run(T0 + timedelta(hours=2))
    assert counts["erased_skipped"] == 1 and counts["rows_read"] == 1
    assert ana not in world.cohort() and all(r["ID"] != ana for r in world.rows(REVIEW))
    assert world.sent_to() == ["ana@lyon.fr", "bruno@lyon.fr"]  # nothing new
    world.sheet.tables[FORM].append(
        answer("21/03/2026 09:00:00", "ana@lyon.fr", "Zéphyrine", "Ana")
    )
    world.run(T0 + timedelta(days=2))
    assert ana in world.cohort() and world.cohort()[ana]["Réponses"] == "1"
    assert world.sent_to() == ["ana@lyon.fr", "ana@lyon.fr", "bruno@lyon.fr"]


def test_each_run_purges_past_retention_and_never_sends_twice(tmp_path: Path) -> None:
    """retention_days = 30: a run 31 days later strips bodies, deletes copies; no mail again."""
    world = World(tmp_path, opens="2026-09-01T09:00:00+02:00")  # no placement mail meanwhile
    world.settings = world.settings.model_copy(
        update={"privacy": PrivacySettings(retention_days=30)}
    )
    outbox = world.settings.email.outbox
    assert outbox is not None
    world.transport = OutboxTransport(outbox)  # type: ignore[assignment]
    world.run(T0)
    assert len(list(outbox.glob("*.eml"))) == 2
    assert "emails_cancelled" not in world.run(T0 + timedelta(days=29))
    counts = world.run(T0 + timedelta(days=31))
    assert counts["purged_messages"] == 2 and counts["purged_files"] == 2
    assert list(outbox.glob("*.eml")) == [] and counts["emails_sent"] == 0
    assert world.store.count_by_state() == {"sent": 2}
    shown = world.cohort()[person_id("ana@lyon.fr")]["Courriels envoyés"]
    assert shown == "Accusé de réception 20/03/2026"
    assert purge_now(world.settings, world.store, T0 + timedelta(days=40)).messages == 0


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.setup(stream=stream)
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]:
        root.removeHandler(handler)


def test_privacy_logs_carry_ids_and_counts_never_addresses_or_names(
    tmp_path: Path, captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run, consent withdrawal, export, erasure and purge log person ids, never data."""
    monkeypatch.setenv("DIPLOMATES_LOG_FORMAT", "json")
    world = World(tmp_path, max_per_day=1)
    world.settings = world.settings.model_copy(
        update={"privacy": PrivacySettings(retention_days=1)}
    )
    world.run(T0)
    world.sheet.tables[FORM][2][-1] = ""  # Bruno withdraws while his mail waits
    world.run(T0 + timedelta(days=2))
    export(world.settings, "ana@lyon.fr", spreadsheet=world.sheet, store=world.store)
    erase(world.settings, "ana@lyon.fr", yes=True, spreadsheet=world.sheet, store=world.store)
    purge_now(world.settings, world.store, T0 + timedelta(days=3))
    text = captured.getvalue()
    assert person_id("ana@lyon.fr") in text and "erasure done" in text
    assert "queued message(s) cancelled" in text and "access export" in text
    for secret in ("ana@lyon.fr", "bruno@lyon.fr", "Zéphyrine", "Quasimodo", "Ana ", "Bruno"):
        assert secret not in text, secret


def test_erasure_during_a_run_stops_and_changes_nothing(tmp_path: Path) -> None:
    """A run holds the lock: `erase --yes` raises LockHeldError; sheets and ledger untouched."""
    world = World(tmp_path)
    world.run(T0)
    world.store.acquire_lock("host:42:run", T0, LOCK_LEASE)
    before = [list(row) for row in world.sheet.tables[COHORT]]
    with pytest.raises(LockHeldError, match=r"host:42:run\); nothing was erased"):
        erase(
            world.settings, "ana@lyon.fr", yes=True, spreadsheet=world.sheet, store=world.store,
            clock=lambda: T0 + timedelta(minutes=1),
        )  # fmt: skip
    assert world.sheet.tables[COHORT] == before
    assert len(world.store.find_messages(person_id=person_id("ana@lyon.fr"))) == 1


def test_a_run_error_quoting_the_address_is_exported_then_masked(tmp_path: Path) -> None:
    """A recorded run error naming the address shows in the export; erasure masks it there."""
    world = World(tmp_path)
    world.run(T0)
    run_id = world.store.start_run(T0, T0)
    world.store.finish_run(run_id, T0, "failed", {}, "relay said: <ana@lyon.fr> unknown")
    document = export(world.settings, "ana@lyon.fr", spreadsheet=world.sheet, store=world.store)
    (entry,) = document["run_errors"]
    assert run_id in entry["source"] and "ana@lyon.fr" in entry["error"]
    report = erase(
        world.settings, "ana@lyon.fr", yes=True, spreadsheet=world.sheet, store=world.store
    )
    assert report.runs == [run_id] and report.leftovers == []
    assert world.store.last_runs(ids=[run_id])[0].error == "relay said: <<effacé>> unknown"
