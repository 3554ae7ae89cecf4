"""The `Courriels envoyés` cell: French format, read back exactly, old form still read."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.sentrecord import (
    LABELS,
    SentEntry,
    format_sent,
    parse_sent,
    sheet_records,
)


def test_the_shared_examples_are_written_as_agreed() -> None:
    """Labels, session code, qualifier and a French date, entries separated by "; "."""
    cell = format_sent(
        [
            SentEntry("accuse_reception", date(2026, 3, 2)),
            SentEntry("inscription_confirmee", date(2026, 4, 1)),
            SentEntry("invitation_session", date(2026, 5, 12), session="S1"),
            SentEntry("session_modifiee", date(2026, 5, 20), session="S1", qualifier="v2"),
            SentEntry("rappel_session", date(2026, 5, 5), session="S1", qualifier="J-7"),
            SentEntry("liste_attente", date(2026, 4, 3), state="failed"),
        ]
    )
    assert cell == (
        "Accusé de réception 02/03/2026; Inscription confirmée 01/04/2026; Invitation S1 "
        "12/05/2026; Modification S1 v2 20/05/2026; Rappel S1 J-7 05/05/2026; "
        "Liste d'attente refusé 03/04/2026"
    )


def test_the_first_versions_form_is_still_read() -> None:
    """`accuse_reception 2026-03-02` and `… refusé …` rebuild the same entries."""
    entries, unreadable = parse_sent(
        "accuse_reception 2026-03-02; inscription_confirmee incertain 2026-04-01"
    )
    assert unreadable == 0
    assert entries == [
        SentEntry("accuse_reception", date(2026, 3, 2)),
        SentEntry("inscription_confirmee", date(2026, 4, 1), state="incertain"),
    ]


def test_unreadable_parts_are_counted_never_guessed() -> None:
    """Staff typing, an unknown label or a bad date is skipped and counted."""
    entries, unreadable = parse_sent(
        "Accusé de réception 02/03/2026; envoyé à la main; Bonjour 02/03/2026; Rappel S1 31/02/2026"
    )
    assert entries == [SentEntry("accuse_reception", date(2026, 3, 2))]
    assert unreadable == 3


def test_accents_case_and_spaces_do_not_matter_when_reading() -> None:
    """A cell retyped without accents or in capitals reads the same."""
    entries, _ = parse_sent("  ACCUSE DE RECEPTION   02/03/2026 ;liste d’attente 3/4/2026")
    assert [e.template for e in entries] == ["accuse_reception", "liste_attente"]


_codes = st.from_regex(r"[A-Z][0-9]{1,2}", fullmatch=True)


@given(
    st.lists(
        st.builds(
            SentEntry,
            template=st.sampled_from(sorted(LABELS)),
            day=st.dates(min_value=date(2020, 1, 1), max_value=date(2099, 12, 31)),
            session=st.none() | _codes,
            qualifier=st.none()
            | st.from_regex(r"(v[0-9]{1,2}(\.[0-9])?|J-[0-9]{1,2})", fullmatch=True),
            state=st.sampled_from(["sent", "failed", "incertain"]),
        ),
        max_size=8,
    )
)
def test_every_entry_reads_back_exactly(entries: list[SentEntry]) -> None:
    """format then parse gives back the same entries, whatever the template and qualifiers."""
    assert parse_sent(format_sent(entries)) == (entries, 0)


def test_a_sheet_gives_its_records_by_person_id() -> None:
    """Rows without an ID or with an empty cell are skipped; columns found by name."""
    table = [
        ["Nom", "Courriels envoyés", "ID"],
        ["A", "Accusé de réception 02/03/2026", "DT-A"],
        ["B", "Accusé de réception 02/03/2026", ""],
        ["C", "", "DT-C"],
    ]
    assert sheet_records(table) == {"DT-A": [SentEntry("accuse_reception", date(2026, 3, 2))]}


def test_a_round_after_a_cancellation_keeps_its_qualifier() -> None:
    """`Invitation S1 v1.2 …` (invited again after a cancellation) reads back session S1 and
    qualifier v1.2, so a rebuilt ledger knows that invitation went out."""
    entries, unreadable = parse_sent("Annulation S1 10/04/2026; Invitation S1 v1.2 12/04/2026")
    assert unreadable == 0
    assert [(e.template, e.session, e.qualifier) for e in entries] == [
        ("session_annulee", "S1", None),
        ("invitation_session", "S1", "v1.2"),
    ]
