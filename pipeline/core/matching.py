"""Match what a person typed in "Collectivité" against the member list, with evidence for staff.

`build_index(members, reference)` is called once per run; `match_authority(index, authority,
kind, department)` once per person. Both the member list and each answer are resolved to real
collectivités of the official list (`Reference`: COG, INSEE), and places are compared, not
strings. The evidence, in decreasing strength:

1. `code`: a SIREN typed in the answer, or a département number ("CD 29");
2. `nom`: the answer names the member's collectivité, whatever the wording ("Mairie de
   St-Étienne", "Saint-Étienne", "ville de saint etienne");
3. `alias`: the answer is one of the member's `Autres noms` (the staff's fix);
4. `approché 92 %`: a typo of a member's name, only when no real collectivité is as close;
   `nom abrégé`: the start of a name, the only one so in the département given ("Ivry", 94);
   `nom d'usage`: a longer usual name ("Hyères-les-Palmiers"), the département given.

A part or a former name of a member's collectivité is that member: `arrondissement de Paris`
("Mairie du 9e", 75), `secteur de Marseille`, `ancienne région` ("Région Picardie"), `ancien
EPCI` ("Brest Métropole Océane"); a number several towns have, a quartier written with its
commune, or a former name reached only through the type picked go to `À vérifier`.

The type picked in the form narrows the candidates; when the name alone is beyond doubt and the
type is not one of the real confusions (a commune and its eponymous intercommunalité, a bare
département name), the name wins: `nom (type ignoré)`.

A wrong match is the worst error (a certificate for a non-member), so anything doubtful is
AMBIGUOUS with the candidates and a French explanation: homonyms without a département
("Saint-Denis" is in 93 and in 974), a type or département that contradicts the name, a member
the list does not identify, a typo close to several names. A lapsed member (`Résiliée`) never
matches; the explanation says so.

Why one file of about 1,600 lines: it is one decision, `_decide`, and the verdicts it chooses
from (`_one_place`, `_by_part`, `_contradiction`, `_unknown_name`…) weigh the same evidence
against each other and share the index's private helpers and the French wording for staff.
Split by verdict, each part would import the others' internals and a reader would follow one
answer across files; the sections below (`The member side`, `Reading an answer`, `Approximate
names`, `Deciding`, `Words for staff`) are the map. Its tests (`tests/unit/test_matching*.py`,
the answer corpus and its mutation run) also address this one module.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from pipeline.core.geo import department_name
from pipeline.core.model import AuthorityKind, Match, MatchOutcome, Member
from pipeline.core.reference import (
    EMPTY_REFERENCE,
    HINT_KINDS,
    STOPWORDS,
    Hint,
    ParsedName,
    PartQuery,
    Place,
    Reading,
    Reference,
    ReferenceIndex,
    compatible,
    name_tokens,
    parse_authority,
    parse_part,
    without_role,
)
from pipeline.core.text import fold

_PUNCT = re.compile(r"[^a-z0-9 ]+")

# Approximate matching (typos). A typed name is a typo of a member's name when the edit distance
# (a swap of two letters counts as one) is within the allowance for its length, and every other
# real collectivité or member is at least MARGIN edits further away.
_SUGGEST_RATIO = 80  # below this similarity a member is not even mentioned
_MIN_FUZZY_LENGTH = 4


def _allowed_edits(length: int) -> int:
    if length < _MIN_FUZZY_LENGTH:
        return 0
    if length < 7:
        return 1
    if length < 12:
        return 2
    return 3


def _margin(length: int) -> int:
    return 2 if length <= _MIN_FUZZY_LENGTH else 1


def match_key(name: str) -> str:
    """The folded form two typed names share when they are written the same way (duplicates)."""
    return " ".join(_PUNCT.sub(" ", fold(name)).split())


# --- The member side ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolution:
    """Which real collectivité a member line is: one place, several (unclear), or none known."""

    places: tuple[int, ...] = ()
    how: str = ""  # "code" (SIREN), "nom", "approché", "contredit", "siren" (disagrees)

    @property
    def place(self) -> int | None:
        return self.places[0] if len(self.places) == 1 else None


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A decision for one answer, before the typed text is put into `explanation` (`_TYPED`)."""

    outcome: MatchOutcome
    member: Member | None = None
    method: str = ""
    candidates: tuple[str, ...] = ()
    explanation: str = ""


_TYPED = "\x00saisie\x00"

Key = tuple[Hint | None, str]


@dataclass(frozen=True)
class MemberIndex:
    """The member list resolved against the reference, ready for many answers (built once)."""

    members: tuple[Member, ...] = ()
    reference: Reference = EMPTY_REFERENCE
    resolutions: tuple[Resolution, ...] = ()
    active_at: dict[int, tuple[int, ...]] = field(default_factory=dict)
    lapsed_at: dict[int, tuple[int, ...]] = field(default_factory=dict)
    possible_at: dict[int, tuple[int, ...]] = field(default_factory=dict)
    by_siren: dict[str, tuple[int, ...]] = field(default_factory=dict)
    name_keys: dict[Key, tuple[int, ...]] = field(default_factory=dict)
    alias_keys: dict[Key, tuple[int, ...]] = field(default_factory=dict)
    fuzzy_keys: list[str] = field(default_factory=list)
    fuzzy_members: list[int] = field(default_factory=list)
    # True for an intercommunalité's core name ("brest" of Brest Métropole): only a typo of it
    # when the answer says intercommunalité.
    fuzzy_interco: list[bool] = field(default_factory=list)
    prefix_keys: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    places_named: dict[str, tuple[int, ...]] = field(default_factory=dict)  # name -> member places
    communes_of_epci: dict[str, tuple[int, ...]] = field(default_factory=dict)
    acronyms: dict[str, tuple[int, ...]] = field(default_factory=dict)  # "capb" -> members
    cache: dict[tuple[str, AuthorityKind | None, str | None], _Verdict] = field(
        default_factory=dict
    )

    @property
    def ref(self) -> ReferenceIndex:
        return self.reference.index


def _reading_keys(parsed: ParsedName) -> list[Key]:
    return [(r.hint, r.loose) for r in parsed.readings if r.tokens]


def _core_readings(parsed: ParsedName) -> list[Reading]:
    """The readings that carry the name itself: those behind an opening designator ("lyon" in
    "Mairie de Lyon"), else the literal one and any without a closing word ("puget ville" and
    "puget" for "Puget-Ville"). Approximate search compares these, so shared designator words
    ("Ville de …") never make two names look alike."""
    stripped = [r for r in parsed.readings[1:] if r.tokens]
    if parsed.prefixed and stripped:
        return stripped
    return [r for r in parsed.readings[:1] if r.tokens] + stripped


def build_index(members: Sequence[Member], reference: Reference | None = None) -> MemberIndex:
    """Resolve every member line to a real collectivité and index names, aliases and codes."""
    reference = reference or EMPTY_REFERENCE
    ref = reference.index
    resolutions = tuple(_resolve_member(m, ref) for m in members)
    active_at: defaultdict[int, list[int]] = defaultdict(list)
    lapsed_at: defaultdict[int, list[int]] = defaultdict(list)
    possible_at: defaultdict[int, list[int]] = defaultdict(list)
    by_siren: defaultdict[str, list[int]] = defaultdict(list)
    name_keys: defaultdict[Key, list[int]] = defaultdict(list)
    alias_keys: defaultdict[Key, list[int]] = defaultdict(list)
    fuzzy: dict[tuple[str, int], bool] = {}  # (key, member) -> only an intercommunal core
    prefix_keys: dict[tuple[str, int], None] = {}
    for pos, (member, resolution) in enumerate(zip(members, resolutions, strict=True)):
        siren = re.sub(r"\D", "", member.siren)
        if len(siren) == 9:
            by_siren[siren].append(pos)
        parsed = parse_authority(member.name)
        if resolution.place is not None:
            (active_at if member.active else lapsed_at)[resolution.place].append(pos)
            place = ref.place(resolution.place)
            for text in (place.name, *place.names, *place.aliases):
                parsed_name = parse_authority(text)
                for reading in _core_readings(parsed_name):
                    _add_fuzzy(fuzzy, reading, pos)
                if parsed_name.literal.tokens:
                    prefix_keys.setdefault((parsed_name.literal.loose, pos), None)
        else:
            for p in resolution.places:
                possible_at[p].append(pos)
            if not resolution.places:
                for key in _reading_keys(parsed):
                    name_keys[key].append(pos)
        for reading in _core_readings(parsed):
            _add_fuzzy(fuzzy, reading, pos)
        for alias in member.aliases:
            parsed_alias = parse_authority(alias)
            if parsed_alias.empty or _alias_is_own_name(parsed_alias, member, resolution, ref):
                continue
            for key in _reading_keys(parsed_alias):
                alias_keys[key].append(pos)
            for reading in _core_readings(parsed_alias):
                _add_fuzzy(fuzzy, reading, pos)
    places_named: defaultdict[str, list[int]] = defaultdict(list)
    communes_of_epci: defaultdict[str, list[int]] = defaultdict(list)
    for p in active_at:
        place = ref.place(p)
        places_named[place.name].append(p)
        if place.kind is AuthorityKind.COMMUNE and place.epci:
            communes_of_epci[place.epci].append(p)
    return MemberIndex(
        members=tuple(members),
        reference=reference,
        resolutions=resolutions,
        active_at={p: tuple(v) for p, v in active_at.items()},
        lapsed_at={p: tuple(v) for p, v in lapsed_at.items()},
        possible_at={p: tuple(v) for p, v in possible_at.items()},
        by_siren={k: tuple(v) for k, v in by_siren.items()},
        name_keys={k: tuple(v) for k, v in name_keys.items()},
        alias_keys={k: tuple(dict.fromkeys(v)) for k, v in alias_keys.items()},
        fuzzy_keys=[k for k, _ in fuzzy],
        fuzzy_members=[pos for _, pos in fuzzy],
        fuzzy_interco=list(fuzzy.values()),
        prefix_keys=_by_first_word(prefix_keys),
        places_named={k: tuple(v) for k, v in places_named.items()},
        communes_of_epci={k: tuple(v) for k, v in communes_of_epci.items()},
        acronyms=_acronyms(members, resolutions, ref),
    )


