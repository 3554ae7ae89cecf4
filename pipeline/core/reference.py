"""The official list of French collectivités (COG, INSEE) as plain data, and how names are read.

`Reference` holds every commune, EPCI (intercommunalité), département-level and région-level
collectivité as a `Place`. An adapter loads it (`pipeline.adapters.reference.load_reference`);
the core only reads it. `ReferenceIndex` turns it into lookups by normalized name and code, and
`parse_authority` turns what a person typed ("Mairie de St-Étienne", "CD 29", "3M") into the
readings those lookups understand. Nothing here does I/O.

Why one file of about 1,200 lines: reading a name and looking it up are one feature, tuned
together. The normalization (`name_tokens`, `strict_key`, `loose_key`) decides the keys the
index stores and the keys a typed answer yields, the designators stripped by `parse_authority`
and the parts found by `parse_part` must match what `index_state` tabled, and the cache of the
index (`adapters/reference.py`) is stamped with a hash of this file. Sections: `Normalization`,
`Reading what people type`, `Municipal arrondissements and sectors`, `Lookups`.
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

    A place with a `successor` is no collectivité of its own today but a part or a former name of
    the place whose key it gives: a municipal arrondissement or sector of Paris, Lyon or
    Marseille (`ARM:75109`, `SRM:13055SR01`), a région before 2016 (`AREG:22`), an EPCI merged
    or renamed (`AEPCI:…`). Its names are looked up like former names (never before a current
    official name) and never approximately.
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
    successor: str = ""  # for a part or former collectivité: the key of the current place

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
    successors: tuple[str, ...]


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
                tuple(p.successor for p in made),
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
                successor=c.successors[i],
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
        # the territoires of the Métropole du Grand Paris, by their legal form
        "etablissement public territorial",
        "ept",
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
        # overseas collectivités: all of them are régions (Martinique, Guyane, Saint-Martin…)
        "collectivite territoriale unique",
        "collectivite territoriale",
        "conseil territorial",
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
    extra: str = ""  # a parenthesis said again and left out: "(C2A)", "(Rennes)"
    tail: str = ""  # when `fallback` is the name before a second one: that second name
    after_comma: bool = False  # the second name follows a comma: maybe where ("Rennes, Bretagne")

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
    """Whether the tokens start with a designator's words, each allowing one typo; after its
    first word a designator is already said, so a four-letter typo counts too ("Hôtel de Vill",
    "Adjoint au mair", "Établissement publc territorial")."""
    if len(tokens) < len(words):
        return False
    for i, word in enumerate(words):
        more = i > 0 or (i + 1 < len(tokens) and _near_link(tokens[i + 1], i + 2 < len(tokens)))
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
    code = department_code(tail) or department_code(_ISLAND_OF.sub("", tail))
    if code is None:
        return text, ""
    return found.group("name"), code


# "île de la Réunion", "l'île de Mayotte": the island's name is the département's.
_ISLAND_OF = re.compile(
    r"^\s*(?:l['’]\s*)?[îi]les?\s+(?:de\s+la|de\s+l['’]|de|d['’]|du|des)\s*", re.I
)

# Two designators sharing one name: "Ville et Eurométropole de Strasbourg".
_JOINT = re.compile(
    r"^(?P<first>[^\s,/]+)\s+et\s+(?P<second>[^,/]+?)\s+"
    r"(?P<link>de\s+la|de\s+l['’]|de|du|des|d['’])\s*(?P<name>\S.*)$",
    re.IGNORECASE,
)

# A second name after a spaced dash, a slash or a comma: "Finistère - Penn-ar-Bed",
# "Collectivité de Corse - Cullettività di Corsica". The first part is tried when the whole
# names nothing, and only when the rest names no real collectivité (see `ParsedName.tail`).
_SECOND_NAME = re.compile(r"^(?P<name>[^,/]*?\S)\s*(?:\s[-–]\s|(?P<comma>,)|/)\s*(?P<tail>\S.*)$")

# Two collectivités joined by "et": "Ville de Nantes et Nantes Métropole". Tried like a second
# name, after the shared-name form above; a real name with " et " in it is found whole first.
_AND_NAME = re.compile(r"^(?P<name>[^,/]*?\S)\s+et\s+(?P<tail>\S.*)$", re.IGNORECASE)


_IN_DEPARTMENT = re.compile(
    r"^(?P<name>.*\S)\s+(?:de\s+la|de\s+l'|de\s+l’|du|des|de|d'|d’|en|à|a)\s*(?P<where>[^\s].*)$",
    re.IGNORECASE,
)


def _trailing_department(text: str, bare: bool) -> tuple[str, str] | None:
    """A département said after the name, with a link word ("Saint-Pierre de La Réunion") or,
    when `bare`, without ("Cap Excellence Guadeloupe", "TCO Réunion"): the name and the code."""
    found = _IN_DEPARTMENT.match(text.strip())
    if found is not None:
        code = department_code(found.group("where"))
        if code:
            return found.group("name"), code
    words = text.split() if bare else []
    for size in (3, 2, 1):
        said = " ".join(words[-size:])
        # a name only: codes after the name are read as codes ("Conseil régional 2A")
        if len(words) > size and not any(c.isdigit() for c in said):
            code = department_code(said)
            if code:
                return " ".join(words[:-size]), code
    return None


def _strip_island(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The name after "l'île de" / "île de la" ("île de La Réunion" -> la reunion), or ()."""
    rest = tokens[1:] if tokens[:1] in (("l",), ("la",)) else tokens
    if len(rest) < 3 or rest[0] not in ("ile", "iles") or rest[1] not in _LINKS:
        return ()
    return rest[2:]


