"""The deciding steps: places named by the answer, contradictions of type and département, several
places, codes, aliases.

Pinned against the mutants `make mutation` found alive (tests/unit/mutation-survivors.md lists
those reviewed as equivalent)."""

from __future__ import annotations

import pytest

from pipeline.core.matching import MemberIndex, build_index, match_authority
from pipeline.core.model import AuthorityKind, MatchOutcome, Member
from pipeline.core.reference import EMPTY_REFERENCE, Reference
from tests.support.matching_corpus.corpus import load_members
from tests.support.matching_kit import AMBIGUOUS, MATCHED, NONE, A, C, D, I, R, row


@pytest.fixture(scope="module")
def members() -> list[Member]:
    return load_members()


@pytest.fixture(scope="module")
def index(members: list[Member], reference: Reference) -> MemberIndex:
    return build_index(members, reference)


def replaced(members: list[Member], *changes: Member) -> list[Member]:
    """The corpus member list with some lines rewritten (same `row`) or added (new `row`)."""
    by_row = {m.row: m for m in members}
    out = [by_row.get(m.row, m) for m in members]
    for change in changes:
        rows = [m.row for m in out]
        if change.row in rows:
            out[rows.index(change.row)] = change
        else:
            out.append(change)
    return out


# (typed, type, département, outcome, member line in matching_corpus/members.csv, method)
CASES = [
    # A SIREN typed in the answer: the collectivité it is, even when the member line has none
    # (Rennes Métropole, line 78, has no SIREN in Adhérents).
    ("243500139", None, None, MATCHED, 78, "code"),
    ("SIREN 243500139", I, "35", MATCHED, 78, "code"),
    # Nine digits that are no collectivité's SIREN: nothing to look up.
    ("123456789", None, None, AMBIGUOUS, None, ""),
    # A département number with the type Région: the région of that département.
    ("29", R, None, MATCHED, 67, "code"),
    ("35", R, None, MATCHED, 67, "code"),
    # A former région's name that a commune's former name shares too: both, to check.
    ("Bourgogne", None, None, AMBIGUOUS, None, ""),
    # A commune that is not a member, whose intercommunalité named after it is, type "Autre"
    # (no type said): to check, as with no type at all.
    ("Landerneau", A, "29", AMBIGUOUS, None, ""),
    ("Tours", A, "37", AMBIGUOUS, None, ""),
    # "Conseil départemental" and a service: the département of the form.
    ("Conseil départemental - Service international", D, "29", MATCHED, 54, "nom"),
    ("Conseil départemental - Service international", None, "29", MATCHED, 54, "nom"),
    # A first name and a service after it: the first name read with the type and département.
    ("Brest - Direction internationale", I, "29", MATCHED, 75, "nom"),
    ("Saint-Denis - service jeunesse", C, "93", MATCHED, 3, "nom"),
    ("Grand Paris Sud - DRI", None, None, MATCHED, 84, "alias"),
    # A département number and a service, with the type Département or Région: the number.
    ("29 - Direction des relations internationales", D, None, MATCHED, 54, "code"),
    ("35 / Direction de l'attractivité", R, None, MATCHED, 67, "code"),
    # An alias of a member whose collectivité spans two départements, with the other one given.
    ("Grand Paris Sud", None, "77", MATCHED, 84, "alias"),
    ("GPS", None, "77", MATCHED, 84, "alias"),
    # An alias of a member outside the official list, with a type or département it has not.
    ("Genevois français", C, None, NONE, None, ""),
    ("Genevois français", None, "29", NONE, None, ""),
    # An answer with a SIREN of an intercommunalité member and a commune's designator, typed
    # as a commune: the type contradicts what the SIREN is.
    ("Mairie 200018653", C, None, AMBIGUOUS, None, ""),
    # A former EPCI's name with a SIREN of another département: the name, in the département.
    ("Communauté urbaine de Brest 243500139", I, "29", MATCHED, 75, "ancien EPCI"),
]


