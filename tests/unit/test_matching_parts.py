"""Parts and former names of members (issues 14 and 16): municipal arrondissements and sectors,
régions before 2016, former EPCI, usual longer names, quartiers and wordy names."""

from __future__ import annotations

import pytest

from pipeline.adapters.reference import _FORMER_EPCI, _FORMER_REGIONS, _table, load_reference
from pipeline.core.matching import MemberIndex, build_index, match_authority
from pipeline.core.model import AuthorityKind, Match, MatchOutcome, Member
from pipeline.core.reference import Place, Reference, parse_part
from tests.support.matching_corpus.corpus import load_members

C = AuthorityKind.COMMUNE
I = AuthorityKind.INTERCOMMUNALITE  # noqa: E741
D = AuthorityKind.DEPARTEMENT
R = AuthorityKind.REGION
MATCHED, NONE, AMBIGUOUS = MatchOutcome.MATCHED, MatchOutcome.NONE, MatchOutcome.AMBIGUOUS


@pytest.fixture(scope="module")
def reference() -> Reference:
    return load_reference()


@pytest.fixture(scope="module")
def index(reference: Reference) -> MemberIndex:
    return build_index(load_members(), reference)


def row(match: Match) -> int | None:
    return match.member.row if match.member else None


# (typed, type, département, outcome, member line in matching_corpus/members.csv, method)
CASES = [
    # Municipal arrondissements and sectors: the commune (Paris 4 and Lyon 2 are members).
    ("Mairie du 11e arrondissement", C, "75", MATCHED, 4, "arrondissement de Paris"),
    ("Paris 5e", None, None, MATCHED, 4, "arrondissement de Paris"),
    ("Paris XIe", C, None, MATCHED, 4, "arrondissement de Paris"),
    ("Mairie du 14ème arrondissement de Paris", C, None, MATCHED, 4, "arrondissement de Paris"),
    ("Paris-Centre", C, None, MATCHED, 4, "arrondissement de Paris"),
    ("Mairie du 9e (75)", None, None, MATCHED, 4, "arrondissement de Paris"),
    ("Mairie du dix-huitième arrondissement", C, "75", MATCHED, 4, "arrondissement de Paris"),
    ("Lyon 8ème", None, None, MATCHED, 2, "arrondissement de Lyon"),
    ("Mairie du 1er arrondissement", C, "69", MATCHED, 2, "arrondissement de Lyon"),
    ("Mairie d'arrondissement de Lyon", C, None, MATCHED, 2, "arrondissement de Lyon"),
    ("mairie 6e", C, None, AMBIGUOUS, None, ""),  # Paris, Lyon or Marseille
    ("16e arrondissement", None, None, AMBIGUOUS, None, ""),  # Paris or Marseille
    ("Lyon 12e", C, None, AMBIGUOUS, None, ""),  # Lyon has nine: to check, never "non"
    ("Mairie du 9e", I, "75", AMBIGUOUS, None, ""),  # the type contradicts the words
    ("Mairie du 2e secteur", C, "13", NONE, None, ""),  # Marseille is not a member
    ("Mairie des 13e et 14e arrondissements de Marseille", C, None, NONE, None, ""),
    ("Marseille 13", C, None, NONE, None, ""),  # 13 is its département: Marseille itself
    ("Marseille 13e", C, None, NONE, None, ""),  # explicit: the 13th arrondissement
    ("Marseille 12e secteur", C, None, NONE, None, ""),  # Marseille has eight sectors
    ("Mairie du 3e secteur", C, "13", NONE, None, ""),
    ("Mairie du 1er arrondissement", I, "69", AMBIGUOUS, None, ""),  # the type contradicts
    ("Paris Centre", I, None, AMBIGUOUS, None, ""),
    ("Paris 75011", C, None, MATCHED, 4, "nom"),  # a postcode, not an arrondissement
    ("Arrondissement de Brest", C, "29", NONE, None, ""),  # a département's arrondissement
    ("Centre", R, None, NONE, None, ""),  # the région, not Paris Centre
    # Régions before 2016: the current région (Occitanie 70 and Bourgogne-Franche-Comté 92).
    ("Conseil Régional Midi Pyrénées", R, None, MATCHED, 70, "ancienne région"),
    ("Languedoc Roussillon", R, None, MATCHED, 70, "ancienne région"),
    ("Région Languedoc-Roussillon-Midi-Pyrénées", R, None, MATCHED, 70, "ancienne région"),
    ("Franche Comté", R, None, MATCHED, 92, "ancienne région"),
    ("ex-Région Midi-Pyrénées", R, None, MATCHED, 70, "ancienne région"),
    ("Région LRMP", R, None, MATCHED, 70, "ancienne région"),
    ("Région Basse-Normandie", R, None, NONE, None, ""),  # Normandie is not a member
    ("Région Lorraine", None, None, NONE, None, ""),  # Grand Est: lapsed
    ("Région Franche-Comté", R, "29", AMBIGUOUS, None, ""),  # the département contradicts
    # Former EPCI: the EPCI they became.
    ("CA Côte Basque Adour", I, "64", MATCHED, 80, "ancien EPCI"),
    ("CC Errobi", I, None, MATCHED, 80, "ancien EPCI"),
    ("Brest Métropole Océane", None, None, MATCHED, 75, "ancien EPCI"),
    ("ex-Communauté urbaine de Cherbourg", I, "50", MATCHED, 87, "ancien EPCI"),
    ("Grand Dijon", I, "21", MATCHED, 94, "ancien EPCI"),
    ("Évry Centre Essonne", I, "91", MATCHED, 84, "ancien EPCI"),
    ("Cherbourg", I, "50", AMBIGUOUS, None, ""),  # only the type leads to the former CU
    ("Pays d'Hasparren", C, None, AMBIGUOUS, None, ""),  # a former EPCI given as a commune
    ("Anglet", C, "64", NONE, None, ""),  # a commune of a member EPCI is not the EPCI
    ("Les Pieux", None, None, NONE, None, ""),  # the commune, not the former CC des Pieux
    ("Communauté urbaine de Bordeaux", I, None, NONE, None, ""),  # Bordeaux Métropole
    # Usual longer names.
    ("Hyères les Palmiers", C, "83", MATCHED, 97, "nom d'usage"),
    ("Valence-sur-Rhône (Drôme)", C, None, MATCHED, 51, "nom d'usage"),
    ("Besançon-les-Bains", C, "25", MATCHED, 19, "nom d'usage"),
    ("Hyères-les-Palmiers", C, None, AMBIGUOUS, None, ""),  # no département: to check
    ("Valence-en-Brie", C, "77", NONE, None, ""),  # a real commune
    ("Rennes-le-Chââteau", C, None, NONE, None, ""),  # a typo of Rennes-le-Château
    # Quartiers written with their commune.
    ("Quartier de la Croix-Rousse, Lyon", None, None, AMBIGUOUS, None, ""),
    ("Hameau du Bourg (Figeac)", C, "46", AMBIGUOUS, None, ""),
    ("Quartier de la Gare, Quimper", C, "29", NONE, None, ""),
    ("Quartier Montmartre", C, "75", AMBIGUOUS, None, ""),  # Paris: the only member commune
    ("Quartier de la Croix-Rousse", C, "69", NONE, None, ""),  # Lyon or Villeurbanne: unsaid
    # Wordy names of a département or collectivité.
    ("Conseil Départemental de l'Ile de la Réunion", D, "974", MATCHED, 63, "nom"),
    ("Collectivité Territoriale de Corse", None, None, MATCHED, 73, "nom"),
    ("Collectivité territoriale unique de Martinique", None, None, MATCHED, 74, "nom"),
    ("Département de l'île de Mayotte", D, None, NONE, None, ""),
    ("Conseil départemental du Finistère - Penn-ar-Bed", D, None, MATCHED, 54, "nom"),
    ("Collectivité de Corse - Cullettività di Corsica", None, None, MATCHED, 73, "nom"),
    ("Mairie de Saint-Pierre - Île de La Réunion", C, None, MATCHED, 46, "nom"),
    ("Conseil de Paris", None, None, MATCHED, 4, "nom"),
    ("Conseil exécutif de Martinique", None, None, MATCHED, 74, "nom"),
    ("Lyon - Villeurbanne", None, None, AMBIGUOUS, None, ""),  # two members: which one?
    ("Ville et Eurométropole de Strasbourg", None, None, AMBIGUOUS, None, ""),
    ("Ville et Métropole de Brest", None, None, AMBIGUOUS, None, ""),  # Brest Métropole?
    ("Mairie de Nantes / Nantes Métropole", None, None, AMBIGUOUS, None, ""),
    ("Rennes, Bretagne", None, None, MATCHED, 9, "nom"),  # the région says where
    ("Brest, Bretagne", None, None, AMBIGUOUS, None, ""),  # Brest Métropole is the member
    ("Nantes - Pays de la Loire", C, None, AMBIGUOUS, None, ""),  # not "Nantes - Pays" in 42
    ("Conseil territorial de Saint-Martin", None, None, NONE, None, ""),
]