def _acronyms(
    members: Sequence[Member], resolutions: Sequence[Resolution], ref: ReferenceIndex
) -> dict[str, tuple[int, ...]]:
    """The initials (three letters or more) of each active member's names, its official name
    and its `Autres noms`: "capb" for the Communauté d'agglomération du Pays Basque."""
    found: defaultdict[str, dict[int, None]] = defaultdict(dict)
    for pos, (member, resolution) in enumerate(zip(members, resolutions, strict=True)):
        names = [member.name, *member.aliases]
        if resolution.place is not None:
            names.append(ref.place(resolution.place).name)
        for name in names if member.active else ():
            initials = "".join(w[0] for w in name_tokens(name) if w not in STOPWORDS)
            if len(initials) >= 3:
                found[initials][pos] = None
    return {k: tuple(v) for k, v in found.items()}


def _add_fuzzy(fuzzy: dict[tuple[str, int], bool], reading: Reading, pos: int) -> None:
    key = (reading.loose, pos)
    fuzzy[key] = fuzzy.get(key, True) and reading.hint is Hint.INTERCO


def _by_first_word(keys: Iterable[tuple[str, int]]) -> dict[str, tuple[tuple[str, int], ...]]:
    table: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
    for key, pos in keys:
        table[key.split(" ", 1)[0]].append((key, pos))
    return {k: tuple(v) for k, v in table.items()}


def _resolve_member(member: Member, ref: ReferenceIndex) -> Resolution:
    """The member's collectivité: by SIREN, else by name within its type and département.

    When the type or département written in `Adhérents` contradicts the name, the name decides
    if it designates one collectivité alone ("Métropole de Lyon" typed as a Commune); otherwise
    the line stays unclear and every answer that may be it goes to `À vérifier`.
    """
    resolution = _resolve_member_places(member, ref)
    # A member line written with a former name ("Région Aquitaine") is the current place.
    places = tuple(dict.fromkeys(ref.current(p) for p in resolution.places))
    return Resolution(places, resolution.how) if places != resolution.places else resolution


def _resolve_member_places(member: Member, ref: ReferenceIndex) -> Resolution:
    siren = re.sub(r"\D", "", member.siren)
    by_code = ref.by_siren.get(siren) if len(siren) == 9 else None
    parsed = parse_authority(member.name)
    found = _places_for(parsed, ref, member.kind, member.department)
    kept = _keep(found, lambda p: _fits(ref.place(p), member.kind, (member.department,), parsed))
    if by_code is not None:
        if not kept or by_code in kept:
            return Resolution((by_code,), "code")
        return Resolution((by_code, *kept), "siren")  # the SIREN and the name disagree
    if kept:
        return Resolution(tuple(kept), "nom")
    if found:
        for kind, department in ((None, member.department), (member.kind, None), (None, None)):
            relaxed = [p for p in found if _fits(ref.place(p), kind, (department,), parsed)]
            if len(relaxed) == 1:
                return Resolution(tuple(relaxed), "contredit")
        return Resolution(tuple(_keep(found, lambda p: True)), "contredit")
    near = _nearest_places(parsed, ref, member.kind, (member.department,))
    if len(near) == 1:
        return Resolution(near, "approché")
    return Resolution((), "")


def member_notes(index: MemberIndex) -> list[tuple[Member, str]]:
    """Member lines staff may want to fix, with why (French): several collectivités fit, the
    type or département contradicts the name, or the name is not in the official list."""
    notes: list[tuple[Member, str]] = []
    if not index.reference.places:
        return notes
    ref = index.ref
    for member, resolution in zip(index.members, index.resolutions, strict=True):
        biggest = sorted(resolution.places, key=lambda p: -ref.place(p).population)[:4]
        names = _join((_describe_place(index, p, mark=False) for p in biggest), "ou")
        if resolution.how == "siren":
            notes.append(
                (member, f"« {member.name} » : le SIREN et le nom désignent {names} : vérifiez.")
            )
        elif len(resolution.places) > 1:
            notes.append(
                (
                    member,
                    f"« {member.name} » peut être {names} : précisez le type et le département.",
                )
            )
        elif resolution.how == "contredit":
            notes.append(
                (
                    member,
                    f"« {member.name} » est {names}, mais le type ou le département indiqué dans "
                    "Adhérents ne correspond pas : vérifiez-les.",
                )
            )
        elif resolution.how == "approché":
            notes.append(
                (member, f"« {member.name} » a été lu comme {names} (orthographe proche).")
            )
        elif not resolution.places:
            notes.append(
                (
                    member,
                    f"« {member.name} » n'est pas dans la liste officielle des collectivités : "
                    "seuls son nom et ses Autres noms la font reconnaître.",
                )
            )
    return notes


def _alias_is_own_name(
    parsed: ParsedName, member: Member, resolution: Resolution, ref: ReferenceIndex
) -> bool:
    """An alias that is just a real name of the member's own collectivité adds no evidence (and
    must not override homonyms: "Saint-Denis" as an alias does not make 974 the member)."""
    if resolution.place is None:
        return False
    found = _places_for(parsed, ref, member.kind, None)
    return found.get(resolution.place, "ancien") != "ancien"  # a former name may still help


# --- Reading an answer --------------------------------------------------------------------------


def _places_for(
    parsed: ParsedName, ref: ReferenceIndex, kind: AuthorityKind | None, department: str | None
) -> dict[int, str]:
    """Every real collectivité the typed name can designate (before type and département
    filters), each with how: "code" (SIREN, département number), "nom", or "type" (only through
    the type picked in the form, e.g. "Brest" + Intercommunalité -> Brest Métropole)."""
    found: dict[int, str] = {}

    def add(places: Iterable[int] | tuple[list[int], list[int]], how: str) -> None:
        if isinstance(places, tuple):
            official, former = places
            add(official, how)
            add(former, "type" if how == "type" else "ancien")
            return
        for p in places:
            found.setdefault(p, how)

    if parsed.siren and parsed.siren in ref.by_siren:
        add([ref.by_siren[parsed.siren]], "code")
    text_departments = parsed.departments or ((department,) if department else ())
    for reading in parsed.readings:
        if len(found) > (1 if parsed.siren in ref.by_siren else 0):
            break  # a less stripped reading already names something: "Puget-Ville" stays whole
        hint = reading.hint
        if hint is None:
            if not reading.tokens:
                continue
            for table in (Hint.COMMUNE, Hint.DEPARTEMENT, Hint.REGION, Hint.INTERCO):
                add(ref.lookup(table, reading), "nom")
            if not ref.is_place_name(reading.loose):
                add(ref.lookup_core(reading), "nom")
            if kind is AuthorityKind.INTERCOMMUNALITE:
                add(ref.lookup_core(reading), "type")
                add(_central_epcis(reading, ref), "type")
        elif hint is Hint.COMMUNE:
            add(ref.lookup(Hint.COMMUNE, reading), "nom")
        elif hint is Hint.INTERCO:
            add(ref.lookup(Hint.INTERCO, reading), "nom")
            add(ref.lookup_core(reading), "nom")
            add(_central_epcis(reading, ref), "nom")
        elif reading.tokens:
            add(ref.lookup(hint, reading), "nom")
        else:  # "Conseil départemental" alone: the département typed in the text or the form
            by_dep = ref.department_place if hint is Hint.DEPARTEMENT else ref.region_place
            how = "code" if parsed.departments else "nom"
            add([by_dep[d] for d in text_departments if d in by_dep], how)
    if parsed.empty and kind in (AuthorityKind.DEPARTEMENT, AuthorityKind.REGION):  # "29"
        by_code = ref.department_place if kind is AuthorityKind.DEPARTEMENT else ref.region_place
        add([by_code[d] for d in parsed.departments if d in by_code], "code")
    return found


