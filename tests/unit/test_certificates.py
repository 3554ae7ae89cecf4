"""Attendance counts and certificate decisions: every rule of SPEC's table (no wrong certificate)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pipeline.core.attendance import (
    Attendance,
    Participant,
    attendance_of,
    attendance_rows,
    format_hours,
    plan_attendance,
    read_marks,
)
from pipeline.core.certificates import (
    CROCKFORD,
    certificates_open,
    decide_certificates,
    document_for,
    normalize_code,
    read_certificate_decisions,
    verification_code,
)
from pipeline.core.cohort import LedgerEntry
from pipeline.core.model import Eligibility, Reason, Template
from pipeline.core.sessions import Session
from pipeline.core.vocabulary import PARIS

DAY1 = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)


def sessions(n: int = 4, hours: float = 3) -> list[Session]:
    return [
        Session(f"S{i + 1}", f"Séance {i + 1}", "Rencontre", DAY1 + timedelta(days=7 * i),
                DAY1 + timedelta(days=7 * i, hours=hours), "Paris", "", False, i + 2)
        for i in range(n)
    ]  # fmt: skip


AFTER = DAY1 + timedelta(days=60)


def who(pid: str = "DT-a", eligibility: str = "Certificat", enrolled: bool = True) -> Participant:
    return Participant(pid, "Martin", "Camille", "Lyon", eligibility, enrolled)


def marks(*values: str) -> dict[str, str]:
    return {f"S{i + 1}": v for i, v in enumerate(values) if v}


# --- attendance ---------------------------------------------------------------------------


def test_rate_counts_present_over_sessions_held() -> None:
    """3 Présent of 4 held: `3 / 4`, 75 %, 9 h (only held sessions count)."""
    counts = attendance_of(marks("Présent", "Présent", "Absent", "Présent"), sessions(), AFTER)
    assert (counts.shown_count, counts.shown_rate, counts.shown_hours) == ("3 / 4", "75 %", "9 h")


def test_cancelled_and_future_sessions_are_not_held() -> None:
    """A cancelled session and one not ended yet are outside the denominator, even if marked."""
    planned = sessions()
    planned[1] = Session("S2", "x", "Rencontre", planned[1].start, planned[1].end, "", "", True, 3)
    now = planned[3].start + timedelta(hours=1)  # S4 under way
    counts = attendance_of(marks("Présent", "Présent", "Présent", "Présent"), planned, now)
    assert (counts.present, counts.held) == (2, 2)


def test_excused_counts_as_not_present() -> None:
    """Excusé is recorded but is not a presence."""
    counts = attendance_of(marks("Présent", "Excusé", "Excusé", "Excusé"), sessions(), AFTER)
    assert counts.shown_count == "1 / 4"


@pytest.mark.parametrize(("hours", "shown"), [(3, "3 h"), (2.5, "2 h 30"), (0, "0 h")])
def test_hours_are_shown_french_style(hours: float, shown: str) -> None:
    """Hours as staff write them."""
    assert format_hours(hours) == shown


def test_marks_are_read_loosely_and_mistakes_reported() -> None:
    """`présent ` reads as Présent; `P` and `oui` are `emargement_invalide` and not counted."""
    table = [["ID", "Nom", "Prénom", "S1", "S2", "S3"],
             ["DT-a", "Martin", "Camille", " présent ", "P", "oui"]]  # fmt: skip
    found, anomalies = read_marks(table, sessions(3))
    assert found == {"DT-a": {"S1": "Présent"}}
    (anomaly,) = anomalies
    assert anomaly.reason is Reason.EMARGEMENT_INVALIDE and anomaly.person_id == "DT-a"
    assert "S2 : « P »" in anomaly.explanation and "S3 : « oui »" in anomaly.explanation


def test_new_sheet_has_sessions_between_people_and_counts() -> None:
    """A new `Émargement`: ID … Éligibilité, one column per session code, then the counts."""
    rows = attendance_rows([who()], {"DT-a": Attendance()})
    write = plan_attendance("Émargement", None, sessions(2), rows)
    header = [c.value for c in write.cells if c.row == 1]
    assert header == ["ID", "Nom", "Prénom", "Collectivité adhérente", "Éligibilité", "S1", "S2",
                      "Présences", "Taux", "Heures"]  # fmt: skip
    assert not any(c.col in (6, 7) for c in write.cells if c.row > 1)


def test_staff_marks_are_never_written_and_new_session_gets_a_column() -> None:
    """Existing sheet: marks untouched, a new session's header appended, counts updated."""
    current = [["ID", "Nom", "Prénom", "Collectivité adhérente", "Éligibilité", "S1",
                "Présences", "Taux", "Heures"],
               ["DT-a", "Martin", "Camille", "Lyon", "Certificat", "Présent", "0 / 0", "", "0 h"]]  # fmt: skip
    counts = attendance_of({"S1": "Présent"}, sessions(2), AFTER)
    write = plan_attendance(
        "Émargement", current, sessions(2), attendance_rows([who()], {"DT-a": counts})
    )
    cells = {(c.row, c.col): c.value for c in write.cells}
    assert cells[(1, 10)] == "S2"
    assert (2, 6) not in cells and (2, 10) not in cells
    assert cells[(2, 7)] == "1 / 2" and cells[(2, 8)] == "50 %"


