"""Certificates, pure: who gets which document (SPEC's table), its status, its code.

| Éligibilité | rate ≥ min_attendance | document                       |
| Certificat  | yes                   | Certificat d'auditeur          |
| Sessions    | yes                   | Attestation de participation   |
| any         | no                    | none (`Non atteint`)           |

rate = Présent / sessions held (planned, ended, not cancelled). Only people `Inscrit·e` now are
considered, plus anyone a document was already queued for (what was issued stays shown).
A document already queued in the ledger is never changed, redone or sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from pipeline.core.attendance import Attendance, Participant
from pipeline.core.cohort import LedgerEntry
from pipeline.core.model import Anomaly, Cell, Eligibility, Reason, Template
from pipeline.core.sessions import Session
from pipeline.core.sheetplan import Table, header_index
from pipeline.core.text import clean, fold
from pipeline.core.vocabulary import (
    DECISION,
    MessageState,
)

CERTIFICATE_LABEL = "Certificat d'auditeur"
ATTESTATION_LABEL = "Attestation de participation"
DOCUMENT_LABELS = {Template.CERTIFICAT: CERTIFICATE_LABEL, Template.ATTESTATION: ATTESTATION_LABEL}
TO_VALIDATE, VALIDATED, SENT, NOT_REACHED, REFUSED = (
    "À valider", "Validé", "Envoyé", "Non atteint", "Refusé",
)  # fmt: skip
CERT_STATUSES = (TO_VALIDATE, VALIDATED, SENT, NOT_REACHED, REFUSED)
VALIDATE, REFUSE = "Valider", "Refuser"

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOKALIKES = str.maketrans("OILU", "011V")
_CODE = re.compile(r"^DT(\d\d)-?([0-9A-Z]{4})-?([0-9A-Z]{4})$")


def certificates_open(
    sessions: Sequence[Session], now: datetime, issue_after: datetime | None = None
) -> bool:
    """Certificates are decided from `issue_after`, else once the last planned session ended."""
    if issue_after is not None:
        return now >= issue_after
    planned = [s for s in sessions if not s.cancelled]
    return bool(planned) and now >= max(s.end for s in planned)


def document_for(eligibility: str, rate: Fraction, min_attendance: float) -> Template | None:
    """SPEC's table; anything other than `Certificat` or `Sessions` never gets a document."""
    if rate < Fraction(str(min_attendance)):
        return None
    if eligibility == Eligibility.CERTIFICAT.value:
        return Template.CERTIFICAT
    if eligibility == Eligibility.SESSIONS.value:
        return Template.ATTESTATION
    return None


def _cohort_year(cohort: str) -> str:
    years = re.findall(r"(?:19|20)(\d\d)", cohort)
    return years[-1] if years else "00"


def verification_code(secret: bytes, cohort: str, person_id: str, document: Template) -> str:
    """`DT26-7K4M-Q9ZP`: 40 bits of HMAC-SHA256(secret, cohort|person|document), Crockford
    base32. Stable for a given secret; unguessable without it."""
    digest = hmac.new(
        secret, f"{cohort}|{person_id}|{document.value}".encode(), hashlib.sha256
    ).digest()
    number = int.from_bytes(digest[:5], "big")
    chars = "".join(CROCKFORD[(number >> (5 * i)) & 31] for i in range(7, -1, -1))
    return f"DT{_cohort_year(cohort)}-{chars[:4]}-{chars[4:]}"


def normalize_code(text: str) -> str | None:
    """A code as someone types it (`dt26 7k4m q9zp`, `O` for `0`) -> canonical, or None."""
    value = re.sub(r"[\s_.]", "", text.upper())
    value = value.translate(_LOOKALIKES)
    match = _CODE.match(value)
    if not match:
        return None
    year, first, second = match.groups()
    if any(c not in CROCKFORD for c in first + second):
        return None
    return f"DT{year}-{first}-{second}"


