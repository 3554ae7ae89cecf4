"""After registration, pure: one run's sessions, attendance and certificates, and their sheets.

Everything here is off until staff create the `Sessions` sheet (SPEC). `evaluate_programme`
decides; `programme_writes` plans `Émargement` and `Certificats`; `dashboard_sections` adds the
per-session counts and documents to `Tableau de bord`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from pipeline.core.attendance import (
    ABSENT,
    EXCUSED,
    MARKS,
    PRESENT,
    Attendance,
    Participant,
    attendance_of,
    attendance_rows,
    plan_attendance,
    read_marks,
)
from pipeline.core.certificates import (
    CERT_STATUSES,
    REFUSE,
    VALIDATE,
    CertificateRow,
    certificate_table,
    certificates_open,
    decide_certificates,
    read_certificate_decisions,
)
from pipeline.core.cohort import Evaluation, LedgerEntry
from pipeline.core.layout import (
    ELIGIBILITY_COLOURS,
    GREEN,
    GREY,
    ORANGE,
    PALE,
    RED,
    YELLOW,
    header_after,
    marked,
    rows_after,
    table_layout,
    with_layout,
)
from pipeline.core.model import Anomaly, Cell, Dropdown, SheetLayout, SheetWrite, Status, Template
from pipeline.core.sessions import (
    INVITED,
    Session,
    SessionDue,
    due_session_messages,
    invited_now,
    read_sessions,
)
from pipeline.core.sheetplan import Table, header_index, plan_keyed
from pipeline.core.text import fold
from pipeline.core.vocabulary import (
    ATTENDANCE_BASE,
    ATTENDANCE_TAIL,
    CERTIFICATE_HEADERS,
    CERTIFICATE_OWNED,
    DECISION,
    NOTES,
    PARIS,
    SESSION_HEADERS,
)

ENROLLED_TEMPLATES = frozenset(
    {Template.INSCRIPTION_CONFIRMEE, Template.PLACE_LIBEREE} | set(INVITED)
)


@dataclass(frozen=True)
class ProgrammeEvaluation:
    """What a run decides after registration (empty when there is no `Sessions` sheet)."""

    active: bool = False
    sessions: list[Session] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    due: list[SessionDue] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)
    attendance: dict[str, Attendance] = field(default_factory=dict)
    certificates: list[CertificateRow] | None = None  # None: not open yet

    @property
    def documents_due(self) -> list[CertificateRow]:
        return [row for row in self.certificates or () if row.issue]


def _ids(table: Table | None) -> list[str]:
    if not table:
        return []
    col = header_index(table[0]).get(fold("ID"))
    if col is None:
        return []
    return [line[col].strip() for line in table[1:] if col < len(line) and line[col].strip()]


def evaluate_programme(
    evaluation: Evaluation,
    ledger: Sequence[LedgerEntry],
    tables: Mapping[str, Table],
    *,
    sessions_sheet: str,
    attendance_sheet: str,
    certificates_sheet: str,
    cohort: str,
    now: datetime,
    secret: bytes,
    reminder_days: Sequence[int] = (7, 1),
    min_attendance: float = 0.75,
    require_approval: bool = True,
    issue_after: datetime | None = None,
    withdrawn: Set[str] = frozenset(),
    time_zone: str | None = None,
) -> ProgrammeEvaluation:
    """Sessions, due session messages, attendance and (once open) certificate decisions."""
    if sessions_sheet not in tables:
        return ProgrammeEvaluation()
    zone = ZoneInfo(time_zone) if time_zone else PARIS
    sessions, anomalies = read_sessions(tables[sessions_sheet], zone)
    people = {p.id: p for p in evaluation.people}
    statuses = {pid: placement.status for pid, placement in evaluation.placements.items()}
    due = [
        d
        for d in due_session_messages(
            sessions, statuses, ledger, now, reminder_days, withdrawn=withdrawn
        )
        if d.person_id in people and d.person_id not in withdrawn
    ]
    was = {e.person_id for e in ledger if e.template in ENROLLED_TEMPLATES}
    was.update(_ids(tables.get(attendance_sheet)))
    chosen = [p for p in evaluation.people if statuses.get(p.id) is Status.INSCRIT or p.id in was]
    chosen.sort(key=lambda p: (fold(p.last_name), fold(p.first_name), p.id))
    participants = []
    for person in chosen:
        match = evaluation.matches.get(person.id)
        placement = evaluation.placements[person.id]
        participants.append(
            Participant(
                id=person.id,
                last_name=person.last_name,
                first_name=person.first_name,
                member=match.member.name if match and match.member else "",
                eligibility=placement.eligibility.value,
                enrolled=placement.status is Status.INSCRIT and person.id not in withdrawn,
            )
        )
    marks, mark_anomalies = read_marks(tables.get(attendance_sheet), sessions)
    known = {p.id for p in participants}
    anomalies += [a for a in mark_anomalies if a.person_id in known]
    attendance = {p.id: attendance_of(marks.get(p.id, {}), sessions, now) for p in participants}
    certificates = None
    if certificates_open(sessions, now, issue_after):
        decisions, decision_anomalies = read_certificate_decisions(tables.get(certificates_sheet))
        anomalies += [a for a in decision_anomalies if a.person_id in known]
        certificates = decide_certificates(
            participants, attendance, decisions, ledger, cohort, secret, min_attendance,
            require_approval,
        )  # fmt: skip
    return ProgrammeEvaluation(
        True, sessions, anomalies, due, participants, attendance, certificates
    )


# --- Layouts ---------------------------------------------------------------------------------

MARK_TITLE = "Émargement"
MARK_HELP = (
    "Présent, Absent ou Excusé. Seul Présent compte pour le taux de présence ; une séance "
    "non émargée compte comme une absence."
)
MARK_ERROR = "Choisissez Présent, Absent ou Excusé (ou laissez la cellule vide)."
CERT_DECISION_TITLE = "Décision de l'équipe CUF"
CERT_DECISION_HELP = (
    "Valider : le document est envoyé à la personne au prochain passage. Refuser : aucun "
    "document. Laissez vide tant que rien n'est décidé."
)
CERT_DECISION_ERROR = "Choisissez Valider ou Refuser (ou laissez la cellule vide)."
MARK_COLOURS = {PRESENT: GREEN, ABSENT: RED, EXCUSED: YELLOW}
CERT_STATUS_COLOURS = {
    "À valider": ORANGE, "Validé": YELLOW, "Envoyé": GREEN, "Non atteint": GREY,
    "Refusé": PALE,
}  # fmt: skip
assert set(CERT_STATUS_COLOURS) == set(CERT_STATUSES)
BASE_WIDTHS = {"ID": 14, "Nom": 18, "Prénom": 16, "Collectivité adhérente": 30, "Éligibilité": 15}


def attendance_layout(header: Sequence[str], data_rows: int, codes: Sequence[str]) -> SheetLayout:
    """`Émargement`: session columns are staff's (yellow, dropdown, coloured marks)."""
    widths = {**BASE_WIDTHS, **{code: 11 for code in codes}}
    widths.update({"Présences": 11, "Taux": 8, "Heures": 10})
    layout = table_layout(
        header, data_rows, widths, staff=tuple(codes),
        colours={"Éligibilité": ELIGIBILITY_COLOURS, **{c: MARK_COLOURS for c in codes}},
        frozen_cols=3 if [fold(h) for h in header[:3]] == ["id", "nom", "prenom"] else 0,
        dropdowns={code: MARKS for code in codes},
    )  # fmt: skip
    dropdowns = tuple(
        Dropdown(d.col, d.values, MARK_TITLE, MARK_HELP, MARK_ERROR) for d in layout.dropdowns
    )
    return marked(replace(layout, dropdowns=dropdowns))


