"""Collectivité matching: case tables against the official list, and properties of the matcher."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.adapters.reference import load_reference
from pipeline.core.matching import MemberIndex, build_index, match_authority, match_key
from pipeline.core.model import AuthorityKind, Match, MatchOutcome, Member
from pipeline.core.reference import Hint, Place, Reference, name_tokens, parse_authority
from tests.support.matching_corpus.corpus import load_answers, load_members

C = AuthorityKind.COMMUNE
I = AuthorityKind.INTERCOMMUNALITE  # noqa: E741
D = AuthorityKind.DEPARTEMENT
R = AuthorityKind.REGION
A = AuthorityKind.AUTRE
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
    # The ways people write the same collectivité.
    ("Lyon", C, "69", MATCHED, 2, "nom"),
    ("lyon ", None, None, MATCHED, 2, "nom"),
    ("Mairie de Lyon", C, None, MATCHED, 2, "nom"),
    ("Mairie de St-Étienne", C, "42", MATCHED, 16, "nom"),
    ("ST ETIENNE", None, None, MATCHED, 16, "nom"),
    ("Mairie du Havre", C, None, MATCHED, 18, "nom"),
    ("CD 29", None, None, MATCHED, 54, "code"),
    ("CD29", D, "29", MATCHED, 54, "code"),
    ("Conseil départemental du Finistère", D, None, MATCHED, 54, "nom"),
    ("Conseil régional de Bretagne", R, "35", MATCHED, 67, "nom"),
    ("Région Sud", R, None, MATCHED, 69, "nom"),
    ("3M", I, "34", MATCHED, 83, "nom"),
    ("CA du Pays Basque", I, None, MATCHED, 80, "nom"),
    ("SIREN 242 900 314", None, None, MATCHED, 75, "code"),
    ("Saint-Pierre (La Réunion)", C, None, MATCHED, 46, "nom"),
    ("Collectivité de Corse", A, None, MATCHED, 73, "nom"),
    ("Haute-Corse", D, "2B", MATCHED, 73, "nom"),
    ("Haut-Rhin", D, "68", MATCHED, 64, "nom"),
    ("Adjointe au maire de Nantes", C, "44", MATCHED, 8, "nom"),
    ("Conseillère départementale du Finistère", D, None, MATCHED, 54, "nom"),
    ("93200 Saint-Denis", C, None, MATCHED, 3, "nom"),
    ("Lyon (Rhône-Alpes)", C, None, MATCHED, 2, "nom"),
    # Staff aliases (`Autres noms`).
    ("Grand Paris Sud", I, "91", MATCHED, 84, "alias"),
    ("Évry", C, "91", MATCHED, 42, "nom"),  # Évry-Courcouronnes' former name, in 91
    ("Evry", None, None, MATCHED, 42, "alias"),  # Évry (89) exists, but staff said so
    ("Plaine Commune", None, None, MATCHED, 86, "nom"),
    # Typos, only when nothing else is as close.
    ("Strasbourgg", None, None, MATCHED, 5, "approché 95 %"),
    ("Montpelier", C, "34", MATCHED, 6, "approché 95 %"),
    ("Mairi de Lyon", C, "69", MATCHED, 2, "nom"),
    ("Montpelier", C, None, AMBIGUOUS, None, ""),  # Montélier (26) is one letter away too
    ("Renne", None, None, AMBIGUOUS, None, ""),  # René, Penne, Renno…
    ("Renne", None, "35", MATCHED, 9, "approché 91 %"),  # the commune, in its département
    # "brest" is a member's name only as the core of Brest Métropole: no typo of the commune
    ("Bresst", None, None, NONE, None, ""),
    ("Bresst", C, "29", NONE, None, ""),
    ("Cherbourg", C, "50", MATCHED, 22, "nom"),  # a usual name of Cherbourg-en-Cotentin
    ("Ivry", C, "94", MATCHED, 31, "nom abrégé"),
    ("Ivry", C, None, AMBIGUOUS, None, ""),
    # the start of a name: only the département given decides, within the type picked
    ("Ivry", None, "94", MATCHED, 31, "nom abrégé"),
    ("Mairie d'Ivry", C, "94", MATCHED, 31, "nom abrégé"),
    ("Ivry", I, "94", NONE, None, ""),
    ("Ville d'Ivry", I, "94", NONE, None, ""),
    ("Seine", D, "93", MATCHED, 55, "nom abrégé"),
    ("Ille", None, "35", MATCHED, 57, "nom abrégé"),
    ("Pointe", C, "971", AMBIGUOUS, None, ""),  # Pointe-Noire is in the 971 too
    # The name is sure, the type picked in the form is not.
    ("Région Bretagne", D, None, MATCHED, 67, "nom (type ignoré)"),
    ("Mairie de Nantes", D, "44", MATCHED, 8, "nom (type ignoré)"),
    ("Pessac", I, "33", MATCHED, 34, "nom (type ignoré)"),  # no intercommunalité "Pessac"
    ("Ville de Brest", I, "29", AMBIGUOUS, None, ""),  # or Brest Métropole, a member?
    ("Ville de Lyon", I, "69", AMBIGUOUS, None, ""),  # the Métropole de Lyon is named after it
    ("Lyon", D, "69", AMBIGUOUS, None, ""),  # the Métropole de Lyon is the département there
    # Real collectivités that only look like members.
    ("Lyons-la-Forêt", C, "27", NONE, None, ""),
    ("Saint-Étienne-du-Rouvray", None, None, NONE, None, ""),
    ("Montreuil-sur-Mer", None, None, NONE, None, ""),
    ("Saint-Herblon", C, "44", NONE, None, ""),
    ("Ville-d'Avray", C, "92", NONE, None, ""),
    # Homonyms: the département decides, or staff do.
    ("Saint-Denis", C, "93", MATCHED, 3, "nom"),
    ("Saint-Denis", C, "974", NONE, None, ""),
    ("Saint-Denis", None, None, AMBIGUOUS, None, ""),
    ("Valence", C, "82", NONE, None, ""),
    ("Le Lamentin", C, None, MATCHED, 47, "nom"),
    ("Lamentin", C, None, AMBIGUOUS, None, ""),
    ("Vienne", None, None, AMBIGUOUS, None, ""),
    ("Vienne", D, None, MATCHED, 65, "nom"),
    ("Saint-Paul", C, "974", AMBIGUOUS, None, ""),  # the member line has no département
    # An intercommunalité is not its central commune, and the other way round.
    ("Brest", I, "29", MATCHED, 75, "nom"),
    ("Brest", C, "29", NONE, None, ""),
    ("Brest", None, None, AMBIGUOUS, None, ""),
    ("Ville de Brest", None, None, NONE, None, ""),
    ("Bordeaux Métropole", I, "33", NONE, None, ""),
    ("Rennes", I, "35", MATCHED, 78, "nom"),
    ("Rennes Métropole", C, "35", AMBIGUOUS, None, ""),
    ("Cergy-Pontoise", C, "95", AMBIGUOUS, None, ""),
    # Lapsed members never match.
    ("Métropole de Lyon", I, "69", NONE, None, ""),
    ("Poitiers", C, "86", NONE, None, ""),
    ("200046977", None, None, NONE, None, ""),
    # Contradictions and nonsense.
    ("Lyon", C, "29", AMBIGUOUS, None, ""),
    ("Ajaccio", C, "2B", AMBIGUOUS, None, ""),
    ("Gironde", C, "33", AMBIGUOUS, None, ""),
    ("Quimper", C, "35", NONE, None, ""),
    ("Mairie", C, "35", AMBIGUOUS, None, ""),
    ("-", None, None, AMBIGUOUS, None, ""),
    ("Association des maires de France", A, None, NONE, None, ""),
]


@pytest.mark.parametrize(("typed", "kind", "dep", "outcome", "member", "method"), CASES)
def test_match_authority_case_table(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    dep: str | None,
    outcome: MatchOutcome,
    member: int | None,
    method: str,
) -> None:
    """Each typed collectivité gets the outcome, member and method staff would give it."""
    match = match_authority(index, typed, kind, dep)
    assert (match.outcome, row(match), match.method) == (outcome, member, method), match


def test_homonyms_are_explained_with_their_departments(index: MemberIndex) -> None:
    """An ambiguous homonym names the départements and marks the member, as staff read it."""
    match = match_authority(index, "Saint-Denis", AuthorityKind.COMMUNE, None)
    assert match.explanation.startswith("« Saint-Denis » : 93 (adhérente) ou 974 ?")
    assert "Saint-Denis (93, adhérente)" in match.candidates
    assert "Saint-Denis (974)" in match.candidates


def test_lapsed_member_is_named_in_the_explanation(index: MemberIndex) -> None:
    """An answer from a lapsed member is not a member, and staff read "résiliée" in why."""
    match = match_authority(index, "Mairie de Poitiers", AuthorityKind.COMMUNE, None)
    assert match.outcome is NONE and match.member is None
    assert "résiliée" in match.explanation and "ligne 24" in match.explanation


def test_central_commune_explanation_names_the_member_intercommunality(
    index: MemberIndex,
) -> None:
    """ "Brest" without a type is doubtful because Brest Métropole, not the commune, is member."""
    match = match_authority(index, "Brest", None, None)
    assert "Brest Métropole" in match.explanation and "n'est pas adhérente" in match.explanation


def test_contradicting_department_is_said(index: MemberIndex) -> None:
    """A département that contradicts the name is named in the explanation."""
    match = match_authority(index, "Lyon", AuthorityKind.COMMUNE, "29")
    assert "29 (Finistère)" in match.explanation
    assert "type" not in match.explanation


def test_member_without_department_asks_staff_to_fill_it(index: MemberIndex) -> None:
    """A member line that matches several communes tells staff to give its département."""
    match = match_authority(index, "Saint-Paul", AuthorityKind.COMMUNE, "974")
    assert "précisez son type et son département" in match.explanation


def test_alias_that_is_only_the_real_name_does_not_override_homonyms(
    reference: Reference,
) -> None:
    """An alias equal to the member's own name ("Saint-Denis") settles no homonym."""
    members = [Member(row=2, name="Saint-Denis", kind=C, department="93", aliases=("St-Denis",))]
    index = build_index(members, reference)
    assert match_authority(index, "Saint-Denis", C, None).outcome is AMBIGUOUS
    assert match_authority(index, "Saint-Denis", C, "93").outcome is MATCHED


