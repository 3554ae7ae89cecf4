"""`Émargement`, pure: staff marks read, counted, and the sheet's pipeline-owned shape planned.

One row per person who is or was `Inscrit·e`, one column per session titled by its code (staff
own those cells: the pipeline never writes them), then `Présences`, `Taux` and `Heures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from pipeline.core.model import Anomaly, Cell, CellWrite, Reason, SheetWrite
from pipeline.core.sessions import Session
from pipeline.core.sheetplan import Table, header_index, plan_keyed
from pipeline.core.text import clean, fold
from pipeline.core.vocabulary import ATTENDANCE_BASE, ATTENDANCE_TAIL, ID

PRESENT, ABSENT, EXCUSED = "Présent", "Absent", "Excusé"
MARKS = (PRESENT, ABSENT, EXCUSED)
_MARKS = {fold(m): m for m in MARKS}


@dataclass(frozen=True)
class Participant:
    """A person as the attendance and certificate sheets show them."""

    id: str
    last_name: str
    first_name: str
    member: str  # Collectivité adhérente, empty when none
    eligibility: str
    enrolled: bool  # Statut is `Inscrit·e` now

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Attendance:
    """One person's attendance: valid marks by session code and the counts that follow."""

    marks: Mapping[str, str] = field(default_factory=dict)
    present: int = 0
    held: int = 0
    hours: float = 0.0
    attended: tuple[str, ...] = ()  # codes of the held sessions marked Présent

    @property
    def rate(self) -> Fraction:
        return Fraction(self.present, self.held) if self.held else Fraction(0)

    @property
    def shown_count(self) -> str:
        return f"{self.present} / {self.held}"

    @property
    def shown_rate(self) -> str:
        return f"{round(self.rate * 100)} %" if self.held else ""

    @property
    def shown_hours(self) -> str:
        return format_hours(self.hours)


def format_hours(hours: float) -> str:
    """`10 h 30`, `3 h`, `0 h`: hours as staff write them."""
    minutes = round(hours * 60)
    whole, rest = divmod(minutes, 60)
    return f"{whole} h {rest:02d}" if rest else f"{whole} h"


def read_marks(
    table: Table | None, sessions: Sequence[Session]
) -> tuple[dict[str, dict[str, str]], list[Anomaly]]:
    """Valid marks by person id and session code; an `emargement_invalide` anomaly per person
    whose row holds anything other than the three values (that cell counts as not marked)."""
    if not table:
        return {}, []
    columns = header_index(table[0])
    id_col = columns.get(fold(ID))
    if id_col is None:
        return {}, []
    first, last = columns.get(fold("Prénom")), columns.get(fold("Nom"))
    session_cols = [(s.code, columns[fold(s.code)]) for s in sessions if fold(s.code) in columns]
    marks: dict[str, dict[str, str]] = {}
    anomalies: list[Anomaly] = []

    def cell(cells: Sequence[str], col: int | None) -> str:
        return clean(cells[col]) if col is not None and col < len(cells) else ""

    for cells in table[1:]:
        pid = cell(cells, id_col)
        if not pid or pid in marks:
            continue
        found: dict[str, str] = {}
        wrong: list[str] = []
        for code, col in session_cols:
            value = cell(cells, col)
            if not value:
                continue
            mark = _MARKS.get(fold(value))
            if mark is None:
                wrong.append(f"{code} : « {value} »")
            else:
                found[code] = mark
        marks[pid] = found
        if wrong:
            who = f"{cell(cells, first)} {cell(cells, last)}".strip()
            anomalies.append(
                Anomaly(
                    reason=Reason.EMARGEMENT_INVALIDE,
                    person_id=pid,
                    person=who,
                    explanation=(
                        "Émargement : valeur non reconnue ("
                        + " ; ".join(wrong)
                        + "). Choisissez Présent, Absent ou Excusé dans la liste ; d'ici là "
                        "la séance compte comme non émargée."
                    ),
                )
            )
    return marks, anomalies


def attendance_of(
    marks: Mapping[str, str], sessions: Sequence[Session], now: datetime
) -> Attendance:
    """Counts over the sessions held (planned, ended, not cancelled): SPEC's rate denominator.

    A `Présent` typed on a session not held yet (or cancelled) does not count.
    """
    held = [s for s in sessions if s.held(now)]
    attended = [s for s in held if marks.get(s.code) == PRESENT]
    return Attendance(
        marks=dict(marks),
        present=len(attended),
        held=len(held),
        hours=sum(s.hours for s in attended),
        attended=tuple(s.code for s in attended),
    )


def attendance_rows(
    participants: Sequence[Participant], attendance: Mapping[str, Attendance]
) -> list[dict[str, Cell]]:
    rows: list[dict[str, Cell]] = []
    for p in participants:
        counts = attendance.get(p.id, Attendance())
        rows.append(
            {
                "ID": p.id,
                "Nom": p.last_name,
                "Prénom": p.first_name,
                "Collectivité adhérente": p.member,
                "Éligibilité": p.eligibility,
                "Présences": counts.shown_count,
                "Taux": counts.shown_rate,
                "Heures": counts.shown_hours,
            }
        )
    return rows


def plan_attendance(
    sheet: str,
    current: Table | None,
    sessions: Sequence[Session],
    rows: Sequence[Mapping[str, Cell]],
) -> SheetWrite:
    """Writes that keep `Émargement`'s shape: new people get a row, new sessions a column (at
    the end, titled by the code), the counts follow the marks. Session columns are staff's:
    only their header is ever written, and only when missing."""
    codes = [s.code for s in sessions]
    headers = ATTENDANCE_BASE + tuple(codes) + ATTENDANCE_TAIL
    owned = ATTENDANCE_BASE + ATTENDANCE_TAIL
    if current is None or not any(any(c.strip() for c in line) for line in current):
        return plan_keyed(sheet, current, headers, owned, rows, key=ID)
    header = list(current[0])
    known = {fold(h) for h in header}
    added: list[CellWrite] = []
    for name in ATTENDANCE_BASE + ATTENDANCE_TAIL:  # owned columns first, as plan_keyed would
        if fold(name) not in known:
            header.append(name)
            known.add(fold(name))
            added.append(CellWrite(row=1, col=len(header), value=name))
    for code in codes:
        if fold(code) not in known:
            header.append(code)
            known.add(fold(code))
            added.append(CellWrite(row=1, col=len(header), value=code))
    widened = [header, *current[1:]]
    write = plan_keyed(sheet, widened, headers, owned, rows, key=ID)
    if not added:
        return write
    return SheetWrite(
        sheet=write.sheet,
        create=write.create,
        cells=tuple(added) + write.cells,
        key_col=write.key_col,
        expected_keys=write.expected_keys,
    )
