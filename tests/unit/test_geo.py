"""Département codes from what people type, and their régions."""

from __future__ import annotations

import pytest

from pipeline.core.geo import DEPARTMENTS, REGIONS, department_code, region_of


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("29", "29"), ("1", "01"), ("01", "01"), ("2a", "2A"), ("Finistère", "29"),
        ("29 - Finistère", "29"), ("Seine-Saint-Denis (93)", "93"), ("Côte-d'Or (21)", "21"),
        ("Côtes d’Armor", "22"), ("La Réunion (974)", "974"), ("97400", "974"),
        ("Val d'Oise", "95"), ("Corse-du-Sud (2A)", "2A"),
    ],
)  # fmt: skip
def test_codes_from_typed_text(typed: str, code: str) -> None:
    """Codes, names, `name (code)` and postcodes all give the département code."""
    assert department_code(typed) == code


@pytest.mark.parametrize("typed", ["", "20", "99", "Finistère (35)", "Atlantide"])
def test_unknown_or_conflicting_is_none(typed: str) -> None:
    """Unknown text, Corsica's old `20`, and a name contradicting its code give None."""
    assert department_code(typed) is None


def test_every_department_has_a_region() -> None:
    """The 101 départements each belong to one of the 18 régions."""
    assert len(DEPARTMENTS) == 101 and len(REGIONS) == 18
    assert region_of("29") == "Bretagne" and region_of("974") == "La Réunion"
    assert region_of(None) == ""