def certificates_layout(header: Sequence[str], data_rows: int) -> SheetLayout:
    """`Certificats`: statut colours, the Valider/Refuser dropdown."""
    widths = {
        **BASE_WIDTHS, "Document": 28, "Présences": 11, "Taux": 8, "Heures": 10,
        "Code de vérification": 18, "Statut": 13, DECISION: 15, NOTES: 40,
    }  # fmt: skip
    layout = table_layout(
        header, data_rows, widths, staff=(DECISION, NOTES),
        colours={"Éligibilité": ELIGIBILITY_COLOURS, "Statut": CERT_STATUS_COLOURS},
        frozen_cols=3 if [fold(h) for h in header[:3]] == ["id", "nom", "prenom"] else 0,
        dropdowns={DECISION: (VALIDATE, REFUSE)},
    )  # fmt: skip
    dropdowns = tuple(
        Dropdown(d.col, d.values, CERT_DECISION_TITLE, CERT_DECISION_HELP, CERT_DECISION_ERROR)
        for d in layout.dropdowns
    )
    return marked(replace(layout, dropdowns=dropdowns))


def programme_writes(
    programme: ProgrammeEvaluation,
    tables: Mapping[str, Table],
    *,
    attendance_sheet: str,
    certificates_sheet: str,
    marks: Mapping[str, str] | None = None,
) -> list[SheetWrite]:
    """`Émargement` (as soon as there are sessions or participants) and `Certificats` (once
    certificates are open); pipeline-owned cells only, staff marks and decisions never."""
    if not programme.active:
        return []
    writes = []
    current = tables.get(attendance_sheet)
    if programme.sessions or programme.participants or current is not None:
        rows = attendance_rows(programme.participants, programme.attendance)
        write = plan_attendance(attendance_sheet, current, programme.sessions, rows)
        header = header_after(current, write)
        codes = [
            h for h in header if fold(h) not in {fold(x) for x in ATTENDANCE_BASE + ATTENDANCE_TAIL}
        ]
        known = {fold(s.code) for s in programme.sessions}
        layout = attendance_layout(
            header, rows_after(current, write), [c for c in codes if fold(c) in known]
        )
        writes.append(with_layout(write, layout, marks))
    if programme.certificates is not None:
        current = tables.get(certificates_sheet)
        write = plan_keyed(
            certificates_sheet, current, CERTIFICATE_HEADERS, CERTIFICATE_OWNED,
            certificate_table(programme.certificates), key="ID",
        )  # fmt: skip
        layout = certificates_layout(header_after(current, write), rows_after(current, write))
        writes.append(with_layout(write, layout, marks))
    return writes


