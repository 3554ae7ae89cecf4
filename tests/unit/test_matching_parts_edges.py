"""Parts and former names: the edges of each rule (ordinals, lists, sectors, the method shown).

Pinned against the mutants `make mutation` found alive (tests/unit/mutation-survivors.md lists
those reviewed as equivalent)."""

from __future__ import annotations

import pytest

from pipeline.core.matching import MemberIndex, build_index, match_authority
from pipeline.core.model import AuthorityKind, MatchOutcome, Member
from pipeline.core.reference import Reference, parse_part
from tests.support.matching_corpus.corpus import load_members
from tests.support.matching_kit import AMBIGUOUS, MATCHED, NONE, C, I, row

PACA = "Provence-Alpes-Côte d'Azur"
METROPOLE_AMP = "200054807"  # SIREN of the Métropole d'Aix-Marseille-Provence


@pytest.fixture(scope="module")
def towns(reference: Reference) -> frozenset[str]:
    return reference.index.part_towns


# --- Reading the answer as a part (parse_part) ------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "Mairie du 13e arrondissement de Marseille 13",
        "Mairie du 13 e arrondissement de Marseille 13",
        "Mairie du XIIIe arrondissement de Marseille 13",
        "Mairie du treizième arrondissement de Marseille 13",
    ],
)
def test_a_bare_number_after_the_town_equal_to_the_ordinal_is_kept(
    typed: str, towns: frozenset[str]
) -> None:
    """A trailing bare number is dropped only when it differs from every ordinal written."""
    part = parse_part(typed, towns)
    assert part is not None
    assert (part.city, part.numbers, part.explicit) == ("marseille", frozenset({13}), True)


@pytest.mark.parametrize(
    "typed",
    [
        "CD 29",  # a bare number without a divided town
        "Troisième adjointe au maire de Lyon",  # a spelt ordinal without arrondissement/secteur
        "Paris Centre (1er, 2e, 3e et 4e arrondissements)",  # "Centre" with numbers
    ],
)
def test_answers_that_are_not_read_as_a_part(typed: str, towns: frozenset[str]) -> None:
    """No part is read from these answers (the matcher reads them as any other)."""
    assert parse_part(typed, towns) is None


def test_the_town_of_a_part_keeps_all_its_words() -> None:
    """The town's words are kept joined by single spaces ("saint etienne")."""
    part = parse_part("Saint-Étienne 3e arrondissement")
    assert part is not None
    assert (part.city, part.numbers) == ("saint etienne", frozenset({3}))


def test_a_spelt_seventh_is_seventeenth_only_right_after_dix() -> None:
    """ "septième" is 7 unless the word before it is "dix" (not the last word of the answer)."""
    part = parse_part("Septième arrondissement, salle dix")
    assert part is not None
    assert part.numbers == frozenset({7})


# --- Parts through match_authority ------------------------------------------------------------


# (typed, type, département, outcome, member line in matching_corpus/members.csv, method)
CASES = [
    ("Mairie du septième arrondissement", None, None, AMBIGUOUS, None, ""),  # 7: three towns
    ("Paris neuvième arrondissement", None, None, MATCHED, 4, "arrondissement de Paris"),
    ("Paris, arrondissement dix-huitième", None, None, MATCHED, 4, "arrondissement de Paris"),
    ("Paris, arrondissement dix", None, None, MATCHED, 4, "nom"),  # "dix" as the last word
    # The same number on both sides: the eight sectors of Marseille (not a member).
    ("Mairies des 1er, 2e, 3e, 4e, 5e, 6e, 7e et 8e secteurs de Marseille", None, None, NONE,
     None, ""),
    # Written out with a région after a comma: the part is found as a place of the reference.
    ("Lyon 3e arrondissement, Auvergne-Rhône-Alpes", None, None, MATCHED, 2,
     "arrondissement de Lyon"),
    ("Lyon 3e arrondissement (Lyon)", None, None, MATCHED, 2, "arrondissement de Lyon"),
    ("Paris Centre (1er, 2e, 3e et 4e arrondissements)", None, None, MATCHED, 4,
     "arrondissement de Paris"),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "kind", "department", "outcome", "member", "method"), CASES)
