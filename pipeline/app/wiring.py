"""What a use case opens: the spreadsheet and the mail transport the settings name, and the run
lock's lease. Shared by the run (run.py) and the privacy commands (privacy.py), so neither
imports the other for it."""

from __future__ import annotations

from datetime import timedelta

from pipeline.adapters.mail.transport import Transport
from pipeline.adapters.sheets import Spreadsheet
from pipeline.config import Settings

# The run lock's lease; renewed at every boundary step, so only a dead run's lease runs out.
LOCK_LEASE = timedelta(minutes=10)


def open_spreadsheet(settings: Settings) -> Spreadsheet:
    """The backend `[spreadsheet]` names; its library is imported only now."""
    if settings.spreadsheet.backend == "local":
        from pipeline.adapters.xlsx.workbook import LocalWorkbook

        assert settings.spreadsheet.workbook is not None
        return LocalWorkbook(settings.spreadsheet.workbook)
    from pipeline.adapters.google.spreadsheet import GoogleSpreadsheet

    spreadsheet: Spreadsheet = GoogleSpreadsheet.from_settings(settings.spreadsheet)
    return spreadsheet


def open_transport(settings: Settings) -> Transport:
    """The mail transport `[email]` names: the outbox folder or SMTP."""
    if settings.email.transport == "outbox":
        from pipeline.adapters.mail.transport import OutboxTransport

        assert settings.email.outbox is not None
        return OutboxTransport(settings.email.outbox)
    from pipeline.adapters.mail.smtp import SmtpTransport

    return SmtpTransport.from_settings(settings.email)
