"""The member side of the matcher: how each `Adhérents` line is resolved to a real collectivité
(SIREN, name, contradicted type or département, typo) and the notes staff get about it."""

from __future__ import annotations

import unicodedata

import pytest

from pipeline.adapters.reference import load_reference
from pipeline.core.matching import (
    MemberIndex,
    _allowed_edits,
    build_index,
    match_authority,
    member_notes,
)
from pipeline.core.model import AuthorityKind, MatchOutcome, Member
from pipeline.core.reference import Reference

C = AuthorityKind.COMMUNE
I = AuthorityKind.INTERCOMMUNALITE  # noqa: E741
D = AuthorityKind.DEPARTEMENT
A = AuthorityKind.AUTRE

BREST_METROPOLE_SIREN = "242900314"


def ascii_id(text: str) -> str:
    """Test ids in ASCII: mutmut cannot select a test whose id pytest escapes."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@pytest.fixture(scope="module")
def reference() -> Reference:
    return load_reference()


def member(
    name: str,
    kind: AuthorityKind | None = None,
    department: str | None = None,
    siren: str = "",
    *,
    row: int = 2,
    active: bool = True,
    aliases: tuple[str, ...] = (),
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


def resolved(reference: Reference, line: Member) -> tuple[str, list[str]]:
    """How a lone member line is resolved, and the places it is, as "Name (dep)"."""
    index = build_index([line], reference)
    resolution = index.resolutions[0]
    return resolution.how, [_label(index, p) for p in resolution.places]


def _label(index: MemberIndex, place: int) -> str:
    p = index.ref.place(place)
    return f"{p.name} ({','.join(p.departments)})"


# (member line, how, places)
RESOLUTIONS = [
    (member("Lyon", C, "69"), "nom", ["Lyon (69)"]),
    (member("Brest Métropole", I, "29", "242 900 314"), "code", ["Brest Métropole (29)"]),
    (member("Truc", None, None, BREST_METROPOLE_SIREN), "code", ["Brest Métropole (29)"]),
    # the SIREN and the name disagree: both kept, the SIREN's first
    (
        member("Lyon", C, "69", BREST_METROPOLE_SIREN),
        "siren",
        ["Brest Métropole (29)", "Lyon (69)"],
    ),
    # a SIREN of 8 digits is no SIREN
    (member("Lyon", C, "69", "24290031"), "nom", ["Lyon (69)"]),
    (
        member("Saint-Denis", C),
        "nom",
        ["Saint-Denis (11)", "Saint-Denis (30)", "Saint-Denis (93)", "Saint-Denis (974)"],
    ),
    # the type contradicts the name, the département agrees: the name decides
    (member("Nantes", D, "44"), "contredit", ["Nantes (44)"]),
    # the département contradicts the name, the type agrees
    (member("Nantes", C, "33"), "contredit", ["Nantes (44)"]),
    # both contradict the name, which is one place anyway
    (member("Nantes", D, "33"), "contredit", ["Nantes (44)"]),
    # both contradict, and the name is several places
    (
        member("Saint-Denis", D, "29"),
        "contredit",
        ["Saint-Denis (11)", "Saint-Denis (30)", "Saint-Denis (93)", "Saint-Denis (974)"],
    ),
    # the type picked leads to the place: the intercommunalité named after a commune, the
    # département given for a bare "Conseil départemental"
    (member("Brest", I, "29"), "nom", ["Brest Métropole (29)"]),
    (member("Conseil départemental", D, "29"), "nom", ["Finistère (29)"]),
    # homonyms of several types: the relaxed type or département that leaves one place
    (member("Vienne", C, "33"), "contredit", ["Vienne (38)"]),
    (member("Vienne", D, "38"), "contredit", ["Vienne (38)"]),
    # typos in the member list: the one real place clearly nearest
    (member("Montpelier", C, "34"), "approché", ["Montpellier (34)"]),
    (member("Montpelier", C, "26"), "approché", ["Montélier (26)"]),
    (member("Strasbourgg"), "approché", ["Strasbourg (67)"]),
    (member("Strasbourhh", C, "67"), "approché", ["Strasbourg (67)"]),
    (member("Nanes", C, "44"), "approché", ["Nantes (44)"]),
    (member("Ville de Montpelier", None, "34"), "approché", ["Montpellier (34)"]),
    (member("Métropole de Montpelier"), "approché", ["Montpellier Méditerranée Métropole (34)"]),
    (
        member("Communauté urbaine de Dunkerqe"),
        "approché",
        ["Communauté urbaine de Dunkerque (59)"],
    ),
    (
        member("Eurométropole de Strasbour", I, "67"),
        "approché",
        ["Eurométropole de Strasbourg (67)"],
    ),
    # no typo is taken when two places are as near (Montpellier 34, Montélier 26)
    (member("Montpelier", C), "", []),
    # nor when the type excludes the near names, nor for names too short or too far
    (member("Montpelier", D, "34"), "", []),
    (member("Département de Montpelier"), "", []),
    (member("Lyom", C, "69"), "", []),
    (member("Brsett", C, "29"), "", []),
    (member("Lemans", C, "72"), "", []),
    (member("Pôle truc", A), "", []),
    # more typos (pinned for mutation testing): a wrong, doubled or dropped letter, a word
    # left out or cut short; the département decides between near names, the type excludes
    (member("Quimprelé", C, "29"), "approché", ["Quimperlé (29)"]),
    (member("Landernau", None, None), "approché", ["Landerneau (29)"]),
    (member("Communaute de communes du Pays de Landernau", I, "29"), "", []),
    (member("Plougastl Daoulas", C, "29"), "approché", ["Plougastel-Daoulas (29)"]),
    (member("Plougastell-Daoulas", C, "29"), "approché", ["Plougastel-Daoulas (29)"]),
    (member("Mairie de Morlaiz", C, "29"), "approché", ["Morlaix (29)"]),
    (member("Mairie de Morlaiz", I, "29"), "", []),
    (member("Montagnes", C, "33"), "approché", ["Montagne (33)"]),
    (member("Montagnes", C, None), "", []),
    (member("Beaumond", C, "63"), "approché", ["Beaumont (63)"]),
    (member("Beaumond", C, None), "", []),
    (member("Finistèr", D, None), "approché", ["Finistère (29)"]),
    (member("Finister", C, None), "", []),
    (member("Région Bretagn", None, None), "approché", ["Bretagne (22,29,35,56)"]),
    (
        member("Pays de Landerneau Daoula", I, "29"),
        "approché",
        ["Communauté d'agglomération du Pays de Landerneau-Daoulas (29)"],
    ),
    (member("Brst", C, "29"), "", []),
    (member("Bresst", C, "29"), "approché", ["Brest (29)"]),
    (member("Toulousse", C, None), "approché", ["Toulouse (31)"]),
    (member("Clermont-Ferand", C, "63"), "approché", ["Clermont-Ferrand (63)"]),
    (member("Sainte-Marie-du-Mon", C, "50"), "approché", ["Sainte-Marie-du-Mont (50)"]),
    # a typo changes letters, not the number of words: "Saintmalo" is not read as Saint-Malo
    (member("Saintlo", C, "50"), "", []),
    (member("Saintmalo", C, "35"), "", []),
    (member("Saint-Malos", C, "35"), "approché", ["Saint-Malo (35)"]),
    (member("Mairie de la Ville de Saint Malos", C, "35"), "approché", ["Saint-Malo (35)"]),
]


@pytest.mark.parametrize(
    ("line", "how", "places"),
    RESOLUTIONS,
    ids=[
        ascii_id(f"{m.name}-{m.kind.value if m.kind else '-'}-{m.department or '-'}")
        for m, _, _ in RESOLUTIONS
    ],
)
def test_member_line_resolution(
    reference: Reference, line: Member, how: str, places: list[str]
) -> None:
    """A member line resolves to the expected real places, with how it was found."""
    got_how, got_places = resolved(reference, line)
    assert (got_how, sorted(got_places)) == (how, sorted(places))
    if how == "siren":
        assert got_places == places  # the SIREN's place first


def test_member_notes_tell_staff_which_lines_to_fix(reference: Reference) -> None:
    """Each unclear member line gets one French note saying why; clear lines get none."""
    lines = [
        member("Lyon", C, "69", BREST_METROPOLE_SIREN, row=2),
        member("Saint-Martin", C, row=3),
        member("Nantes", D, "44", row=4),
        member("Montpelier", C, "34", row=5),
        member("Pôle truc", A, row=6),
        member("Brest Métropole", I, "29", BREST_METROPOLE_SIREN, row=7),
        member("Lyon", C, "69", row=8),
        member("Saint-Denis", D, "29", row=9),
        member("La Rochelle", C, row=10),
    ]
    notes = member_notes(build_index(lines, reference))
    assert [(m.row, text) for m, text in notes] == [
        (
            2,
            "« Lyon » : le SIREN et le nom désignent Lyon (69) ou Brest Métropole (29) : vérifiez.",
        ),
        (
            3,
            # the four most populated of five, the biggest first
            "« Saint-Martin » peut être Saint-Martin (978), Saint-Martin (32), Saint-Martin (65) "
            "ou Saint-Martin (67) : précisez le type et le département.",
        ),
        (
            4,
            "« Nantes » est Nantes (44), mais le type ou le département indiqué dans Adhérents ne "
            "correspond pas : vérifiez-les.",
        ),
        (5, "« Montpelier » a été lu comme Montpellier (34) (orthographe proche)."),
        (
            6,
            "« Pôle truc » n'est pas dans la liste officielle des collectivités : seuls son nom et "
            "ses Autres noms la font reconnaître.",
        ),
        (
            9,
            "« Saint-Denis » peut être Saint-Denis (974), Saint-Denis (93), Saint-Denis (11) ou "
            "Saint-Denis (30) : précisez le type et le département.",
        ),
        (
            10,
            "« La Rochelle » peut être La Rochelle (17) ou La Rochelle (70) : précisez le type et "
            "le département.",
        ),
    ]


def test_member_notes_need_the_official_list() -> None:
    """Without the official list nothing is resolved, so no line is reported."""
    assert member_notes(build_index([member("Pôle truc", A)])) == []


def test_alias_naming_the_member_through_its_type_adds_no_evidence(reference: Reference) -> None:
    """`Brest` as an alias of Brest Métropole is the métropole's own name (through the type
    Intercommunalité): "Brest" without a type stays a doubt between the commune and the
    métropole, and is never matched as the alias."""
    line = member("Brest Métropole", I, "29", aliases=("Brest",))
    index = build_index([line], reference)
    assert index.alias_keys == {}
    match = match_authority(index, "Brest", None, None)
    assert (match.outcome, match.method) == (MatchOutcome.AMBIGUOUS, "")
    assert match.candidates == ("Brest (29)", "Brest Métropole (29, adhérente)")
    assert match_authority(index, "Brest", I, None).method == "nom"


def test_a_members_place_that_is_another_members_alias_is_a_doubt(reference: Reference) -> None:
    """When the answer names a member's place and is also another member's `Autres noms`,
    staff choose: both are candidates, the explanation names the alias."""
    lines = [
        member("Lyon", C, "69", row=2),
        member("Pôle Lyonnais", None, None, row=3, aliases=("Lyon",)),
    ]
    match = match_authority(build_index(lines, reference), "Lyon", C, "69")
    assert match.outcome is MatchOutcome.AMBIGUOUS
    assert match.candidates == ("Lyon (69, adhérente)", "Pôle Lyonnais — Adhérents ligne 3")
    assert match.explanation == (
        "« Lyon » désigne Lyon (69, adhérente), mais c'est aussi un autre nom de l'adhérente "
        "« Pôle Lyonnais » (ligne 3) (Autres noms)."
    )


@pytest.mark.parametrize(
    ("length", "edits"), [(1, 0), (3, 0), (4, 1), (6, 1), (7, 2), (11, 2), (12, 3), (30, 3)]
)
def test_typos_allowed_grow_with_the_name(length: int, edits: int) -> None:
    """A typo is looked for only in names of four letters or more: one edit up to six letters,
    two up to eleven, three beyond."""
    assert _allowed_edits(length) == edits
