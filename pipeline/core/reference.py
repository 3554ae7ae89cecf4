"""The official list of French collectivités (COG, INSEE) as plain data, and how names are read.

`Reference` holds every commune, EPCI (intercommunalité), département-level and région-level
collectivité as a `Place`. An adapter loads it (`pipeline.adapters.reference.load_reference`);
the core only reads it. `ReferenceIndex` turns it into lookups by normalized name and code, and
`parse_authority` turns what a person typed ("Mairie de St-Étienne", "CD 29", "3M") into the
readings those lookups understand. Nothing here does I/O.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property, lru_cache
from typing import NamedTuple, overload

from rapidfuzz.distance import OSA

from pipeline.core.geo import DEPARTMENTS, department_code
from pipeline.core.model import AuthorityKind
from pipeline.core.text import ascii_fold


@dataclass(frozen=True, slots=True)
class Place:
    """One real collectivité: a commune, an EPCI, a département or a région (or a merger of both).

    `key` is stable and unique (`COM:29019`, `EPCI:242900314`, `DEP:29`, `REG:53`); `kinds` are
    the form's types a person of this collectivité can pick (Paris is a commune and a département);
    `names` are official names, `aliases` former names (communes déléguées) and usual nicknames.
    """

    key: str
    name: str
    kinds: tuple[AuthorityKind, ...]
    departments: tuple[str, ...]
    population: int = 0
    siren: str = ""
    insee: str = ""
    names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    epci: str = ""  # for a commune: the key of its EPCI

    @property
    def kind(self) -> AuthorityKind:
        return self.kinds[0]


class PlaceColumns(NamedTuple):
    """The fields of many places, one tuple per field, in `Place`'s order."""

    keys: tuple[str, ...]
    names: tuple[str, ...]
    kinds: tuple[tuple[AuthorityKind, ...], ...]
    departments: tuple[tuple[str, ...], ...]
    populations: tuple[int, ...]
    sirens: tuple[str, ...]
    insees: tuple[str, ...]
    other_names: tuple[tuple[str, ...], ...]  # `Place.names`
    aliases: tuple[tuple[str, ...], ...]
    epcis: tuple[str, ...]


class PlaceTable(Sequence[Place]):
    """Places kept as columns of plain values, each made a `Place` when first read.

    Making the 36,000 places of the COG as objects takes a tenth of a second; a run reads a few
    hundred of them. Equal to another table, or to a tuple, holding the same places in order.
    """

    __slots__ = ("_made", "columns")

    def __init__(self, columns: PlaceColumns) -> None:
        count = len(columns.keys)
        if any(len(column) != count for column in columns):
            raise ValueError("place columns of different lengths")
        self.columns = columns
        self._made: list[Place | None] = [None] * count

    @classmethod
    def of(cls, places: Iterable[Place]) -> PlaceTable:
        """The table of these places (kept as they are: reading one gives the same object)."""
        made = list(places)
        table = cls(
            PlaceColumns(
                tuple(p.key for p in made),
                tuple(p.name for p in made),
                tuple(p.kinds for p in made),
                tuple(p.departments for p in made),
                tuple(p.population for p in made),
                tuple(p.siren for p in made),
                tuple(p.insee for p in made),
                tuple(p.names for p in made),
                tuple(p.aliases for p in made),
                tuple(p.epci for p in made),
            )
        )
        table._made[:] = made
        return table

    def __len__(self) -> int:
        return len(self._made)

    @overload
    def __getitem__(self, i: int) -> Place: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Place, ...]: ...

    def __getitem__(self, i: int | slice) -> Place | tuple[Place, ...]:
        if isinstance(i, slice):
            return tuple(map(self.__getitem__, range(*i.indices(len(self)))))
        place = self._made[i]
        if place is None:
            c = self.columns
            place = self._made[i] = Place(
                key=c.keys[i],
                name=c.names[i],
                kinds=c.kinds[i],
                departments=c.departments[i],
                population=c.populations[i],
                siren=c.sirens[i],
                insee=c.insees[i],
                names=c.other_names[i],
                aliases=c.aliases[i],
                epci=c.epcis[i],
            )
        return place

    def __iter__(self) -> Iterator[Place]:
        return map(self.__getitem__, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PlaceTable):
            return self.columns == other.columns
        if isinstance(other, tuple):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __repr__(self) -> str:
        return f"PlaceTable({len(self)} places)"