def test_alias_fixes_a_failed_match(reference: Reference) -> None:
    """Adding the typed text to `Autres noms` turns a failed answer into a match by alias."""
    name = "Communauté d'agglomération Grand Paris Sud Seine Essonne Sénart"
    before = build_index([Member(row=2, name=name, kind=I, department="91")], reference)
    assert match_authority(before, "GPS", I, "91").outcome is not MATCHED
    after = build_index(
        [Member(row=2, name=name, kind=I, department="91", aliases=("GPS",))], reference
    )
    match = match_authority(after, "GPS", I, "91")
    assert (match.outcome, match.method) == (MATCHED, "alias")


def test_department_fixes_an_unresolved_member(reference: Reference) -> None:
    """Filling the member's département in `Adhérents` turns a doubtful answer into a match."""
    without = build_index([Member(row=2, name="Saint-Paul", kind=C)], reference)
    assert match_authority(without, "Saint-Paul", C, "974").outcome is AMBIGUOUS
    fixed = build_index([Member(row=2, name="Saint-Paul", kind=C, department="974")], reference)
    assert match_authority(fixed, "Saint-Paul", C, "974").outcome is MATCHED


def test_same_collectivity_listed_twice_still_matches(reference: Reference) -> None:
    """Two member lines for one collectivité match the first line, not a doubt."""
    members = [
        Member(row=2, name="Lyon", kind=C, department="69"),
        Member(row=3, name="Ville de Lyon", kind=C, department="69"),
    ]
    match = match_authority(build_index(members, reference), "Mairie de Lyon", C, "69")
    assert (match.outcome, row(match)) == (MATCHED, 2)