@dataclass(frozen=True)
class CertificateRow:
    """One person's line in `Certificats`, and whether its document must be issued now."""

    participant: Participant
    attendance: Attendance
    template: Template | None  # the document, None when `Non atteint`
    status: str
    code: str
    issue: bool  # render the PDF and queue the email now


def read_certificate_decisions(
    table: Table | None,
) -> tuple[dict[str, str], list[Anomaly]]:
    """Staff's `Décision CUF` in `Certificats` by ID (`Valider`, `Refuser`, or empty); anything
    else is reported (`decision_invalide`) and counts as empty."""
    if not table:
        return {}, []
    columns = header_index(table[0])
    id_col, dec_col = columns.get(fold("ID")), columns.get(fold(DECISION))
    if id_col is None or dec_col is None:
        return {}, []
    allowed = {fold(VALIDATE): VALIDATE, fold(REFUSE): REFUSE}
    decisions: dict[str, str] = {}
    anomalies = []
    for cells in table[1:]:
        pid = clean(cells[id_col]) if id_col < len(cells) else ""
        typed = clean(cells[dec_col]) if dec_col < len(cells) else ""
        if not pid or pid in decisions:
            continue
        decision = allowed.get(fold(typed), "")
        decisions[pid] = decision
        if typed and not decision:
            anomalies.append(
                Anomaly(
                    reason=Reason.DECISION_INVALIDE,
                    person_id=pid,
                    explanation=(
                        f"Certificats : la décision « {typed} » n'est pas reconnue ; écrivez "
                        "Valider ou Refuser (ou laissez vide). Elle est ignorée d'ici là."
                    ),
                )
            )
    return decisions, anomalies


def decide_certificates(
    participants: Sequence[Participant],
    attendance: Mapping[str, Attendance],
    decisions: Mapping[str, str],
    ledger: Sequence[LedgerEntry],
    cohort: str,
    secret: bytes,
    min_attendance: float,
    require_approval: bool,
) -> list[CertificateRow]:
    """Every row of `Certificats`, by SPEC's rule and staff's decisions.

    Already queued (any delivery state): the document stays as issued, `Envoyé` once delivered.
    Otherwise the rule picks the document; `Refuser` → `Refusé`; with approval required,
    nothing is issued before `Valider` (`À valider`); else `Validé` and issued now.
    """
    issued: dict[str, LedgerEntry] = {}
    for entry in ledger:
        if entry.template in DOCUMENT_LABELS:
            issued.setdefault(entry.person_id, entry)
    rows: list[CertificateRow] = []
    for person in participants:
        counts = attendance.get(person.id, Attendance())
        done = issued.get(person.id)
        if done is not None:
            code = verification_code(secret, cohort, person.id, done.template)
            status = SENT if done.state == MessageState.SENT else VALIDATED
            rows.append(CertificateRow(person, counts, done.template, status, code, False))
            continue
        if not person.enrolled:
            continue
        template = document_for(person.eligibility, counts.rate, min_attendance)
        if template is None:
            rows.append(CertificateRow(person, counts, None, NOT_REACHED, "", False))
            continue
        code = verification_code(secret, cohort, person.id, template)
        decision = decisions.get(person.id, "")
        if decision == REFUSE:
            rows.append(CertificateRow(person, counts, template, REFUSED, code, False))
        elif require_approval and decision != VALIDATE:
            rows.append(CertificateRow(person, counts, template, TO_VALIDATE, code, False))
        else:
            rows.append(CertificateRow(person, counts, template, VALIDATED, code, True))
    return rows


def certificate_table(rows: Sequence[CertificateRow]) -> list[dict[str, Cell]]:
    return [
        {
            "ID": r.participant.id,
            "Nom": r.participant.last_name,
            "Prénom": r.participant.first_name,
            "Collectivité adhérente": r.participant.member,
            "Éligibilité": r.participant.eligibility,
            "Document": DOCUMENT_LABELS[r.template] if r.template else "",
            "Présences": r.attendance.shown_count,
            "Taux": r.attendance.shown_rate,
            "Heures": r.attendance.shown_hours,
            "Code de vérification": r.code,
            "Statut": r.status,
        }
        for r in rows
    ]