@dataclass(frozen=True, eq=False)
class Reference:
    """Every known collectivité, as loaded by an adapter. Compared and hashed by identity.

    `state`, when given, is `index_state(places)` as computed earlier (the adapter keeps it with
    the places it caches): the index is then ready in milliseconds instead of reading every name.
    """

    places: Sequence[Place]
    source: str = ""
    state: IndexState | None = field(default=None, repr=False)

    @cached_property
    def index(self) -> ReferenceIndex:
        """Name and code lookups, built once per loaded reference."""
        return ReferenceIndex(self.places, self.state)


# --- Normalization ------------------------------------------------------------------------------

_ABBREVIATIONS = {
    "st": "saint",
    "ste": "sainte",
    "sts": "saints",
    "stes": "saintes",
    "mt": "mont",
    "gd": "grand",
    "gde": "grande",
    "cte": "communaute",
    "cnes": "communes",
    "agglo": "agglomeration",
    "dept": "departement",
    "dpt": "departement",
    "depart": "departement",
}
# Articles and linking words: dropped from the loose key, so "Le Havre", "Havre" and
# "Mairie du Havre" meet, and "Saint-Étienne-du-Rouvray" stays "saint etienne rouvray".
STOPWORDS = frozenset(
    {"le", "la", "les", "l", "de", "du", "des", "d", "et", "en", "a", "au", "aux"}
)
_ARTICLES = frozenset({"le", "la", "les", "l"})
_LINKS = frozenset({"de", "du", "des", "d"})

_SUR = re.compile(r"\bs/\s*")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def name_tokens(text: str) -> tuple[str, ...]:
    """Words of a collectivité name: folded, punctuation out, `St`/`Ste` spelled out.

    `Mairie de St-Étienne` -> (mairie, de, saint, etienne); `CD29` -> (cd, 29).
    """
    folded = ascii_fold(text)
    if "&" in folded:
        folded = folded.replace("&", " et ")
    if "/" in folded:
        folded = _SUR.sub(" sur ", folded)
    if not folded.isalpha():
        folded = _LETTER_DIGIT.sub(" ", folded)
    words = _NON_ALNUM.sub(" ", folded).split()
    return tuple([_ABBREVIATIONS.get(w, w) for w in words])


def strict_key(tokens: Sequence[str]) -> str:
    """Every word, articles included: tells "Le Lamentin" (972) from "Lamentin" (971)."""
    return " ".join(tokens)


def loose_key(tokens: Sequence[str]) -> str:
    """The words that carry the name: articles and linking words out."""
    kept = [t for t in tokens if t not in STOPWORDS]
    return " ".join(kept) if kept else " ".join(tokens)


def name_key(text: str) -> str:
    """The loose key of a name as typed: `Mairie du Havre` -> `mairie havre`."""
    return loose_key(name_tokens(text))


# --- Reading what people type -------------------------------------------------------------------


class Hint(Enum):
    """What a designator word says the rest of the name is."""

    COMMUNE = "commune"
    DEPARTEMENT = "departement"
    REGION = "region"
    INTERCO = "interco"


HINT_KINDS: dict[Hint, AuthorityKind] = {
    Hint.COMMUNE: AuthorityKind.COMMUNE,
    Hint.DEPARTEMENT: AuthorityKind.DEPARTEMENT,
    Hint.REGION: AuthorityKind.REGION,
    Hint.INTERCO: AuthorityKind.INTERCOMMUNALITE,
}


