"""Personal data in the state DB: tombstones and salt, forgetting, retention, compaction, resend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.adapters.state.privacy import PrivacyState
from pipeline.adapters.state.store import StateStore
from pipeline.app.mail_commands import resend
from pipeline.core.errors import PipelineError
from pipeline.core.model import Template
from tests.support import pg
from tests.support.builders import settings

T0 = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
BODY = (
    b"To: ana.secret@lyon.fr\r\nSubject: Bienvenue Ana Secretnom\r\n\r\nBonjour Ana Secretnom\r\n"
)


def db_bytes(tmp: Path) -> bytes:
    """The state DB as it lies on disk: the file and its write-ahead log, if any."""
    return b"".join(p.read_bytes() for p in sorted(tmp.glob("state.sqlite*")))


def store_with_messages(tmp: Path) -> tuple[StateStore, PrivacyState]:
    store = StateStore(f"sqlite:///{tmp / 'state.sqlite'}")
    items = [
        ("DT-ANA", Template.ACCUSE_RECEPTION, "accuse_reception.DT-ANA.1", BODY),
        ("DT-ANA", Template.LISTE_ATTENTE, "liste_attente.DT-ANA.2", BODY),
        (
            "DT-BOB",
            Template.ACCUSE_RECEPTION,
            "accuse_reception.DT-BOB.3",
            b"To: bob@x.fr\r\n\r\nx",
        ),
    ]
    store.enqueue("Promotion 2026", items, T0)
    for message in store.due("Promotion 2026", T0):
        if message.template is Template.ACCUSE_RECEPTION:
            store.mark_sending(message, T0)
            store.mark_sent(message, T0)
    return store, PrivacyState(store)


def test_the_salt_is_made_once_and_kept(tmp_path: Path) -> None:
    """No salt until asked to create one; then the same 32 bytes, also for another connection."""
    store, privacy = store_with_messages(tmp_path)
    assert privacy.salt() is None
    salt = privacy.salt(create=True)
    assert salt is not None and len(salt) == 32
    assert privacy.salt(create=True) == salt
    assert PrivacyState(StateStore(store.url)).salt() == salt


def test_a_second_erasure_never_moves_the_covered_time_back(tmp_path: Path) -> None:
    """Recording an erasure again keeps the later of the two 'answers until' times."""
    _, privacy = store_with_messages(tmp_path)
    later, earlier = T0 + timedelta(days=2), T0
    privacy.record_erasure("abc", later, T0)
    privacy.record_erasure("abc", earlier, T0 + timedelta(days=3))
    erasure = privacy.erasure("abc")
    assert erasure is not None and erasure.answers_until == later
    assert erasure.erased_at == T0 + timedelta(days=3) and privacy.erasures() == {"abc": later}


def test_forget_deletes_every_ledger_row_and_the_bytes_leave_the_file(tmp_path: Path) -> None:
    """After forget + compact, no byte of the address or name is in the DB file or its WAL."""
    store, privacy = store_with_messages(tmp_path)
    store.start_run(T0, T0)
    run_id = store.last_runs(1)[0].id
    store.finish_run(run_id, T0, "failed", {}, "refused: <ana.secret@lyon.fr>")
    assert b"ana.secret@lyon.fr" in db_bytes(tmp_path)
    assert privacy.forget("DT-ANA", ["ana.secret@lyon.fr"]) == (2, 1)
    assert privacy.compact() is True
    data = db_bytes(tmp_path)
    assert b"ana.secret@lyon.fr" not in data and b"Secretnom" not in data and b"DT-ANA" not in data
    assert [r.person_id for r in privacy.ledger_rows("DT-BOB")] == ["DT-BOB"]
    assert store.last_runs(1)[0].error == "refused: <<effacé>>"


def test_retention_strips_settled_messages_but_keeps_the_minimal_row(tmp_path: Path) -> None:
    """Old sent message: body and reply gone, row kept (never queued twice); pending untouched."""
    store, privacy = store_with_messages(tmp_path)
    store.finish_run(store.start_run(T0, T0), T0, "success", {})
    store.start_run(T0, T0)  # still running: never purged
    assert privacy.purge(T0 - timedelta(days=1)) == (0, 0)  # nothing old enough yet
    assert privacy.purge(T0 + timedelta(days=1)) == (2, 1)  # two sent messages, one run
    assert privacy.purge(T0 + timedelta(days=1)) == (0, 0)  # idempotent
    rows = {(r.person_id, r.template): r for r in privacy.ledger_rows("DT-ANA", with_raw=True)}
    sent = rows[("DT-ANA", "accuse_reception")]
    assert sent.state == "sent" and sent.raw is None and sent.sent_at == T0
    assert rows[("DT-ANA", "liste_attente")].raw == BODY  # pending: still to be sent
    item = ("DT-ANA", Template.ACCUSE_RECEPTION, "accuse_reception.DT-ANA.1", BODY)
    assert store.enqueue("Promotion 2026", [item], T0 + timedelta(days=2)) == 0
    privacy.checkpoint()
    assert privacy.message_ids()["accuse_reception.DT-ANA.1"] is False
    assert privacy.body_dropped("accuse_reception.DT-ANA.1")
    assert b"Bienvenue" in db_bytes(tmp_path)  # the pending message's body is still needed


def test_purged_bytes_leave_the_file_without_vacuum(tmp_path: Path) -> None:
    """secure_delete + WAL checkpoint: a stripped body is gone from the file bytes."""
    store, privacy = store_with_messages(tmp_path)
    for message in store.due("Promotion 2026", T0):
        store.mark_sending(message, T0)
        store.mark_sent(message, T0)
    assert b"bob@x.fr" in db_bytes(tmp_path)
    assert privacy.purge(T0 + timedelta(days=1)) == (3, 0)
    assert privacy.checkpoint()
    data = db_bytes(tmp_path)
    assert b"ana.secret@lyon.fr" not in data and b"bob@x.fr" not in data


def test_cancel_unsent_deletes_only_waiting_messages_of_those_people(tmp_path: Path) -> None:
    """Pending (and retry) rows of the named people go; sent ones and other people stay."""
    store, privacy = store_with_messages(tmp_path)
    assert privacy.cancel_unsent("Promotion 2026", ["DT-ANA"]) == ["liste_attente.DT-ANA.2"]
    assert [(r.template, r.state) for r in privacy.ledger_rows("DT-ANA")] == [
        ("accuse_reception", "sent")
    ]
    assert privacy.cancel_unsent("Promotion 2026", []) == []


def test_a_message_whose_body_was_purged_cannot_be_resent(tmp_path: Path) -> None:
    """`resend` of a refused message past retention says why instead of sending an empty one."""
    config = settings(tmp_path)
    store, privacy = store_with_messages(tmp_path)
    message = next(m for m in store.due("Promotion 2026", T0) if m.person_id == "DT-ANA")
    store.mark_sending(message, T0)
    store.mark_failed(message, T0, "550 no such user")
    privacy.purge(T0 + timedelta(days=1))
    with pytest.raises(PipelineError, match="retention_days"):
        resend(config, message_id="liste_attente.DT-ANA.2")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_privacy_operations_work_on_both_state_backends(tmp_path: Path, backend: str) -> None:
    """Salt, tombstone, cancel, purge, forget and compact give the same results on PostgreSQL."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    else:
        reason = pg.skip_reason()
        if reason:
            pytest.skip(f"PostgreSQL tests skipped: {reason}")
        url = pg.shared_cluster().create_database()
    store = StateStore(url)
    privacy = PrivacyState(store)
    salt = privacy.salt(create=True)
    assert salt is not None and PrivacyState(StateStore(url)).salt() == salt
    privacy.record_erasure("abc", T0, T0)
    assert privacy.erasures() == {"abc": T0}
    store.enqueue("P", [("DT-A", Template.ACCUSE_RECEPTION, "m1", BODY)], T0)
    store.enqueue("P", [("DT-A", Template.LISTE_ATTENTE, "m2", BODY)], T0)
    (first, _) = store.due("P", T0)
    store.mark_sending(first, T0)
    store.mark_sent(first, T0)
    assert privacy.cancel_unsent("P", ["DT-A"]) == ["m2"]
    assert privacy.purge(T0 + timedelta(days=1)) == (1, 0)
    assert privacy.message_ids() == {"m1": False} and privacy.body_dropped("m1")
    assert privacy.forget("DT-A", ["ana.secret@lyon.fr"]) == (1, 0)
    assert privacy.compact() is True and privacy.ledger_rows("DT-A") == []
    store.close()