def _central_epcis(reading: Reading, ref: ReferenceIndex) -> list[int]:
    """The EPCI named after a commune: "Métropole de Nice" -> Métropole Nice Côte d'Azur."""
    out: list[int] = []
    words = set(reading.loose.split())
    official, former = ref.lookup(Hint.COMMUNE, reading)
    for c in official + former:
        epci = ref.by_key.get(ref.place(c).epci)
        if epci is None:
            continue
        epci_words = set(" ".join(name_tokens(ref.place(epci).name)).split())
        if words <= epci_words:
            out.append(epci)
    return out


def _keep(found: dict[int, str], fits: Callable[[int], bool]) -> list[int]:
    """The places that fit; a former name or nickname counts only when no official name fits."""
    kept = [p for p in found if fits(p)]
    official = [p for p in kept if found[p] != "ancien"]
    return official or kept


def _fits(
    place: Place, kind: AuthorityKind | None, departments: Iterable[str | None], parsed: ParsedName
) -> bool:
    deps = {d for d in (*departments, *parsed.departments) if d}
    return compatible(place, kind, None) and all(d in place.departments for d in deps)


# --- Approximate names --------------------------------------------------------------------------


def _nearest_places(
    parsed: ParsedName,
    ref: ReferenceIndex,
    kind: AuthorityKind | None,
    departments: Sequence[str | None],
) -> tuple[int, ...]:
    """For a member line with a typo: the one real place clearly nearest to its name, if any."""
    deps = [d for d in departments if d]
    best: dict[int, int] = {}
    length = 0
    for reading in _core_readings(parsed):
        query = reading.loose
        if len(query) < _MIN_FUZZY_LENGTH + 1:
            continue
        hint_kind = HINT_KINDS.get(reading.hint) if reading.hint else None
        near = _reference_near(ref, query, deps, _allowed_edits(len(query)) + 2, reading.hint)
        for place, distance, key in near:
            if key.count(" ") != query.count(" "):
                continue
            p = ref.place(place)
            if not compatible(p, kind, None) or (hint_kind and not compatible(p, hint_kind, None)):
                continue
            if deps and not all(d in p.departments for d in deps):
                continue
            best[place] = min(best.get(place, 99), distance)
            length = max(length, len(query))
    if not best:
        return ()
    ranked = sorted(best.items(), key=lambda item: item[1])
    first = ranked[0][1]
    if first > _allowed_edits(length):
        return ()
    if len(ranked) > 1 and ranked[1][1] < first + _margin(length):
        return ()
    return (ranked[0][0],)


def _reference_near(
    ref: ReferenceIndex,
    query: str,
    departments: Sequence[str],
    max_edits: int,
    hint: Hint | None = None,
) -> list[tuple[int, int, str]]:
    """Places with a name within `max_edits` of `query` (searched in the département if known),
    with the distance and the name's key."""
    keys, places = ref.fuzzy_choices(
        departments[0] if departments else "", hint is Hint.INTERCO, len(query), max_edits
    )
    if not keys:
        return []
    hits = process.extract(query, keys, scorer=OSA.distance, score_cutoff=max_edits, limit=50)
    return [(places[j], int(d), key) for key, d, j in hits]


@dataclass(frozen=True, slots=True)
class _Near:
    member: int
    distance: int
    ratio: float
    target: tuple[str, int]  # ("place", idx) or ("member", pos): what the member is


@dataclass(frozen=True, slots=True)
class _Approximation:
    best: _Near | None = None
    clear: bool = False
    rivals: tuple[tuple[str, str], ...] = ()  # what is as close as the best: (said, candidate)
    suggestions: tuple[int, ...] = ()  # members that look similar, for the explanation


def _approximate(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None, deps: Sequence[str]
) -> _Approximation:
    """Look for a member whose name the answer misspells, and whether the typo is unambiguous."""
    ref = ix.ref
    nearest: dict[tuple[str, int], _Near] = {}
    suggestions: dict[int, float] = {}
    query_of: dict[tuple[str, int], Reading] = {}
    for reading in _core_readings(parsed):
        query = reading.loose
        if len(query) < _MIN_FUZZY_LENGTH:
            continue
        hint_kind = HINT_KINDS.get(reading.hint) if reading.hint else None
        hits = process.extract(
            query, ix.fuzzy_keys, scorer=fuzz.ratio, score_cutoff=_SUGGEST_RATIO - 10, limit=20
        )
        interco = reading.hint is Hint.INTERCO or kind is AuthorityKind.INTERCOMMUNALITE
        for key, ratio, j in hits:
            if ix.fuzzy_interco[j] and not interco:
                continue  # "Renne" is no typo for Rennes Métropole
            pos = ix.fuzzy_members[j]
            member = ix.members[pos]
            place = ix.resolutions[pos].place
            if place is not None:
                p = ref.place(place)
                if hint_kind and not compatible(p, hint_kind, None):
                    continue
                if not _fits(p, kind, deps, parsed):
                    continue
                target = ("place", place)
            else:
                if not _member_fits(member, kind, deps) or (
                    hint_kind and member.kind not in (None, hint_kind)
                ):
                    continue
                target = ("member", pos)
            if ratio >= _SUGGEST_RATIO:
                suggestions[pos] = max(suggestions.get(pos, 0.0), ratio)
            if key.count(" ") != query.count(" "):
                continue  # a typo changes letters, not words: "S-Florentin" is not "Florentin"
            distance = int(OSA.distance(query, key))
            if distance > _allowed_edits(min(len(query), len(key))):
                continue
            if not _each_word_alike(query, key):
                continue  # "Nantes France" is not a typo of "Hauts-de-France"
            near = _Near(pos, distance, ratio, target)
            old = nearest.get(target)
            if old is None or (distance, -ratio) < (old.distance, -old.ratio):
                nearest[target] = near
                query_of[target] = reading
    ranked_suggestions = tuple(sorted(suggestions, key=lambda p: -suggestions[p]))
    if not nearest:
        return _Approximation(suggestions=ranked_suggestions)
    ranked = sorted(nearest.values(), key=lambda n: (n.distance, -n.ratio))
    best = ranked[0]
    # Clear only when nothing else is as close: no other member, and no other real collectivité
    # for any reading of the answer ("Chaumotn-la-Ville" is nearer Chaumont-la-Ville than the
    # member Chaumont, though "chaumotn" alone is one swap from "chaumont").
    threshold = best.distance + _margin(len(query_of[best.target].loose))
    rivals: list[tuple[str, str]] = []  # (in the explanation, as a candidate)
    for other in ranked[1:]:
        if other.distance < threshold and not _same_member(ix, other, best):
            rivals.append(
                (_member_ref(ix.members[other.member]), _describe_member(ix, other.member))
            )
    if ix.reference.places:
        best_place = best.target[1] if best.target[0] == "place" else None
        for reading in _core_readings(parsed):
            if len(reading.loose) < _MIN_FUZZY_LENGTH:
                continue
            hint_kind = HINT_KINDS.get(reading.hint) if reading.hint else None
            for place, _, _ in _reference_near(
                ref, reading.loose, deps, threshold - 1, reading.hint
            ):
                if place == best_place:
                    continue
                p = ref.place(place)
                if not _fits(p, kind, deps, parsed) or (
                    hint_kind and not compatible(p, hint_kind, None)
                ):
                    continue
                rivals.append((_describe_place(ix, place),) * 2)
    rivals = list(dict.fromkeys(rivals))
    return _Approximation(best, not rivals, tuple(rivals[:4]), ranked_suggestions)


def _each_word_alike(query: str, key: str) -> bool:
    """Word by word, each typed word at most one edit beyond the typos allowed for its own
    length ("Loire-Atlantic"): the edits of a long name are not all spent on one short word
    ("Nantes France" is not "Hauts-de-France")."""
    if " " not in query:
        return True
    return all(
        OSA.distance(a, b) <= _allowed_edits(min(len(a), len(b))) + 1
        for a, b in zip(query.split(" "), key.split(" "), strict=True)
    )


