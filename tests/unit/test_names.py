"""Names shown as people write their own: recased only when typed all lower or all upper."""

from __future__ import annotations

import pytest

from pipeline.core.names import display_name


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("marty", "Marty"),
        ("MASSON", "Masson"),
        ("jean-marc", "Jean-Marc"),
        ("JEAN-MARC", "Jean-Marc"),
        ("françois david", "François David"),
        ("maïwenn", "Maïwenn"),
        ("ÉLODIE", "Élodie"),
        ("de la fontaine", "de La Fontaine"),
        ("DE LA FONTAINE", "de La Fontaine"),
        ("le bihan", "Le Bihan"),
        ("LE BIHAN", "Le Bihan"),
        ("n'diaye", "N'Diaye"),
        ("N’DIAYE", "N’Diaye"),
        ("mcdonald", "McDonald"),
        ("d'estaing", "d'Estaing"),
        ("giscard d'estaing", "Giscard d'Estaing"),
        ("van der berg", "van der Berg"),
        ("du", "Du"),
        ("marie-hélène", "Marie-Hélène"),
        # typed with both cases: kept exactly as written
        ("de La Fontaine", "de La Fontaine"),
        ("McDonald", "McDonald"),
        ("N'Diaye", "N'Diaye"),
        ("Le Bihan", "Le Bihan"),
        ("d'ARTAGNAN", "d'ARTAGNAN"),
        ("Macé", "Macé"),
        ("", ""),
        ("42", "42"),
    ],
)
def test_names_are_shown_as_people_write_their_own(typed: str, shown: str) -> None:
    """All-lower or all-upper names are recased (particles, Mc, apostrophes); mixed case kept."""
    assert display_name(typed) == shown