@pytest.mark.parametrize(("typed", "kind", "department", "outcome", "member", "method"), CASES)
def test_parts_and_former_names_case_table(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    outcome: MatchOutcome,
    member: int | None,
    method: str,
) -> None:
    """Each part or former name gets its outcome, member and method as the table says."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, row(match), match.method) == (outcome, member, method), match.explanation


# (candidates joined by " / ", explanation) of each case of CASES, in order, as reviewed
SHOWN = [
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    (
        "Marseille (13) / Lyon (69, adhérente) / Paris (75, adhérente)",
        "« mairie 6e » : arrondissement de Marseille, Lyon ou Paris ? La commune n'est pas indiquée (Lyon (69, adhérente) et Paris (75, adhérente)).",
    ),
    (
        "Marseille (13) / Paris (75, adhérente)",
        "« 16e arrondissement » : arrondissement de Marseille ou Paris ? La commune n'est pas indiquée (Paris (75, adhérente)).",
    ),
    (
        "Lyon (69, adhérente)",
        "« Lyon 12e » : Lyon (69, adhérente) n'a pas d'arrondissement ou de secteur de ce numéro, ou le département indiqué diffère. Vérifiez.",
    ),
    (
        "Paris (75, adhérente)",
        "« Mairie du 9e » : une mairie d'arrondissement de Paris, mais le type indiqué est « Intercommunalité ».",
    ),
    (
        "",
        "« Mairie du 2e secteur » (secteur de Marseille) : Marseille (13), qui n'est pas dans la liste des adhérentes.",
    ),
    (
        "",
        "« Mairie des 13e et 14e arrondissements de Marseille » (arrondissement de Marseille) : Marseille (13), qui n'est pas dans la liste des adhérentes.",
    ),
    ("", "« Marseille 13 » : Marseille (13), qui n'est pas dans la liste des adhérentes."),
    (
        "",
        "« Marseille 13e » (arrondissement de Marseille) : Marseille (13), qui n'est pas dans la liste des adhérentes.",
    ),
    ("", "« Marseille 12e secteur » ne correspond à aucune adhérente."),
    (
        "",
        "« Mairie du 3e secteur » (secteur de Marseille) : Marseille (13), qui n'est pas dans la liste des adhérentes.",
    ),
    (
        "Lyon (69, adhérente)",
        "« Mairie du 1er arrondissement » : une mairie d'arrondissement de Lyon, mais le type indiqué est « Intercommunalité ».",
    ),
    (
        "Paris (75, adhérente)",
        "« Paris Centre » : une mairie d'arrondissement de Paris, mais le type indiqué est « Intercommunalité ».",
    ),
    ("", ""),
    ("", "« Arrondissement de Brest » ne correspond à aucune adhérente."),
    ("", "« Centre » : Centre-Val de Loire (région), qui n'est pas dans la liste des adhérentes."),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    (
        "",
        "« Région Basse-Normandie » : Basse-Normandie (ancienne région, aujourd'hui Normandie), qui n'est pas dans la liste des adhérentes.",
    ),
    (
        "",
        "« Région Lorraine » : Lorraine (ancienne région, aujourd'hui Grand Est) ; l'adhésion de l'adhérente « Région Grand Est » (ligne 71) est résiliée.",
    ),
    (
        "Franche-Comté (ancienne région, aujourd'hui Bourgogne-Franche-Comté, adhérente)",
        "« Région Franche-Comté » désigne Franche-Comté (ancienne région, aujourd'hui Bourgogne-Franche-Comté, adhérente), mais le département indiqué est 29 (Finistère).",
    ),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    (
        "Communauté d'agglomération du Cotentin (50) — Adhérents ligne 87",
        "« Cherbourg » : avec le type indiqué, il s'agirait de Communauté urbaine de Cherbourg (ancien EPCI, aujourd'hui Communauté d'agglomération du Cotentin) ; vérifiez qu'il s'agit bien de l'adhérente « Communauté d'agglomération du Cotentin » (ligne 87, 50).",
    ),
    (
        "Communauté de communes du Pays d'Hasparren (ancien EPCI, aujourd'hui Communauté d'agglomération du Pays Basque, adhérente)",
        "« Pays d'Hasparren » désigne Communauté de communes du Pays d'Hasparren (ancien EPCI, aujourd'hui Communauté d'agglomération du Pays Basque, adhérente), mais le type indiqué est « Commune ».",
    ),
    ("", "« Anglet » : Anglet (64), qui n'est pas dans la liste des adhérentes."),
    ("", "« Les Pieux » : Les Pieux (50), qui n'est pas dans la liste des adhérentes."),
    (
        "",
        "« Communauté urbaine de Bordeaux » : Bordeaux Métropole (33) n'est pas adhérente ; Bordeaux (33) l'est.",
    ),
    ("", ""),
    ("", ""),
    ("", ""),
    (
        "Hyères (83, adhérente)",
        "« Hyères-les-Palmiers » n'est pas un nom officiel ; nom d'usage de Hyères (83, adhérente) ? Le département n'est pas indiqué.",
    ),
    ("", "« Valence-en-Brie » : Valence-en-Brie (77), qui n'est pas dans la liste des adhérentes."),
    ("", "« Rennes-le-Chââteau » ne correspond à aucune adhérente."),
    (
        "Lyon (69, adhérente)",
        "« Quartier de la Croix-Rousse, Lyon » : un quartier ou un lieu-dit de Lyon (69, adhérente) ?",
    ),
    (
        "Figeac (46, adhérente)",
        "« Hameau du Bourg (Figeac) » : un quartier ou un lieu-dit de Figeac (46, adhérente) ?",
    ),
    ("", "« Quartier de la Gare, Quimper » ne correspond à aucune adhérente."),
    (
        "Paris (75, adhérente)",
        "« Quartier Montmartre » : un quartier ou un lieu-dit de Paris (75, adhérente) ?",
    ),
    ("", "« Quartier de la Croix-Rousse » ne correspond à aucune adhérente."),
    ("", ""),
    ("", ""),
    ("", ""),
    (
        "",
        "« Département de l'île de Mayotte » : Département de Mayotte (région), qui n'est pas dans la liste des adhérentes.",
    ),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    (
        "Ville de Lyon (69) — Adhérents ligne 2 / Villeurbanne (69) — Adhérents ligne 15",
        "« Lyon - Villeurbanne » nomme deux collectivités ; l'adhérente « Ville de Lyon » (ligne 2, 69) et l'adhérente « Villeurbanne » (ligne 15, 69) : laquelle ?",
    ),
    (
        "Strasbourg (67) — Adhérents ligne 5 / Eurométropole de Strasbourg (67) — Adhérents ligne 79",
        "« Ville et Eurométropole de Strasbourg » nomme deux collectivités ; l'adhérente « Strasbourg » (ligne 5, 67) et l'adhérente « Eurométropole de Strasbourg » (ligne 79, 67) : laquelle ?",
    ),
    (
        "Brest Métropole (29) — Adhérents ligne 75",
        "« Ville et Métropole de Brest » nomme deux collectivités ; l'une est l'adhérente « Brest Métropole » (ligne 75, 29) : est-ce elle ?",
    ),
    (
        "Nantes (44) — Adhérents ligne 8",
        "« Mairie de Nantes / Nantes Métropole » nomme deux collectivités ; l'une est l'adhérente « Nantes » (ligne 8, 44) : est-ce elle ?",
    ),
    ("", ""),
    (
        "Brest (29) / Brest Métropole (29, adhérente)",
        "« Brest, Bretagne » : la commune Brest (29) n'est pas adhérente, mais Brest Métropole (29) l'est ; le type de collectivité n'est pas indiqué.",
    ),
    (
        "Nantes (44) — Adhérents ligne 8",
        "« Nantes - Pays de la Loire » nomme deux collectivités ; l'une est l'adhérente « Nantes » (ligne 8, 44) : est-ce elle ?",
    ),
    (
        "",
        "« Conseil territorial de Saint-Martin » : Saint-Martin (978), qui n'est pas dans la liste des adhérentes.",
    ),
]


def test_parts_case_table_on_a_fresh_index_with_what_staff_read(reference: Reference) -> None:
    """Each case of the table, on an index built in the test (so mutation testing sees how
    members are read), gets its outcome, member, method, candidates and explanation."""
    fresh = build_index(load_members(), reference)
    assert len(SHOWN) == len(CASES)
    changed = []
    for (typed, kind, department, outcome, member, method), seen in zip(CASES, SHOWN, strict=True):
        match = match_authority(fresh, typed, kind, department)
        got = (match.outcome, row(match), match.method, " / ".join(match.candidates))
        if got + (match.explanation,) != (outcome, member, method, *seen):
            changed.append(f"{typed!r}: {got} {match.explanation!r}")
    assert not changed, "\n" + "\n".join(changed)


def test_doubtful_parts_name_their_candidates(index: MemberIndex) -> None:
    """An arrondissement number several towns have lists the members among them for staff."""
    match = match_authority(index, "mairie du 9e", C, None)
    assert match.outcome is AMBIGUOUS
    assert any(c.startswith("Paris") for c in match.candidates)
    assert any(c.startswith("Lyon") for c in match.candidates)
    assert "La commune n'est pas indiquée" in match.explanation


def test_former_region_explanation_names_the_current_region(index: MemberIndex) -> None:
    """A former région of a non-member says which région it is today."""
    match = match_authority(index, "Région Picardie", R, "80")
    assert match.outcome is NONE
    assert "Picardie (ancienne région, aujourd'hui Hauts-de-France)" in match.explanation


def test_a_former_name_ending_like_a_departement_is_read_whole(index: MemberIndex) -> None:
    """ "Région Nord - Pas de Calais" is the former région, not a Région Nord in the 62."""
    match = match_authority(index, "Région Nord - Pas de Calais", R, None)
    assert "Nord-Pas-de-Calais (ancienne région, aujourd'hui Hauts-de-France)" in (
        match.explanation
    )


def test_lapsed_successor_says_the_membership_is_lapsed(index: MemberIndex) -> None:
    """A former name of a lapsed member is Non adhérente, and the explanation says why."""
    match = match_authority(index, "Communauté urbaine de Lyon", I, "69")
    assert match.outcome is NONE
    assert "résiliée" in match.explanation


def test_member_written_with_a_former_name_is_the_current_place(reference: Reference) -> None:
    """A member line written with a former name ("Région Midi-Pyrénées") is matched by the
    current name too."""
    member = Member(row=2, name="Région Midi-Pyrénées", kind=R)
    index = build_index([member], reference)
    match = match_authority(index, "Région Occitanie", R, None)
    assert (match.outcome, row(match)) == (MATCHED, 2)


def test_former_name_that_staff_gave_another_member_is_to_check(reference: Reference) -> None:
    """A former name that is also in another member's Autres noms goes to À vérifier."""
    members = [
        Member(row=2, name="Brest Métropole", kind=I, department="29"),
        Member(
            row=3,
            name="Pôle métropolitain du Pays de Brest",
            kind=AuthorityKind.AUTRE,
            aliases=("Brest Métropole Océane",),
        ),
    ]
    match = match_authority(build_index(members, reference), "Brest Métropole Océane", None, None)
    assert match.outcome is AMBIGUOUS
    assert "Autres noms" in match.explanation


