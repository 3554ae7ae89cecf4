"""A form row -> a `Response`, or the `Anomaly` list that explains why it was rejected."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from pipeline.core.errors import SheetError
from pipeline.core.geo import department_code
from pipeline.core.model import Anomaly, AuthorityKind, Reason, Response, Role
from pipeline.core.names import display_name
from pipeline.core.text import clean, fold
from pipeline.core.vocabulary import PARIS

SHEETS_EPOCH = datetime(1899, 12, 30)

REQUIRED_COLUMNS = ("submitted_at", "email", "last_name", "first_name", "authority", "consent")
FIELD_LABELS = {
    "submitted_at": "Horodateur",
    "email": "Adresse e-mail",
    "last_name": "Nom",
    "first_name": "Prénom",
    "authority": "Collectivité",
    "consent": "Consentement",
}


def header_summary(header: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> str:
    """Row 1 as an error may show it: the known titles found, and only a count of the other
    cells (if the header row was deleted, they are someone's answer: never quoted)."""
    titles = {fold(a) for names in aliases.values() for a in names}
    known = [f"'{h.strip()}' (column {i + 1})" for i, h in enumerate(header) if fold(h) in titles]
    others = sum(1 for h in header if h.strip() and fold(h) not in titles)
    said = "known titles found: " + (", ".join(known) if known else "none")
    return said + (f"; {others} other non-empty cell(s), not shown" if others else "")


def locate_columns(
    header: Sequence[str], aliases: Mapping[str, Sequence[str]], sheet: str
) -> dict[str, int]:
    """Map each field to its 0-based column by folded header name; stop on a missing required one."""
    folded = [fold(h) for h in header]
    found: dict[str, int] = {}
    for name, names in aliases.items():
        for alias in names:
            key = fold(alias)
            if key in folded:
                found[name] = folded.index(key)
                break
    missing = [f for f in REQUIRED_COLUMNS if f not in found]
    if missing:
        wanted = ", ".join(f"'{FIELD_LABELS[f]}' (or an alias)" for f in missing)
        raise SheetError(
            f"sheet '{sheet}' has no column {wanted} in row 1; {header_summary(header, aliases)}. "
            "If the header row was deleted, restore it (undo, or the sheet's version history); "
            "if a question was renamed, rename the column back or add its new title under "
            "[columns.aliases] in the config file."
        )
    return found


_FR_DATETIME = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?$"
)


def parse_timestamp(text: str, zone: ZoneInfo = PARIS) -> datetime | None:
    """French `27/11/2026 10:04:05`, ISO 8601, or a Sheets serial number -> aware datetime.

    Times without an offset are local to `zone`: the spreadsheet's own time zone (Europe/Paris
    for a workbook).
    """
    value = text.strip()
    if not value:
        return None
    match = _FR_DATETIME.match(value)
    try:
        if match:
            day, month, year, hour, minute, second = match.groups()
            naive = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
            return naive.replace(tzinfo=zone)
        if re.fullmatch(r"\d+(\.\d+)?", value):
            serial = float(value)
            if not 1 <= serial < 2958466:
                return None
            naive = SHEETS_EPOCH + timedelta(days=serial)
            return naive.replace(microsecond=0, tzinfo=zone) + timedelta(
                seconds=round(naive.microsecond / 1e6)
            )
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def normalize_email(text: str) -> str | None:
    """The identity form of an address (trimmed, lowercased), or None when it is not valid."""
    candidate = text.strip()
    if not candidate or any(ord(c) < 32 or c in '<>,;"' for c in candidate):
        return None
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def _role_aliases() -> dict[str, Role]:
    table: dict[str, Role] = {}
    extra = {
        Role.MAIRE: ["maire", "maire de la commune"],
        Role.ADJOINT: ["adjoint au maire", "adjointe au maire", "adjoint(e) au maire",
                       "maire adjoint", "maire adjointe", "maire-adjoint", "maire-adjointe",
                       "adjoint", "adjointe"],
        Role.CONSEILLER_MUNICIPAL: ["conseiller municipal", "conseillere municipale"],
        Role.PRESIDENT: ["president", "presidente"],
        Role.VICE_PRESIDENT: ["vice-president", "vice-presidente", "vice president",
                              "vice presidente"],
        Role.CONSEILLER_DEPARTEMENTAL: ["conseiller departemental", "conseillere departementale"],
        Role.CONSEILLER_REGIONAL: ["conseiller regional", "conseillere regionale"],
        Role.CONSEILLER_COMMUNAUTAIRE: ["conseiller communautaire", "conseillere communautaire"],
        Role.AGENT: ["agent territorial", "agente territoriale", "agent·e territorial·e",
                     "agent territorial (non elu)", "agente territoriale (non elue)"],
        Role.AUTRE: ["autre"],
    }  # fmt: skip
    for role in Role:
        table[fold(role.value)] = role
        for alias in extra.get(role, []):
            table[fold(alias)] = role
    return table