def test_active_line_wins_over_a_lapsed_line_of_the_same_collectivity(
    reference: Reference,
) -> None:
    """A collectivité that lapsed then joined again (two lines) is a member."""
    members = [
        Member(row=2, name="Lyon", kind=C, department="69", active=False),
        Member(row=3, name="Lyon", kind=C, department="69"),
    ]
    match = match_authority(build_index(members, reference), "Lyon", C, None)
    assert (match.outcome, row(match)) == (MATCHED, 3)


def test_siren_of_member_wins_over_its_name(reference: Reference) -> None:
    """A member's SIREN identifies it even when its name is written unusually."""
    members = [Member(row=2, name="BMO", kind=I, siren="242 900 314")]
    index = build_index(members, reference)
    assert row(match_authority(index, "Brest Métropole", I, "29")) == 2


def test_every_verdict_has_the_evidence_staff_need(index: MemberIndex) -> None:
    """MATCHED has a member and a method; AMBIGUOUS has candidates or an explanation."""
    for answer in load_answers():
        match = match_authority(index, answer.authority, answer.kind, answer.department)
        if match.outcome is MATCHED:
            assert match.member is not None and match.member.active and match.method
        else:
            assert match.member is None
        if match.outcome is AMBIGUOUS:
            assert match.explanation, answer