def _designators(hint: Hint, *phrases: str) -> list[tuple[tuple[str, ...], Hint]]:
    return [(tuple(p.split()), hint) for p in phrases]


# Longest first: "communaute de communes" before "communaute".
_PREFIXES = sorted(
    _designators(
        Hint.INTERCO,
        "communaute de communes",
        "communaute des communes",
        "communaute communes",
        "communaute d agglomeration",
        "communaute de l agglomeration",
        "communaute de agglomeration",
        "communaute agglomeration",
        "communaute urbaine",
        "communaute",
        "eurometropole",
        "metropole",
        "agglomeration",
        "cc",
        "ca",
        "cu",
        "cda",
        "cdc",
        "comcom",
        "com com",
        "intercommunalite",
        "interco",
        "epci",
        "conseil communautaire",
        "conseil metropolitain",
        "conseiller communautaire",
        "conseillere communautaire",
        "conseiller metropolitain",
        "conseillere metropolitaine",
    )
    + _designators(
        Hint.COMMUNE,
        "hotel de ville",
        "ville",
        "mairie",
        "commune",
        "municipalite",
        "conseil municipal",
        # The role, typed where the collectivité was asked: "Adjointe au maire de Nantes".
        "conseiller municipal",
        "conseillere municipale",
        "adjoint au maire",
        "adjointe au maire",
        "maire adjoint",
        "maire adjointe",
        "premier adjoint",
        "premiere adjointe",
        "maire",
    )
    + _designators(
        Hint.DEPARTEMENT,
        "conseil departemental",
        "conseil departement",
        "conseil general",
        "conseiller departemental",
        "conseillere departementale",
        "departement",
        "cd",
        "cg",
        "collectivite departementale",
    )
    + _designators(
        Hint.REGION,
        "conseil regional",
        "conseil region",
        "region",
        "cr",
        "collectivite regionale",
        "conseiller regional",
        "conseillere regionale",
    ),
    key=lambda item: -len(item[0]),
)
_SUFFIXES = sorted(
    _designators(
        Hint.INTERCO,
        "metropole",
        "eurometropole",
        "agglomeration",
        "communaute urbaine",
        "communaute",
    )
    + _designators(Hint.DEPARTEMENT, "departement")
    + _designators(Hint.REGION, "region"),
    key=lambda item: -len(item[0]),
)


@dataclass(frozen=True, slots=True)
class Reading:
    """One way to read the typed name: an optional designator hint and the words left."""

    hint: Hint | None
    tokens: tuple[str, ...]
    loose: str = field(init=False, compare=False)
    strict: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loose", loose_key(self.tokens))
        object.__setattr__(self, "strict", strict_key(self.tokens))


@dataclass(frozen=True, slots=True)
class ParsedName:
    """What a typed collectivité says: readings of its words, and the codes it contains."""

    readings: tuple[Reading, ...]
    departments: tuple[str, ...] = ()  # département codes typed in the text: "CD 29", "(974)"
    siren: str = ""
    insee: str = ""
    prefixed: bool = False  # a designator opens the name ("Mairie de …"), not only ends it
    # "Saint-Denis de La Réunion": the same name read as "Saint-Denis" in 974, to try when the
    # whole name designates nothing ("Saint-Laurent-du-Var" is a commune, not Saint-Laurent, 83).
    fallback: ParsedName | None = None

    @property
    def literal(self) -> Reading:
        return self.readings[0]

    @property
    def empty(self) -> bool:
        return not self.literal.tokens


_CODE_WORDS = frozenset({"siren", "siret", "insee", "code", "n", "no", "num", "numero"})


def _department_of_number(word: str) -> str | None:
    if word in ("2a", "2b"):
        return word.upper()
    if not word.isdigit():
        return None
    if len(word) <= 2:
        code = word.zfill(2)
    elif len(word) == 3:
        code = word
    elif len(word) == 5:  # a postcode (or an INSEE code): 29200 -> 29, 97400 -> 974
        code = word[:3] if word.startswith("97") else word[:2]
    else:
        return None
    return code if code in DEPARTMENTS else None