_ROLES = _role_aliases()
_KINDS = {fold(k.value): k for k in AuthorityKind} | {
    "epci": AuthorityKind.INTERCOMMUNALITE,
    "intercommunalite (epci)": AuthorityKind.INTERCOMMUNALITE,
    "metropole": AuthorityKind.INTERCOMMUNALITE,
    "ville": AuthorityKind.COMMUNE,
}


def parse_role(text: str) -> Role | None:
    return _ROLES.get(fold(text))


def parse_kind(text: str) -> AuthorityKind | None:
    return _KINDS.get(fold(text))


def parse_yes_no(text: str) -> bool | None:
    value = fold(text)
    if value in ("oui", "yes", "o", "true", "vrai", "1"):
        return True
    if value in ("non", "no", "n", "false", "faux", "0"):
        return False
    return None


def has_consent(text: str) -> bool:
    value = fold(text)
    return bool(value) and value not in ("non", "no", "false", "faux", "0", "je refuse")


def normalize_phone(text: str) -> str:
    """`06 12 34 56 78` -> `+33 6 12 34 56 78`; what does not parse is kept as typed.

    A number of the right length for its country is written the same way even when it is not
    assigned (the 06 39 98 … range reserved for fiction, a brand-new range the library does not
    know yet): staff see one format, and nothing is thrown away."""
    value = clean(text)
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


@dataclass(frozen=True)
class RowResult:
    response: Response | None
    anomalies: tuple[Anomaly, ...]


def parse_row(
    row: int, cells: Sequence[str], columns: Mapping[str, int], zone: ZoneInfo = PARIS
) -> RowResult | None:
    """Validate one source row. None for a blank row (not a submission)."""
    if not any(c.strip() for c in cells):
        return None

    def get(name: str) -> str:
        index = columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return clean(cells[index])

    # Names as their owners write them (the form sheet keeps the raw answer).
    first, last = display_name(get("first_name")), display_name(get("last_name"))
    raw_email, authority = get("email"), get("authority")
    consent = has_consent(get("consent"))
    person = f"{first} {last}".strip() if consent else ""
    shown_authority = authority if consent else ""
    problems: list[tuple[Reason, str]] = []

    if not consent:
        problems.append(
            (
                Reason.CONSENTEMENT_ABSENT,
                "La case de consentement n'est pas cochée : la réponse n'est pas traitée "
                "et aucune donnée personnelle n'est reprise ici.",
            )
        )
    missing = [
        label
        for name, label in (
            ("email", "adresse e-mail"),
            ("last_name", "nom"),
            ("first_name", "prénom"),
            ("authority", "collectivité"),
        )
        if not get(name)
    ]
    if missing and consent:
        problems.append(
            (
                Reason.CHAMP_MANQUANT,
                "Champ obligatoire vide : " + ", ".join(missing) + ". La réponse est écartée.",
            )
        )
    email = normalize_email(raw_email) if raw_email else None
    if raw_email and email is None and consent:
        problems.append(
            (
                Reason.EMAIL_INVALIDE,
                f"L'adresse e-mail « {raw_email} » n'est pas valide. La réponse est écartée.",
            )
        )
    submitted = parse_timestamp(get("submitted_at"), zone)
    if submitted is None:
        shown = get("submitted_at") or "vide"
        problems.append(
            (
                Reason.HORODATEUR_INVALIDE,
                f"L'horodateur ({shown}) est illisible. La réponse est écartée.",
            )
        )
    if problems:
        anomalies = tuple(
            Anomaly(reason=r, explanation=e, row=row, person=person, authority=shown_authority)
            for r, e in problems
        )
        return RowResult(response=None, anomalies=anomalies)

    assert email is not None and submitted is not None
    department_raw = get("department")
    response = Response(
        row=row,
        submitted_at=submitted,
        email=email,
        last_name=last,
        first_name=first,
        authority=authority,
        authority_kind=parse_kind(get("authority_kind")),
        department=department_code(department_raw),
        department_raw=department_raw,
        role=parse_role(get("role")),
        role_raw=get("role"),
        first_term=parse_yes_no(get("first_term")),
        intl_delegate=parse_yes_no(get("intl_delegate")),
        phone=normalize_phone(get("phone")),
        comment=get("comment"),
    )
    return RowResult(response=response, anomalies=())