@pytest.mark.parametrize(("typed", "kind", "department", "outcome", "member", "method"), CASES)
def test_deciding_case_table(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    outcome: MatchOutcome,
    member: int | None,
    method: str,
) -> None:
    """Each answer gets the outcome, member line and method the matcher's rules give it."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, row(match), match.method) == (outcome, member, method)


# (typed, type, département, explanation)
EXPLAINED = [
    # A SIREN and a name that disagree: both collectivités, to check.
    (
        "Nantes Métropole 243500139",
        None,
        None,
        "« Nantes Métropole 243500139 » : Rennes Métropole (35, adhérente) ou Nantes Métropole "
        "(44) ? Le département n'est pas indiqué.",
    ),
    (
        "Ville de Rennes 243500139",
        None,
        None,
        "« Ville de Rennes 243500139 » : Rennes Métropole (35, adhérente) ou Rennes (35, "
        "adhérente) ? Le département n'est pas indiqué.",
    ),
    # A commune with a lapsed membership, its intercommunalité named after it a member: the
    # commune's state is not repeated in the sentence that says it is not a member.
    (
        "Tours",
        None,
        "37",
        "« Tours » : la commune Tours (37) n'est pas adhérente, mais Tours Métropole Val de "
        "Loire (37) l'est ; le type de collectivité n'est pas indiqué.",
    ),
    (
        "Lorient",
        None,
        "56",
        "« Lorient » : la commune Lorient (56) n'est pas adhérente, mais Communauté "
        "d'agglomération Lorient Agglomération (56) l'est ; le type de collectivité n'est pas "
        "indiqué.",
    ),
    # The type "Autre" says nothing: the same sentence as without a type.
    (
        "Landerneau",
        A,
        "29",
        "« Landerneau » : la commune Landerneau (29) n'est pas adhérente, mais Communauté "
        "d'agglomération du Pays de Landerneau-Daoulas (29) l'est ; le type de collectivité "
        "n'est pas indiqué.",
    ),
    # Two names, both members: which one?
    (
        "Brest / Landerneau",
        I,
        "29",
        "« Brest / Landerneau » nomme deux collectivités ; l'adhérente « Brest Métropole » "
        "(ligne 75, 29) et l'adhérente « Communauté d'agglomération du Pays de "
        "Landerneau-Daoulas » (ligne 81, 29) : laquelle ?",
    ),
    (
        "Saint-Denis / Aubervilliers",
        C,
        "93",
        "« Saint-Denis / Aubervilliers » nomme deux collectivités ; l'adhérente « Saint-Denis » "
        "(ligne 3, 93) et l'adhérente « Aubervilliers » (ligne 13, 93) : laquelle ?",
    ),
    # An alias and a real place after it: two names, one a member.
    (
        "Genevois français - Annemasse",
        None,
        None,
        "« Genevois français - Annemasse » nomme deux collectivités ; l'une est l'adhérente "
        "« Pôle métropolitain du Genevois français » (ligne 85, 74) : est-ce elle ?",
    ),
    (
        "Bourgogne",
        None,
        None,
        "« Bourgogne » : Bourgogne (ancienne région, aujourd'hui Bourgogne-Franche-Comté, "
        "adhérente) ou Bourgogne-Fresne (51) ? Le département n'est pas indiqué.",
    ),
    # Same name for a département and a région, the département given: not said missing.
    (
        "La Réunion",
        None,
        "974",
        "« La Réunion » : La Réunion (département 974, adhérente) ou La Réunion (région) ?",
    ),
    (
        "Guadeloupe",
        None,
        "971",
        "« Guadeloupe » : Guadeloupe (région, adhérente) ou Guadeloupe (département 971) ?",
    ),
    # A commune typed as an intercommunalité: its intercommunalité is not a member either.
    (
        "Pont-l'Abbé",
        I,
        "29",
        "« Pont-l'Abbé » désigne Pont-l'Abbé (29), qui n'est pas adhérente (le type indiqué est "
        "« Intercommunalité »).",
    ),
    # A real commune elsewhere, one letter from a member of another type: the type given rules
    # the member out, so no typo is suggested.
    (
        "Pessan",
        D,
        "33",
        "« Pessan » désigne Pessan (32), qui n'est pas adhérente (le type indiqué est "
        "« Département » et le département indiqué est 33 (Gironde)).",
    ),
    (
        "Mairie 200018653",
        C,
        None,
        "« Mairie 200018653 » désigne Communauté d'agglomération Cap Excellence (971, "
        "adhérente), mais le type indiqué est « Commune ».",
    ),
    # A département's name typed as a commune, no département given: no typo looked for.
    (
        "Somme",
        C,
        None,
        "« Somme » désigne Somme (département 80), qui n'est pas adhérente (le type indiqué est "
        "« Commune »).",
    ),
    # A commune typed as a département: the start of a member's name of another type is not
    # offered.
    (
        "Dijon",
        D,
        None,
        "« Dijon » désigne Dijon (21), qui n'est pas adhérente (le type indiqué est "
        "« Département »).",
    ),
]


@pytest.mark.parametrize(("typed", "kind", "department", "explanation"), EXPLAINED)
def test_deciding_explanations(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    explanation: str,
) -> None:
    """Staff read why an answer is to check or not a member, in these words."""
    assert match_authority(index, typed, kind, department).explanation == explanation


def test_an_alias_shared_by_two_members_is_matched_where_it_fits(
    members: list[Member], reference: Reference
) -> None:
    """An alias two members share goes to the one whose département fits the answer."""
    shared = replaced(
        members,
        Member(row=75, name="Brest Métropole", kind=I, department="29", aliases=("l'Agglo",)),
        Member(row=78, name="Rennes Métropole", kind=I, department="35", aliases=("l'Agglo",)),
        Member(
            row=85,
            name="Pôle métropolitain du Genevois français",
            kind=A,
            department="74",
            aliases=("Genevois français", "le Pôle"),
        ),
        Member(
            row=98,
            name="Pôle métropolitain Loire-Bretagne",
            kind=A,
            department="44",
            aliases=("le Pôle",),
        ),
    )
    index = build_index(shared, reference)
    for typed, department, line in (("l'Agglo", "35", 78), ("le Pôle", "44", 98)):
        match = match_authority(index, typed, None, department)
        assert (match.outcome, row(match), match.method) == (MATCHED, line, "alias")


def test_an_alias_shared_by_a_commune_and_a_member_outside_the_list_is_ambiguous(
    reference: Reference,
) -> None:
    """An alias given to a member commune and to a member the official list does not know
    designates two members: to check, both shown."""
    # The first commune of the official list, so that place numbers and member positions meet.
    first = reference.index.place(0)
    shared = [
        Member(
            row=2,
            name=first.name,
            kind=C,
            department=first.departments[0],
            aliases=("Val de Veyle",),
        ),
        Member(
            row=3,
            name="Syndicat du Val de Veyle",
            kind=A,
            department="01",
            aliases=("Val de Veyle",),
        ),
    ]
    match = match_authority(build_index(shared, reference), "Val de Veyle", None, None)
    assert match.outcome is AMBIGUOUS
    assert match.candidates == (
        f"{first.name} (01) — Adhérents ligne 2",
        "Syndicat du Val de Veyle (01) — Adhérents ligne 3",
    )


def test_an_alias_after_the_members_own_name_still_counts(
    members: list[Member], reference: Reference
) -> None:
    """An alias listed after one that is just the member's own name is still an alias."""
    paris = Member(
        row=4, name="Ville de Paris", kind=C, department="75", aliases=("Mairie de Paris", "Paname")
    )
    match = match_authority(build_index(replaced(members, paris), reference), "Paname", None, None)
    assert (match.outcome, row(match), match.method) == (MATCHED, 4, "alias")