# "ex-Région Midi-Pyrénées", "ancienne Communauté urbaine de Cherbourg": a former name follows.
_FORMER_LEAD = frozenset({"ex", "ancienne", "ancien", "anciennement"})

# A person's role typed before the collectivité: "Vice-présidente du Conseil départemental du
# Finistère", "Président de Rennes Métropole", "Troisième adjointe au maire de Lyon" (the rank
# of a deputy mayor is no arrondissement).
_ROLE_LEAD = re.compile(
    r"^\s*(?:vice[\s-]*)?pr[ée]sidente?\s+(?:de\s+la\s|de\s+l['’]|du\s|des\s|de\s|d['’])\s*"
    r"|^\s*(?:\d{1,2}\s*(?:er|re|ère|ème|eme|e)|premi[eè]re?|"
    r"(?:deux|trois|quatr|cinqu|six|sept|huit|neuv|dix)i[eè]me)\s+(?=adjoint)",
    re.IGNORECASE,
)


def without_role(text: str) -> str:
    """The answer without a person's role written before the collectivité's name."""
    rest = _ROLE_LEAD.sub("", text, count=1)
    return rest if rest.strip() else text


def parse_authority(text: str, split: bool = True) -> ParsedName:
    """Read a typed collectivité: the literal words, then the name behind any designator.

    `Mairie de Lyon` -> literal `mairie lyon`, then `lyon` as a commune; `Bordeaux Métropole` ->
    literal, then `bordeaux` as an intercommunalité; `CD 29` -> département 29. Readings go from
    the least to the most stripped, and the first one that names a real collectivité wins, so
    real names that contain such a word ("Ville-d'Avray", "Puget-Ville") still resolve. A
    département written after the name is split off unless `split` is false; the whole text
    is then the fallback ("Région Nord - Pas de Calais" is no Région Nord in the 62).
    """
    departments: list[str] = []
    whole = text
    text, where = _split_department(text) if split else (text, "")
    if where:
        departments.append(where)
    extra = _EXTRA.match(text)
    if extra is not None:  # "CA de l'Albigeois (C2A)", "Lyon (Rhône-Alpes)": said again
        text = extra.group("name")
    said_again = extra.group("extra") if extra is not None else ""
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
    if len(name) > 1 and name[0] in _FORMER_LEAD:
        name = name[1:]
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
    if suffix is not None and suffix[1][-1] == "et":  # "Valence et Agglomération": two names
        suffix = None
    if suffix is not None:
        hint = suffix[0]
        end = start + len(suffix[1])
        readings.append(Reading(hint, tokens[start:end]))
    island = _strip_island(tokens[start:end])
    if island:  # "Conseil départemental de l'île de La Réunion": La Réunion
        readings.append(Reading(hint, island))
    fallback = parse_authority(whole, split=False) if where else None
    tail = ""
    # Also after a département split off: "Finistère - Penn-ar-Bed (29)", "Ville et
    # Eurométropole de Strasbourg (67)" read as without the code, which is kept.
    second = _SECOND_NAME.match(text)
    joint = _JOINT.match(text.strip()) if second is None else None
    if joint is not None:  # "Ville et Eurométropole de Strasbourg": both, each with the name
        shared = f"{joint.group('link')} {joint.group('name')}"
        head = parse_authority(f"{joint.group('first')} {shared}")
        tail = f"{joint.group('second')} {shared}"
        fallback = ParsedName(
            head.readings, tuple(departments), head.siren, head.insee, head.prefixed
        )
    if second is None and joint is None:
        second = _AND_NAME.match(text.strip())
    after_comma = False
    if second is not None:
        head = parse_authority(second.group("name"))
        tail = second.group("tail")
        bare = _strip_prefix(name_tokens(tail))
        if bare is not None and not bare[1]:  # "Ville de Brest et Métropole": Brest's métropole
            tail = f"{tail} {' '.join(head.readings[-1].tokens)}"
        after_comma = second.groupdict().get("comma") is not None
        fallback = ParsedName(
            head.readings,
            tuple(dict.fromkeys((*departments, *head.departments))),
            head.siren,
            head.insee,
            head.prefixed,
        )
    clash = _strip_suffix(tokens[start:end], None) if prefix and not suffix and not tail else None
    if clash is not None and clash[1][-1] != "et":  # "Mairie de Rennes Métropole": both?
        head = parse_authority(" ".join((*tokens[:start], *clash[1])))
        tail = " ".join(tokens[start:end])
        fallback = ParsedName(head.readings, tuple(departments), head.siren, head.insee, True)
    # bare only when nothing else was split off ("Région Nord - Pas de Calais" stays whole)
    trailing = _trailing_department(text, bare=fallback is None) if not tail else None
    if trailing is not None:
        shorter = parse_authority(trailing[0])
        tail = ""
        fallback = ParsedName(
            shorter.readings,
            tuple(dict.fromkeys((*departments, *shorter.departments, trailing[1]))),
            shorter.siren,
            shorter.insee,
            shorter.prefixed,
        )
    return ParsedName(
        tuple(readings),
        tuple(departments),
        siren,
        insee,
        prefix is not None,
        fallback,
        said_again,
        tail,
        after_comma and bool(tail),
    )