# --- Without the official list --------------------------------------------------------------


def test_without_reference_exact_names_and_aliases_still_match() -> None:
    """With no reference loaded, exact names (any prefix) and aliases match, typos do not."""
    members = [
        Member(row=2, name="Ville de Lyon", kind=C, department="69"),
        Member(row=3, name="Brest Métropole", kind=I, department="29", aliases=("BMO",)),
    ]
    index = build_index(members)
    assert row(match_authority(index, "Mairie de Lyon", C, "69")) == 2
    assert row(match_authority(index, "bmo", None, None)) == 3
    assert match_authority(index, "Lyonn", C, "69").outcome is AMBIGUOUS
    assert match_authority(index, "Quimper", C, "29").outcome is NONE


def test_without_reference_intercommunality_is_not_its_commune() -> None:
    """Without the official list, "Métropole de Lyon" still does not match the Ville de Lyon."""
    index = build_index([Member(row=2, name="Lyon", kind=C, department="69")])
    assert match_authority(index, "Métropole de Lyon", I, "69").outcome is not MATCHED


def test_small_hand_built_reference() -> None:
    """The core works on any Reference: a two-commune list decides the homonym by département."""
    reference = Reference(
        places=(
            Place("COM:93066", "Saint-Denis", (C,), ("93",), 141_441, insee="93066"),
            Place("COM:97411", "Saint-Denis", (C,), ("974",), 147_931, insee="97411"),
        )
    )
    index = build_index([Member(row=2, name="Saint-Denis", kind=C, department="93")], reference)
    assert match_authority(index, "St Denis", C, "93").outcome is MATCHED
    assert match_authority(index, "St Denis", C, "974").outcome is NONE
    assert match_authority(index, "St Denis", C, None).outcome is AMBIGUOUS


