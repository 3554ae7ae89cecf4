"""A refused or uncertain session message: staff are told which one, and resend takes it by id
(a person has several messages of the same session template)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.adapters.state.store import QueueItem, StateStore
from pipeline.app.mail_commands import resend
from pipeline.app.run import ledger_anomalies
from pipeline.core.cohort import Evaluation, LedgerEntry
from pipeline.core.errors import PipelineError
from pipeline.core.messages import session_message_key
from pipeline.core.model import Reason, Template
from tests.support.builders import settings

NOW = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


def test_staff_see_which_session_message_and_the_resend_by_id() -> None:
    """The À vérifier text names the session and version and resends by message id."""
    entry = LedgerEntry("DT-a", Template.INVITATION_SESSION, "failed", NOW, "550 no such user",
                        session="S2", version="v2")  # fmt: skip
    evaluation = Evaluation(0, [], {}, {}, [], [])
    (anomaly,) = ledger_anomalies([entry], evaluation, "c.toml", "Promotion 2026")
    key = session_message_key("Promotion 2026", "DT-a", Template.INVITATION_SESSION, "S2", "v2")
    assert anomaly.reason is Reason.COURRIEL_REJETE
    assert "« invitation_session S2 v2 »" in anomaly.explanation
    assert f"diplomates resend --config c.toml --message {key}" in anomaly.explanation


def test_resend_by_person_and_template_is_refused_when_ambiguous(tmp_path: Path) -> None:
    """Two invitations (S1, S2) for one person: --person/--template names neither, so refused."""
    config = settings(tmp_path)
    store = StateStore(config.state.url)
    items = [
        QueueItem("DT-a", Template.INVITATION_SESSION, f"inv.{code}", b"x", session=code,
                  version="v1")
        for code in ("S1", "S2")
    ]  # fmt: skip
    store.enqueue("Promotion 2026", items, NOW)
    for message in store.due("Promotion 2026", NOW):
        store.mark_failed(message, NOW, "550")
    with pytest.raises(PipelineError, match="one per session and version"):
        resend(config, person_id="DT-a", template=Template.INVITATION_SESSION)
