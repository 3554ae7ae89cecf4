"""Answers that join or repeat names: two collectivités joined by "et" or a slash, one member
written twice, a département named bare after the name, staff's `Autres noms` behind a
designator ("Ville d'Évry"), a person's role typed before the collectivité, a member's
acronym ("CAPB")."""

from __future__ import annotations

import pytest

from pipeline.core.matching import MemberIndex, build_index, match_authority
from pipeline.core.model import AuthorityKind, MatchOutcome, Member
from pipeline.core.reference import Reference, without_role
from tests.support.matching_kit import AMBIGUOUS, MATCHED, NONE, C, I, row

# (typed, type, département, member line in matching_corpus/members.csv)
BARE_DEPARTMENT = [
    ("Cap Excellence Guadeloupe", None, None, 89),
    ("TCO Réunion", I, None, 90),
    ("Saint-Pierre La Réunion", C, None, 46),  # two words; Saint-Pierre is also in 972
    ("Saint-Louis Haut Rhin", None, None, 52),  # two words, the last alone names nothing
    ("Montreuil Seine Saint Denis", None, None, 14),  # three words
]


@pytest.mark.parametrize(("typed", "kind", "department", "member"), BARE_DEPARTMENT)
def test_a_departement_named_bare_after_the_name_places_it(
    index: MemberIndex, typed: str, kind: AuthorityKind | None, department: str | None, member: int
) -> None:
    """A département's name right after the name, without a link word, says where it is."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, row(match), match.method) == (MATCHED, member, "nom")


def test_a_code_after_the_name_is_not_read_as_a_bare_departement_name(
    index: MemberIndex,
) -> None:
    """Only names count as a bare département: "Saint-Denis 974" is the 974's, not a member."""
    match = match_authority(index, "Saint-Denis 974", C, None)
    assert match.outcome is NONE and "Saint-Denis (974)" in match.explanation


def test_two_members_joined_by_et_are_a_question(index: MemberIndex) -> None:
    """ "Ville de Rennes et Rennes Métropole": both members, staff choose between them."""
    match = match_authority(index, "Ville de Rennes et Rennes Métropole", None, None)
    assert match.outcome is AMBIGUOUS
    assert [c.split(" — ")[1] for c in match.candidates] == [
        "Adhérents ligne 9",
        "Adhérents ligne 78",
    ]
    assert match.explanation.endswith(
        "l'adhérente « Ville de Rennes » (ligne 9, 35) et l'adhérente « Rennes Métropole » "
        "(ligne 78, 35) : laquelle ?"
    )


def test_a_bare_designator_after_a_name_is_that_names_collectivite(index: MemberIndex) -> None:
    """ "Ville de Brest et Métropole": "Métropole" alone is Brest's, a member (the town is not)."""
    match = match_authority(index, "Ville de Brest et Métropole", None, None)
    assert match.outcome is AMBIGUOUS
    assert [c.split(" — ")[1] for c in match.candidates] == ["Adhérents ligne 75"]


def test_the_type_picked_applies_to_both_names(index: MemberIndex) -> None:
    """ "Mairie de Nantes / Nantes Métropole" given as an intercommunalité is Nantes Métropole,
    not a member; the town (a member) is not offered."""
    match = match_authority(index, "Mairie de Nantes / Nantes Métropole", I, None)
    assert (match.outcome, match.candidates) == (NONE, ())


def test_the_departement_given_applies_to_both_names(index: MemberIndex) -> None:
    """ "Saint-Denis / Montreuil" in the 93 names two members; without the 93 both are homonyms."""
    match = match_authority(index, "Saint-Denis / Montreuil", C, "93")
    assert match.outcome is AMBIGUOUS
    assert [c.split(" — ")[1] for c in match.candidates] == [
        "Adhérents ligne 3",
        "Adhérents ligne 14",
    ]