def test_part_edges_case_table(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    outcome: MatchOutcome,
    member: int | None,
    method: str,
) -> None:
    """Each answer naming a part gets the outcome, member and method the table says."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, row(match), match.method) == (outcome, member, method), match.explanation


# (typed, type, candidates, explanation without the typed answer's « … » prefix)
SHOWN = [
    (
        "Lyon Centre",
        None,
        ("Lyon (69, adhérente)",),
        " : Lyon (69, adhérente) n'a pas de secteur « Centre », ou le département indiqué "
        "diffère. Vérifiez.",
    ),
    (
        "Mairie du 9e",
        I,
        ("Lyon (69, adhérente)", "Paris (75, adhérente)"),
        " : une mairie d'arrondissement de Lyon ou Paris, mais le type indiqué est "
        "« Intercommunalité ».",
    ),
    (
        "Marseille 1er Arrondissement",
        I,
        (),
        " désigne Marseille 1er Arrondissement (13), qui n'est pas adhérente (le type indiqué "
        "est « Intercommunalité »).",
    ),
    (
        "Métropole du Grand Paris",
        C,
        ("Métropole du Grand Paris (75, 91, 92…)", "Paris (75, adhérente)"),
        " désigne Métropole du Grand Paris (75, 91, 92…), mais le type indiqué est « Commune » : "
        "Paris (75, adhérente) ?",
    ),
    (
        "Communauté de communes du Sisteronais-Buëch",
        C,
        (),
        " désigne Communauté de communes du Sisteronais-Buëch (04, 05, 26), qui n'est pas "
        "adhérente (le type indiqué est « Commune »).",
    ),
    (
        "Région Basse-Normandie",
        AuthorityKind.REGION,
        (),
        " : Basse-Normandie (ancienne région, aujourd'hui Normandie), qui n'est pas dans la "
        "liste des adhérentes.",
    ),
]


@pytest.mark.parametrize(("typed", "kind", "candidates", "explanation"), SHOWN)
def test_what_staff_read_for_parts_and_places(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    candidates: tuple[str, ...],
    explanation: str,
) -> None:
    """Candidates and explanation name the towns, départements (at most three) and the type."""
    match = match_authority(index, typed, kind, None)
    assert (match.candidates, match.explanation) == (candidates, f"« {typed} »{explanation}")


def test_a_part_number_of_two_towns_neither_a_member(reference: Reference) -> None:
    """A number two towns have, neither a member: both named, no member."""
    index = build_index([m for m in load_members() if m.row not in (2, 4)], reference)
    match = match_authority(index, "Mairie du 14e arrondissement", None, None)
    assert (match.outcome, match.explanation) == (
        NONE,
        "« Mairie du 14e arrondissement » : arrondissement de Marseille ou Paris ; aucune "
        "n'est adhérente.",
    )


# --- A member line that may be the divided town; the town itself a member ------------------


def test_a_part_of_a_town_a_member_line_may_be(reference: Reference) -> None:
    """A part of a town an unclear member line may be (its SIREN is another's): to check."""
    member = Member(row=2, name="Ville de Marseille", kind=C, department="13", siren=METROPOLE_AMP)
    index = build_index([member], reference)
    match = match_authority(index, "Marseille 7e arrondissement", None, None)
    assert (match.outcome, match.candidates, match.explanation) == (
        AMBIGUOUS,
        ("Ville de Marseille (13) — Adhérents ligne 2",),
        "« Marseille 7e arrondissement » : arrondissement de Marseille, qui pourrait être "
        "l'adhérente « Ville de Marseille » (ligne 2, 13).",
    )


def test_a_part_found_as_a_place_of_a_town_member_lines_may_be(reference: Reference) -> None:
    """A part found as a reference place, its town only possibly a member: every line named."""
    members = [
        Member(row=2, name="Ville de Marseille", kind=C, department="13", siren=METROPOLE_AMP),
        Member(row=3, name="Mairie de Marseille", kind=C, department="13", siren=METROPOLE_AMP),
    ]
    typed = f"Marseille 7e arrondissement, {PACA}"
    one = match_authority(build_index(members[:1], reference), typed, None, None)
    assert (one.outcome, one.candidates) == (
        AMBIGUOUS,
        ("Ville de Marseille (13) — Adhérents ligne 2",),
    )
    two = match_authority(build_index(members, reference), typed, None, None)
    assert two.explanation == (
        f"« {typed} » : avec le type indiqué, il s'agirait de Marseille 7e Arrondissement (13) ; "
        "vérifiez qu'il s'agit bien de l'adhérente « Ville de Marseille » (ligne 2, 13) ou "
        "l'adhérente « Mairie de Marseille » (ligne 3, 13)."
    )


@pytest.mark.parametrize(
    "typed",
    [
        f"Marseille 1er secteur, {PACA}",  # read as a place of the reference
        "Mairies des 1er, 2e, 3e, 4e, 5e, 6e, 7e et 8e secteurs de Marseille",  # all eight
    ],
)
def test_sectors_of_a_member_town_are_shown_as_sectors(reference: Reference, typed: str) -> None:
    """Sectors of Marseille, a member here: Marseille, "secteur de Marseille"."""
    index = build_index([Member(row=2, name="Marseille", kind=C, department="13")], reference)
    match = match_authority(index, typed, None, None)
    assert (match.outcome, row(match), match.method) == (MATCHED, 2, "secteur de Marseille")


# --- Former names that are also another member's other name -------------------------------


@pytest.mark.parametrize("active", [True, False])
def test_a_former_epci_name_also_another_lines_other_name(
    reference: Reference, active: bool
) -> None:
    """A former EPCI's name also in an active line's Autres noms is to check; a lapsed one's not."""
    dijon = Member(
        row=300, name="Dijon", kind=C, department="21", aliases=("Grand Dijon",), active=active
    )
    index = build_index([*load_members(), dijon], reference)
    match = match_authority(index, "Grand Dijon", None, None)
    if not active:
        assert (match.outcome, row(match), match.method) == (MATCHED, 94, "ancien EPCI")
        return
    assert (match.outcome, match.candidates) == (
        AMBIGUOUS,
        (
            "Le Grand Dijon (ancien EPCI, aujourd'hui Dijon Métropole, adhérente)",
            "Dijon (21) — Adhérents ligne 300",
        ),
    )


def test_a_former_epci_name_given_to_a_member_whose_epci_is_not_one(
    reference: Reference,
) -> None:
    """A former EPCI's name in a member's Autres noms, the EPCI today not a member: that member."""
    aix = Member(
        row=300,
        name="Aix-en-Provence",
        kind=C,
        department="13",
        aliases=("Communauté du Pays d'Aix",),
    )
    index = build_index([*load_members(), aix], reference)
    match = match_authority(index, "Communauté du Pays d'Aix", None, None)
    assert (match.outcome, row(match), match.method) == (MATCHED, 300, "alias")


# --- An ordinal suffix without its number ("Ème arrondissement", "9 è me") ---------------------


@pytest.mark.parametrize(
    ("typed", "same_as"),
    [
        ("Ème arrondissement de Paris", "Arrondissement de Paris"),
        ("Ème arrondissement de Marseille 13", "Arrondissement de Marseille 13"),
        ("Mairie du ème arrondissement de Marseille 13", "Mairie d'arrondissement de Marseille 13"),
        ("Mairie du 9 è me arrondissement", "Mairie du 9e arrondissement"),
    ],
)
def test_an_ordinal_suffix_without_its_number_is_ignored(
    typed: str, same_as: str, towns: frozenset[str]
) -> None:
    """A suffix left without its number ("ème", the "me" of "9 è me") is read as no word."""
    assert parse_part(typed, towns) == parse_part(same_as, towns)


def test_a_part_with_its_number_forgotten_is_the_town(index: MemberIndex) -> None:
    """ "Ème arrondissement de Paris" (the number forgotten) is Paris, by its arrondissement."""
    match = match_authority(index, "Ème arrondissement de Paris", C, "75")
    assert (match.outcome, row(match), match.method) == (MATCHED, 4, "arrondissement de Paris")