def _same_member(ix: MemberIndex, a: _Near, b: _Near) -> bool:
    return ix.members[a.member].active == ix.members[b.member].active and a.target == b.target


def _member_fits(member: Member, kind: AuthorityKind | None, deps: Sequence[str]) -> bool:
    if kind not in (None, AuthorityKind.AUTRE) and member.kind not in (None, kind):
        return False
    return not deps or member.department is None or all(d == member.department for d in deps)


# --- Deciding -----------------------------------------------------------------------------------


def match_authority(
    index: MemberIndex, authority: str, kind: AuthorityKind | None, department: str | None
) -> Match:
    """Decide which active member (if any) the typed collectivité is, with the evidence."""
    key = (authority.strip(), kind, department)
    verdict = index.cache.get(key)
    if verdict is None:
        text = without_role(authority)
        part = parse_part(text, index.ref.part_towns) if index.reference.places else None
        verdict = (part and _by_part(index, part, kind, department)) or _decide(
            index, parse_authority(text), kind, department
        )
        index.cache[key] = verdict
    typed = " ".join(authority.split())
    return Match(
        outcome=verdict.outcome,
        member=verdict.member,
        method=verdict.method,
        candidates=verdict.candidates,
        explanation=verdict.explanation.replace(_TYPED, f"« {typed} »"),
    )


def _decide(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None, department: str | None
) -> _Verdict:
    ref = ix.ref
    kind = None if kind is AuthorityKind.AUTRE else kind
    deps = tuple(dict.fromkeys(d for d in (department, *parsed.departments) if d))

    if parsed.siren and parsed.siren in ix.by_siren:
        return _by_code(ix, ix.by_siren[parsed.siren])

    found = _places_for(parsed, ref, kind, department)
    kept = _keep(found, lambda p: _fits(ref.place(p), kind, deps, parsed))
    aliases = _alias_hits(ix, parsed, kind, deps)

    if len({ref.current(p) for p in kept}) == 1 and len(kept) > 1:
        # a former name and the current name of one place: the current one
        kept = [p for p in kept if ref.successor(p) is None] or kept[:1]
    if len(kept) == 1:
        return _one_place(ix, parsed, kept[0], found, aliases, kind)
    if kept:
        if aliases:
            return _by_alias(ix, aliases)
        return _several_places(ix, kept, deps)
    if aliases:
        return _by_alias(ix, aliases)
    if found:
        return _contradiction(ix, parsed, found, kind, deps)
    if (
        parsed.fallback is not None
        and not _LOCALITY_WORDS & set(name_tokens(parsed.tail))
        and (  # the first name names something, whatever the type and département
            _places_for(parsed.fallback, ref, kind, department)
            or _alias_hits(ix, parsed.fallback, None, ())
            or _direct_name_hits(ix, parsed.fallback)
        )
    ):
        if not _names_a_place(parsed.tail, ref) or (
            parsed.after_comma and _names_a_region(parsed.tail, ref)
        ):  # "Finistère - Penn-ar-Bed"; "Rennes, Bretagne" says where Rennes is
            return _decide(ix, parsed.fallback, kind, department)
        two = _two_names(ix, parsed.fallback, parse_authority(parsed.tail), kind, department)
        if two is not None:
            return two
    by_number = _members_by_department_number(ix, parsed, kind)
    if by_number:
        return _Verdict(MatchOutcome.MATCHED, ix.members[by_number[0]], "code")
    if not any(r.tokens for r in parsed.readings[1:]) and len(parsed.readings) > 1:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            explanation=f"{_TYPED} ne nomme pas de collectivité précise.",
        )
    if parsed.empty:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            explanation=f"{_TYPED} ne nomme pas de collectivité.",
        )
    return _unknown_name(ix, parsed, kind, deps)


def _two_names(
    ix: MemberIndex,
    first: ParsedName,
    second: ParsedName,
    kind: AuthorityKind | None,
    department: str | None,
) -> _Verdict | None:
    """Two collectivités written as one answer ("Mairie de Nantes / Nantes Métropole"): to
    check when either is a member, else None; one member said twice is that member."""
    verdicts = [_decide(ix, p, kind, department) for p in (first, second)]
    rows = list(
        dict.fromkeys(
            v.member.row for v in verdicts if v.outcome is MatchOutcome.MATCHED and v.member
        )
    )
    if not rows:
        return None
    if len(rows) == 1 and all(v.member and v.member.row == rows[0] for v in verdicts):
        return verdicts[0]  # one collectivité said twice: "Ville de Paris / Mairie de Paris"
    positions = [next(i for i, m in enumerate(ix.members) if m.row == r) for r in rows]
    return _Verdict(
        MatchOutcome.AMBIGUOUS,
        candidates=tuple(_describe_member(ix, p) for p in positions),
        explanation=(
            f"{_TYPED} nomme deux collectivités ; "
            + (
                f"{_join((_member_ref(ix.members[p]) for p in positions), 'et')} : laquelle ?"
                if len(positions) > 1
                else f"l'une est {_member_ref(ix.members[positions[0]])} : est-ce elle ?"
            )
        ),
    )


def _names_a_region(text: str, ref: ReferenceIndex) -> bool:
    """Whether a name after a comma is a région, said as where the first one is."""
    found = _places_for(parse_authority(text), ref, None, None)
    return any(ref.place(p).key.startswith("REG:") for p in found)


def _names_a_place(text: str, ref: ReferenceIndex) -> bool:
    """Whether a second name given after the first ("Lyon - Villeurbanne") is a real
    collectivité: then the first alone is not the answer."""
    return bool(text) and bool(_places_for(parse_authority(text), ref, None, None))


def _members_by_department_number(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None
) -> list[int]:
    """Without the official list: "CD 29" is the active département member whose code is 29."""
    if ix.reference.places or len(parsed.departments) != 1:
        return []
    said_department = any(r.hint is Hint.DEPARTEMENT and not r.tokens for r in parsed.readings)
    if not said_department and not (parsed.empty and kind is AuthorityKind.DEPARTEMENT):
        return []
    return [
        pos
        for pos, m in enumerate(ix.members)
        if m.active and m.kind is AuthorityKind.DEPARTEMENT and m.department in parsed.departments
    ][:1]


def _by_code(ix: MemberIndex, positions: Sequence[int]) -> _Verdict:
    active = [p for p in positions if ix.members[p].active]
    if active:
        return _Verdict(MatchOutcome.MATCHED, ix.members[active[0]], "code")
    lapsed = ix.members[positions[0]]
    return _Verdict(
        MatchOutcome.NONE,
        explanation=f"{_TYPED} : le SIREN est celui de {_member_ref(lapsed)}, adhésion résiliée.",
    )


def _one_place(
    ix: MemberIndex,
    parsed: ParsedName,
    place: int,
    found: dict[int, str],
    aliases: list[int],
    kind: AuthorityKind | None,
) -> _Verdict:
    if ix.ref.successor(place) is not None:
        return _former_place(ix, place, found[place], aliases)
    active = ix.active_at.get(place, ())
    if active:
        member = ix.members[active[0]]
        others = [a for a in aliases if ix.members[a].active and ix.resolutions[a].place != place]
        if others:
            return _Verdict(
                MatchOutcome.AMBIGUOUS,
                candidates=(_describe_place(ix, place), *(_describe_member(ix, a) for a in others)),
                explanation=(
                    f"{_TYPED} désigne {_describe_place(ix, place)}, mais c'est aussi un autre nom "
                    f"de {_join(_member_ref(ix.members[a]) for a in others)} (Autres noms)."
                ),
            )
        method = "code" if found[place] == "code" else "nom"
        return _Verdict(MatchOutcome.MATCHED, member, method)
    if aliases:
        return _by_alias(ix, aliases)
    maybe = [m for m in ix.possible_at.get(place, ()) if ix.members[m].active]
    if maybe:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_member(ix, m) for m in maybe),
            explanation=(
                f"{_TYPED} désigne {_describe_place(ix, place)}, qui pourrait être "
                f"{_join(_member_ref(ix.members[m]) for m in maybe)} ; cette ligne d'Adhérents "
                "correspond à plusieurs collectivités : précisez son type et son département."
            ),
        )
    # Only the type picked in the form led here ("Brest" + Intercommunalité): when the name
    # itself designates a member, the type may be the mistake.
    rivals = (
        [q for q in found if q != place and _has_member(ix, q)] if found[place] == "type" else []
    )
    if rivals:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_place(ix, q) for q in (place, *rivals)),
            explanation=(
                f"{_TYPED} : avec le type et le département indiqués, il s'agit de "
                f"{_describe_place(ix, place)}, qui n'est pas adhérente ; mais le nom désigne "
                f"aussi {_join(_describe_place(ix, q) for q in rivals)}. Vérifiez le type "
                "de collectivité."
            ),
        )
    central = _member_epci_of_commune(ix, place)
    said_commune = any(r.hint is Hint.COMMUNE for r in parsed.readings)
    if central is not None and kind is None and not said_commune:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=(_describe_place(ix, place), _describe_place(ix, central)),
            explanation=(
                f"{_TYPED} : la commune {_describe_place(ix, place, mark=False)} n'est pas "
                f"adhérente, mais {_describe_place(ix, central, mark=False)} l'est ; le type de "
                "collectivité n'est pas indiqué."
            ),
        )
    return _Verdict(MatchOutcome.NONE, explanation=_not_member_note(ix, place, central))