# --- Municipal arrondissements and sectors ------------------------------------------------------


class CityParts(NamedTuple):
    """The numbered parts of a commune divided into municipal arrondissements or sectors."""

    name: str  # the commune's loose name key: "paris"
    arrondissements: frozenset[int]
    sectors: frozenset[int]
    centre: bool  # "Paris Centre", the sector of the first four arrondissements


@dataclass(frozen=True, slots=True)
class PartQuery:
    """An answer that names a numbered part of a commune: "Mairie du 9e", "Lyon 3e",
    "mairie des 1er et 7e arrondissements", "Marseille 7e secteur", "Paris Centre".

    `city` holds the words left once numbers and designators are out ("paris", or none);
    `explicit` is true when an ordinal form ("9e", "IXe", "troisième") or the word
    arrondissement/secteur says it is a part, not a département number ("Lyon 7").
    """

    city: str
    numbers: frozenset[int]
    word: str  # "arrondissement", "secteur", "centre" or ""
    explicit: bool
    departments: tuple[str, ...] = ()


_ORDINAL = re.compile(r"^(\d{1,2})(er|ere|e|eme|em|ieme|me|nd|nde)?$")
_ROMAN = re.compile(r"^([ivx]{1,5})(er|e|eme|ieme)$")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10}
_ORDINAL_WORDS = {
    w: n
    for n, w in enumerate(
        (
            "premier deuxieme troisieme quatrieme cinquieme sixieme septieme huitieme neuvieme "
            "dixieme onzieme douzieme treizieme quatorzieme quinzieme seizieme"
        ).split(),
        start=1,
    )
} | {"premiere": 1, "second": 2, "seconde": 2, "vingtieme": 20}
_TENS_ORDINALS = {"septieme": 17, "huitieme": 18, "neuvieme": 19}  # after "dix"
# A quick look before reading the words: an ordinal (in figures, words or roman numerals) or a
# part word; else a bare number of one or two figures, which counts only with a town's name.
_PART_HINT = re.compile(
    r"\d\s*(?:er|e|eme|em|ieme|me|nd|nde)\b|\barr|\bardt\b|\bsect|\bcentre\b|ieme\b"
    r"|\bpremi|\bsecond|\b[ivx]{1,5}(?:e|er|eme)\b"
)
_SHORT_NUMBER = re.compile(r"(?<!\d)\d{1,2}(?!\d)")
_ORDINAL_SUFFIXES = frozenset({"er", "ere", "e", "eme", "em", "ieme", "me"})
_PART_WORDS = {
    "arrondissement": "arrondissement",
    "arrondissements": "arrondissement",
    "arr": "arrondissement",
    "arrt": "arrondissement",
    "arrdt": "arrondissement",
    "ardt": "arrondissement",
    "arrond": "arrondissement",
    "secteur": "secteur",
    "secteurs": "secteur",
    "centre": "centre",
}
# An ordinal suffix left without its number ("Ème arrondissement", the "me" of "9 è me") is no
# town's word either.
_PART_FILLERS = (
    STOPWORDS
    | _ORDINAL_SUFFIXES
    | {
        "mairie",
        "mairies",
        "ville",
        "commune",
        "hotel",
        "annexe",
        "conseil",
        "conseiller",
        "conseillere",
        "municipal",
        "municipale",
        "maire",
        "adjoint",
        "adjointe",
        "n",
        "no",
        "numero",
        "ou",
    }
)


