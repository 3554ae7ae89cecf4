"""Decisions on a small member list built for the purpose: staff aliases shared or lapsed,
members outside the official list (named, with another type, lapsed, misspelt), shortened
names, SIREN and département numbers; with the official list and without it (where a typo is
never accepted on its own)."""

from __future__ import annotations

import unicodedata

import pytest

from pipeline.adapters.reference import load_reference
from pipeline.core.matching import MemberIndex, build_index, match_authority
from pipeline.core.model import AuthorityKind, MatchOutcome, Member

C = AuthorityKind.COMMUNE
I = AuthorityKind.INTERCOMMUNALITE  # noqa: E741
D = AuthorityKind.DEPARTEMENT
A = AuthorityKind.AUTRE
MATCHED, NONE, AMBIGUOUS = MatchOutcome.MATCHED, MatchOutcome.NONE, MatchOutcome.AMBIGUOUS


def M(
    row: int,
    name: str,
    kind: AuthorityKind | None = None,
    department: str | None = None,
    aliases: tuple[str, ...] = (),
    *,
    active: bool = True,
    siren: str = "",
) -> Member:
    return Member(
        row=row,
        name=name,
        kind=kind,
        department=department,
        siren=siren,
        aliases=aliases,
        active=active,
    )


MEMBERS = [
    M(2, "Lyon", C, "69", ("Capitale des Gaules",)),
    M(3, "Villeurbanne", C, "69", ("Capitale des Gaules",)),
    M(4, "Poitiers", C, "86", ("Cité des comtes",), active=False),
    M(5, "Pôle Machin", A, None),
    M(6, "Association Truc", A, "35", active=False),
    M(7, "Aix-en-Provence", C, "13"),
    M(8, "Aix-les-Bains", C, "73"),
    M(9, "Finistère", D, "29"),
    M(10, "Syndicat Bidule", A, "35"),
    M(11, "Syndicat Bidule", A, "29"),
    M(12, "Réseau Chose", C, "44"),
    M(13, "Ville de Quimper", C, "29", siren="212902324"),
    M(14, "Association Bidule", A, "35", siren="123 456 789"),  # a SIREN outside the COG
    M(15, "Villeurbanne", C, "69", ("Villeurbanne la belle",)),
    M(16, "Ville de Villeurbanne", C, "69", ("Villeurbanne la belle",)),  # the same, twice
    M(17, "Saint-Martin", C, "67", active=False),
]