def _former_place(ix: MemberIndex, place: int, how: str, aliases: list[int]) -> _Verdict:
    """The answer names a part or a former collectivité: it is the current place's."""
    now = ix.ref.current(place)
    what = _describe_place(ix, place, mark=False)
    active = ix.active_at.get(now, ())
    others = [a for a in aliases if ix.members[a].active and ix.resolutions[a].place != now]
    if active and others:  # staff gave this name to another member too
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=(
                _describe_place(ix, place),
                *(_describe_member(ix, a) for a in others),
            ),
            explanation=(
                f"{_TYPED} désigne {what}, mais c'est aussi un autre nom de "
                f"{_join(_member_ref(ix.members[a]) for a in others)} (Autres noms)."
            ),
        )
    if active and how != "type":
        return _Verdict(MatchOutcome.MATCHED, ix.members[active[0]], _former_method(ix, place))
    if aliases:
        return _by_alias(ix, aliases)
    maybe = [m for m in ix.possible_at.get(now, ()) if ix.members[m].active]
    if active or maybe:
        # only the type picked in the form led to it ("Cherbourg" + Intercommunalité), or the
        # member line fits several collectivités
        shown = [*active, *maybe]
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_member(ix, m) for m in shown),
            explanation=(
                f"{_TYPED} : avec le type indiqué, il s'agirait de {what} ; vérifiez qu'il "
                f"s'agit bien de {_join((_member_ref(ix.members[m]) for m in shown), 'ou')}."
            ),
        )
    lapsed = ix.lapsed_at.get(now, ())
    if lapsed:
        return _Verdict(
            MatchOutcome.NONE,
            explanation=(
                f"{_TYPED} : {what} ; l'adhésion de {_member_ref(ix.members[lapsed[0]])} "
                "est résiliée."
            ),
        )
    return _Verdict(
        MatchOutcome.NONE,
        explanation=f"{_TYPED} : {what}, qui n'est pas dans la liste des adhérentes.",
    )


def _former_method(ix: MemberIndex, place: int) -> str:
    """How staff read the match: `arrondissement de Paris`, `ancienne région`, `ancien EPCI`."""
    p = ix.ref.place(place)
    kind = p.key.partition(":")[0]
    if kind in ("ARM", "SRM"):
        part = "secteur" if "secteur" in name_tokens(p.name) else "arrondissement"
        return f"{part} de {ix.ref.place(ix.ref.current(place)).name}"
    if kind == "AREG":
        return "ancienne région"
    return "ancien EPCI"


def _by_part(
    ix: MemberIndex, part: PartQuery, kind: AuthorityKind | None, department: str | None
) -> _Verdict | None:
    """A numbered part of a commune ("Mairie du 9e", "Lyon 3e", "Paris Centre"): the commune.

    None when no commune with such parts fits (the answer is then read as any other): the town
    named must be one divided so, each number one of its parts, the département (form or text)
    its own; a bare number only with the town's name, and never the town's own département
    ("Marseille 13" is Marseille in the Bouches-du-Rhône).
    """
    deps = {d for d in (department, *part.departments) if d}
    fitting: list[int] = []
    named: list[int] = []  # the town named, whatever the number ("Lyon 12e": Lyon has nine)
    for city, parts in ix.ref.city_parts.items():
        place = ix.ref.place(city)
        if part.city and part.city != parts.name:
            continue
        if part.city and (part.explicit or part.word == "centre"):
            named.append(city)
        if part.word == "centre":
            fits = parts.centre
        elif part.word == "secteur":
            fits = part.numbers <= parts.sectors
        else:
            fits = part.numbers <= parts.arrondissements
        if not fits or not deps <= set(place.departments):
            continue
        if not part.explicit and any(f"{n:02d}" in place.departments for n in part.numbers):
            continue
        fitting.append(city)
    if not fitting:
        named = [c for c in named if _has_member(ix, c)]
        if not named:
            return None
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_place(ix, c) for c in named),
            explanation=(
                f"{_TYPED} : {_join((_describe_place(ix, c) for c in named), 'ou')} n'a pas "
                + (
                    "de secteur « Centre »"
                    if part.word == "centre"
                    else "d'arrondissement ou de secteur de ce numéro"
                )
                + ", ou le département indiqué diffère. Vérifiez."
            ),
        )
    kind = None if kind is AuthorityKind.AUTRE else kind
    with_member = [c for c in fitting if _has_member(ix, c)]
    if kind is not None and not any(compatible(ix.ref.place(c), kind, None) for c in fitting):
        if not with_member:
            return None
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_place(ix, c) for c in with_member),
            explanation=(
                f"{_TYPED} : une mairie d'arrondissement de "
                f"{_join((ix.ref.place(c).name for c in with_member), 'ou')}, mais le type "
                f"indiqué est « {kind.value} »."
            ),
        )
    label = "secteur" if part.word == "secteur" else "arrondissement"
    if len(fitting) == 1:
        city = fitting[0]
        method = f"{label} de {ix.ref.place(city).name}"
        active = ix.active_at.get(city, ())
        if active:
            return _Verdict(MatchOutcome.MATCHED, ix.members[active[0]], method)
        maybe = [m for m in ix.possible_at.get(city, ()) if ix.members[m].active]
        if maybe:  # a member line that fits several collectivités, this commune among them
            return _Verdict(
                MatchOutcome.AMBIGUOUS,
                candidates=tuple(_describe_member(ix, m) for m in maybe),
                explanation=(
                    f"{_TYPED} : {method}, qui pourrait être "
                    f"{_join(_member_ref(ix.members[m]) for m in maybe)}."
                ),
            )
        note = _not_member_note(ix, city, None)  # "« … » : Marseille (13), qui n'est pas …"
        return _Verdict(
            MatchOutcome.NONE, explanation=note.replace(_TYPED, f"{_TYPED} ({method})", 1)
        )
    names = _join((ix.ref.place(c).name for c in fitting), "ou")
    if with_member:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_place(ix, c) for c in fitting),
            explanation=(
                f"{_TYPED} : {label} de {names} ? La commune n'est pas indiquée "
                f"({_join((_describe_place(ix, c) for c in with_member), 'et')})."
            ),
        )
    return _Verdict(
        MatchOutcome.NONE,
        explanation=f"{_TYPED} : {label} de {names} ; aucune n'est adhérente.",
    )


def _not_member_note(ix: MemberIndex, place: int, central: int | None) -> str:
    lapsed = ix.lapsed_at.get(place, ())
    what = _describe_place(ix, place, mark=False)
    if lapsed:
        return (
            f"{_TYPED} : {what} ; l'adhésion de {_member_ref(ix.members[lapsed[0]])} est résiliée."
        )
    related = central if central is not None else _member_commune_of_epci(ix, place)
    if related is not None:
        return (
            f"{_TYPED} : {what} n'est pas adhérente ; "
            f"{_describe_place(ix, related, mark=False)} l'est."
        )
    same_name = _members_with_name(ix, place)
    if same_name:
        return (
            f"{_TYPED} : {what} n'est pas adhérente (l'adhérente du même nom est "
            f"{_join(_describe_place(ix, q, mark=False) for q in same_name)})."
        )
    return f"{_TYPED} : {what}, qui n'est pas dans la liste des adhérentes."


