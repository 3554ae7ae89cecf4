"""Reading a typed name: designators before and after, islands, cores of intercommunalities, usual
names, quartiers, unknown names.

Pinned against the mutants `make mutation` found alive (tests/unit/mutation-survivors.md lists
those reviewed as equivalent)."""

from __future__ import annotations

import pytest

from pipeline.core.matching import MemberIndex, build_index, match_authority
from pipeline.core.model import AuthorityKind, MatchOutcome, Member
from pipeline.core.reference import (
    ParsedName,
    PlaceColumns,
    PlaceTable,
    Reading,
    Reference,
    ReferenceIndex,
    interco_cores,
    loose_key,
    name_tokens,
    parse_authority,
)
from tests.support.matching_kit import AMBIGUOUS, MATCHED, NONE, A, C, D, I, R, row

# (typed, type, département, outcome, member line in matching_corpus/members.csv, method)
CASES = [
    # A designator typed with a typo is still one when a linking word or "au" follows.
    ("Mairi au Havre", None, None, MATCHED, 18, "nom"),
    # "l'île de", "île de la", "îles de": the name of the island is the collectivité's.
    ("Département de la île de La Réunion", None, None, MATCHED, 63, "nom"),
    # A closing designator misspelt in a word of seven letters: "Régions", "Régionn".
    ("Bretagne Régions", None, None, MATCHED, 67, "nom"),
    ("Occitanie Régionn", R, None, MATCHED, 70, "nom"),
    # The same designator before and after the name: both go.
    ("Conseil régional Bretagne Région", None, None, MATCHED, 67, "nom"),
    ("Département de la Gironde département", None, None, MATCHED, 56, "nom"),
    # A number after "n°" is the département's: the "n" is no part of the name.
    ("Département n° 974", None, None, MATCHED, 63, "code"),
    ("Département N°29", None, None, MATCHED, 54, "code"),
    # "ex-" before a name of one word: the former name.
    ("Ex Cherbourg", C, None, MATCHED, 22, "nom"),
    # Usual longer names: "-en-…", "-sur-…", "à la …" after the name of a member commune, also
    # with more words after the joining word and for a name of four letters.
    ("Metz-en-Lorraine", C, "57", MATCHED, 27, "nom d'usage"),
    ("Valence sur Rhône Drôme", C, "26", MATCHED, 51, "nom d'usage"),
    ("Hyères les Palmiers Var", C, "83", MATCHED, 97, "nom d'usage"),
    ("Chaumont-en-Bassigny-sur-Marne", C, "52", MATCHED, 96, "nom d'usage"),
    ("Lyon à la Croix-Rousse", C, "69", MATCHED, 2, "nom d'usage"),
    # A typo of a real commune of another département does not hide the usual name.
    ("Metz-le-Conte", C, "57", MATCHED, 27, "nom d'usage"),
    # A second name after a dash, and the département's code after it: the first name.
    ("Finistère - Penn-ar-Bed (29)", None, None, MATCHED, 54, "nom"),
    # The same name twice typed: read once (no endless reading of articles).
    ("La La Rochelle", C, "17", MATCHED, 17, "nom"),
]


