"""The settings as pure data: the pydantic models every floor reads, with their checks.

Validation here looks at values only (no file, no environment); `pipeline/config.py` reads the
TOML file and the environment, resolves relative paths and turns a validation error into one
`ConfigError` paragraph.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.core.vocabulary import (
    ATTENDANCE_SHEET,
    CERTIFICATES_SHEET,
    COHORT_NAME,
    DASHBOARD_SHEET,
    JOURNAL_SHEET,
    MEMBERS_SHEET,
    PARIS,
    RESPONSES_SHEET,
    REVIEW_SHEET,
    SESSIONS_SHEET,
)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpreadsheetSettings(Section):
    backend: Literal["local", "google"] = "local"
    workbook: Path | None = None
    key: str | None = None
    credentials: Path | None = None
    api_endpoint: str = "https://sheets.googleapis.com"

    @model_validator(mode="after")
    def _backend_needs(self) -> SpreadsheetSettings:
        if self.backend == "local" and self.workbook is None:
            raise ValueError("backend 'local' needs spreadsheet.workbook (path of the .xlsx file)")
        if self.backend == "google" and not self.key:
            raise ValueError("backend 'google' needs spreadsheet.key (the spreadsheet id or URL)")
        return self


class SheetNames(Section):
    responses: str = RESPONSES_SHEET
    members: str = MEMBERS_SHEET
    review: str = REVIEW_SHEET
    journal: str = JOURNAL_SHEET
    dashboard: str = DASHBOARD_SHEET
    sessions: str = SESSIONS_SHEET
    attendance: str = ATTENDANCE_SHEET
    certificates: str = CERTIFICATES_SHEET


DEFAULT_ALIASES: dict[str, list[str]] = {
    "submitted_at": ["Horodateur", "Horodatage", "Timestamp", "Date de réponse"],
    "email": ["Adresse e-mail", "Adresse email", "E-mail", "Email", "Courriel", "Adresse mail"],
    "last_name": ["Nom", "Nom de famille"],
    "first_name": ["Prénom"],
    "authority": ["Collectivité", "Votre collectivité", "Nom de la collectivité"],
    "authority_kind": ["Type de collectivité", "Type"],
    "department": ["Département", "Département (numéro)"],
    "role": ["Fonction", "Votre fonction", "Mandat"],
    "first_term": ["Premier mandat", "Premier mandat ?", "Nouvel élu", "Nouvel·le élu·e"],
    "intl_delegate": [
        "Délégation aux relations internationales",
        "Délégation relations internationales",
    ],
    "phone": ["Téléphone", "Numéro de téléphone", "Tél."],
    "comment": ["Commentaire", "Commentaires", "Remarques"],
    "consent": ["Consentement", "J'accepte", "RGPD"],
}


class ColumnSettings(Section):
    """Aliases per form field: the header in the responses sheet may be any of them."""

    aliases: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_ALIASES))

    @field_validator("aliases")
    @classmethod
    def _known_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(DEFAULT_ALIASES))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; known fields: {sorted(DEFAULT_ALIASES)}")
        merged = dict(DEFAULT_ALIASES)
        for name, extra in value.items():
            merged[name] = list(dict.fromkeys([*extra, *DEFAULT_ALIASES[name]]))
        return merged


class EmailSettings(Section):
    transport: Literal["outbox", "smtp"] = "outbox"
    outbox: Path | None = None
    sender: str
    sender_name: str = "Cités Unies France"
    reply_to: str
    # SMTP (transport = "smtp"); the password comes only from DIPLOMATES_SMTP_PASSWORD.
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, gt=0, lt=65536)  # 587 starttls, 465 tls, 25 none
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_ca_file: Path | None = None  # a private CA for the relay; certificates are always checked
    smtp_timeout: float = Field(default=60, gt=0)  # seconds, per network operation
    # Sending limits (None: no limit); what exceeds waits for a later run, oldest first.
    max_per_minute: int | None = Field(default=None, gt=0)
    max_per_day: int | None = Field(default=None, gt=0)  # rolling 24 h; Google Workspace: 2000
    # Temporary refusals (4xx, network): retried after 5 min, 10 min, 20 min ... capped; a
    # message still refused after retry_max_attempts attempts is `failed`.
    retry_first_delay_minutes: float = Field(default=5, gt=0)
    retry_max_delay_hours: float = Field(default=6, gt=0)
    retry_max_attempts: int = Field(default=10, gt=0)

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or {"starttls": 587, "tls": 465, "none": 25}[self.smtp_security]

    @model_validator(mode="after")
    def _transport_needs(self) -> EmailSettings:
        if self.transport == "outbox" and self.outbox is None:
            raise ValueError("transport 'outbox' needs email.outbox (a folder for the .eml files)")
        if self.transport == "smtp" and not (self.smtp_host or "").strip():
            raise ValueError("transport 'smtp' needs email.smtp_host (the mail server's name)")
        loopback = (self.smtp_host or "").strip().lower() in ("localhost", "127.0.0.1", "::1")
        if self.smtp_security == "none" and self.smtp_username and not loopback:
            raise ValueError(
                "email.smtp_security 'none' with email.smtp_username would send the password "
                'in clear over the network; use smtp_security = "starttls" or "tls"'
            )
        return self


class CohortSettings(Section):
    name: str = COHORT_NAME
    capacity: int = Field(gt=0)
    require_staff_approval: bool = False
    registration_opens: datetime
    registration_closes: datetime
    max_per_authority: int | None = Field(default=None, gt=0)

    @field_validator("registration_opens", "registration_closes")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=PARIS)

    @model_validator(mode="after")
    def _order(self) -> CohortSettings:
        if self.registration_closes <= self.registration_opens:
            raise ValueError("cohort.registration_closes must come after cohort.registration_opens")
        return self


class ProgrammeSettings(Section):
    """Facts the emails quote; kept in config so staff can change them without a release."""

    name: str = "Diplomates des territoires"
    organiser: str = "Cités Unies France"
    url: str = "https://cites-unies-france.org"
    contact_name: str = "L'équipe Diplomates des territoires"
    contact_email: str
    partners: list[str] = Field(default_factory=list)
    signature: str = "L'équipe Diplomates des territoires, Cités Unies France"
    # Where people write to reach the data-protection contact and exercise their rights (GDPR
    # art. 13); every email's footer says so. Unset: `contact_email`.
    privacy_contact: str | None = None

    @property
    def privacy_address(self) -> str:
        return self.privacy_contact or self.contact_email


class StateSettings(Section):
    url: str = "sqlite:///diplomates-state.sqlite"


DEFAULT_INTERVAL_MINUTES = 5.0


class ScheduleSettings(Section):
    """`diplomates schedule`: every `interval_minutes` (default 5) or on a `cron` line, not both."""

    interval_minutes: float | None = Field(default=None, gt=0)  # 0.5 = every 30 s
    cron: str | None = None  # five crontab fields, e.g. "*/5 7-21 * * *"
    timezone: str = "Europe/Paris"
    misfire_grace_seconds: int = Field(default=3600, gt=0)  # a late run still happens (once)
    stop_timeout_seconds: float = Field(default=25, gt=0)  # SIGTERM: wait this long for a step

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError("unknown time zone; use an IANA name such as 'Europe/Paris'") from None
        return value

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError("a crontab line has five fields: minute hour day month weekday")
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduleSettings:
        if self.interval_minutes is not None and self.cron is not None:
            raise ValueError("set schedule.interval_minutes or schedule.cron, not both")
        return self

    @property
    def interval(self) -> float | None:
        """Minutes between runs, or None when `cron` drives the schedule."""
        if self.cron is not None:
            return None
        return self.interval_minutes or DEFAULT_INTERVAL_MINUTES


class AlertSettings(Section):
    """A failed run emails a short alert (no personal data) to `email` when it is set."""

    email: str | None = None

    @field_validator("email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        local, _, domain = value.strip().rpartition("@")
        if not local or "." not in domain:
            raise ValueError("alerts.email must be an email address, e.g. exploitation@example.org")
        return value.strip()


class PrivacySettings(Section):
    """Personal data (docs/donnees-personnelles.md): how long message copies and run records stay.

    `retention_days` unset: kept until `diplomates erase`. Set: every run (and `diplomates
    purge`) strips the body and the server's reply from messages sent, refused or left uncertain
    more than that many days ago (a minimal ledger row stays, so nothing is ever sent twice),
    deletes older run records and the outbox copies of those messages.
    """

    retention_days: int | None = Field(default=None, ge=1)


class SafetySettings(Section):
    """When a run's inputs look broken, it stops before sending or writing anything (exit 1);
    `diplomates run --force` overrides. Shares are of the people the cohort sheet shows, and
    only judged from `min_people` people on (a small cohort moves a lot in one day)."""

    max_vanished_share: float = Field(default=0.2, ge=0, le=1)  # answers no longer found
    max_eligibility_change_share: float = Field(default=0.25, ge=0, le=1)
    min_people: int = Field(default=20, ge=1)
    clock_tolerance_minutes: float = Field(default=5, ge=0)  # a clock behind the last run's


class SessionSettings(Section):
    """Sessions (SPEC "After registration"): reminders this many days before each Début."""

    reminder_days: list[int] = Field(default_factory=lambda: [7, 1])

    @field_validator("reminder_days")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(d < 1 for d in value):
            raise ValueError("reminder days are whole numbers of days, 1 or more")
        return sorted(set(value), reverse=True)


class CertificateSettings(Section):
    """Certificates: when they are decided, the attendance needed, approval, where PDFs live.

    `issue_after` unset: once the last planned session has ended.
    """

    issue_after: datetime | None = None
    min_attendance: float = Field(default=0.75, gt=0, le=1)
    require_staff_approval: bool = True
    folder: Path = Path("certificats")

    @field_validator("issue_after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=PARIS)
        return value


class Settings(Section):
    spreadsheet: SpreadsheetSettings
    sheets: SheetNames = Field(default_factory=SheetNames)
    columns: ColumnSettings = Field(default_factory=ColumnSettings)
    email: EmailSettings
    cohort: CohortSettings
    programme: ProgrammeSettings
    state: StateSettings = Field(default_factory=StateSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    certificates: CertificateSettings = Field(default_factory=CertificateSettings)
    source: Path | None = Field(default=None, exclude=True)