def _several_places(ix: MemberIndex, places: Sequence[int], deps: Sequence[str]) -> _Verdict:
    with_member = [p for p in places if _has_member(ix, p)]
    if not with_member:
        lapsed = [p for p in places if p in ix.lapsed_at]
        names = _join(_describe_place(ix, p, mark=False) for p in places[:4])
        note = f"{_TYPED} : {names} ; aucune n'est adhérente."
        if lapsed:
            note += f" (L'adhésion de {_member_ref(ix.members[ix.lapsed_at[lapsed[0]][0]])} est résiliée.)"
        return _Verdict(MatchOutcome.NONE, explanation=note)
    ordered = sorted(places, key=lambda p: (not _has_member(ix, p), -ix.ref.place(p).population))
    # Name the members and the towns that matter; villages far smaller than the largest
    # candidate are only counted ("Saint-Denis : 93 (adhérente) ou 974 ?" and 2 villages).
    largest = max(ix.ref.place(p).population for p in ordered)
    shown = [
        p
        for p in ordered
        if _has_member(ix, p) or p in ix.lapsed_at or ix.ref.place(p).population * 20 >= largest
    ][:5]
    same_name = len({(ix.ref.place(p).name, ix.ref.place(p).kind) for p in ordered}) == 1
    if same_name and ix.ref.place(shown[0]).kind is AuthorityKind.COMMUNE:
        parts = [ix.ref.place(p).departments[0] + _mark(ix, p) for p in shown]
        rest = [ix.ref.place(p).departments[0] for p in ordered if p not in shown]
        more = (
            f" Il existe aussi {_plural(len(rest), 'petite commune', 'petites communes')} "
            f"de ce nom ({', '.join(rest)})."
            if rest
            else ""
        )
    else:
        parts = [_describe_place(ix, p) for p in shown]
        more = f" (et {len(ordered) - len(shown)} autres)" if len(ordered) > len(shown) else ""
    where = "" if deps else " Le département n'est pas indiqué."
    return _Verdict(
        MatchOutcome.AMBIGUOUS,
        candidates=tuple(_describe_place(ix, p) for p in ordered[:8]),
        explanation=f"{_TYPED} : {_join(parts, 'ou')} ?{more}{where}",
    )


def _contradiction(
    ix: MemberIndex,
    parsed: ParsedName,
    found: dict[int, str],
    kind: AuthorityKind | None,
    deps: Sequence[str],
) -> _Verdict:
    """The name designates real collectivités, but none fits the type or département given."""
    forgiven = _wrong_type(ix, parsed, found, kind, deps)
    if forgiven is not None:
        return forgiven
    # a former name of a place that is itself listed tells staff nothing more
    found = {
        p: how
        for p, how in found.items()
        if ix.ref.current(p) == p or ix.ref.current(p) not in found
    }
    with_member = [p for p in found if _has_member(ix, p)]
    near_by = [p for p in found if _fits(ix.ref.place(p), None, deps, parsed)] or list(found)
    names = _join(_describe_place(ix, p) for p in near_by[:4])
    places = [ix.ref.place(p) for p in found]
    given = []
    if kind is not None and not any(compatible(p, kind, None) for p in places):
        given.append(f"le type indiqué est « {kind.value} »")
    if deps and not any(all(d in p.departments for d in deps) for p in places):
        given.append(
            "le département indiqué est " + _join(f"{d} ({department_name(d)})" for d in deps)
        )
    why = " et ".join(given) or "le type et le département indiqués ne concordent pas"
    if with_member:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_place(ix, p) for p in with_member),
            explanation=f"{_TYPED} désigne {names}, mais {why}.",
        )
    communes = [c for p in found if (c := _member_commune_of_epci(ix, p)) is not None]
    if communes and kind is AuthorityKind.COMMUNE:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_place(ix, p) for p in (*found, *communes)),
            explanation=(
                f"{_TYPED} désigne {names}, mais le type indiqué est « Commune » : "
                f"{_join((_describe_place(ix, c) for c in communes), 'ou')} ?"
            ),
        )
    if kind is AuthorityKind.INTERCOMMUNALITE:  # "Bayonne" + Intercommunalité: its EPCI?
        epcis = [
            e
            for p in found
            if (e := ix.ref.by_key.get(ix.ref.place(p).epci)) is not None and e in ix.active_at
        ]
        if epcis:
            return _Verdict(
                MatchOutcome.AMBIGUOUS,
                candidates=tuple(_describe_place(ix, p) for p in (*found, *epcis)),
                explanation=(
                    f"{_TYPED} désigne {names}, mais le type indiqué est « Intercommunalité » : "
                    f"{_join((_describe_place(ix, e) for e in epcis), 'ou')} ?"
                ),
            )
    near = _approximate(ix, parsed, kind, deps) if deps else _Approximation()
    if near.best is not None:
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=(_describe_member(ix, near.best.member),),
            explanation=(
                f"{_TYPED} désigne {names}, mais {why} ; faute de frappe pour "
                f"{_member_ref(ix.members[near.best.member])} ?"
            ),
        )
    verdict = _shortened_verdict(ix, parsed, kind, deps, f"{_TYPED} désigne {names}, mais {why} ;")
    if verdict is not None:
        return verdict
    return _Verdict(
        MatchOutcome.NONE,
        explanation=f"{_TYPED} désigne {names}, qui n'est pas adhérente ({why}).",
    )


def _wrong_type(
    ix: MemberIndex,
    parsed: ParsedName,
    found: dict[int, str],
    kind: AuthorityKind | None,
    deps: Sequence[str],
) -> _Verdict | None:
    """A member named without doubt, with another type picked in the form: the name wins.

    People often pick the wrong line of that question: "Ville de Marseille" or "Rouen" with the
    type Région is Marseille or Rouen. Not where the confusion is a real one, though:
    - a commune and the intercommunalité named after it ("Brest" or "Ville de Brest" given as
      an intercommunalité, "Limoges Métropole" given as a commune): the other one may be meant;
    - a département, région or intercommunalité named bare, without its designator ("Gironde"
      as a commune or a région, "Bretagne" as a département): it may be where the person's
      collectivité is;
    - "Lyon" as a département: the Métropole de Lyon is the département there.
    """
    if kind is None:
        return None
    fitting = [p for p in found if _fits(ix.ref.place(p), None, deps, parsed)]
    if len(fitting) != 1 or fitting[0] not in ix.active_at:
        return None
    p = fitting[0]
    place = ix.ref.place(p)
    said = any(
        r.hint is not None and compatible(place, HINT_KINDS[r.hint], None) for r in parsed.readings
    )
    if place.kind is AuthorityKind.COMMUNE:
        epci = ix.ref.by_key.get(place.epci)
        if kind is AuthorityKind.INTERCOMMUNALITE and epci is not None:
            if _named_after(ix, epci, place):
                return None
        if (
            kind is AuthorityKind.DEPARTEMENT
            and epci is not None
            and AuthorityKind.DEPARTEMENT in ix.ref.place(epci).kinds
        ):
            return None
    elif not said:
        return None  # "Gironde", "Bretagne", "Cap Excellence": maybe where the person's is
    elif AuthorityKind.INTERCOMMUNALITE in place.kinds and kind is AuthorityKind.COMMUNE:
        if any(_named_after(ix, p, ix.ref.place(c)) for c in _communes_in_name(ix, p)):
            return None
    return _Verdict(MatchOutcome.MATCHED, ix.members[ix.active_at[p][0]], "nom (type ignoré)")


def _named_after(ix: MemberIndex, epci: int, commune: Place) -> bool:
    """Whether the EPCI's name contains the commune's name (Brest Métropole and Brest)."""
    return set(_loose_words(commune.name)) <= set(_loose_words(ix.ref.place(epci).name))


def _communes_in_name(ix: MemberIndex, epci: int) -> list[int]:
    """Communes whose name an EPCI's name contains ("Limoges" in Limoges Métropole)."""
    words = _loose_words(ix.ref.place(epci).name)
    out: list[int] = []
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            reading = Reading(None, tuple(words[i : i + size]))
            official, _ = ix.ref.lookup(Hint.COMMUNE, reading)
            out += [c for c in official if ix.ref.place(c).epci == ix.ref.place(epci).key]
    return out


