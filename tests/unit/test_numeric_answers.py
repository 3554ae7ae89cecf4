"""Google Forms stores an answer typed as digits alone as a number; the core still reads it right.

The Google backend reads values unformatted: a département typed `01` comes back as the JSON
number 1, a phone typed `0612345678` as 612345678. `cell_text` turns them into `1` and
`612345678`; the core must still see département `01` and phone `+33 6 12 34 56 78`.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from pipeline.adapters.sheets import cell_text
from pipeline.config import DEFAULT_ALIASES
from pipeline.core.geo import department_code
from pipeline.core.parse import locate_columns, normalize_phone, parse_row
from pipeline.core.vocabulary import PARIS
from tests.support.builders import FORM_HEADERS, answer

COLUMNS = locate_columns(FORM_HEADERS, DEFAULT_ALIASES, "Réponses")


@pytest.mark.parametrize(
    ("stored", "code"),
    [(1, "01"), (1.0, "01"), (9, "09"), (29, "29"), (29.0, "29"), (974, "974"), (2, "02")],
)
def test_department_stored_as_a_number_reads_as_its_code(stored: float, code: str) -> None:
    """A département kept as the number 1 (typed `01` or `1`) is `01`; 974 stays `974`."""
    assert department_code(cell_text(stored)) == code


@pytest.mark.parametrize(
    "stored", [612345678, 612345678.0, 33612345678, 33612345678.0, "0612345678", "612345678"]
)
def test_phone_stored_as_a_number_still_normalizes(stored: object) -> None:
    """0612345678 kept as 612345678 (or 33612345678) is still +33 6 12 34 56 78."""
    assert normalize_phone(cell_text(stored)) == "+33 6 12 34 56 78"


def test_form_row_with_numeric_answers_parses() -> None:
    """A row as the Google backend reads it (serial time, numbers) gives the same Response."""
    typed = answer("02/03/2026 10:00:00", "camille@lyon.fr", department="01", phone="0612345678")
    stored: list[object] = list(typed)
    stored[0] = 46083 + 10 / 24  # the Horodateur: a date-time serial, local time
    stored[6] = 1  # département 01
    stored[10] = 612345678  # téléphone 0612345678
    result = parse_row(2, [cell_text(value) for value in stored], COLUMNS)
    assert result is not None and result.response is not None and not result.anomalies
    response = result.response
    assert response.department == "01" and response.department_raw == "1"
    assert response.phone == "+33 6 12 34 56 78"
    assert response.submitted_at == datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
