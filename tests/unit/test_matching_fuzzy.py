"""The typo and shortened-name search: which near names count, the margin between the best two, the
fields compared.

Pinned against the mutants `make mutation` found alive (tests/unit/mutation-survivors.md lists
those reviewed as equivalent)."""

from __future__ import annotations

import pytest

from pipeline.core.matching import MemberIndex, build_index, match_authority, member_notes
from pipeline.core.model import AuthorityKind, MatchOutcome, Member
from pipeline.core.reference import Reference
from tests.support.matching_corpus.corpus import load_members
from tests.support.matching_kit import AMBIGUOUS, MATCHED, A, C, D, R

# (typed, type, département, member line in matching_corpus/members.csv, method)
MATCHED_CASES = [
    # A typo of a commune is the commune, not the métropole that bears its name.
    ("Strasbuorg", None, None, 5, "approché 90 %"),
    ("Strasbuorg", C, "67", 5, "approché 90 %"),
    ("Montpelleir", None, None, 6, "approché 91 %"),
    ("Vnanes", None, None, 39, "approché 83 %"),
    ("Vnanes", C, "56", 39, "approché 83 %"),
    ("Saint-Maol", None, None, 38, "approché 90 %"),
    ("Saint-Maol", C, "35", 38, "approché 90 %"),
    # An intercommunality written with a typo, with or without its designator.
    ("Plaine Comune", None, None, 86, "approché 96 %"),
    ("Rnenes Métropole", None, None, 78, "approché 94 %"),
    ("Eurométropole de Strasbougr", None, None, 79, "approché 90 %"),
    # The best of the readings gives the percentage (a misplaced space).
    ("Clermont AuvergneM étropole", None, None, 95, "approché 97 %"),
    # A département or région name with a typo after its designator: no commune nearby rivals
    # it, since a commune cannot be a "Département" or a "Région".
    ("Département du Nrod", None, None, 58, "approché 75 %"),
    ("Département de la Vinene", None, None, 65, "approché 83 %"),
    ("Région Bretagn", None, None, 67, "approché 93 %"),
    ("Région Île-de-Franee", None, None, 68, "approché 90 %"),
    ("Conseil régional de la Gudeloupe", None, None, 72, "approché 95 %"),
    ("Ille-et-Vilain", D, "35", 57, "approché 96 %"),
    # Only the 50 nearest official names are weighed as rivals: Orne and Yonne (two edits from
    # "hône") are not among them, so the one-edit Rhône stands alone.
    ("Département du hône", None, None, 66, "approché 89 %"),
    # A designator word with one typo is still the designator ("Coseil", "Régino", "ede").
    ("Coseil départemental de la Seine-Saint-Denis", D, "93", 55, "nom"),
    ("Consil régional de la Guadeloupe", R, "971", 72, "nom"),
    ("Régino Occitanie", None, None, 70, "nom"),
    ("Vill ede Paris", None, None, 4, "nom"),
    # The linking word of a designator with a typo ("dee", "ed" for "de").
    ("Hôtel dee Ville de Paris", None, None, 4, "nom"),
    ("Hotel ed Ville de Lyon", None, None, 2, "nom"),
    # The start of a name, the only place of that type in the département starting so.
    ("Conseil", D, "93", 55, "nom abrégé"),
]