def _unknown_name(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None, deps: Sequence[str]
) -> _Verdict:
    """The name is no real collectivité: a member outside the official list, or a typo."""
    direct = _direct_name_hits(ix, parsed)
    if direct:
        fitting = [m for m in direct if _member_fits(ix.members[m], kind, deps)]
        active = [m for m in fitting if ix.members[m].active]
        if len(active) == 1 or (active and len({ix.members[m].name for m in active}) == 1):
            return _Verdict(MatchOutcome.MATCHED, ix.members[active[0]], "nom")
        placed = [
            m
            for m in direct
            if ix.members[m].active
            and _member_fits(ix.members[m], None, deps)
            and kind
            and {kind, ix.members[m].kind}
            != {AuthorityKind.COMMUNE, AuthorityKind.INTERCOMMUNALITE}
        ]
        if not active and len({ix.members[m].name for m in placed}) == 1:
            return _Verdict(MatchOutcome.MATCHED, ix.members[placed[0]], "nom (type ignoré)")
        if active or (direct and not fitting):
            shown = active or direct
            return _Verdict(
                MatchOutcome.AMBIGUOUS,
                candidates=tuple(_describe_member(ix, m) for m in shown),
                explanation=(
                    f"{_TYPED} correspond à {_join((_member_ref(ix.members[m]) for m in shown), 'ou')}"
                    + ("" if active else ", mais le type ou le département indiqué diffère")
                    + "."
                ),
            )
        lapsed = ix.members[fitting[0]]
        return _Verdict(
            MatchOutcome.NONE,
            explanation=f"{_TYPED} : l'adhésion de {_member_ref(lapsed)} est résiliée.",
        )
    near = _approximate(ix, parsed, kind, deps)
    if near.best is not None:
        member = ix.members[near.best.member]
        score = f"approché {round(near.best.ratio)} %"
        if near.clear and ix.reference.places:
            if member.active:
                return _Verdict(MatchOutcome.MATCHED, member, score)
            return _Verdict(
                MatchOutcome.NONE,
                explanation=(
                    f"{_TYPED} ressemble à {_member_ref(member)}, dont l'adhésion est résiliée."
                ),
            )
        said = [r[0] for r in near.rivals]
        if not ix.reference.places:
            return _Verdict(
                MatchOutcome.AMBIGUOUS,
                candidates=(_describe_member(ix, near.best.member),),
                explanation=(
                    f"{_TYPED} ressemble à {_member_ref(member)} ({score}) ; sans la liste "
                    "officielle des collectivités, une faute de frappe n'est jamais acceptée "
                    "d'office."
                ),
            )
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=(
                _describe_member(ix, near.best.member),
                *(r[1] for r in near.rivals if r[1]),
            ),
            explanation=(
                f"{_TYPED} ressemble à {_member_ref(member)} ({score})"
                + (f", mais aussi à {_join(said, 'ou')}" if said else "")
                + " ?"
            ),
        )
    verdict = (
        _shortened_verdict(ix, parsed, kind, deps, f"{_TYPED} :")
        or _usual_name_verdict(ix, parsed, kind, deps)
        or _locality_verdict(ix, parsed, kind, deps)
        or _acronym_verdict(ix, parsed, kind, deps)
    )
    if verdict is not None:
        return verdict
    if near.suggestions:
        alike = near.suggestions[:3]
        return _Verdict(
            MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe_member(ix, m) for m in alike),
            explanation=(
                f"{_TYPED} n'est pas un nom de collectivité connu ; il ressemble à "
                f"{_join((_member_ref(ix.members[m]) for m in alike), 'ou')}."
            ),
        )
    return _Verdict(
        MatchOutcome.NONE,
        explanation=f"{_TYPED} ne correspond à aucune adhérente.",
    )


# Words that join a commune's name to what a longer usual name adds: "Valence-sur-Rhône",
# "Chaumont-en-Bassigny", "Hyères-les-Palmiers", "Le Havre-de-Grâce".
_JOINS = frozenset({"sur", "sous", "en", "les", "lez", "la", "le", "de", "du", "des", "d", "l"})


def _usual_name_verdict(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None, deps: Sequence[str]
) -> _Verdict | None:
    """A longer or older usual name of a member commune, which the COG does not carry: the
    official name followed by "-sur-…", "-en-…", "-les-…" ("Hyères-les-Palmiers"). The whole
    name is no real collectivité (else it would have been found), nor a typo of one
    ("Rennes-le-Chââteau" is Rennes-le-Château, not Rennes). Matched when the département is
    given and one commune only bears the shorter name there; to check without a département
    (a locality elsewhere may bear the longer name); None when no member bears it."""
    if kind not in (None, AuthorityKind.COMMUNE):
        return None
    ref = ix.ref
    for reading in _core_readings(parsed):
        if reading.hint not in (None, Hint.COMMUNE):
            continue
        tokens = reading.tokens
        for cut in range(len(tokens) - 2, 0, -1):
            if tokens[cut] not in _JOINS or tokens[cut + 1] in STOPWORDS:
                continue
            base = Reading(Hint.COMMUNE, tokens[:cut])
            if len(base.loose) < 4:
                continue
            official, _ = ref.lookup(Hint.COMMUNE, base)
            fitting = [p for p in official if _fits(ref.place(p), None, deps, parsed)]
            if not fitting:
                continue
            members = [p for p in fitting if _has_member(ix, p)]
            edits = _allowed_edits(len(reading.loose))
            if not members or _reference_near(ref, reading.loose, deps, edits, reading.hint):
                return None
            if deps and len(fitting) == 1 and fitting[0] in ix.active_at:
                member = ix.members[ix.active_at[fitting[0]][0]]
                return _Verdict(MatchOutcome.MATCHED, member, "nom d'usage")
            shown = members + [p for p in fitting if p not in members][:3]
            return _Verdict(
                MatchOutcome.AMBIGUOUS,
                candidates=tuple(_describe_place(ix, p) for p in shown),
                explanation=(
                    f"{_TYPED} n'est pas un nom officiel ; nom d'usage de "
                    f"{_join((_describe_place(ix, p) for p in shown), 'ou')} ?"
                    + ("" if deps else " Le département n'est pas indiqué.")
                ),
            )
    return None


# Words that say the answer is a part of a commune without a council of its own.
_LOCALITY_WORDS = frozenset({"quartier", "quartiers", "hameau", "lieu", "lieudit", "village"})


def _locality_verdict(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None, deps: Sequence[str]
) -> _Verdict | None:
    """A quartier, hameau or lieu-dit written with its commune ("Quartier de Bellevue,
    Nantes"): when a member commune is named in it, to check with that candidate (the
    quartier's name may be a commune elsewhere, so never matched outright). Without any
    commune named, the département given must have one member commune only ("Quartier
    Montmartre", 75): to check with it."""
    words = parsed.literal.tokens + name_tokens(parsed.extra)
    if not _LOCALITY_WORDS & set(words) or kind not in (None, AuthorityKind.COMMUNE):
        return None
    ref = ix.ref
    found: dict[int, None] = {}
    named = False  # some real commune of the département is named in the answer
    for size in (4, 3, 2, 1):
        for start in range(len(words) - size + 1):
            part = words[start : start + size]
            if part[0] in STOPWORDS or part[-1] in STOPWORDS or _LOCALITY_WORDS & set(part):
                continue
            official, _ = ref.lookup(Hint.COMMUNE, Reading(Hint.COMMUNE, part))
            for p in official:
                if _fits(ref.place(p), None, deps, parsed):
                    named = True
                    if p in ix.active_at:
                        found.setdefault(p, None)
    if not found and deps and not named:
        in_department = [
            p
            for p in ix.active_at
            if ref.place(p).kind is AuthorityKind.COMMUNE
            and _fits(ref.place(p), None, deps, parsed)
        ]
        if len(in_department) == 1:
            found[in_department[0]] = None
    if not found:
        return None
    return _Verdict(
        MatchOutcome.AMBIGUOUS,
        candidates=tuple(_describe_place(ix, p) for p in found),
        explanation=(
            f"{_TYPED} : un quartier ou un lieu-dit de "
            f"{_join((_describe_place(ix, p) for p in found), 'ou')} ?"
        ),
    )


def _acronym_verdict(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None, deps: Sequence[str]
) -> _Verdict | None:
    """An acronym of a member's name ("CAPB"), known to no official list: to check with that
    member, never matched outright (other bodies may share the letters)."""
    words = parsed.literal.tokens
    if len(words) != 1 or not words[0].isalpha():
        return None
    found = [m for m in ix.acronyms.get(words[0], ()) if _member_fits(ix.members[m], kind, deps)]
    if not found:
        return None
    return _Verdict(
        MatchOutcome.AMBIGUOUS,
        candidates=tuple(_describe_member(ix, m) for m in found),
        explanation=(
            f"{_TYPED} : sigle de {_join((_member_ref(ix.members[m]) for m in found), 'ou de')} ?"
        ),
    )


def _direct_name_hits(ix: MemberIndex, parsed: ParsedName) -> list[int]:
    """Members outside the official list whose own name reads like the answer.

    "Mairie de X" meets a member named "X" or "Ville de X" when the member is (or may be) a
    commune, and likewise for départements and régions; an intercommunalité's core name never
    meets a bare name ("Métropole de Lyon" is not "Lyon").
    """
    hits: dict[int, None] = {}
    for hint, loose in _reading_keys(parsed):
        for pos in ix.name_keys.get((hint, loose), ()):
            hits.setdefault(pos, None)
        if hint is Hint.INTERCO:
            continue
        others = [None] if hint is not None else [Hint.COMMUNE, Hint.DEPARTEMENT, Hint.REGION]
        for other in others:
            for pos in ix.name_keys.get((other, loose), ()):
                member_kind = ix.members[pos].kind
                said = hint or other
                if said is None or member_kind in (None, AuthorityKind.AUTRE, HINT_KINDS[said]):
                    hits.setdefault(pos, None)
    return list(hits)