_PREFIX_FIRST_WORDS = frozenset(words[0] for words, _ in _PREFIXES)
_SUFFIX_LAST_WORDS = frozenset(words[-1] for words, _ in _SUFFIXES)


@lru_cache(maxsize=8192)
def _designator_firsts(word: str, more: bool) -> frozenset[str]:
    """The first words of designators that this typed word is (or is one typo away from)."""
    if word in _PREFIX_FIRST_WORDS:
        return frozenset({word})
    if len(word) < 4:
        return frozenset()
    return frozenset(w for w in _PREFIX_FIRST_WORDS if _same_word(word, w, more))


def _same_word(typed: str, word: str, more: bool) -> bool:
    """Whether a typed word is this designator word, allowing one typo in words of five letters
    or more ("Mairi", "Comunauté", "Départementl") when the typed word is long enough not to be
    a name itself ("Lille" is not a misspelt "Ville"): six letters, or four before "de"."""
    if typed == word:
        return True
    if word in _LINKS:
        return _near_link(typed, True)
    if len(word) < 5 or abs(len(word) - len(typed)) > 1:
        return False
    return (len(typed) >= 6 or (len(typed) >= 4 and more)) and OSA.distance(typed, word) <= 1


def _near_link(word: str, more: bool) -> bool:
    """A linking word, or one typo away from one when a name follows ("dee", "duu")."""
    if word in _LINKS or (more and word in ("a", "au", "aux")):
        return True
    return more and len(word) <= 3 and any(OSA.distance(word, link) <= 1 for link in ("de", "du"))


def _match_words(tokens: Sequence[str], words: Sequence[str]) -> bool:
    if len(tokens) < len(words):
        return False
    for i, word in enumerate(words):
        more = i + 1 < len(tokens) and _near_link(tokens[i + 1], i + 2 < len(tokens))
        if not _same_word(tokens[i], word, more):
            return False
    return True


def _strip_prefix(tokens: tuple[str, ...]) -> tuple[Hint, tuple[str, ...]] | None:
    start = 0
    while start < len(tokens) and tokens[start] in _ARTICLES:
        start += 1
    if start >= len(tokens):
        return None
    more = start + 1 < len(tokens) and _near_link(tokens[start + 1], start + 2 < len(tokens))
    firsts = _designator_firsts(tokens[start], more)
    if not firsts:
        return None
    for words, hint in _PREFIXES:
        if words[0] not in firsts:
            continue
        if _match_words(tokens[start:], words):
            rest = tokens[start + len(words) :]
            if rest and _near_link(rest[0], len(rest) > 1):
                rest = rest[1:]
            return hint, rest
    return None


def _strip_suffix(
    tokens: tuple[str, ...], hint: Hint | None
) -> tuple[Hint, tuple[str, ...]] | None:
    if not tokens or (tokens[-1] not in _SUFFIX_LAST_WORDS and len(tokens[-1]) < 7):
        return None
    for words, suffix_hint in _SUFFIXES:
        if hint is not None and suffix_hint is not hint:
            continue
        n = len(words)
        if len(tokens) > n and all(
            t == w or (len(t) >= 7 and _same_word(t, w, False))
            for t, w in zip(tokens[-n:], words, strict=True)
        ):
            return suffix_hint, tokens[:-n]
    return None


_TRAILER = re.compile(
    r"^(?P<name>.*?\S)\s*(?:\((?P<paren>[^()]*)\)|[,/]\s*(?P<comma>[^,/]+)|\s[-–]\s*(?P<dash>[^-–]+))\s*$"
)


# A trailing parenthesis with a letter in it (not a SIREN): an acronym, a région, a comment.
_EXTRA = re.compile(r"^(?P<name>.*\S)\s*\((?=[^)]*[^\W\d_])(?P<extra>[^()]*)\)\s*$")