@pytest.mark.parametrize(("typed", "kind", "department", "line", "method"), MATCHED_CASES)
def test_near_and_shortened_names_match_their_member(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    line: int,
    method: str,
) -> None:
    """A typo or a shortened name clear of every rival matches the member, with the method."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, match.member.row if match.member else None, match.method) == (
        MATCHED,
        line,
        method,
    )


# (typed, type, département, candidates, explanation)
AMBIGUOUS_CASES = [
    # Most similar member first among the suggestions.
    (
        "RennesMétropole",
        None,
        None,
        (
            "Rennes Métropole (35) — Adhérents ligne 78",
            "Brest Métropole (29) — Adhérents ligne 75",
        ),
        "« RennesMétropole » n'est pas un nom de collectivité connu ; il ressemble à "
        "l'adhérente « Rennes Métropole » (ligne 78, 35) ou l'adhérente « Brest Métropole » "
        "(ligne 75, 29).",
    ),
    # Real places as close as the member's are rivals; a farther member is not.
    (
        "La Rohelle",
        None,
        None,
        (
            "La Rochelle (17) — Adhérents ligne 17",
            "Rodelle (12)",
            "Domfront en Poiraie (61)",
            "La Rochelle (70)",
        ),
        "« La Rohelle » ressemble à l'adhérente « La Rochelle » (ligne 17, 17) (approché 93 %), "
        "mais aussi à Rodelle (12), Domfront en Poiraie (61) ou La Rochelle (70) ?",
    ),
    (
        "Département du Rône",
        None,
        None,
        ("Département du Rhône (69) — Adhérents ligne 66", "Orne (département 61)"),
        "« Département du Rône » ressemble à l'adhérente « Département du Rhône » (ligne 66, 69) "
        "(approché 89 %), mais aussi à Orne (département 61) ?",
    ),
    # An intercommunality's rivals are searched among intercommunalities too.
    (
        "Renne Métropole",
        None,
        None,
        (
            "Rennes Métropole (35) — Adhérents ligne 78",
            "Communauté de communes de Yenne (73)",
        ),
        "« Renne Métropole » ressemble à l'adhérente « Rennes Métropole » (ligne 78, 35) "
        "(approché 97 %), mais aussi à Communauté de communes de Yenne (73) ?",
    ),
    # "Ville de" does not narrow the rivals to communes named so: any place of the name counts.
    (
        "Ville de Prais",
        None,
        None,
        (
            "Ville de Paris (75) — Adhérents ligne 4",
            "Le Grais (61)",
            "Irais (79)",
            "Frais (90)",
        ),
        "« Ville de Prais » ressemble à l'adhérente « Ville de Paris » (ligne 4, 75) "
        "(approché 80 %), mais aussi à Le Grais (61), Irais (79) ou Frais (90) ?",
    ),
    (
        "Ville de Lyno",
        None,
        None,
        (
            "Ville de Lyon (69) — Adhérents ligne 2",
            "Lano (2B)",
            "Lye (36)",
            "Lys (58)",
            "Lys (64)",
        ),
        "« Ville de Lyno » ressemble à l'adhérente « Ville de Lyon » (ligne 2, 69) "
        "(approché 75 %), mais aussi à Lano (2B), Lye (36), Lys (58) ou Lys (64) ?",
    ),
    (
        "ille",
        C,
        "59",
        ("Lille (59) — Adhérents ligne 10", "Illies (59)", "Killem (59)"),
        "« ille » ressemble à l'adhérente « Lille » (ligne 10, 59) (approché 89 %), "
        "mais aussi à Illies (59) ou Killem (59) ?",
    ),
    # A typo that splits a word differently is no typo: the member only as a suggestion.
    (
        "Département de laV ienne",
        D,
        "86",
        ("Département de la Vienne (86) — Adhérents ligne 65",),
        "« Département de laV ienne » n'est pas un nom de collectivité connu ; il ressemble à "
        "l'adhérente « Département de la Vienne » (ligne 65, 86).",
    ),
    # "EPTs" is no designator: the whole answer is compared, the member only suggested.
    (
        "EPTs de Plaine Commune",
        None,
        None,
        ("Plaine Commune (93) — Adhérents ligne 86",),
        "« EPTs de Plaine Commune » n'est pas un nom de collectivité connu ; il ressemble à "
        "l'adhérente « Plaine Commune » (ligne 86, 93).",
    ),
    # A designator with a typo and no name after it names no collectivité.
    ("Mairi de", None, None, (), "« Mairi de » ne nomme pas de collectivité précise."),
    # Shortened names: without the type, several members start so ("ou" between the last two).
    (
        "Conseil",
        None,
        "93",
        (
            "Conseil départemental de la Seine-Saint-Denis (93) — Adhérents ligne 55",
            "Région Île-de-France — Adhérents ligne 68",
        ),
        "« Conseil » : nom abrégé de l'adhérente « Conseil départemental de la Seine-Saint-Denis » "
        "(ligne 55, 93) ou l'adhérente « Région Île-de-France » (ligne 68) ?",
    ),
    (
        "Collectivité",
        A,
        None,
        (
            "Collectivité européenne d'Alsace (67) — Adhérents ligne 64",
            "Collectivité de Corse — Adhérents ligne 73",
            "Collectivité territoriale de Martinique (972) — Adhérents ligne 74",
        ),
        "« Collectivité » : nom abrégé de l'adhérente « Collectivité européenne d'Alsace » "
        "(ligne 64, 67), l'adhérente « Collectivité de Corse » (ligne 73) ou l'adhérente "
        "« Collectivité territoriale de Martinique » (ligne 74, 972) ?",
    ),
    # Several typed words: the first word finds the names to compare.
    (
        "Région Sud Provence Alpes",
        None,
        None,
        ("Région Sud Provence-Alpes-Côte d'Azur — Adhérents ligne 69",),
        "« Région Sud Provence Alpes » : nom abrégé de l'adhérente "
        "« Région Sud Provence-Alpes-Côte d'Azur » (ligne 69) ?",
    ),
]


@pytest.mark.parametrize(
    ("typed", "kind", "department", "candidates", "explanation"), AMBIGUOUS_CASES
)
def test_near_names_with_rivals_go_to_check(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    candidates: tuple[str, ...],
    explanation: str,
) -> None:
    """A typo or a shortened name with rivals goes to check, listing them in the explanation."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, match.candidates, match.explanation) == (
        AMBIGUOUS,
        candidates,
        explanation,
    )