def test_one_member_written_twice_keeps_the_first_names_method(index: MemberIndex) -> None:
    """ "Évry-Courcouronnes / Évry" is the member by its name (the second is an alias of it)."""
    match = match_authority(index, "Évry-Courcouronnes / Évry", None, None)
    assert (match.outcome, row(match), match.method) == (MATCHED, 42, "nom")


ALIAS_BEHIND_DESIGNATOR = [
    ("Ville d'Évry", None, None, MATCHED, 42),
    ("Mairie d'Évry", C, None, MATCHED, 42),
    # the designator's type must fit the member: no département is named Évry
    ("Département d'Évry", None, None, AMBIGUOUS, None),
    # the member line says 91, its place (Grand Paris Sud) also lies in the 77
    ("Communauté d'agglomération Grand Paris Sud", I, "77", MATCHED, 84),
]


@pytest.mark.parametrize(
    ("typed", "kind", "department", "outcome", "member"), ALIAS_BEHIND_DESIGNATOR
)
def test_staff_aliases_are_read_behind_a_designator_of_a_fitting_type(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    outcome: MatchOutcome,
    member: int | None,
) -> None:
    """An `Autres noms` entry is found behind "Ville de", "Mairie de"… when that type fits."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, row(match)) == (outcome, member)
    assert match.method == ("alias" if outcome is MATCHED else "")


def test_an_alias_outside_the_official_list_keeps_its_members_type_and_departement(
    index: MemberIndex,
) -> None:
    """ "Genevois français" (a pôle métropolitain of the 74) is not a commune nor in the 29."""
    assert match_authority(index, "Genevois français", C, None).outcome is NONE
    assert match_authority(index, "Genevois français", None, "29").outcome is NONE
    match = match_authority(index, "Genevois français", None, "74")
    assert (match.outcome, row(match), match.method) == (MATCHED, 85, "alias")


def test_an_alias_shared_by_two_members_goes_to_the_one_that_fits(reference: Reference) -> None:
    """Two members with the same `Autres noms`: the département given picks the one that fits,
    whichever comes first in the sheet."""
    members = [
        Member(row=2, name="Quimper", kind=C, department="29", aliases=("La Ville",)),
        Member(row=3, name="Vannes", kind=C, department="56", aliases=("La Ville",)),
    ]
    for typed in ("La Ville", "Ville de La Ville"):
        match = match_authority(build_index(members, reference), typed, None, "56")
        assert (match.outcome, row(match), match.method) == (MATCHED, 3, "alias"), typed


def test_an_alias_shared_by_two_members_outside_the_official_list_goes_to_the_fitting_one(
    reference: Reference,
) -> None:
    """The same for members the official list does not hold: their own département decides."""
    members = [
        Member(
            row=2,
            name="Pôle Alpha",
            kind=AuthorityKind.AUTRE,
            department="29",
            aliases=("Le Pôle",),
        ),
        Member(
            row=3, name="Pôle Bêta", kind=AuthorityKind.AUTRE, department="56", aliases=("Le Pôle",)
        ),
    ]
    match = match_authority(build_index(members, reference), "Le Pôle", None, "56")
    assert (match.outcome, row(match), match.method) == (MATCHED, 3, "alias")


ROLES = [
    ("Vice-présidente du Conseil départemental du Finistère", "Conseil départemental du Finistère"),
    ("Vice président de Rennes Métropole", "Rennes Métropole"),
    ("Présidente de l'Eurométropole de Strasbourg", "Eurométropole de Strasbourg"),
    ("Président de la Région Bretagne", "Région Bretagne"),
    ("Troisième adjointe au maire de Lyon", "adjointe au maire de Lyon"),
    ("2e adjoint au maire de Nantes", "adjoint au maire de Nantes"),
    ("1ère adjointe au maire de Lyon", "adjointe au maire de Lyon"),
    # nothing to take off
    ("3e arrondissement de Lyon", "3e arrondissement de Lyon"),
    ("Ville de Lyon", "Ville de Lyon"),
    # nothing would be left: the answer is kept whole
    ("Président de ", "Président de "),
]


@pytest.mark.parametrize(("typed", "left"), ROLES)
def test_a_role_before_the_collectivite_is_taken_off(typed: str, left: str) -> None:
    """A person's role (président·e, vice-président·e, a deputy mayor's rank) is no name."""
    assert without_role(typed) == left


ACRONYMS = [
    # (typed, type, département, candidate lines): never matched outright, to check
    ("CAPB", I, "64", [80]),
    ("capb", None, None, [80]),
    ("CAPB", None, "29", []),  # the member is in the 64
    ("CAPB", C, None, []),  # and is no commune
    ("RGE", None, None, []),  # Région Grand Est: its membership lapsed
    ("CEA Saclay", None, None, []),  # an acronym alone, not the first word of a longer answer
]


@pytest.mark.parametrize(("typed", "kind", "department", "lines"), ACRONYMS)
def test_an_acronym_of_an_active_members_name_is_to_check_with_it(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    lines: list[int],
) -> None:
    """A member's initials alone ("CAPB") are to check with it when its type and département
    fit; anything else is no member."""
    match = match_authority(index, typed, kind, department)
    assert row(match) is None
    assert match.outcome is (AMBIGUOUS if lines else NONE)
    assert [int(c.rsplit(" ", 1)[1]) for c in match.candidates] == lines
    if lines:
        assert match.explanation.startswith(f"« {typed} » : sigle de l'adhérente « ")


def test_an_acronym_shared_by_two_members_names_both(reference: Reference) -> None:
    """Two members with the same initials: both are offered, "… ou …"."""
    members = [
        Member(row=2, name="Grand Besançon Métropole", kind=I, department="25"),
        Member(
            row=3, name="Groupement Bretagne Maritime", kind=AuthorityKind.AUTRE, department="29"
        ),
    ]
    match = match_authority(build_index(members, reference), "GBM", None, None)
    assert match.outcome is AMBIGUOUS
    assert match.explanation == (
        "« GBM » : sigle de l'adhérente « Grand Besançon Métropole » (ligne 2, 25) ou de "
        "l'adhérente « Groupement Bretagne Maritime » (ligne 3, 29) ?"
    )


BARE_DESIGNATOR_AFTER = [
    # (typed, département, candidate lines): the bare designator takes the whole first name
    ("Ville de Saint-Étienne et Métropole", None, [16]),  # "Métropole saint etienne"
    ("Valence et Agglomération", "26", [51]),  # a first name without designator
    # a code split off is kept for both names: Valence of the 26, not the homonyms
    ("Mairie de Valence Agglomération (26)", None, [51]),
]


@pytest.mark.parametrize(("typed", "department", "lines"), BARE_DESIGNATOR_AFTER)
def test_a_designator_after_a_name_names_that_names_collectivite_too(
    index: MemberIndex, typed: str, department: str | None, lines: list[int]
) -> None:
    """ "… et Métropole", "Mairie de X Agglomération": the town and X's intercommunality, two
    names, one of them a member: to check."""
    match = match_authority(index, typed, None, department)
    assert match.outcome is AMBIGUOUS
    assert "nomme deux collectivités" in match.explanation
    assert [int(c.rsplit(" ", 1)[1]) for c in match.candidates] == lines


def test_a_lapsed_members_acronym_is_not_offered(reference: Reference) -> None:
    """Only active members' initials count: "GBM" of a lapsed member names no member."""
    members = [
        Member(row=2, name="Grand Besançon Métropole", kind=I, department="25", active=False),
        Member(row=3, name="Rennes Métropole", kind=I, department="35"),
    ]
    match = match_authority(build_index(members, reference), "GBM", None, None)
    assert (match.outcome, match.candidates) == (NONE, ())