def _split_department(text: str) -> tuple[str, str]:
    """A département written after the name: `Saint-Pierre (La Réunion)`, `Valence, Drôme`,
    `Bastia - 2B` -> the name and the code; anything else is left as it is."""
    found = _TRAILER.match(text)
    if found is None:
        return text, ""
    tail = found.group("paren") or found.group("comma") or found.group("dash") or ""
    code = department_code(tail)
    if code is None:
        return text, ""
    return found.group("name"), code


_IN_DEPARTMENT = re.compile(
    r"^(?P<name>.*\S)\s+(?:de\s+la|de\s+l'|de\s+l’|du|des|de|d'|d’|en|à|a)\s*(?P<where>[^\s].*)$",
    re.IGNORECASE,
)


def _trailing_department(text: str) -> tuple[str, str] | None:
    found = _IN_DEPARTMENT.match(text.strip())
    if found is None:
        return None
    code = department_code(found.group("where"))
    return (found.group("name"), code) if code else None


def parse_authority(text: str) -> ParsedName:
    """Read a typed collectivité: the literal words, then the name behind any designator.

    `Mairie de Lyon` -> literal `mairie lyon`, then `lyon` as a commune; `Bordeaux Métropole` ->
    literal, then `bordeaux` as an intercommunalité; `CD 29` -> département 29. Readings go from
    the least to the most stripped, and the first one that names a real collectivité wins, so
    real names that contain such a word ("Ville-d'Avray", "Puget-Ville") still resolve.
    """
    departments: list[str] = []
    text, where = _split_department(text)
    if where:
        departments.append(where)
    extra = _EXTRA.match(text)
    if extra is not None:  # "CA de l'Albigeois (C2A)", "Lyon (Rhône-Alpes)": said again
        text = extra.group("name")
    words = name_tokens(text)
    name: list[str] = []
    siren = insee = ""
    digits = [w for w in words if w.isdigit()]
    joined = "".join(digits)
    if len(joined) == 9 and all(len(d) in (3, 9) for d in digits):
        siren = joined
    for word in words:
        if word.isdigit() or word in ("2a", "2b"):
            if len(word) == 5 and word.isdigit():
                insee = word
            code = _department_of_number(word)
            if code is not None and code not in departments and not siren:
                departments.append(code)
            continue
        name.append(word)
    if siren or insee or departments:
        name = [w for w in name if w not in _CODE_WORDS]
    tokens = tuple(name)
    readings = [Reading(None, tokens)]
    start, end = 0, len(tokens)
    hint: Hint | None = None
    prefix = _strip_prefix(tokens)
    if prefix is not None:
        hint, rest = prefix
        start = end - len(rest)
        readings.append(Reading(hint, tokens[start:end]))
        again = _strip_prefix(rest)  # "Mairie de la Ville de Lyon", "Ville de Ville-d'Avray"
        if again is not None and again[0] is hint:
            start = end - len(again[1])
            readings.append(Reading(hint, tokens[start:end]))
    suffix = _strip_suffix(tokens[start:end], hint)
    if suffix is not None:
        hint = suffix[0]
        end = start + len(suffix[1])
        readings.append(Reading(hint, tokens[start:end]))
    fallback = None
    trailing = _trailing_department(text)
    if trailing is not None:
        shorter = parse_authority(trailing[0])
        fallback = ParsedName(
            shorter.readings,
            tuple(dict.fromkeys((*departments, *shorter.departments, trailing[1]))),
            shorter.siren,
            shorter.insee,
            shorter.prefixed,
        )
    return ParsedName(
        tuple(readings), tuple(departments), siren, insee, prefix is not None, fallback
    )


# --- Lookups ------------------------------------------------------------------------------------


# One name of one place in a lookup table: (index into ReferenceIndex.places, strict key, whether
# it is a former name or a nickname, used only when no official name matches).
Entry = tuple[int, str, bool]


_TABLE_OF_KIND: dict[AuthorityKind, Hint] = {kind: hint for hint, kind in HINT_KINDS.items()}