# --- certificates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("eligibility", "present", "held", "document"),
    [
        ("Certificat", 3, 4, Template.CERTIFICAT),
        ("Certificat", 4, 4, Template.CERTIFICAT),
        ("Certificat", 2, 4, None),
        ("Certificat", 0, 0, None),
        ("Sessions", 3, 4, Template.ATTESTATION),
        ("Sessions", 5, 7, None),  # 71 % < 75 %
        ("Non adhérente", 4, 4, None),
        ("À vérifier", 4, 4, None),
        ("", 4, 4, None),
    ],
)
def test_spec_table(eligibility: str, present: int, held: int, document: Template | None) -> None:
    """Certificat ≥ min → certificat; Sessions ≥ min → attestation; anything else → none."""
    counts = Attendance(present=present, held=held)
    assert document_for(eligibility, counts.rate, 0.75) is document


def test_threshold_is_exact_not_floating() -> None:
    """2/3 against 0.67 is below; 7/10 against 0.7 is met (no float rounding surprise)."""
    assert document_for("Certificat", Attendance(present=2, held=3).rate, 0.67) is None
    assert (
        document_for("Certificat", Attendance(present=7, held=10).rate, 0.7) is Template.CERTIFICAT
    )


SECRET = b"s" * 32


def decide(people: list[Participant], rates: dict[str, tuple[int, int]],
           decisions: dict[str, str] | None = None, ledger: list[LedgerEntry] | None = None,
           approval: bool = True):  # type: ignore[no-untyped-def]  # fmt: skip
    counts = {pid: Attendance(present=p, held=h) for pid, (p, h) in rates.items()}
    return decide_certificates(people, counts, decisions or {}, ledger or [], "Promotion 2026",
                               SECRET, 0.75, approval)  # fmt: skip


@pytest.mark.parametrize(
    ("decision", "approval", "status", "issue"),
    [
        ("", True, "À valider", False),
        ("Valider", True, "Validé", True),
        ("Refuser", True, "Refusé", False),
        ("", False, "Validé", True),
        ("Refuser", False, "Refusé", False),
    ],
)
def test_staff_approval(decision: str, approval: bool, status: str, issue: bool) -> None:
    """Nothing issued before `Valider` when approval is required; `Refuser` always wins."""
    (row,) = decide([who()], {"DT-a": (4, 4)}, {"DT-a": decision}, approval=approval)
    assert (row.status, row.issue, row.template) == (status, issue, Template.CERTIFICAT)


def test_not_reached_even_when_staff_validate() -> None:
    """`Valider` on someone below the threshold issues nothing (`Non atteint`, no code)."""
    (row,) = decide([who()], {"DT-a": (1, 4)}, {"DT-a": "Valider"})
    assert (row.status, row.issue, row.template, row.code) == ("Non atteint", False, None, "")


def test_people_no_longer_inscrit_are_not_listed() -> None:
    """A person who left gets no row and no document."""
    assert decide([who(enrolled=False)], {"DT-a": (4, 4)}, approval=False) == []


def test_issued_document_is_kept_and_never_reissued() -> None:
    """Once queued: same document and code, `Envoyé` once delivered, never issued again, even if
    marks or eligibility change afterwards."""
    ledger = [LedgerEntry("DT-a", Template.CERTIFICAT, "sent", AFTER)]
    (row,) = decide([who(eligibility="Sessions")], {"DT-a": (0, 4)}, ledger=ledger, approval=False)
    assert (row.template, row.status, row.issue) == (Template.CERTIFICAT, "Envoyé", False)
    assert row.code == verification_code(SECRET, "Promotion 2026", "DT-a", Template.CERTIFICAT)


def test_certificate_decisions_read_and_mistakes_reported() -> None:
    """`valider` reads as Valider; `OK` is `decision_invalide` and counts as empty."""
    table = [["ID", "Décision CUF"], ["DT-a", " valider"], ["DT-b", "OK"]]
    decisions, anomalies = read_certificate_decisions(table)
    assert decisions == {"DT-a": "Valider", "DT-b": ""}
    assert [a.reason for a in anomalies] == [Reason.DECISION_INVALIDE]


def test_open_after_last_planned_session_or_issue_after() -> None:
    """Default: when the last non-cancelled session ended; `issue_after` overrides."""
    planned = sessions(2)
    last_end = planned[-1].end
    assert not certificates_open(planned, last_end - timedelta(minutes=1))
    assert certificates_open(planned, last_end)
    assert not certificates_open([], AFTER)
    assert certificates_open(planned, DAY1, issue_after=DAY1)


def test_verification_code_format_stability_and_secrecy() -> None:
    """`DT26-XXXX-XXXX` in Crockford base32; stable; differs per person, document and secret."""
    code = verification_code(SECRET, "Promotion 2026", "DT-a", Template.CERTIFICAT)
    assert code.startswith("DT26-") and len(code) == 14
    assert all(c in CROCKFORD for c in code[5:].replace("-", ""))
    assert code == verification_code(SECRET, "Promotion 2026", "DT-a", Template.CERTIFICAT)
    others = {
        verification_code(SECRET, "Promotion 2026", "DT-b", Template.CERTIFICAT),
        verification_code(SECRET, "Promotion 2026", "DT-a", Template.ATTESTATION),
        verification_code(b"t" * 32, "Promotion 2026", "DT-a", Template.CERTIFICAT),
    }
    assert code not in others and len(others) == 3


def test_codes_as_typed_are_normalized() -> None:
    """Lowercase, spaces, `O` for zero are accepted; garbage is refused."""
    code = verification_code(SECRET, "Promotion 2026", "DT-a", Template.CERTIFICAT)
    typed = code.lower().replace("-", " ").replace("0", "o")
    assert normalize_code(typed) == code
    assert normalize_code("hello") is None


def test_eligibility_values_cover_the_enum() -> None:
    """Every Éligibilité other than Certificat and Sessions is refused a document."""
    for value in Eligibility:
        if value not in (Eligibility.CERTIFICAT, Eligibility.SESSIONS):
            assert document_for(value.value, Attendance(present=1, held=1).rate, 0.75) is None