def test_an_alias_settles_homonyms_of_a_member_without_departement(
    members: list[Member], reference: Reference
) -> None:
    """A name several communes bear is the member whose Autres noms it is."""
    saint_paul = Member(row=53, name="Saint-Paul", kind=C, aliases=("Ville de Saint-Paul",))
    index = build_index(replaced(members, saint_paul), reference)
    match = match_authority(index, "Mairie de Saint-Paul", None, None)
    assert (match.outcome, row(match), match.method) == (MATCHED, 53, "alias")


def test_a_bare_name_meets_a_member_outside_the_list_named_with_its_designator(
    members: list[Member], reference: Reference
) -> None:
    """ "Nouméa" is the member "Ville de Nouméa", which the official list does not hold."""
    noumea = Member(row=98, name="Ville de Nouméa", kind=C)
    index = build_index(replaced(members, noumea), reference)
    match = match_authority(index, "Nouméa", None, None)
    assert (match.outcome, row(match), match.method) == (MATCHED, 98, "nom")


# Without the official list (reference unavailable): only "CD 29", "Département 29" or a bare
# number with the type Département is the active member département of that number.
WITHOUT_LIST = [
    ("Département 29", None, MATCHED, 54, "code"),
    ("Conseil départemental 29", D, MATCHED, 54, "code"),
    ("CD 29 35", None, AMBIGUOUS, None, ""),  # two numbers: which?
    ("Mairie 29", None, AMBIGUOUS, None, ""),  # a commune's designator, not a département's
    ("29", None, AMBIGUOUS, None, ""),  # a number with no type
    ("Collectivité 29", D, NONE, None, ""),  # a name that is no département's designator
]