def interco_cores(tokens: Sequence[str]) -> list[tuple[str, ...]]:
    """An EPCI's name without its designator, from the least to the most stripped:
    `Communauté urbaine Le Havre Seine Métropole` -> (le, havre, seine, metropole), then
    (le, havre, seine); "européenne" goes too (Métropole européenne de Lille -> lille)."""
    rest = tuple(tokens)
    out: list[tuple[str, ...]] = []
    prefix = _strip_prefix(rest)
    if prefix is not None and prefix[0] is Hint.INTERCO and prefix[1]:
        rest = prefix[1]
        out.append(rest)
    suffix = _strip_suffix(rest, Hint.INTERCO)
    if suffix is not None:
        rest = suffix[1]
        out.append(rest)
    if rest and rest[0] == "europeenne":
        rest = rest[1:]
        if rest and rest[0] in _LINKS:
            rest = rest[1:]
        out.append(rest)
    return [core for core in out if core and core != tuple(tokens)]


def _split_extra(name: str) -> tuple[str, str]:
    """An official name and what it adds in parentheses: "… Baux-Alpilles (CC VBA)"."""
    found = _EXTRA.match(name) if "(" in name else None
    return (found.group("name"), found.group("extra").strip()) if found else (name, "")


@dataclass(frozen=True, slots=True)
class FuzzyList:
    """Names (loose keys) and their places, sorted by length."""

    keys: list[str]
    places: list[int]
    lengths: list[int]


# The entries of one loose key in a name table. Most keys name one place, officially, with no
# article that the loose key drops: those are stored as the place's index alone.
TableValue = int | tuple[Entry, ...]


def _packed(loose: str, entries: Sequence[Entry]) -> TableValue:
    if len(entries) == 1 and entries[0][1] == loose and not entries[0][2]:
        return entries[0][0]
    return tuple(entries)


def _unpacked(loose: str, value: TableValue) -> Sequence[Entry]:
    return ((value, loose, False),) if isinstance(value, int) else value


class IndexState(NamedTuple):
    """What `ReferenceIndex` computes from every name of the places, as plain values only (str,
    int, bytes, tuples and dicts of them), so an adapter can store it and give it back.

    `tables` are keyed by `Hint` value. The approximate-search entries (loose key, place) come
    once each, sorted by key length: `fuzzy_keys`, and `fuzzy_places` as an `array("i")` in
    bytes; `fuzzy_lists` gives, per (interco, département), the positions of its entries in the
    same form (see `ReferenceIndex.fuzzy_choices`).
    """

    tables: dict[str, dict[str, TableValue]]
    cores: dict[str, TableValue]
    department_place: dict[str, int]
    region_place: dict[str, int]
    fuzzy_keys: tuple[str, ...]
    fuzzy_places: bytes
    fuzzy_lists: dict[tuple[bool, str], bytes]