def _alias_hits(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None, deps: Sequence[str]
) -> list[int]:
    """Members one of whose `Autres noms` reads like the answer (type and département fitting);
    lapsed ones too, so the explanation can say so."""
    hits: dict[int, None] = {}
    for hint, loose in _reading_keys(parsed):
        tries: list[tuple[Key, AuthorityKind | None]] = [((hint, loose), kind)]
        if hint is not None:  # "Ville d'Évry": the alias "Évry", if that member may be a commune
            tries.append(((None, loose), kind or HINT_KINDS[hint]))
        for key, fit in tries:
            for pos in ix.alias_keys.get(key, ()):
                member = ix.members[pos]
                place = ix.resolutions[pos].place
                if place is not None:
                    if not _fits(ix.ref.place(place), fit, deps, parsed):
                        continue
                elif not _member_fits(member, fit, deps):
                    continue
                hits.setdefault(pos, None)
    return list(hits)


def _by_alias(ix: MemberIndex, positions: Sequence[int]) -> _Verdict:
    active = [p for p in positions if ix.members[p].active]
    if not active:
        return _Verdict(
            MatchOutcome.NONE,
            explanation=(
                f"{_TYPED} est un autre nom de {_member_ref(ix.members[positions[0]])}, "
                "dont l'adhésion est résiliée."
            ),
        )
    targets = {
        ix.resolutions[p].place if ix.resolutions[p].place is not None else -p - 1 for p in active
    }
    if len(targets) == 1:
        return _Verdict(MatchOutcome.MATCHED, ix.members[active[0]], "alias")
    return _Verdict(
        MatchOutcome.AMBIGUOUS,
        candidates=tuple(_describe_member(ix, p) for p in active),
        explanation=(
            f"{_TYPED} figure dans les Autres noms de plusieurs adhérentes : "
            f"{_join((_member_ref(ix.members[p]) for p in active), 'et')}."
        ),
    )


def _shortened_verdict(
    ix: MemberIndex,
    parsed: ParsedName,
    kind: AuthorityKind | None,
    deps: Sequence[str],
    lead: str,
) -> _Verdict | None:
    """The typed words begin a member's name: matched when it is the only such place around,
    else ambiguous with `lead` opening the French explanation; None when no name begins so."""
    shortened = _shortened(ix, parsed, kind, deps)
    if not shortened:
        return None
    if _only_place_starting_so(ix, parsed, kind, deps, shortened):
        return _Verdict(MatchOutcome.MATCHED, ix.members[shortened[0]], "nom abrégé")
    return _Verdict(
        MatchOutcome.AMBIGUOUS,
        candidates=tuple(_describe_member(ix, m) for m in shortened),
        explanation=(
            f"{lead} nom abrégé de {_join((_member_ref(ix.members[m]) for m in shortened), 'ou')} ?"
        ),
    )


def _shortened(
    ix: MemberIndex, parsed: ParsedName, kind: AuthorityKind | None, deps: Sequence[str]
) -> list[int]:
    """Active members whose name starts with the typed words: "Aix" for Aix-en-Provence."""
    out: dict[int, None] = {}
    for reading in parsed.readings:
        if not reading.tokens or len(reading.loose) < 3:
            continue
        prefix = reading.loose + " "
        for key, pos in ix.prefix_keys.get(reading.loose.split(" ", 1)[0], ()):
            if key.startswith(prefix) and ix.members[pos].active:
                place = ix.resolutions[pos].place
                if place is not None and _fits(ix.ref.place(place), kind, deps, parsed):
                    out.setdefault(pos, None)
    return list(out)[:4]


def _only_place_starting_so(
    ix: MemberIndex,
    parsed: ParsedName,
    kind: AuthorityKind | None,
    deps: Sequence[str],
    shortened: Sequence[int],
) -> bool:
    """With a département given, "Cherbourg" (50) can only be Cherbourg-en-Cotentin: true when
    one real place of that département, the member's, has a name starting with the typed words."""
    if not deps:
        return False
    places = {ix.resolutions[m].place for m in shortened}
    if len(places) != 1:
        return False
    keys, idx = ix.ref.fuzzy_choices(deps[0], False)
    starting: set[int] = set()
    for reading in parsed.readings:
        if not reading.tokens or len(reading.loose) < 3:
            continue
        prefix = reading.loose + " "
        hint_kind = HINT_KINDS.get(reading.hint) if reading.hint else None
        for key, place in zip(keys, idx, strict=True):
            p = ix.ref.place(place)
            if key.startswith(prefix) and _fits(p, kind, deps, parsed):
                if hint_kind is None or compatible(p, hint_kind, None):
                    starting.add(place)
    return starting == places


def _has_member(ix: MemberIndex, place: int) -> bool:
    place = ix.ref.current(place)
    if place in ix.active_at:
        return True
    return any(ix.members[m].active for m in ix.possible_at.get(place, ()))


def _member_epci_of_commune(ix: MemberIndex, place: int) -> int | None:
    """For a commune: its EPCI when that EPCI is a member and bears the commune's name."""
    p = ix.ref.place(place)
    if p.kind is not AuthorityKind.COMMUNE or not p.epci:
        return None
    epci = ix.ref.by_key.get(p.epci)
    if epci is None or epci not in ix.active_at:
        return None
    words = set(_loose_words(p.name))
    return epci if words <= set(_loose_words(ix.ref.place(epci).name)) else None


def _member_commune_of_epci(ix: MemberIndex, place: int) -> int | None:
    """For an EPCI: the member commune whose name it bears (Ville de Lyon for the Métropole)."""
    p = ix.ref.place(place)
    if AuthorityKind.INTERCOMMUNALITE not in p.kinds:
        return None
    epci_words = set(_loose_words(p.name))
    for member_place in ix.communes_of_epci.get(p.key, ()):
        if set(_loose_words(ix.ref.place(member_place).name)) <= epci_words:
            return member_place
    return None


def _members_with_name(ix: MemberIndex, place: int) -> list[int]:
    """Member places bearing the same name as this non-member (homonyms elsewhere)."""
    return [q for q in ix.places_named.get(ix.ref.place(place).name, ()) if q != place][:3]


def _loose_words(name: str) -> list[str]:
    return [w for w in name_tokens(name) if w not in STOPWORDS]


# --- Words for staff ----------------------------------------------------------------------------


def _mark(ix: MemberIndex, place: int) -> str:
    if place in ix.active_at:
        return " (adhérente)"
    if any(ix.members[m].active for m in ix.possible_at.get(place, ())):
        return " (peut-être adhérente)"
    if place in ix.lapsed_at:
        return " (adhésion résiliée)"
    return ""


def _describe_place(ix: MemberIndex, place: int, *, mark: bool = True) -> str:
    p = ix.ref.place(place)
    deps = ", ".join(p.departments[:3]) + ("…" if len(p.departments) > 3 else "")
    now = ix.ref.current(place)
    if now != place:  # a part or a former collectivité: what it is today
        label = {"AREG": "ancienne région", "AEPCI": "ancien EPCI"}.get(
            p.key.partition(":")[0], "arrondissement"
        )
        text = f"{p.name} ({label}, aujourd'hui {ix.ref.place(now).name})"
        if label == "arrondissement":
            text = f"{p.name} ({deps})"
        suffix = _mark(ix, now) if mark else ""
        return text[:-1] + ", " + suffix.strip(" ()") + ")" if suffix else text
    if p.key.startswith("REG:") or (p.kind is AuthorityKind.REGION):
        text = f"{p.name} (région)"
    elif p.kind is AuthorityKind.DEPARTEMENT:
        text = f"{p.name} (département {deps})"
    else:
        text = f"{p.name} ({deps})"
    if not mark:
        return text
    suffix = _mark(ix, place)
    return text[:-1] + ", " + suffix.strip(" ()") + ")" if suffix else text


def _describe_member(ix: MemberIndex, pos: int) -> str:
    member = ix.members[pos]
    where = f" ({member.department})" if member.department else ""
    state = "" if member.active else ", adhésion résiliée"
    return f"{member.name}{where} — Adhérents ligne {member.row}{state}"


def _member_ref(member: Member) -> str:
    where = f", {member.department}" if member.department else ""
    return f"l'adhérente « {member.name} » (ligne {member.row}{where})"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _join(parts: Iterable[str], last: str = "et") -> str:
    items = [p for p in parts if p]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]
