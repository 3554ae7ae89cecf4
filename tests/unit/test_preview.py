"""`diplomates preview --email`: the message a run would send that person, read the same way."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.adapters.state.store import StateStore
from pipeline.app.mail_commands import preview
from pipeline.app.run import Runner
from pipeline.core.model import Template
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport

PARIS = ZoneInfo("Europe/Paris")
AFTER_CLOSING = datetime(2026, 5, 5, 10, 0, tzinfo=PARIS)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_preview_reads_timestamps_in_the_spreadsheets_time_zone(tmp_path: Path) -> None:
    """A London spreadsheet's 30/04 23:30 is late (00:30 in Paris): preview and run both say so."""
    config = settings(tmp_path)  # registration closes on 30/04/2026 at 23:59:59, Paris time
    sheet = MemorySpreadsheet(
        {
            config.sheets.responses: [FORM_HEADERS, answer("30/04/2026 23:30:00", "ana@lyon.fr")],
            config.sheets.members: [MEMBER_HEADERS, member("Ville de Lyon")],
        },
        time_zone="Europe/London",
    )
    transport = RecordingTransport()
    store = StateStore(config.state.url)
    Runner(
        config, spreadsheet=sheet, transport=transport, store=store, clock=lambda: AFTER_CLOSING
    ).run(now=AFTER_CLOSING)
    store.close()
    sent = [m for m in transport.sent if Template.ACCUSE_RECEPTION.value in str(m["Message-ID"])]
    assert len(sent) == 1 and "après cette date" in text_of(sent[0])  # the late wording

    out = tmp_path / "preview"
    preview(
        config, Template.ACCUSE_RECEPTION, out, email="ana@lyon.fr", now=AFTER_CLOSING,
        spreadsheet=sheet,
    )  # fmt: skip
    assert (out / "body.txt").read_text(encoding="utf-8") == text_of(sent[0])