def index_state(places: Sequence[Place]) -> IndexState:
    """Read every name of every place into lookup tables (about 0.4 s for the COG)."""
    c = (places if isinstance(places, PlaceTable) else PlaceTable.of(places)).columns
    tables: dict[Hint, defaultdict[str, list[Entry]]] = {h: defaultdict(list) for h in Hint}
    cores: defaultdict[str, list[Entry]] = defaultdict(list)
    fuzzy_entries: dict[tuple[str, int], bool] = {}  # (key, place) -> is a core name
    department_place: dict[str, int] = {}
    region_place: dict[str, int] = {}

    def add_fuzzy(key: str, i: int, core: bool = False) -> None:
        if key:
            fuzzy_entries[(key, i)] = fuzzy_entries.get((key, i), True) and core

    hints_of: dict[tuple[AuthorityKind, ...], list[Hint]] = {}
    rows = zip(c.keys, c.names, c.kinds, c.departments, c.other_names, c.aliases, strict=True)
    for i, (key, name, kinds, departments, names, aliases) in enumerate(rows):
        hints = hints_of.get(kinds)
        if hints is None:
            hints = hints_of[kinds] = [_TABLE_OF_KIND[k] for k in kinds if k in _TABLE_OF_KIND]
        named = [(n, False) for n in (name, *names)]
        named += [(a, True) for a in aliases]
        for full, alias in named:
            text, extra = _split_extra(full)
            tokens = name_tokens(text)
            if not tokens:
                continue
            entry = (i, strict_key(tokens), alias)
            loose = loose_key(tokens)
            for hint in hints:
                tables[hint][loose].append(entry)
            add_fuzzy(loose, i)
            if Hint.INTERCO in hints:
                for core in interco_cores(tokens):
                    cores[loose_key(core)].append((i, strict_key(core), alias))
                    add_fuzzy(loose_key(core), i, core=True)
                if extra and len(extra) <= 12:  # an acronym: "CCEL", "CC VBA"
                    acronym = loose_key(name_tokens(extra))
                    tables[Hint.INTERCO][acronym].append((i, acronym, True))
        if key.startswith("DEP:"):
            for dep in departments:
                department_place.setdefault(dep, i)
        if key.startswith("REG:"):
            for dep in departments:
                region_place.setdefault(dep, i)
    # Collectivités that stand for a département (Paris, Martinique, Corse…) where no plain
    # département exists; never an EPCI (the Métropole de Lyon is not "CD 69").
    for i, (key, kinds, departments) in enumerate(zip(c.keys, c.kinds, c.departments, strict=True)):
        if AuthorityKind.DEPARTEMENT in kinds and not key.startswith("EPCI:"):
            for dep in departments:
                department_place.setdefault(dep, i)
    place_names = {key for h in (Hint.COMMUNE, Hint.DEPARTEMENT, Hint.REGION) for key in tables[h]}
    # For approximate search: every (loose key, place) once, globally and per département; an
    # EPCI's core name ("brest" for Brest Métropole) only in the `interco` lists when it is also
    # the name of a commune, département or région. Sorted by length (a stable sort, so equal
    # lengths keep the order of the places), so a search within k edits only looks at names k
    # letters longer or shorter at most.
    ordered = sorted(fuzzy_entries.items(), key=lambda item: len(item[0][0]))
    lists: defaultdict[tuple[bool, str], array[int]] = defaultdict(lambda: array("i"))
    for position, ((key, i), only_core) in enumerate(ordered):
        both = not (only_core and key in place_names)
        for dep in ("", *c.departments[i]):
            lists[(True, dep)].append(position)
            if both:
                lists[(False, dep)].append(position)
    return IndexState(
        tables={h.value: {k: _packed(k, v) for k, v in t.items()} for h, t in tables.items()},
        cores={k: _packed(k, v) for k, v in cores.items()},
        department_place=department_place,
        region_place=region_place,
        fuzzy_keys=tuple(key for (key, _), _ in ordered),
        fuzzy_places=array("i", [i for (_, i), _ in ordered]).tobytes(),
        fuzzy_lists={k: v.tobytes() for k, v in lists.items()},
    )