@pytest.mark.parametrize(("typed", "kind", "outcome", "member", "method"), WITHOUT_LIST)
def test_departement_numbers_without_the_official_list(
    members: list[Member],
    typed: str,
    kind: AuthorityKind | None,
    outcome: MatchOutcome,
    member: int | None,
    method: str,
) -> None:
    """Without the official list, a département number decides only when said as one."""
    match = match_authority(build_index(members, EMPTY_REFERENCE), typed, kind, None)
    assert (match.outcome, row(match), match.method) == (outcome, member, method)


@pytest.fixture(scope="module")
def more_members(members: list[Member]) -> list[Member]:
    """The corpus members with a few more lines: homonymous communes, intercommunalités named
    after a commune, and the two intercommunalités of the Sainte-Rose communes."""
    return replaced(
        members,
        Member(row=98, name="Sainte-Colombe", kind=C, department="69"),
        Member(row=99, name="Marly", kind=C, department="59"),
        Member(
            row=100,
            name="Communauté d'agglomération La Roche-sur-Yon Agglomération",
            kind=I,
            department="85",
        ),
        Member(row=101, name="Saint-Louis Agglomération", kind=I, department="68"),
        Member(
            row=102, name="Communauté d'agglomération du Nord Basse-Terre", kind=I, department="971"
        ),
        Member(
            row=103,
            name="Communauté d'agglomération Intercommunale de la Réunion Est (CIREST)",
            kind=I,
            department="974",
        ),
        Member(row=104, name="Agglomération du Grand Nouméa", kind=I),
    )


@pytest.fixture(scope="module")
def more_index(more_members: list[Member], reference: Reference) -> MemberIndex:
    return build_index(more_members, reference)