# --- Reading names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "readings", "departments"),
    [
        (
            "Mairie de St-Étienne",
            [(None, "mairie saint etienne"), (Hint.COMMUNE, "saint etienne")],
            (),
        ),
        ("CD 29", [(None, "cd"), (Hint.DEPARTEMENT, "")], ("29",)),
        ("Bordeaux Métropole", [(None, "bordeaux metropole"), (Hint.INTERCO, "bordeaux")], ()),
        ("Ville-d'Avray", [(None, "ville avray"), (Hint.COMMUNE, "avray")], ()),
        ("Valence (Drôme)", [(None, "valence")], ("26",)),
        (
            "Comunauté de communes du Pays Basque",
            [(None, "comunaute communes pays basque"), (Hint.INTERCO, "pays basque")],
            (),
        ),
        ("Lille", [(None, "lille")], ()),
    ],
)
def test_parse_authority_readings(
    typed: str, readings: list[tuple[Hint | None, str]], departments: tuple[str, ...]
) -> None:
    """Designators become a hint on the name behind them; départements typed in the text are kept."""
    parsed = parse_authority(typed)
    assert [(r.hint, r.loose) for r in parsed.readings] == readings
    assert parsed.departments == departments


def test_name_tokens_spell_out_saints_and_drop_punctuation() -> None:
    """`St`/`Ste` become Saint/Sainte; apostrophes, hyphens and case do not matter."""
    assert name_tokens("Ste-Geneviève-des-Bois") == ("sainte", "genevieve", "des", "bois")
    assert name_tokens("L’Haÿ-les-Roses") == name_tokens("l'hay les roses")


def test_match_key_is_unchanged_for_duplicate_detection() -> None:
    """`match_key` (used to spot duplicate people) folds case, accents and punctuation only."""
    assert match_key("  Mairie de St-Étienne ") == "mairie de st etienne"


# --- Properties -----------------------------------------------------------------------------

_TYPED = sorted({a.authority for a in load_answers()})


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@settings(max_examples=150, deadline=None)
@given(
    typed=st.sampled_from(_TYPED),
    kind=st.sampled_from([None, C, I, D, R]),
    dep=st.sampled_from([None, "29", "69", "93", "974", "2A"]),
    case=st.sampled_from([str.upper, str.lower, str.title, str]),
    accents=st.booleans(),
    spaces=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_matching_ignores_case_accents_and_spacing(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    dep: str | None,
    case: object,
    accents: bool,
    spaces: str,
) -> None:
    """Case, accents and extra whitespace in the typed text never change the verdict."""
    assert callable(case)
    variant = str(case(typed))
    if accents:
        variant = _strip_accents(variant)
    variant = spaces + variant.replace(" ", " " + spaces) + spaces
    a = match_authority(index, typed, kind, dep)
    b = match_authority(index, variant, kind, dep)
    assert (a.outcome, row(a), a.method) == (b.outcome, row(b), b.method)


@settings(max_examples=80, deadline=None)
@given(typed=st.sampled_from(_TYPED), kind=st.sampled_from([None, C, I, D, R]))
def test_lapsed_members_never_match(
    reference: Reference, typed: str, kind: AuthorityKind | None
) -> None:
    """With every member lapsed, no answer is ever matched."""
    lapsed = [m.model_copy(update={"active": False}) for m in load_members()]
    index = _lapsed_index(reference, lapsed)
    assert match_authority(index, typed, kind, None).outcome is not MATCHED


_LAPSED: dict[int, MemberIndex] = {}


def _lapsed_index(reference: Reference, members: list[Member]) -> MemberIndex:
    if id(reference) not in _LAPSED:
        _LAPSED[id(reference)] = build_index(members, reference)
    return _LAPSED[id(reference)]


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=40), kind=st.sampled_from([None, C, I, D, R, A]))
def test_any_text_gets_a_verdict(index: MemberIndex, text: str, kind: AuthorityKind | None) -> None:
    """Whatever is typed (emoji, control characters, nothing), the matcher answers, never raises."""
    match = match_authority(index, text, kind, None)
    assert match.outcome in (MATCHED, NONE, AMBIGUOUS)