def _roman(word: str) -> int | None:
    """A roman numeral's value (1 to 39), None when the letters are not one in canonical form."""
    total, last = 0, 0
    for letter in reversed(word):
        value = _ROMAN_VALUES[letter]
        total += -value if value < last else value
        last = max(last, value)
    canonical = (
        "x" * (total // 10)
        + ("", "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix")[total % 10]
    )
    return total if 0 < total < 40 and canonical == word else None


def _ordinal_number(word: str) -> int | None:
    """The number of "9e", "1er", "9" (in an official part name)."""
    found = _ORDINAL.match(word)
    return int(found.group(1)) if found else None


def parse_part(text: str, towns: Iterable[str] | None = None) -> PartQuery | None:
    """Read an answer as a numbered part of a commune, or None when it names no number (or
    "centre") with only designators and a town's name around it.

    "Mairie du 9e arrondissement de Paris" -> paris, {9}, explicit; "Lyon 7" -> lyon, {7}, not
    explicit (7 may be the Ardèche); "3ème" -> no town, {3}, explicit; "Paris Centre" -> paris,
    centre; "Mairie d'arrondissement" -> no town, no number, explicit. `towns`, when given,
    are the names of the towns divided so (`ReferenceIndex.part_towns`): a bare number is only
    read next to one of them.
    """
    folded = ascii_fold(text)
    if not _PART_HINT.search(folded):  # most answers: no ordinal, no part word
        if not _SHORT_NUMBER.search(folded):
            return None
        if towns is not None and not any(town in folded for town in towns):
            return None  # "CD 29", "Quimper (29)": a bare number without such a town
    text, where = _split_department(text)
    words = name_tokens(text)
    numbers: set[int] = set()
    explicit = spelled = False  # an ordinal form; a spelt-out ordinal ("troisième")
    word = ""
    city: list[str] = []
    pending = False  # a bare number whose suffix may follow ("9 ème")
    ordinals: set[int] = set()  # numbers written as ordinals ("3e", "III", "troisième")
    trailing: set[int] = set()  # bare numbers after the town's name ("… de Marseille 13")
    last = 0  # the last number read
    for i, token in enumerate(words):
        if pending and token in _ORDINAL_SUFFIXES:
            explicit, pending = True, False
            ordinals.add(last)
            trailing.discard(last)
            continue
        pending = False
        found = _ORDINAL.match(token)
        roman = _ROMAN.match(token)
        after_ten = i > 0 and words[i - 1] == "dix" and token in _TENS_ORDINALS
        if found:
            last = int(found.group(1))
            numbers.add(last)
            explicit = explicit or bool(found.group(2))
            pending = not found.group(2)
            if found.group(2):
                ordinals.add(last)
            elif city:
                trailing.add(last)
        elif roman and (value := _roman(roman.group(1))) is not None:
            numbers.add(value)
            ordinals.add(value)
            explicit = True
        elif after_ten or token in _ORDINAL_WORDS:
            value = _TENS_ORDINALS[token] if after_ten else _ORDINAL_WORDS[token]
            numbers.add(value)
            ordinals.add(value)
            spelled = True
        elif token in _PART_WORDS:
            word = word or _PART_WORDS[token]
        elif token == "dix" and i + 1 < len(words) and words[i + 1] in _TENS_ORDINALS:
            continue
        elif token not in _PART_FILLERS:
            city.append(token)
    if ordinals and trailing - ordinals:
        # "Mairie du 3e arrondissement de Marseille 13": the bare number after the town is its
        # département (or a postcode's start), not a second part
        numbers -= trailing - ordinals
    if word in ("arrondissement", "secteur"):
        explicit = True
    elif spelled:
        return None  # "troisième" with no arrondissement or sector word: not a part
    if word == "centre":
        if numbers or not city:
            return None  # "Centre" alone is the région
    elif len(numbers) > 20 or not (numbers or explicit):  # Paris has 20 arrondissements
        return None  # no number, and no arrondissement or sector word
    if not explicit and not city:
        return None  # a bare number is a département
    return PartQuery(" ".join(city), frozenset(numbers), word, explicit, (where,) if where else ())


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
    rows = zip(
        c.keys, c.names, c.kinds, c.departments, c.other_names, c.aliases, c.successors, strict=True
    )
    for i, (key, name, kinds, departments, names, aliases, successor) in enumerate(rows):
        hints = hints_of.get(kinds)
        if hints is None:
            hints = hints_of[kinds] = [_TABLE_OF_KIND[k] for k in kinds if k in _TABLE_OF_KIND]
        # A part or former collectivité: every name counts as a former name, none approximately.
        former = bool(successor)
        named = [(n, former) for n in (name, *names)]
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
            if not former:
                add_fuzzy(loose, i)
            if Hint.INTERCO in hints:
                for core in interco_cores(tokens):
                    cores[loose_key(core)].append((i, strict_key(core), alias))
                    if not former:
                        add_fuzzy(loose_key(core), i, core=True)
                if extra and len(extra) <= 12 and not former:  # an acronym: "CCEL", "CC VBA"
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

    @cached_property
    def _successors(self) -> dict[int, int]:
        """Part or former place -> the current place it belongs to (a few hundred of them)."""
        by_key = self.by_key
        return {
            i: by_key[s]
            for i, s in enumerate(self._columns.successors)
            if s and s in by_key and s != self._columns.keys[i]
        }

    def successor(self, i: int) -> int | None:
        """For a part or a former collectivité: the current place it belongs to, else None."""
        return self._successors.get(i) if self._columns.successors[i] else None

    def current(self, i: int) -> int:
        """The place itself, or the current place a part or former collectivité belongs to."""
        found = self.successor(i)
        return i if found is None else found

    @cached_property
    def part_towns(self) -> frozenset[str]:
        """The loose names of the communes divided into arrondissements or sectors."""
        return frozenset(parts.name for parts in self.city_parts.values())

    @cached_property
    def city_parts(self) -> dict[int, CityParts]:
        """The communes divided into municipal arrondissements or sectors (Paris, Lyon,
        Marseille), from their parts in the reference: which numbers each has."""
        parts: dict[int, tuple[set[int], set[int], list[bool]]] = {}
        keys = self._columns.keys
        for i, city in self._successors.items():
            kind, _, _ = keys[i].partition(":")
            if kind not in ("ARM", "SRM"):
                continue
            arrondissements, sectors, centre = parts.setdefault(city, (set(), set(), [False]))
            words = name_tokens(self._columns.names[i])
            numbers = [n for w in words if (n := _ordinal_number(w)) is not None]
            if "secteur" in words:
                sectors.update(numbers)
            elif "centre" in words:
                centre[0] = True
            else:
                arrondissements.update(numbers)
        return {
            city: CityParts(
                name_key(self._columns.names[city]),
                frozenset(arrondissements),
                frozenset(sectors),
                centre[0],
            )
            for city, (arrondissements, sectors, centre) in parts.items()
        }

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