# The index is built inside the tests below: what `build_index` computes must be rebuilt by the
# code under test, not shared from a fixture built once.


@pytest.mark.parametrize(
    ("typed", "line", "method"),
    [
        ("Strasbuorg", 5, "approché 90 %"),
        ("Montpelleir", 6, "approché 91 %"),
        ("Plaine Comune", 86, "approché 96 %"),
    ],
)
def test_typo_of_a_city_is_the_city_not_the_intercommunality_named_after_it(
    reference: Reference, typed: str, line: int, method: str
) -> None:
    """A commune's typo matches the commune; the EPCI's bare name is searched for EPCIs only."""
    match = match_authority(build_index(load_members(), reference), typed, None, None)
    assert (match.outcome, match.member.row if match.member else None, match.method) == (
        MATCHED,
        line,
        method,
    )


@pytest.mark.parametrize(
    ("typed", "kind", "department", "line", "method"),
    [
        ("Montpelier", C, "34", 6, "approché 95 %"),
        ("Strasbourgg", C, "67", 5, "approché 95 %"),
        ("Saint-Maol", C, "35", 38, "approché 90 %"),
    ],
)
def test_typo_matches_whatever_the_order_of_the_member_list(
    reference: Reference,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    line: int,
    method: str,
) -> None:
    """With the métropoles listed before the cities, a city's typo still matches the city."""
    index = build_index(list(reversed(load_members())), reference)
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, match.member.row if match.member else None, match.method) == (
        MATCHED,
        line,
        method,
    )


def test_member_line_with_a_typo_is_read_as_the_nearest_place(reference: Reference) -> None:
    """A member line misspelt ("Llile", 59) is the one place clearly nearest, noted for staff."""
    member = Member(row=10, name="Llile", kind=C, department="59")
    index = build_index([member], reference)
    assert member_notes(index) == [
        (member, "« Llile » a été lu comme Lille (59) (orthographe proche).")
    ]
    match = match_authority(index, "Lille", C, "59")
    assert (match.outcome, match.member, match.method) == (MATCHED, member, "nom")


@pytest.fixture(scope="module")
def towns() -> list[Member]:
    """Members whose usual short name is the start of the official one."""
    return [
        Member(row=2, name="Le Puy-en-Velay", kind=C, department="43"),
        Member(row=3, name="Sarlat-la-Canéda", kind=C, department="24"),
        Member(row=4, name="Gevrey-Chambertin", kind=C, department="21"),
        Member(row=10, name="Is-sur-Tille", kind=C, department="21"),
        *(
            Member(row=5 + i, name=name, kind=C, department="974")
            for i, name in enumerate(
                ["Saint-Denis", "Saint-Pierre", "Saint-Paul", "Saint-Louis", "Saint-Leu"]
            )
        ),
    ]


@pytest.mark.parametrize(
    ("typed", "department", "line"),
    [
        # The CA du Puy-en-Velay's bare name is a commune's: not a second place "Le Puy …".
        ("Le Puy", "43", 2),
        # "Mairie de": only communes count, not the CC Sarlat-Périgord Noir or the CC de
        # Gevrey-Chambertin et de Nuits-Saint-Georges, whose names start so too.
        ("Mairie de Sarlat", "24", 3),
        ("Mairie de Gevrey", "21", 4),
    ],
)
def test_shortened_name_of_the_only_such_commune_matches(
    reference: Reference, towns: list[Member], typed: str, department: str, line: int
) -> None:
    """The start of a name matches when only the member's place of the département starts so."""
    match = match_authority(build_index(towns, reference), typed, None, department)
    assert (match.outcome, match.member.row if match.member else None, match.method) == (
        MATCHED,
        line,
        "nom abrégé",
    )


def test_shortened_name_shared_by_many_members_lists_four(
    reference: Reference, towns: list[Member]
) -> None:
    """Five members start with the typed word: the first four are the candidates."""
    match = match_authority(build_index(towns, reference), "Saint", C, "974")
    assert (match.outcome, match.candidates) == (
        AMBIGUOUS,
        (
            "Saint-Denis (974) — Adhérents ligne 5",
            "Saint-Pierre (974) — Adhérents ligne 6",
            "Saint-Paul (974) — Adhérents ligne 7",
            "Saint-Louis (974) — Adhérents ligne 8",
        ),
    )
    assert match.explanation == (
        "« Saint » désigne Le Saint (56), mais le département indiqué est 974 (La Réunion) ; "
        "nom abrégé de l'adhérente « Saint-Denis » (ligne 5, 974), l'adhérente « Saint-Pierre » "
        "(ligne 6, 974), l'adhérente « Saint-Paul » (ligne 7, 974) ou l'adhérente "
        "« Saint-Louis » (ligne 8, 974) ?"
    )


