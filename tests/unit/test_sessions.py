"""Sessions read from the staff's sheet, and which session messages are due (SPEC tables)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pipeline.core.cohort import LedgerEntry
from pipeline.core.model import Reason, Status, Template
from pipeline.core.sessions import (
    Session,
    current_versions,
    due_session_messages,
    invited_now,
    read_sessions,
    reminder_offset,
    session_uid,
)
from pipeline.core.vocabulary import PARIS, SESSION_HEADERS

START = datetime(2026, 5, 20, 9, 30, tzinfo=PARIS)


def row(code: str = "S1", start: str = "20/05/2026 09:30", end: str = "20/05/2026 17:00",
        place: str = "Paris", status: str = "") -> list[str]:  # fmt: skip
    return [code, "Diplomatie territoriale", "Rencontre", start, end, place, "", status]


def session(code: str = "S1", start: datetime = START, hours: float = 7.5, place: str = "Paris",
            cancelled: bool = False) -> Session:  # fmt: skip
    return Session(code, f"Titre {code}", "Rencontre", start, start + timedelta(hours=hours),
                   place, "", cancelled, 2)  # fmt: skip


def sent(pid: str, template: Template, code: str, version: str, at: datetime,
         detail: str = "", state: str = "sent") -> LedgerEntry:  # fmt: skip
    return LedgerEntry(pid, template, state, at, session=code, version=version, detail=detail)


def test_valid_rows_are_read_with_paris_times() -> None:
    """A good row becomes a Session with Europe/Paris Début and Fin and its hours."""
    sessions, anomalies = read_sessions([list(SESSION_HEADERS), row()])
    assert anomalies == []
    (s,) = sessions
    assert (s.code, s.start, s.hours, s.cancelled) == ("S1", START, 7.5, False)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (row(code=""), "vide"),
        (row(start="demain"), "Début"),
        (row(end="20/05/2026 08:00"), "Fin n'est pas après"),
        (row(end="32/05/2026"), "Fin"),
    ],
)
def test_bad_rows_become_session_invalide_and_others_go_on(bad: list[str], why: str) -> None:
    """No code, unreadable date, Fin before Début: `session_invalide`, the other rows are kept."""
    sessions, anomalies = read_sessions([list(SESSION_HEADERS), bad, row(code="S2")])
    assert [s.code for s in sessions] == ["S2"]
    assert [a.reason for a in anomalies] == [Reason.SESSION_INVALIDE]
    assert why in anomalies[0].explanation and anomalies[0].row == 2


def test_duplicate_code_keeps_the_first_row() -> None:
    """A code used twice: the later row is `session_invalide`, the first stays (case-insensitive)."""
    sessions, anomalies = read_sessions(
        [list(SESSION_HEADERS), row(place="Lyon"), row(code="s1", place="Nantes")]
    )
    assert [(s.code, s.place) for s in sessions] == [("S1", "Lyon")]
    assert anomalies[0].row == 3


def test_headers_are_found_by_folded_name_in_any_order() -> None:
    """Columns are found by trimmed, accent-insensitive names, whatever their order."""
    header = [" statut", "LIEU", "fin", "debut", "session"]
    sessions, _ = read_sessions([header, ["Annulée", "En ligne", "20/05/2026 12:00",
                                          "20/05/2026 10:00", "T1"]])  # fmt: skip
    assert sessions[0].cancelled and sessions[0].online and sessions[0].title == "T1"


def test_uid_is_stable_per_cohort_and_code() -> None:
    """The UID depends on the cohort and the session code only."""
    assert session_uid("Promotion 2026", "S1") == session_uid("Promotion 2026", "S1")
    assert session_uid("Promotion 2026", "S1") != session_uid("Promotion 2026", "S2")
    assert session_uid("Promotion 2026", "S1") != session_uid("Promotion 2027", "S1")


NOW = START - timedelta(days=20)
A, B = "DT-a", "DT-b"


def kinds(due: list) -> list[tuple[str, str, str, str]]:  # type: ignore[type-arg]
    return [(d.person_id, d.template.value, d.session, d.version) for d in due]


def test_inscrit_people_are_invited_to_planned_sessions_only() -> None:
    """Inscrit·e → invitation v1 per planned future session; others and started ones: nothing."""
    sessions = [session("S1"), session("S2", start=NOW - timedelta(hours=1)),
                session("S3", cancelled=True)]  # fmt: skip
    statuses = {A: Status.INSCRIT, B: Status.LISTE_ATTENTE}
    due = due_session_messages(sessions, statuses, [], NOW)
    assert kinds(due) == [(A, "invitation_session", "S1", "v1")]
    assert due[0].sequence == 0 and due[0].detail == sessions[0].fingerprint


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.INSCRIT])
def test_no_session_message_for_anyone_not_inscrit(status: Status) -> None:
    """Proposé·e, waiting list, refused…: never invited."""
    assert due_session_messages([session()], {A: status}, [], NOW) == []


def test_rerun_after_invitation_sends_nothing() -> None:
    """Invited to the current version: nothing more is due before the reminder thresholds."""
    s = session()
    ledger = [sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, s.fingerprint)]
    assert due_session_messages([s], {A: Status.INSCRIT}, ledger, NOW + timedelta(days=1)) == []


@pytest.mark.parametrize(
    "moved",
    [
        session(start=START + timedelta(days=1)),
        session(hours=8),
        session(place="Marseille"),
    ],
)
def test_change_of_debut_fin_or_lieu_sends_a_modification_v2(moved: Session) -> None:
    """Début, Fin or Lieu changed after the invitation: `session_modifiee` v2, SEQUENCE 1."""
    ledger = [sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, session().fingerprint)]
    due = due_session_messages([moved], {A: Status.INSCRIT}, ledger, NOW + timedelta(days=1))
    assert kinds(due) == [(A, "session_modifiee", "S1", "v2")]
    assert due[0].sequence == 1


def test_title_change_is_not_a_new_version() -> None:
    """Only Début, Fin and Lieu make a version (a title or link edit sends nothing)."""
    s = session()
    renamed = Session(
        "S1", "Autre titre", "Rencontre", s.start, s.end, s.place, "https://x", False, 2
    )
    ledger = [sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, s.fingerprint)]
    assert due_session_messages([renamed], {A: Status.INSCRIT}, ledger, NOW) == []


def test_late_invitee_gets_the_current_version_once_others_moved_on() -> None:
    """Someone placed after a change is invited to v2 directly (same SEQUENCE as the others)."""
    moved = session(place="Lyon")
    ledger = [
        sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, session().fingerprint),
        sent(A, Template.SESSION_MODIFIEE, "S1", "v2", NOW, moved.fingerprint),
    ]
    due = due_session_messages([moved], {A: Status.INSCRIT, B: Status.INSCRIT}, ledger, NOW)
    assert kinds(due) == [(B, "invitation_session", "S1", "v2")]


def test_moving_back_is_a_third_version() -> None:
    """A session moved, then moved back: v3 (a version number never goes down)."""
    original, moved = session(), session(place="Lyon")
    ledger = [
        sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, original.fingerprint),
        sent(A, Template.SESSION_MODIFIEE, "S1", "v2", NOW, moved.fingerprint),
    ]
    assert current_versions([original], ledger) == {"S1": 3}


def test_ledger_rebuilt_without_fingerprints_invents_no_change() -> None:
    """Entries rebuilt from `Courriels envoyés` carry no fingerprint: no modification is sent."""
    ledger = [sent(A, Template.SESSION_MODIFIEE, "S1", "v2", NOW)]
    assert current_versions([session(place="Ailleurs")], ledger) == {"S1": 2}
    assert due_session_messages([session()], {A: Status.INSCRIT}, ledger, NOW) == []


def test_cancelled_session_sends_one_cancellation_to_invited_people_only() -> None:
    """Annulée: `session_annulee` to those invited, none to others, never twice."""
    s = session(cancelled=True)
    ledger = [sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, s.fingerprint)]
    statuses = {A: Status.INSCRIT, B: Status.INSCRIT}
    due = due_session_messages([s], statuses, ledger, NOW)
    assert kinds(due) == [(A, "session_annulee", "S1", "")]
    ledger.append(sent(A, Template.SESSION_ANNULEE, "S1", "", NOW))
    assert due_session_messages([s], statuses, ledger, NOW) == []


@pytest.mark.parametrize("status", [Status.DESISTE, Status.REFUSE, Status.LISTE_ATTENTE])
def test_person_leaving_gets_cancellations_for_future_sessions_only(status: Status) -> None:
    """Someone no longer Inscrit·e: a cancellation for each invited session still to come."""
    past = session("S0", start=NOW - timedelta(days=2))
    future = session("S1")
    ledger = [
        sent(A, Template.INVITATION_SESSION, "S0", "v1", NOW - timedelta(days=30)),
        sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW - timedelta(days=30)),
    ]
    due = due_session_messages([past, future], {A: status}, ledger, NOW)
    assert kinds(due) == [(A, "session_annulee", "S1", "")]


def test_erased_person_missing_from_statuses_gets_cancellation_not_invitation() -> None:
    """A person no longer in the cohort at all (no status) is treated as having left."""
    ledger = [sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW)]
    assert kinds(due_session_messages([session()], {}, ledger, NOW)) == [
        (A, "session_annulee", "S1", "")
    ]


def test_withdrawn_consent_is_a_departure() -> None:
    """A person who withdrew consent is not invited (and is sent nothing new)."""
    assert due_session_messages([session()], {A: Status.INSCRIT}, [], NOW, withdrawn={A}) == []


MOVED = session(start=START + timedelta(hours=1))  # the same S1, Début moved: its version 2
DAY = timedelta(days=1)


def _left_once() -> list[LedgerEntry]:
    """A invited to S1 v1, then left: one cancellation."""
    return [
        sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW - 9 * DAY, session().fingerprint),
        sent(A, Template.SESSION_ANNULEE, "S1", "", NOW - 5 * DAY),
    ]


# (what happened, sessions, ledger, A's status, due now: (template, version, SEQUENCE))
REINVITATION_CASES = [
    (
        "cancelled, Inscrit·e again: invited again, one SEQUENCE above the cancellation",
        [session()],
        _left_once(),
        Status.INSCRIT,
        [("invitation_session", "v1.2", 1)],
    ),
    ("cancelled, still not Inscrit·e: nothing", [session()], _left_once(), Status.DESISTE, []),
    (
        "cancelled, then the session moved for the others (v2): invited to v2 in round 2",
        [MOVED],
        [
            *_left_once(),
            sent(B, Template.INVITATION_SESSION, "S1", "v1", NOW - 9 * DAY, session().fingerprint),
            sent(B, Template.SESSION_MODIFIEE, "S1", "v2", NOW - DAY, MOVED.fingerprint),
        ],
        Status.INSCRIT,
        [("invitation_session", "v2.2", 2)],
    ),
    (
        "invited again already: nothing more",
        [session()],
        [
            *_left_once(),
            sent(A, Template.INVITATION_SESSION, "S1", "v1.2", NOW - DAY, session().fingerprint),
        ],
        Status.INSCRIT,
        [],
    ),
    (
        "invited again, then the session moved: a modification in round 2",
        [MOVED],
        [
            *_left_once(),
            sent(A, Template.INVITATION_SESSION, "S1", "v1.2", NOW - DAY, session().fingerprint),
        ],
        Status.INSCRIT,
        [("session_modifiee", "v2.2", 2)],
    ),
    (
        "invited again, leaves again: a second cancellation, keyed by the round",
        [session()],
        [
            *_left_once(),
            sent(A, Template.INVITATION_SESSION, "S1", "v1.2", NOW - DAY, session().fingerprint),
        ],
        Status.LISTE_ATTENTE,
        [("session_annulee", "v1.2", 1)],
    ),
    (
        "cancelled twice, Inscrit·e a third time: round 3",
        [session()],
        [
            *_left_once(),
            sent(
                A, Template.INVITATION_SESSION, "S1", "v1.2", NOW - 3 * DAY, session().fingerprint
            ),
            sent(A, Template.SESSION_ANNULEE, "S1", "v1.2", NOW - DAY),
        ],
        Status.INSCRIT,
        [("invitation_session", "v1.3", 2)],
    ),
    (
        "cancelled, session since cancelled: nothing (no invitation to a cancelled session)",
        [session(cancelled=True)],
        _left_once(),
        Status.INSCRIT,
        [],
    ),
    (
        "cancelled, Inscrit·e again after Début: nothing",
        [session(start=NOW - DAY)],
        _left_once(),
        Status.INSCRIT,
        [],
    ),
]


@pytest.mark.parametrize(
    ("sessions", "ledger", "status", "expected"),
    [case[1:] for case in REINVITATION_CASES],
    ids=[case[0] for case in REINVITATION_CASES],
)
def test_reinvitation_after_a_cancellation(
    sessions: list[Session],
    ledger: list[LedgerEntry],
    status: Status,
    expected: list[tuple[str, str, int]],
) -> None:
    """Someone cancelled and Inscrit·e again before Début is invited again once, each round
    under its own ledger key and a SEQUENCE above everything they received."""
    due = due_session_messages(sessions, {A: status}, ledger, NOW)
    assert [(d.template.value, d.version, d.sequence) for d in due if d.person_id == A] == (
        expected
    )
    for d in due:  # what is due is never a key already in the ledger
        assert (d.person_id, d.template, d.session, d.version) not in {
            (e.person_id, e.template, e.session, e.version) for e in ledger
        }
    if due:  # once recorded, a rerun sends nothing more to A
        recorded = [sent(d.person_id, d.template, d.session, d.version, NOW, d.detail)
                    for d in due]  # fmt: skip
        assert [d for d in due_session_messages(sessions, {A: status}, [*ledger, *recorded], NOW)
                if d.person_id == A] == []  # fmt: skip


def test_no_reminder_right_after_an_invitation_again() -> None:
    """Invited again at J-5 (round 1 invited long before J-7): no J-7 reminder at once; J-1
    comes on its day."""
    ledger = [
        *_left_once(),
        sent(A, Template.INVITATION_SESSION, "S1", "v1.2", START - 5 * DAY, session().fingerprint),
    ]
    at_j4 = due_session_messages([session()], {A: Status.INSCRIT}, ledger, START - 4 * DAY)
    assert at_j4 == []
    at_j1 = due_session_messages([session()], {A: Status.INSCRIT}, ledger, START - DAY)
    assert kinds(at_j1) == [(A, "rappel_session", "S1", "J-1")]


def test_dashboard_counts_someone_invited_again() -> None:
    """`invited_now`: cancelled people drop out, people invited again after it count."""
    ledger = [
        *_left_once(),
        sent(B, Template.INVITATION_SESSION, "S1", "v1", NOW, session().fingerprint),
    ]
    assert invited_now(ledger) == {"s1": {B}}
    ledger.append(sent(A, Template.INVITATION_SESSION, "S1", "v1.2", NOW, session().fingerprint))
    assert invited_now(ledger) == {"s1": {A, B}}


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (timedelta(days=8), None),
        (timedelta(days=7), 7),
        (timedelta(days=3), 7),
        (timedelta(hours=23), 1),
        (timedelta(minutes=1), 1),
        (timedelta(0), None),
        (-timedelta(hours=1), None),
    ],
)
def test_reminder_offset_is_the_latest_threshold_passed(
    before: timedelta, expected: int | None
) -> None:
    """J-7 from 7 days before, J-1 from 1 day before, nothing from Début on."""
    assert reminder_offset(session(), START - before, (7, 1)) == expected


def test_reminders_on_the_right_days_once_each() -> None:
    """J-7 then J-1, each once, to people invited before the threshold."""
    s = session()
    ledger = [sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, s.fingerprint)]
    statuses = {A: Status.INSCRIT}
    at_j7 = START - timedelta(days=6)
    assert kinds(due_session_messages([s], statuses, ledger, at_j7)) == [
        (A, "rappel_session", "S1", "J-7")
    ]
    ledger.append(sent(A, Template.RAPPEL_SESSION, "S1", "J-7", at_j7))
    assert due_session_messages([s], statuses, ledger, at_j7 + timedelta(hours=1)) == []
    at_j1 = START - timedelta(hours=20)
    assert kinds(due_session_messages([s], statuses, ledger, at_j1)) == [
        (A, "rappel_session", "S1", "J-1")
    ]
    ledger.append(sent(A, Template.RAPPEL_SESSION, "S1", "J-1", at_j1))
    assert due_session_messages([s], statuses, ledger, at_j1 + timedelta(hours=1)) == []


def test_no_reminder_after_start_for_cancelled_or_just_invited() -> None:
    """Never after Début, never for a cancelled session, never right after a late invitation."""
    s = session()
    invited_early = [sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, s.fingerprint)]
    assert due_session_messages([s], {A: Status.INSCRIT}, invited_early, START) == []
    cancelled = session(cancelled=True)
    after_cancel = [*invited_early, sent(A, Template.SESSION_ANNULEE, "S1", "", NOW)]
    day_before = START - timedelta(hours=20)
    assert due_session_messages([cancelled], {A: Status.INSCRIT}, after_cancel, day_before) == []
    invited_late = [sent(A, Template.INVITATION_SESSION, "S1", "v1", day_before, s.fingerprint)]
    at = day_before + timedelta(hours=1)
    assert due_session_messages([s], {A: Status.INSCRIT}, invited_late, at) == []


def test_no_reminder_while_the_invitation_is_not_delivered() -> None:
    """An invitation still pending or failed does not trigger reminders."""
    s = session()
    ledger = [sent(A, Template.INVITATION_SESSION, "S1", "v1", NOW, s.fingerprint, "pending")]
    assert due_session_messages([s], {A: Status.INSCRIT}, ledger, START - timedelta(days=3)) == []


def test_courriels_envoyes_names_session_version_and_reminder() -> None:
    """Session entries use the agreed format: label, session code, `v<N>` (not v1) or `J-<N>`."""
    from pipeline.core.cohort import sent_summary

    day = datetime(2026, 5, 12, 9, 0, tzinfo=PARIS)
    entries = [
        sent(A, Template.INVITATION_SESSION, "S1", "v1", day),
        sent(A, Template.SESSION_MODIFIEE, "S1", "v2", day + timedelta(days=1)),
        sent(A, Template.RAPPEL_SESSION, "S1", "J-7", day + timedelta(days=2)),
        sent(A, Template.SESSION_ANNULEE, "S2", "", day + timedelta(days=3), state="failed"),
        LedgerEntry(A, Template.ATTESTATION, "sent", day + timedelta(days=4)),
    ]
    assert sent_summary(entries) == (
        "Invitation S1 12/05/2026; Modification S1 v2 13/05/2026; Rappel S1 J-7 14/05/2026; "
        "Annulation S2 refusé 15/05/2026; Attestation de participation 16/05/2026"
    )