@pytest.mark.parametrize(("typed", "kind", "department", "outcome", "member", "method"), CASES)
def test_readings_case_table(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    outcome: MatchOutcome,
    member: int | None,
    method: str,
) -> None:
    """Each typed name above reads as the member, outcome and method of its row."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, row(match), match.method) == (outcome, member, method)


# (typed, type, département, outcome, candidates, explanation)
EXPLAINED = [
    # A designator with a typo and a linking word, the name missing: no collectivité precise.
    ("Mairi de", None, None, AMBIGUOUS, (), "« Mairi de » ne nomme pas de collectivité précise."),
    # "Mairie Eu": Eu is the commune (a name, not a misspelt "de"), though not a member.
    (
        "Mairie Eu",
        C,
        "76",
        NONE,
        (),
        "« Mairie Eu » : Eu (76), qui n'est pas dans la liste des adhérentes.",
    ),
    (
        "Département des îles de la Guadeloupe",
        None,
        None,
        NONE,
        (),
        "« Département des îles de la Guadeloupe » : Guadeloupe (département 971) n'est pas "
        "adhérente (l'adhérente du même nom est Guadeloupe (région)).",
    ),
    # "Ex" alone is a word, not the mark of a former name before nothing.
    ("Ex", None, None, NONE, (), "« Ex » ne correspond à aucune adhérente."),
    (
        "ex-Lorraine",
        None,
        None,
        NONE,
        (),
        "« ex-Lorraine » : Lorraine (ancienne région, aujourd'hui Grand Est) ; l'adhésion de "
        "l'adhérente « Région Grand Est » (ligne 71) est résiliée.",
    ),
    # An article typed keeps the commune that has it: "Le Vieux-Bourg" (22), not "Vieux-Bourg".
    (
        "Le Vieux-Bourg",
        None,
        None,
        NONE,
        (),
        "« Le Vieux-Bourg » : Le Vieux-Bourg (22), qui n'est pas dans la liste des adhérentes.",
    ),
    # A usual name in a département where the member may be the commune: to check, and the
    # département is given, so no word about it.
    (
        "Saint-Paul-les-Bains",
        C,
        "974",
        AMBIGUOUS,
        ("Saint-Paul (974, peut-être adhérente)",),
        "« Saint-Paul-les-Bains » n'est pas un nom officiel ; nom d'usage de Saint-Paul "
        "(974, peut-être adhérente) ?",
    ),
    # A usual name never applies when the type picked is no commune.
    (
        "Hyères-les-Palmiers",
        I,
        "83",
        NONE,
        (),
        "« Hyères-les-Palmiers » ne correspond à aucune adhérente.",
    ),
    # A quartier never applies when the type picked is no commune.
    (
        "Quartier Montmartre",
        D,
        "75",
        NONE,
        (),
        "« Quartier Montmartre » ne correspond à aucune adhérente.",
    ),
    # Quartiers: every member commune named (longest names first), joined by "ou".
    (
        "Quartier de Lyon à Saint-Denis",
        None,
        None,
        AMBIGUOUS,
        ("Saint-Denis (93, adhérente)", "Lyon (69, adhérente)"),
        "« Quartier de Lyon à Saint-Denis » : un quartier ou un lieu-dit de Saint-Denis "
        "(93, adhérente) ou Lyon (69, adhérente) ?",
    ),
    # A commune named after a linking word comes after one named by more words.
    (
        "Quartier du Havre, Saint-Denis",
        None,
        None,
        AMBIGUOUS,
        ("Saint-Denis (93, adhérente)", "Le Havre (76, adhérente)"),
        "« Quartier du Havre, Saint-Denis » : un quartier ou un lieu-dit de Saint-Denis "
        "(93, adhérente) ou Le Havre (76, adhérente) ?",
    ),
    (
        "Quartier Bellevue à Aix-en-Provence",
        None,
        None,
        AMBIGUOUS,
        ("Aix-en-Provence (13, adhérente)",),
        "« Quartier Bellevue à Aix-en-Provence » : un quartier ou un lieu-dit de "
        "Aix-en-Provence (13, adhérente) ?",
    ),
    # A commune of four words named, not a member: not the département's only member commune.
    (
        "Quartier de la Gare, Saint-Martin-de-Crau",
        C,
        "13",
        NONE,
        (),
        "« Quartier de la Gare, Saint-Martin-de-Crau » ne correspond à aucune adhérente.",
    ),
    # Two designators sharing one name, the code after it: both members, to check.
    (
        "Ville et Eurométropole de Strasbourg (67)",
        None,
        None,
        AMBIGUOUS,
        (
            "Strasbourg (67) — Adhérents ligne 5",
            "Eurométropole de Strasbourg (67) — Adhérents ligne 79",
        ),
        "« Ville et Eurométropole de Strasbourg (67) » nomme deux collectivités ; l'adhérente "
        "« Strasbourg » (ligne 5, 67) et l'adhérente « Eurométropole de Strasbourg » "
        "(ligne 79, 67) : laquelle ?",
    ),
    # Unknown names like two members: both suggested, joined by "ou".
    (
        "BrestMétropole",
        None,
        None,
        AMBIGUOUS,
        ("Brest Métropole (29) — Adhérents ligne 75", "Rennes Métropole (35) — Adhérents ligne 78"),
        "« BrestMétropole » n'est pas un nom de collectivité connu ; il ressemble à l'adhérente "
        "« Brest Métropole » (ligne 75, 29) ou l'adhérente « Rennes Métropole » (ligne 78, 35).",
    ),
]


@pytest.mark.parametrize(
    ("typed", "kind", "department", "outcome", "candidates", "explanation"), EXPLAINED
)
def test_readings_explained(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    outcome: MatchOutcome,
    candidates: tuple[str, ...],
    explanation: str,
) -> None:
    """Each typed name above gets the outcome, candidates and explanation of its row."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, match.candidates, match.explanation) == (
        outcome,
        candidates,
        explanation,
    )


def test_two_members_outside_the_official_list_read_alike_are_to_check(
    reference: Reference,
) -> None:
    """Two active members outside the COG whose names both read like the answer: to check."""
    members = [
        Member(row=2, name="Pays du Centre-Ouest Bretagne", kind=A),
        Member(row=3, name="Pays Centre Ouest Bretagne", kind=A),
    ]
    match = match_authority(
        build_index(members, reference), "Pays du Centre Ouest Bretagne", None, None
    )
    assert match.outcome is AMBIGUOUS
    assert match.candidates == (
        "Pays du Centre-Ouest Bretagne — Adhérents ligne 2",
        "Pays Centre Ouest Bretagne — Adhérents ligne 3",
    )
    assert match.explanation == (
        "« Pays du Centre Ouest Bretagne » correspond à l'adhérente « Pays du Centre-Ouest "
        "Bretagne » (ligne 2) ou l'adhérente « Pays Centre Ouest Bretagne » (ligne 3)."
    )