def test_homonyms_show_eight_candidates_at_most(more_index: MemberIndex) -> None:
    """Twelve communes bear the name: staff see eight candidates, the member first."""
    match = match_authority(more_index, "Sainte-Colombe", None, None)
    assert match.outcome is AMBIGUOUS
    assert match.candidates[0] == "Sainte-Colombe (69, adhérente)"
    assert len(match.candidates) == 8
    assert match.explanation == (
        "« Sainte-Colombe » : 69 (adhérente), 77, 40, 33 ou 25 ? Il existe aussi 7 petites "
        "communes de ce nom (35, 76, 50, 46, 89, 17, 05). Le département n'est pas indiqué."
    )


def test_homonyms_all_shown_need_no_count_of_small_ones(more_index: MemberIndex) -> None:
    """Two communes of a size: both named, no "petites communes" sentence."""
    match = match_authority(more_index, "Marly", None, None)
    assert (
        match.explanation == "« Marly » : 59 (adhérente) ou 57 ? Le département n'est pas indiqué."
    )


@pytest.mark.parametrize(
    ("typed", "department"),
    [("La Roche-sur-Yon Agglomération", "85"), ("Saint-Louis Agglomération", "68")],
)
def test_an_intercommunality_named_after_its_commune_typed_as_a_commune_is_to_check(
    more_index: MemberIndex, typed: str, department: str
) -> None:
    """A member intercommunalité bearing a commune's name (one word or several), typed as a
    commune: the commune may be meant, so the type is not overruled."""
    match = match_authority(more_index, typed, C, department)
    assert match.outcome is AMBIGUOUS
    assert "mais le type indiqué est « Commune »" in match.explanation


def test_a_commune_typed_as_an_intercommunality_offers_each_members_intercommunality(
    more_index: MemberIndex,
) -> None:
    """Homonymous communes, each in a member intercommunalité: both intercommunalités offered."""
    match = match_authority(more_index, "Sainte-Rose", I, None)
    assert match.outcome is AMBIGUOUS
    assert match.explanation == (
        "« Sainte-Rose » désigne Sainte-Rose (971) et Sainte-Rose (974), mais le type indiqué "
        "est « Intercommunalité » : Communauté d'agglomération du Nord Basse-Terre (971, "
        "adhérente) ou Communauté d'agglomération Intercommunale de la Réunion Est (CIREST) "
        "(974, adhérente) ?"
    )


def test_two_intercommunalities_typed_as_a_commune_offer_each_member_commune(
    index: MemberIndex,
) -> None:
    """A SIREN and a name of two intercommunalités that are not members, typed as a commune:
    the member communes they are named after are offered."""
    match = match_authority(index, "Saint-Louis Agglomération 244400404", C, None)
    assert match.outcome is AMBIGUOUS
    assert match.explanation.endswith(
        "mais le type indiqué est « Commune » : Nantes (44, adhérente) ou Saint-Louis (68, "
        "adhérente) ?"
    )


def test_an_intercommunality_outside_the_list_is_met_by_its_stripped_name(
    more_index: MemberIndex,
) -> None:
    """An answer with a designator before and after the name meets a member the official list
    does not hold, by name."""
    typed = "Communauté d'agglomération Grand Nouméa Agglomération"
    match = match_authority(more_index, typed, None, None)
    assert (match.outcome, row(match), match.method) == (MATCHED, 104, "nom")


@pytest.mark.parametrize(
    ("typed", "department"),
    [("GPS / Évry", None), ("Grand Paris Sud - Évry-Courcouronnes", "91")],
)
def test_an_alias_of_another_type_before_a_member_commune_is_two_names(
    index: MemberIndex, typed: str, department: str | None
) -> None:
    """An alias whose type is not the one picked, then a member commune: two names, the
    commune offered, never "no member"."""
    match = match_authority(index, typed, C, department)
    assert match.outcome is AMBIGUOUS
    assert match.candidates == ("Évry-Courcouronnes (91) — Adhérents ligne 42",)
    assert match.explanation == (
        f"« {typed} » nomme deux collectivités ; l'une est l'adhérente « Évry-Courcouronnes » "
        "(ligne 42, 91) : est-ce elle ?"
    )