class ReferenceIndex:
    """Every place reachable by loose name key, per kind of table, and by code.

    Made from `index_state(places)`, computed here unless given. What every run reads (the name
    tables) is ready at once; the code tables on first use, and the approximate-search list of
    one département (`fuzzy`) when first asked for.
    """

    def __init__(self, places: Sequence[Place], state: IndexState | None = None) -> None:
        self.places = places
        self.state = state if state is not None else index_state(places)
        self.tables: dict[Hint, dict[str, TableValue]] = {
            h: self.state.tables[h.value] for h in Hint
        }
        self.cores: dict[str, TableValue] = self.state.cores
        self.department_place: dict[str, int] = self.state.department_place
        self.region_place: dict[str, int] = self.state.region_place
        self.fuzzy: dict[tuple[bool, str], FuzzyList] = {}  # the lists built so far

    @cached_property
    def _columns(self) -> PlaceColumns:
        places = self.places
        return (places if isinstance(places, PlaceTable) else PlaceTable.of(places)).columns

    @cached_property
    def by_key(self) -> dict[str, int]:
        keys = self._columns.keys
        return dict(zip(keys, range(len(keys)), strict=True))

    @cached_property
    def by_siren(self) -> dict[str, int]:
        return {siren: i for i, siren in enumerate(self._columns.sirens) if siren}

    @cached_property
    def by_insee(self) -> dict[str, int]:
        return {insee: i for i, insee in enumerate(self._columns.insees) if insee}

    @cached_property
    def _fuzzy_places(self) -> array[int]:
        places = array("i")
        places.frombytes(self.state.fuzzy_places)
        return places

    def fuzzy_list(self, department: str, interco: bool) -> FuzzyList | None:
        """The approximate-search list of one département ("" for all), made on first use."""
        list_key = (interco, department)
        found = self.fuzzy.get(list_key)
        if found is None:
            stored = self.state.fuzzy_lists.get(list_key)
            if stored is None:
                return None
            positions = array("i")
            positions.frombytes(stored)
            keys = list(map(self.state.fuzzy_keys.__getitem__, positions))
            places = list(map(self._fuzzy_places.__getitem__, positions))
            found = self.fuzzy[list_key] = FuzzyList(keys, places, list(map(len, keys)))
        return found

    def fuzzy_choices(
        self, department: str, interco: bool, length: int = -1, edits: int = 0
    ) -> tuple[list[str], list[int]]:
        """Names to search approximately: all (department "") or those of one département; with
        a length, only names that `edits` insertions or deletions can reach."""
        found = self.fuzzy_list(department, interco)
        if found is None:
            return [], []
        if length < 0:
            return found.keys, found.places
        lo = bisect_left(found.lengths, length - edits)
        hi = bisect_right(found.lengths, length + edits)
        return found.keys[lo:hi], found.places[lo:hi]

    def lookup(self, hint: Hint, reading: Reading) -> tuple[list[int], list[int]]:
        """Places of this table named like the reading: (by an official name, by a former name
        or nickname only). See `_pick` for articles."""
        found = self.tables[hint].get(reading.loose)
        if found is None:
            return [], []
        return _pick(_unpacked(reading.loose, found), reading.strict)

    def lookup_core(self, reading: Reading) -> tuple[list[int], list[int]]:
        """EPCIs whose name without designator reads so ("bordeaux", "pays basque")."""
        found = self.cores.get(reading.loose)
        if found is None:
            return [], []
        return _pick(_unpacked(reading.loose, found), reading.strict)

    def is_place_name(self, loose: str) -> bool:
        """True when some commune, département or région has this loose key as a name."""
        return any(loose in self.tables[h] for h in (Hint.COMMUNE, Hint.DEPARTEMENT, Hint.REGION))

    def place(self, i: int) -> Place:
        return self.places[i]


def _pick(entries: Sequence[Entry], strict: str) -> tuple[list[int], list[int]]:
    """Split entries into places named so officially and places named so only by a former name
    or a nickname. When the typed name starts with an article, keep the places whose name has
    that very article ("Le Lamentin", not "Lamentin"); without one, no such narrowing."""
    if not entries:
        return [], []
    if strict.split(" ", 1)[0] in _ARTICLES:
        entries = [e for e in entries if e[1] == strict] or entries
    official = list(dict.fromkeys(e[0] for e in entries if not e[2]))
    aliases = [p for p in dict.fromkeys(e[0] for e in entries if e[2]) if p not in official]
    return official, aliases


def compatible(place: Place, kind: AuthorityKind | None, department: str | None) -> bool:
    """Whether a person who picked this type and département can belong to this place."""
    if kind is not None and kind is not AuthorityKind.AUTRE and kind not in place.kinds:
        return False
    return department is None or department in place.departments


EMPTY_REFERENCE = Reference(places=(), source="")