def test_a_non_member_homonym_names_three_member_homonyms_at_most(reference: Reference) -> None:
    """A commune that is no member, whose name five members bear: three of them are named."""
    members = [
        Member(row=n + 2, name="Saint-Pierre", kind=C, department=d)
        for n, d in enumerate(["04", "15", "31", "39", "974"])
    ]
    match = match_authority(build_index(members, reference), "Saint-Pierre", C, "51")
    assert match.outcome is NONE
    assert match.explanation == (
        "« Saint-Pierre » : Saint-Pierre (51) n'est pas adhérente (l'adhérente du même nom est "
        "Saint-Pierre (04), Saint-Pierre (15) et Saint-Pierre (31))."
    )


def test_an_unknown_name_suggests_three_members_at_most(reference: Reference) -> None:
    """An unknown name like four members or more: the three likest are suggested."""
    members = [
        Member(row=n + 2, name=name, kind=C, department=d)
        for n, (name, d) in enumerate(
            [
                ("Saint-Priest", "69"),
                ("Saint-Prix", "95"),
                ("Saint-Privat", "07"),
                ("Saint-Prim", "38"),
                ("Saint-Pierre", "974"),
            ]
        )
    ]
    match = match_authority(build_index(members, reference), "Saint-Pr", None, None)
    assert match.outcome is AMBIGUOUS
    assert match.candidates == (
        "Saint-Prix (95) — Adhérents ligne 3",
        "Saint-Prim (38) — Adhérents ligne 5",
        "Saint-Priest (69) — Adhérents ligne 2",
    )


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        pytest.param("Marne&s/Seine", ("marne", "et", "sur", "seine"), id="ampersand-then-sur"),
        pytest.param("Vals & Coteaux", ("vals", "et", "coteaux"), id="ampersand-spaced"),
    ],
)
def test_ampersand_and_sur_spelled_out(text: str, tokens: tuple[str, ...]) -> None:
    """`&` reads as "et" and `s/` as "sur", also when written together."""
    assert name_tokens(text) == tokens


def test_a_name_of_linking_words_only_keeps_them() -> None:
    """A name made only of articles and linking words keeps them all as its loose key."""
    assert loose_key(("de", "la")) == "de la"


def test_a_plain_name_is_one_literal_reading() -> None:
    """A plain name reads as its words and nothing else: no code, no fallback, no comma."""
    assert parse_authority("Brest") == ParsedName((Reading(None, ("brest",)),))


def test_a_second_name_keeps_the_designator_of_the_first() -> None:
    """ "Conseil départemental du Finistère - Penn-ar-Bed": the first name opens on a designator."""
    parsed = parse_authority("Conseil départemental du Finistère - Penn-ar-Bed")
    assert parsed.fallback is not None
    assert parsed.fallback.prefixed is True
    assert parsed.tail == "Penn-ar-Bed"


@pytest.mark.parametrize(
    ("name", "cores"),
    [
        ("Métropole européenne de Lille", [("europeenne", "de", "lille"), ("lille",)]),
        ("Métropole européenne Lille", [("europeenne", "lille"), ("lille",)]),
        ("Métropole européenne", [("europeenne",)]),
        # "Région" closes no EPCI's name: only intercommunality words go.
        ("Communauté de communes Cœur de Région", [("coeur", "de", "region")]),
    ],
)
def test_interco_cores(name: str, cores: list[tuple[str, ...]]) -> None:
    """An EPCI's core names: designator and "européenne" out, never an empty core."""
    assert interco_cores(name_tokens(name)) == cores


def test_reference_index_reads_departement_and_region_places(reference: Reference) -> None:
    """A ReferenceIndex made from a stored state finds départements and régions by code."""
    state = reference.index.state
    fresh = ReferenceIndex(reference.places, state)
    assert fresh.department_place == state.department_place
    assert fresh.region_place == state.region_place
    assert fresh.place(fresh.department_place["29"]).name == "Finistère"


def test_place_columns_of_different_lengths_are_refused() -> None:
    """A PlaceTable refuses columns of different lengths, saying so."""
    columns = PlaceColumns(
        ("COM:1", "COM:2"),
        ("A",),
        ((C,),),
        (("01",),),
        (1,),
        ("",),
        ("",),
        ((),),
        ((),),
        ("",),
        ("",),
    )
    with pytest.raises(ValueError, match="^place columns of different lengths$"):
        PlaceTable(columns)
