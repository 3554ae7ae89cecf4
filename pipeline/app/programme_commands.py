"""Operator commands after registration: `diplomates sessions init`, `diplomates verify CODE`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.config import Settings
from pipeline.core.errors import UsageError
from pipeline.core.model import WritePlan
from pipeline.core.vocabulary import PARIS


def sessions_init(settings: Settings) -> str:
    """Create the empty `Sessions` sheet (headers, notes, dropdowns); refuse if it exists."""
    from pipeline.app.wiring import open_spreadsheet
    from pipeline.core.programme import sessions_sheet

    spreadsheet = open_spreadsheet(settings)
    name = settings.sheets.sessions
    if name in spreadsheet.read([name]):  # asking for what is already there: a usage error (2)
        raise UsageError(
            f"sheet '{name}' already exists in {spreadsheet.describe()}; nothing was changed "
            "(staff own it: edit it there, or rename it first to start a fresh one)"
        )
    spreadsheet.write(WritePlan(sheets=(sessions_sheet(name),)))
    return f"sheet '{name}' created in {spreadsheet.describe()}"


@dataclass(frozen=True)
class Verification:
    """What `verify` says about a code, in French for whoever asks and in English for logs."""

    found: bool
    text: str


LABELS = {"certificat": "Certificat d'auditeur", "attestation": "Attestation de participation"}


def verify(settings: Settings, code: str) -> Verification:
    """Whose document a code is, which, and when it was issued; erased and unknown codes say so."""
    from pipeline.adapters.state.documents import DocumentStore
    from pipeline.adapters.state.store import StateStore
    from pipeline.core.certificates import normalize_code

    canonical = normalize_code(code)
    if canonical is None:
        return Verification(
            False,
            f"« {code.strip()} » n'est pas un code de vérification (forme attendue : "
            "DT26-XXXX-XXXX). / Not a verification code.",
        )
    documents = DocumentStore(StateStore(settings.state.url), settings.certificates.folder)
    found = documents.lookup(canonical)
    if found is None:
        return Verification(
            False,
            f"{canonical} : code inconnu, aucun document de {settings.programme.organiser} ne "
            "porte ce code. / Unknown code: no document carries it.",
        )
    label = LABELS.get(found.kind, found.kind)
    day = _day(found.issued_at)
    if found.erased_at is not None:
        return Verification(
            True,
            f"{canonical} : {label}, {found.cohort}, délivré le {day} ; les données de la "
            f"personne ont été effacées le {_day(found.erased_at)}, à sa demande ou au terme de "
            "la durée de conservation (effacé). / Issued, then the holder's data was erased.",
        )
    where = f" ({found.authority})" if found.authority else ""
    return Verification(
        True,
        f"{canonical} : {label} délivré à {found.full_name}{where}, "
        f"{settings.programme.name}, {found.cohort}, le {day}. / Valid document.",
    )


def _day(moment: datetime) -> str:
    from pipeline.adapters.mail.render import french_date

    return french_date(moment.astimezone(PARIS))