def test_typo_of_an_unclear_member_of_another_type_is_no_member(index: MemberIndex) -> None:
    """Saint-Paul (line 53, no département: several communes) is a commune, not an EPCI."""
    match = match_authority(index, "Saint-Paol", AuthorityKind.INTERCOMMUNALITE, None)
    assert (match.outcome, match.member, match.explanation) == (
        MatchOutcome.NONE,
        None,
        "« Saint-Paol » ne correspond à aucune adhérente.",
    )


@pytest.fixture(scope="module")
def departements() -> list[Member]:
    """Départements with short names, one or two letters apart."""
    return [
        Member(row=2, name="Département de l'Aisne", kind=D, department="02"),
        Member(row=3, name="Département de l'Oise", kind=D, department="60"),
        Member(row=4, name="Département de l'Indre", kind=D, department="36"),
        Member(row=5, name="Département de l'Aube", kind=D, department="10"),
        Member(row=6, name="Département de l'Eure", kind=D, department="27"),
    ]


@pytest.mark.parametrize(
    ("typed", "candidates", "explanation"),
    [
        # Aisne and Oise are one edit from "Aise": the more similar (Aisne, 89 %) comes first.
        (
            "Aise",
            (
                "Département de l'Aisne (02) — Adhérents ligne 2",
                "Département de l'Oise (60) — Adhérents ligne 3",
                "Aire (08)",
                "Aize (36)",
                "Anse (69)",
            ),
            "« Aise » ressemble à l'adhérente « Département de l'Aisne » (ligne 2, 02) "
            "(approché 89 %), mais aussi à l'adhérente « Département de l'Oise » (ligne 3, 60), "
            "Aire (08), Aize (36) ou Anse (69) ?",
        ),
        # Rivals among the 50 nearest official names: Eure, not Orne.
        (
            "Département de l'Inre",
            (
                "Département de l'Indre (36) — Adhérents ligne 4",
                "Eure (département 27, adhérente)",
            ),
            "« Département de l'Inre » ressemble à l'adhérente « Département de l'Indre » "
            "(ligne 4, 36) (approché 89 %), mais aussi à Eure (département 27, adhérente) ?",
        ),
    ],
)
def test_typo_between_two_member_departements_names_the_closest_first(
    reference: Reference,
    departements: list[Member],
    typed: str,
    candidates: tuple[str, ...],
    explanation: str,
) -> None:
    """Members as near as each other: to check, the most similar first, then the rivals."""
    match = match_authority(build_index(departements, reference), typed, None, None)
    assert (match.outcome, match.candidates, match.explanation) == (
        AMBIGUOUS,
        candidates,
        explanation,
    )


@pytest.mark.parametrize(
    ("name", "kind", "department", "note"),
    [
        # Crozet and Crottet (01) are both one edit away: no place is clearly the nearest.
        (
            "Crotet",
            C,
            "01",
            "« Crotet » n'est pas dans la liste officielle des collectivités : seuls son nom et "
            "ses Autres noms la font reconnaître.",
        ),
        # Searched in all France, "grandchamp" (one word, five communes) is passed over, not
        # the end of the search: "grand champ" (56).
        (
            "Gr andchamp",
            None,
            None,
            "« Gr andchamp » a été lu comme Grand-Champ (56) (orthographe proche).",
        ),
    ],
)
def test_member_line_with_a_typo_needs_one_clearly_nearest_place(
    reference: Reference,
    name: str,
    kind: AuthorityKind | None,
    department: str | None,
    note: str,
) -> None:
    """A misspelt member line is read as a place only when no other is as near, with as many words."""
    member = Member(row=30, name=name, kind=kind, department=department)
    assert member_notes(build_index([member], reference)) == [(member, note)]


def test_two_letters_are_too_few_for_a_shortened_name(
    reference: Reference, towns: list[Member]
) -> None:
    """A shortened name needs three letters at least: "Is" stands for no Is-sur-Tille."""
    match = match_authority(build_index(towns, reference), "Is", None, "21")
    assert (match.outcome, match.candidates, match.explanation) == (
        MatchOutcome.NONE,
        (),
        "« Is » ne correspond à aucune adhérente.",
    )