def ascii_id(text: str) -> str:
    """Test ids in ASCII: mutmut cannot select a test whose id pytest escapes."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@pytest.fixture(scope="module")
def indexes() -> dict[bool, MemberIndex]:
    return {True: build_index(MEMBERS, load_reference()), False: build_index(MEMBERS)}


# (with the official list, typed, type, département, outcome, member row, method, candidates,
# explanation)
CASES = [
    (
        True,
        "Capitale des Gaules",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Lyon (69) — Adhérents ligne 2", "Villeurbanne (69) — Adhérents ligne 3"),
        "« Capitale des Gaules » figure dans les Autres noms de plusieurs adhérentes : l'adhérente « Lyon » (ligne 2, 69) et l'adhérente « Villeurbanne » (ligne 3, 69).",
    ),
    (
        True,
        "Cité des comtes",
        None,
        None,
        NONE,
        None,
        "",
        (),
        "« Cité des comtes » est un autre nom de l'adhérente « Poitiers » (ligne 4, 86), dont l'adhésion est résiliée.",
    ),
    (True, "Pôle Machin", None, None, MATCHED, 5, "nom", (), ""),
    (True, "Pôle Machin", C, "29", MATCHED, 5, "nom (type ignoré)", (), ""),
    (True, "Pôle Machin", I, None, MATCHED, 5, "nom (type ignoré)", (), ""),
    (
        True,
        "Association Truc",
        None,
        None,
        NONE,
        None,
        "",
        (),
        "« Association Truc » : l'adhésion de l'adhérente « Association Truc » (ligne 6, 35) est résiliée.",
    ),
    (True, "Aix", C, "13", MATCHED, 7, "nom", (), ""),
    (
        True,
        "Aix",
        C,
        None,
        NONE,
        None,
        "",
        (),
        "« Aix » : Aix (19), qui n'est pas dans la liste des adhérentes.",
    ),
    (True, "Syndicat Bidule", None, None, MATCHED, 10, "nom", (), ""),
    (True, "Syndicat Bidule", C, "29", MATCHED, 11, "nom (type ignoré)", (), ""),
    (
        True,
        "Réseau Chose",
        I,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Réseau Chose (44) — Adhérents ligne 12",),
        "« Réseau Chose » correspond à l'adhérente « Réseau Chose » (ligne 12, 44), mais le type ou le département indiqué diffère.",
    ),
    (True, "Réseau Chose", D, "44", MATCHED, 12, "nom (type ignoré)", (), ""),
    (True, "Reseau Choze", None, None, MATCHED, 12, "approché 92 %", (), ""),
    (True, "Pole Machinn", None, None, MATCHED, 5, "approché 96 %", (), ""),
    (True, "Lyom", C, "69", MATCHED, 2, "approché 75 %", (), ""),
    (True, "CD 29", None, None, MATCHED, 9, "code", (), ""),
    (True, "29", D, None, MATCHED, 9, "code", (), ""),
    (True, "Villeurbannnnne", None, None, MATCHED, 3, "approché 89 %", (), ""),
    (True, "Quimperr", None, None, MATCHED, 13, "approché 93 %", (), ""),
    (True, "212902324", None, None, MATCHED, 13, "code", (), ""),
    (True, "Syndicat Bidulle", A, "35", MATCHED, 10, "approché 97 %", (), ""),
    (
        False,
        "Capitale des Gaules",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Lyon (69) — Adhérents ligne 2", "Villeurbanne (69) — Adhérents ligne 3"),
        "« Capitale des Gaules » figure dans les Autres noms de plusieurs adhérentes : l'adhérente « Lyon » (ligne 2, 69) et l'adhérente « Villeurbanne » (ligne 3, 69).",
    ),
    (
        False,
        "Cité des comtes",
        None,
        None,
        NONE,
        None,
        "",
        (),
        "« Cité des comtes » est un autre nom de l'adhérente « Poitiers » (ligne 4, 86), dont l'adhésion est résiliée.",
    ),
    (False, "Pôle Machin", None, None, MATCHED, 5, "nom", (), ""),
    (False, "Pôle Machin", C, "29", MATCHED, 5, "nom (type ignoré)", (), ""),
    (False, "Pôle Machin", I, None, MATCHED, 5, "nom (type ignoré)", (), ""),
    (
        False,
        "Association Truc",
        None,
        None,
        NONE,
        None,
        "",
        (),
        "« Association Truc » : l'adhésion de l'adhérente « Association Truc » (ligne 6, 35) est résiliée.",
    ),
    (False, "Aix", C, "13", NONE, None, "", (), "« Aix » ne correspond à aucune adhérente."),
    (False, "Aix", C, None, NONE, None, "", (), "« Aix » ne correspond à aucune adhérente."),
    (False, "Syndicat Bidule", None, None, MATCHED, 10, "nom", (), ""),
    (False, "Syndicat Bidule", C, "29", MATCHED, 11, "nom (type ignoré)", (), ""),
    (
        False,
        "Réseau Chose",
        I,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Réseau Chose (44) — Adhérents ligne 12",),
        "« Réseau Chose » correspond à l'adhérente « Réseau Chose » (ligne 12, 44), mais le type ou le département indiqué diffère.",
    ),
    (False, "Réseau Chose", D, "44", MATCHED, 12, "nom (type ignoré)", (), ""),
    (
        False,
        "Reseau Choze",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Réseau Chose (44) — Adhérents ligne 12",),
        "« Reseau Choze » ressemble à l'adhérente « Réseau Chose » (ligne 12, 44) (approché 92 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    (
        False,
        "Pole Machinn",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Pôle Machin — Adhérents ligne 5",),
        "« Pole Machinn » ressemble à l'adhérente « Pôle Machin » (ligne 5) (approché 96 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    (
        False,
        "Lyom",
        C,
        "69",
        AMBIGUOUS,
        None,
        "",
        ("Lyon (69) — Adhérents ligne 2",),
        "« Lyom » ressemble à l'adhérente « Lyon » (ligne 2, 69) (approché 75 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    (False, "CD 29", None, None, MATCHED, 9, "code", (), ""),
    (False, "29", D, None, MATCHED, 9, "code", (), ""),
    (
        False,
        "Villeurbannnnne",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Villeurbanne (69) — Adhérents ligne 3",),
        "« Villeurbannnnne » ressemble à l'adhérente « Villeurbanne » (ligne 3, 69) (approché 89 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    (
        False,
        "Quimperr",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Ville de Quimper (29) — Adhérents ligne 13",),
        "« Quimperr » ressemble à l'adhérente « Ville de Quimper » (ligne 13, 29) (approché 93 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    (False, "212902324", None, None, MATCHED, 13, "code", (), ""),
    (
        False,
        "Syndicat Bidulle",
        A,
        "35",
        AMBIGUOUS,
        None,
        "",
        ("Syndicat Bidule (35) — Adhérents ligne 10",),
        "« Syndicat Bidulle » ressemble à l'adhérente « Syndicat Bidule » (ligne 10, 35) (approché 97 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    # two members outside the list, as near as each other; one without a département
    (
        True,
        "Syndicat Bidulle",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Syndicat Bidule (35) — Adhérents ligne 10", "Syndicat Bidule (29) — Adhérents ligne 11"),
        "« Syndicat Bidulle » ressemble à l'adhérente « Syndicat Bidule » (ligne 10, 35) (approché 97 %), mais aussi à l'adhérente « Syndicat Bidule » (ligne 11, 29) ?",
    ),
    (True, "Pôle Machin", None, "29", MATCHED, 5, "nom", (), ""),
    (
        True,
        "Syndicat Bidule",
        None,
        "22",
        AMBIGUOUS,
        None,
        "",
        ("Syndicat Bidule (35) — Adhérents ligne 10", "Syndicat Bidule (29) — Adhérents ligne 11"),
        "« Syndicat Bidule » correspond à l'adhérente « Syndicat Bidule » (ligne 10, 35) ou l'adhérente « Syndicat Bidule » (ligne 11, 29), mais le type ou le département indiqué diffère.",
    ),
    (
        True,
        "Syndicat Bidule",
        A,
        "22",
        AMBIGUOUS,
        None,
        "",
        ("Syndicat Bidule (35) — Adhérents ligne 10", "Syndicat Bidule (29) — Adhérents ligne 11"),
        "« Syndicat Bidule » correspond à l'adhérente « Syndicat Bidule » (ligne 10, 35) ou l'adhérente « Syndicat Bidule » (ligne 11, 29), mais le type ou le département indiqué diffère.",
    ),
    (
        False,
        "Syndicat Bidulle",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Syndicat Bidule (35) — Adhérents ligne 10",),
        "« Syndicat Bidulle » ressemble à l'adhérente « Syndicat Bidule » (ligne 10, 35) (approché 97 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    (False, "Pôle Machin", None, "29", MATCHED, 5, "nom", (), ""),
    (
        False,
        "Syndicat Bidule",
        None,
        "22",
        AMBIGUOUS,
        None,
        "",
        ("Syndicat Bidule (35) — Adhérents ligne 10", "Syndicat Bidule (29) — Adhérents ligne 11"),
        "« Syndicat Bidule » correspond à l'adhérente « Syndicat Bidule » (ligne 10, 35) ou l'adhérente « Syndicat Bidule » (ligne 11, 29), mais le type ou le département indiqué diffère.",
    ),
    (
        False,
        "Syndicat Bidule",
        A,
        "22",
        AMBIGUOUS,
        None,
        "",
        ("Syndicat Bidule (35) — Adhérents ligne 10", "Syndicat Bidule (29) — Adhérents ligne 11"),
        "« Syndicat Bidule » correspond à l'adhérente « Syndicat Bidule » (ligne 10, 35) ou l'adhérente « Syndicat Bidule » (ligne 11, 29), mais le type ou le département indiqué diffère.",
    ),
    # a member's own SIREN, an alias on two lines of one collectivité, a lapsed homonym
    (True, "123456789", None, None, MATCHED, 14, "code", (), ""),
    (True, "Villeurbanne la belle", None, None, MATCHED, 15, "alias", (), ""),
    (
        True,
        "Saint-Martin",
        C,
        None,
        NONE,
        None,
        "",
        (),
        "« Saint-Martin » : Saint-Martin (32), Saint-Martin (54), Saint-Martin (65) et Saint-Martin (67) ; aucune n'est adhérente. (L'adhésion de l'adhérente « Saint-Martin » (ligne 17, 67) est résiliée.)",
    ),
    (False, "123456789", None, None, MATCHED, 14, "code", (), ""),
    (
        False,
        "Villeurbanne la belle",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        (
            "Villeurbanne (69) — Adhérents ligne 15",
            "Ville de Villeurbanne (69) — Adhérents ligne 16",
        ),
        "« Villeurbanne la belle » figure dans les Autres noms de plusieurs adhérentes : l'adhérente « Villeurbanne » (ligne 15, 69) et l'adhérente « Ville de Villeurbanne » (ligne 16, 69).",
    ),
    (
        False,
        "Saint-Martin",
        C,
        None,
        NONE,
        None,
        "",
        (),
        "« Saint-Martin » : l'adhésion de l'adhérente « Saint-Martin » (ligne 17, 67) est résiliée.",
    ),
    # a lapsed member outside the list, with another département
    (
        True,
        "Association Truc",
        None,
        "29",
        AMBIGUOUS,
        None,
        "",
        ("Association Truc (35) — Adhérents ligne 6, adhésion résiliée",),
        "« Association Truc » correspond à l'adhérente « Association Truc » (ligne 6, 35), mais le type ou le département indiqué diffère.",
    ),
    (
        False,
        "Association Truc",
        None,
        "29",
        AMBIGUOUS,
        None,
        "",
        ("Association Truc (35) — Adhérents ligne 6, adhésion résiliée",),
        "« Association Truc » correspond à l'adhérente « Association Truc » (ligne 6, 35), mais le type ou le département indiqué diffère.",
    ),  # names outside the official list, read through their designators or with a type that
    # contradicts them; typos of such names (pinned for mutation testing)
    (False, "Mairie de Réseau Chose", C, "44", MATCHED, 12, "nom", (), ""),
    (False, "Mairie de Réseau Chose", None, None, MATCHED, 12, "nom", (), ""),
    (
        False,
        "Réseau Chose",
        I,
        "44",
        AMBIGUOUS,
        None,
        "",
        ("Réseau Chose (44) — Adhérents ligne 12",),
        "« Réseau Chose » correspond à l'adhérente « Réseau Chose » (ligne 12, 44), mais le type ou le département indiqué diffère.",
    ),
    (
        False,
        "Communauté Réseau Chose",
        None,
        None,
        NONE,
        None,
        "",
        (),
        "« Communauté Réseau Chose » ne correspond à aucune adhérente.",
    ),
    (False, "Syndicat Bidule", None, "35", MATCHED, 10, "nom", (), ""),
    (False, "Syndicat Bidule", C, "35", MATCHED, 10, "nom (type ignoré)", (), ""),
    (False, "Département Finistère", None, None, MATCHED, 9, "nom", (), ""),
    (False, "Conseil départemental du Finistère", None, None, MATCHED, 9, "nom", (), ""),
    (
        False,
        "Région Finistère",
        None,
        None,
        NONE,
        None,
        "",
        (),
        "« Région Finistère » ne correspond à aucune adhérente.",
    ),
    (False, "Mairie de Lyon", None, None, MATCHED, 2, "nom", (), ""),
    (
        False,
        "Métropole de Lyon",
        None,
        None,
        NONE,
        None,
        "",
        (),
        "« Métropole de Lyon » ne correspond à aucune adhérente.",
    ),
    (
        False,
        "Ville de Lyon",
        I,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Lyon (69) — Adhérents ligne 2",),
        "« Ville de Lyon » correspond à l'adhérente « Lyon » (ligne 2, 69), mais le type ou le département indiqué diffère.",
    ),
    (False, "Pôle Machin", C, None, MATCHED, 5, "nom (type ignoré)", (), ""),
    (False, "Mairie de Pôle Machin", None, None, MATCHED, 5, "nom", (), ""),
    (
        False,
        "Reseau Chos",
        None,
        "44",
        AMBIGUOUS,
        None,
        "",
        ("Réseau Chose (44) — Adhérents ligne 12",),
        "« Reseau Chos » ressemble à l'adhérente « Réseau Chose » (ligne 12, 44) (approché 96 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    (
        False,
        "Pole Machn",
        None,
        None,
        AMBIGUOUS,
        None,
        "",
        ("Pôle Machin — Adhérents ligne 5",),
        "« Pole Machn » ressemble à l'adhérente « Pôle Machin » (ligne 5) (approché 95 %) ; sans la liste officielle des collectivités, une faute de frappe n'est jamais acceptée d'office.",
    ),
    (True, "Pole Machn", None, None, MATCHED, 5, "approché 95 %", (), ""),
    (True, "Mairie de Réseau Chose", None, None, MATCHED, 12, "nom", (), ""),
    (
        True,
        "Réseau Chose",
        I,
        "44",
        AMBIGUOUS,
        None,
        "",
        ("Réseau Chose (44) — Adhérents ligne 12",),
        "« Réseau Chose » correspond à l'adhérente « Réseau Chose » (ligne 12, 44), mais le type ou le département indiqué diffère.",
    ),
    (True, "Syndicat Bidul", None, "29", MATCHED, 11, "approché 97 %", (), ""),
]


@pytest.mark.parametrize(
    ("official", "typed", "kind", "department", "outcome", "row", "method", "candidates", "why"),
    CASES,
    ids=[
        ascii_id(f"{'ref' if c[0] else 'noref'}-{c[1]}-{c[2].value if c[2] else '-'}-{c[3] or '-'}")
        for c in CASES
    ],
)
def test_decision_on_a_small_member_list(
    indexes: dict[bool, MemberIndex],
    official: bool,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    outcome: MatchOutcome,
    row: int | None,
    method: str,
    candidates: tuple[str, ...],
    why: str,
) -> None:
    """The answer gets its outcome, member, method, candidates and explanation."""
    match = match_authority(indexes[official], typed, kind, department)
    got_row = match.member.row if match.member else None
    assert (match.outcome, got_row, match.method) == (outcome, row, method)
    assert (match.candidates, match.explanation) == (candidates, why)


def test_every_decision_on_freshly_built_indexes() -> None:
    """Every case of the table holds on indexes built in the test (with and without the official
    list), so that mutation testing sees how the member list is indexed (the module fixture is
    built once, inside whichever test comes first)."""
    fresh = {True: build_index(MEMBERS, load_reference()), False: build_index(MEMBERS)}
    changed = []
    for official, typed, kind, department, outcome, row, method, candidates, why in CASES:
        match = match_authority(fresh[official], typed, kind, department)
        got_row = match.member.row if match.member else None
        got = (match.outcome, got_row, match.method, match.candidates, match.explanation)
        if got != (outcome, row, method, candidates, why):
            changed.append(f"{typed!r} ({official}): {got}")
    assert not changed, "\n" + "\n".join(changed)