def test_a_typo_does_not_spend_all_its_edits_on_one_word(reference: Reference) -> None:
    """ "Nantes France" is no typo of Hauts-de-France: three edits on one short word."""
    index = build_index([Member(row=2, name="Région Hauts-de-France", kind=R)], reference)
    assert match_authority(index, "Nantes France", None, None).outcome is not MATCHED
    assert row(match_authority(index, "Hauts-de-Frence", None, None)) == 2


@pytest.mark.parametrize(
    ("text", "city", "numbers", "word", "explicit"),
    [
        ("Mairie du 9e arrondissement de Paris", "paris", {9}, "arrondissement", True),
        ("mairie des 1er et 7e arrondissements", "", {1, 7}, "arrondissement", True),
        ("Mairie du XVIIIe", "", {18}, "", True),
        ("Paris 9 ème", "paris", {9}, "", True),
        ("Lyon 7", "lyon", {7}, "", False),
        ("Marseille, 7e secteur", "marseille", {7}, "secteur", True),
        ("Paris Centre", "paris", set(), "centre", False),
        ("Mairie du troisième arrondissement", "", {3}, "arrondissement", True),
    ],
)
def test_parse_part_reads_numbered_parts(
    text: str, city: str, numbers: set[int], word: str, explicit: bool
) -> None:
    """Arrondissement and sector numbers are read in their usual forms, with the town named."""
    part = parse_part(text)
    assert part is not None
    assert (part.city, set(part.numbers), part.word, part.explicit) == (
        city,
        numbers,
        word,
        explicit,
    )