def dashboard_sections(
    programme: ProgrammeEvaluation, ledger: Sequence[LedgerEntry]
) -> list[list[Cell]]:
    """Rows for `Tableau de bord`: per session invitations, presences, absences, excuses; then
    documents issued. Empty when sessions are off."""
    if not programme.active:
        return []
    invited = invited_now(ledger)
    grid: list[list[Cell]] = [["", ""], ["Séances", "Nombre"]]
    for session in programme.sessions:
        key = fold(session.code)
        marks = Counter(a.marks.get(session.code, "") for a in programme.attendance.values())
        label = session.code + (" (annulée)" if session.cancelled else "")
        grid += [
            [f"{label} : invitations", len(invited.get(key, set()))],
            [f"{label} : présences", marks[PRESENT]],
            [f"{label} : absences", marks[ABSENT]],
            [f"{label} : excuses", marks[EXCUSED]],
        ]
    issued = Counter(
        e.template for e in ledger if e.template in (Template.CERTIFICAT, Template.ATTESTATION)
    )
    grid += [
        ["", ""],
        ["Documents", "Nombre"],
        ["Certificats d'auditeur délivrés", issued[Template.CERTIFICAT]],
        ["Attestations de participation délivrées", issued[Template.ATTESTATION]],
    ]
    if programme.certificates is not None:
        waiting = sum(1 for r in programme.certificates if r.status == "À valider")
        grid.append(["Documents à valider", waiting])
    return grid


# --- `diplomates sessions init` --------------------------------------------------------------

SESSION_NOTES = {
    "Session": (
        "Code court et unique de la séance (S1, S2, T1…). C'est son identité : ne le changez "
        "pas et ne le réutilisez jamais pour une autre séance."
    ),
    "Titre": "Intitulé de la séance, repris dans les invitations et sur les certificats.",
    "Format": "Rencontre, Session de travail ou Temps de terrain (liste).",
    "Début": (
        "Date et heure de début, heure de Paris : JJ/MM/AAAA HH:MM (par exemple 20/05/2026 "
        "09:30). Un changement envoie une mise à jour de l'invitation."
    ),
    "Fin": "Date et heure de fin, heure de Paris : JJ/MM/AAAA HH:MM ; après le Début.",
    "Lieu": (
        "Adresse complète, ou « En ligne ». Un changement envoie une mise à jour de l'invitation."
    ),
    "Lien": "Lien de visioconférence, facultatif ; repris dans les invitations et rappels.",
    "Statut": (
        "Vide : séance prévue. « Annulée » : une annulation part vers les personnes invitées. "
        "Ne supprimez pas la ligne d'une séance annulée."
    ),
}
DATE_TIME = "dd/mm/yyyy hh:mm"
SESSION_STATUS_HELP = "Laissez vide pour une séance prévue ; choisissez Annulée pour l'annuler."


def sessions_sheet(sheet: str) -> SheetWrite:
    """A new, empty `Sessions` sheet: headers, notes, Format and Statut dropdowns."""
    from pipeline.core.model import CellWrite, ColumnLayout
    from pipeline.core.sessions import CANCELLED, FORMATS

    widths = {"Session": 10, "Titre": 44, "Format": 20, "Début": 18, "Fin": 18, "Lieu": 40,
              "Lien": 34, "Statut": 12}  # fmt: skip
    from pipeline.core.layout import STAFF_HEADER, layout_rows

    fill, font = STAFF_HEADER
    rows = layout_rows(0)
    columns = tuple(
        ColumnLayout(col, widths[name], fill, font, SESSION_NOTES[name])
        for col, name in enumerate(SESSION_HEADERS, start=1)
    )
    at = {name: col for col, name in enumerate(SESSION_HEADERS, start=1)}
    layout = marked(
        SheetLayout(
            rows=rows,
            width=len(SESSION_HEADERS),
            owned_cols=tuple(range(1, len(SESSION_HEADERS) + 1)),
            frozen_rows=1,
            header_filter=True,
            header_height=36,
            columns=columns,
            number_formats=((at["Début"], DATE_TIME), (at["Fin"], DATE_TIME)),
            dropdowns=(
                Dropdown(
                    at["Format"],
                    FORMATS,
                    "Format",
                    SESSION_NOTES["Format"],
                    "Choisissez Rencontre, Session de travail ou Temps de terrain.",
                ),
                Dropdown(
                    at["Statut"],
                    (CANCELLED,),
                    "Statut",
                    SESSION_STATUS_HELP,
                    "Laissez vide ou choisissez Annulée.",
                ),
            ),  # fmt: skip
        )
    )
    cells = tuple(CellWrite(1, col, name) for col, name in enumerate(SESSION_HEADERS, start=1))
    return SheetWrite(sheet=sheet, create=True, cells=cells, layout=layout)