def _roman_numeral(n: int) -> str:
    """1 to 39 in roman numerals, the usual way (tens, then units)."""
    units = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
    return "X" * (n // 10) + units[n % 10]


@pytest.mark.parametrize("number", [n for n in range(1, 40) if len(_roman_numeral(n)) <= 5])
def test_parse_part_reads_every_roman_numeral(number: int) -> None:
    """An arrondissement in roman numerals ("Mairie du XIVe") is read, from I to XXXIX, when
    written in five letters at most (Paris has twenty)."""
    part = parse_part(f"Mairie du {_roman_numeral(number)}e")
    assert part is not None
    assert (set(part.numbers), part.explicit) == ({number}, True)


@pytest.mark.parametrize("letters", ["IIII", "VV", "XL", "IIX", "VX", "XXXX", "IXI"])
def test_parse_part_leaves_letters_that_are_no_roman_numeral(letters: str) -> None:
    """Letters in a non-canonical or too large roman form are no arrondissement number."""
    part = parse_part(f"Mairie du {letters}e")
    assert part is None or not part.numbers


@pytest.mark.parametrize("text", ["Lyon", "29", "Centre", "troisième", "Arrondissement"])
def test_parse_part_leaves_other_answers(text: str) -> None:
    """Names without a part number (or with a bare number alone) are not read as parts."""
    part = parse_part(text)
    assert part is None or (not part.numbers and not part.city)


def test_hand_built_parts_need_no_cog() -> None:
    """The towns divided into parts come from the parts in the reference, whatever its source."""
    places = (
        Place("COM:75056", "Paris", (C, D), ("75",), 2_000_000, insee="75056"),
        Place("ARM:75109", "Paris 9e Arrondissement", (C,), ("75",), successor="COM:75056"),
        Place("ARM:75110", "Paris 10e Arrondissement", (C,), ("75",), successor="COM:75056"),
    )
    index = build_index([Member(row=2, name="Paris", kind=C, department="75")], Reference(places))
    assert row(match_authority(index, "Mairie du 10e", C, None)) == 2
    assert match_authority(index, "Mairie du 11e", C, "75").outcome is not MATCHED


def test_former_tables_point_to_current_places(reference: Reference) -> None:
    """Every former région and EPCI of the shipped tables has a successor in the COG, and a
    former région's départements all belong to the région it joined."""
    keys = {p.key: p for p in reference.places}
    for region in _table(_FORMER_REGIONS):
        now = keys[f"REG:{region['region_actuelle']}"]
        assert set(region["departements"].split()) <= set(now.departments), region
        assert f"AREG:{region['code']}" in keys, region
    for epci in _table(_FORMER_EPCI):
        assert f"EPCI:{epci['siren_actuel']}" in keys, epci
    formers = [p for p in reference.places if p.successor]
    assert len(formers) >= 79 + 16 + 50
    assert all(p.successor in keys and not keys[p.successor].successor for p in formers)


# (typed, (town, numbers, word, explicit, départements) or None), pinned for mutation testing
PART_READINGS = [
    ("Mairie du 9 ème arrondissement", ("", [9], "arrondissement", True, ())),
    ("Paris 9 e", ("paris", [9], "", True, ())),
    ("Mairie du dix-septième arrondissement", ("", [17], "arrondissement", True, ())),
    ("Mairie du dix septième", None),
    ("Mairie du dix", None),
    ("Mairie du vingtième", None),
    ("Dix-huitième arrondissement de Paris", ("paris", [18], "arrondissement", True, ())),
    (
        "Mairie des 1er 2e 3e 4e 5e arrondissements",
        ("", [1, 2, 3, 4, 5], "arrondissement", True, ()),
    ),
    (
        "Mairie des 1er 2e 3e 4e 5e 6e 7e 8e 9e 10e 11e 12e 13e 14e 15e 16e 17e 18e 19e 20e arrondissements",
        ("", list(range(1, 21)), "arrondissement", True, ()),
    ),
    (
        "Mairie des 1er 2e 3e 4e 5e 6e 7e 8e 9e 10e 11e 12e 13e 14e 15e 16e 17e 18e 19e 20e 21e arrondissements",
        None,
    ),  # more than Paris has
    ("Mairie des 1er 2e 3e 4e arrondissements", ("", [1, 2, 3, 4], "arrondissement", True, ())),
    ("Lyon 3e secteur", ("lyon", [3], "secteur", True, ())),
    ("Marseille 1er et 2e secteurs (13)", ("marseille", [1, 2], "secteur", True, ("13",))),
    ("Marseille arrondissement", ("marseille", [], "arrondissement", True, ())),
    ("Mairie de secteur", ("", [], "secteur", True, ())),
    ("ème", None),
    ("9 ème Paris", ("paris", [9], "", True, ())),
    ("Lyon 9", ("lyon", [9], "", False, ())),
]


@pytest.mark.parametrize(("text", "reading"), PART_READINGS)
def test_parse_part_reading_pinned(text: str, reading: tuple[object, ...] | None) -> None:
    """A part's reading: a suffix after a bare number ("9 ème"), "dix" before a spelt ordinal
    (only with the word arrondissement), at most four numbers, sectors, the département in
    parentheses; a spelt ordinal or a suffix alone is no part."""
    part = parse_part(text)
    got = None
    if part is not None:
        got = (part.city, sorted(part.numbers), part.word, part.explicit, part.departments)
    assert got == reading


@pytest.mark.parametrize(
    ("typed", "department", "outcome", "member", "method"),
    [
        (
            "Mairie des 1er 2e 3e 4e 5e 6e 7e 8e 9e arrondissements de Lyon",
            "69", MATCHED, 2, "arrondissement de Lyon",
        ),
        ("Lyon Centre", "69", AMBIGUOUS, None, ""),
        ("Lyon centre-ville", None, AMBIGUOUS, None, ""),
    ],
    ids=["nine-numbers", "lyon-centre", "lyon-centre-ville"],
)  # fmt: skip
def test_parts_of_a_member_town_are_never_non_members(
    index: MemberIndex,
    typed: str,
    department: str | None,
    outcome: MatchOutcome,
    member: int | None,
    method: str,
) -> None:
    """A list of all of a town's arrondissements is the town; a "centre" the town has no sector
    of is to check with the town as candidate, never "Non adhérente"."""
    match = match_authority(index, typed, C, department)
    assert (match.outcome, row(match), match.method) == (outcome, member, method), match.explanation
    if outcome is AMBIGUOUS:
        assert match.candidates and "Lyon" in match.candidates[0]


def test_a_bare_number_after_the_town_is_not_a_second_part() -> None:
    """ "Mairie du 3e arrondissement de Marseille 13": 13 is the département, not a second
    arrondissement; without an ordinal, "Lyon 7" still reads 7."""
    part = parse_part("Mairie du 3e arrondissement de Marseille 13")
    assert part is not None and set(part.numbers) == {3} and part.city == "marseille"
    bare = parse_part("Lyon 7")
    assert bare is not None and set(bare.numbers) == {7}
