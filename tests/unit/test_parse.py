"""The form row parser: every row is a Response or rejection anomalies with a SPEC reason."""

from __future__ import annotations

from datetime import datetime

import pytest

from pipeline.config import DEFAULT_ALIASES
from pipeline.core.errors import SheetError
from pipeline.core.model import Reason, Role
from pipeline.core.parse import (
    PARIS,
    locate_columns,
    normalize_email,
    normalize_phone,
    parse_role,
    parse_row,
    parse_timestamp,
)
from tests.support.builders import FORM_HEADERS, answer

COLUMNS = locate_columns(FORM_HEADERS, DEFAULT_ALIASES, "Réponses")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("27/11/2026 10:04:05", datetime(2026, 11, 27, 10, 4, 5, tzinfo=PARIS)),
        ("2/3/2026 9:04", datetime(2026, 3, 2, 9, 4, tzinfo=PARIS)),
        ("2026-03-02T10:04:05", datetime(2026, 3, 2, 10, 4, 5, tzinfo=PARIS)),
        ("2026-03-02 10:04:05", datetime(2026, 3, 2, 10, 4, 5, tzinfo=PARIS)),
        ("46083.41950", datetime(2026, 3, 2, 10, 4, 5, tzinfo=PARIS)),
        ("46083", datetime(2026, 3, 2, tzinfo=PARIS)),
    ],
)
def test_timestamps_parse_in_every_form(text: str, expected: datetime) -> None:
    """French text, ISO 8601 and Sheets serial numbers all read as Europe/Paris times."""
    assert parse_timestamp(text) == expected


def test_iso_with_offset_keeps_its_offset() -> None:
    """An ISO timestamp with an explicit offset is not reinterpreted as Paris time."""
    parsed = parse_timestamp("2026-03-02T09:04:05+00:00")
    assert parsed is not None and parsed.astimezone(PARIS).hour == 10


@pytest.mark.parametrize("text", ["", "hier", "32/13/2026 10:00", "-5", "99999999"])
def test_unreadable_timestamps_are_none(text: str) -> None:
    """Text that is not a date gives None, never an exception."""
    assert parse_timestamp(text) is None


def test_headers_are_matched_by_folded_name_in_any_order() -> None:
    """Trimmed, case- and accent-insensitive headers, reordered, are still found."""
    header = ["  CONSENTEMENT", "prenom", "nom", "adresse e-mail ", "collectivite", "horodateur"]
    columns = locate_columns(header, DEFAULT_ALIASES, "x")
    assert columns["consent"] == 0 and columns["first_name"] == 1 and columns["email"] == 3


def test_missing_required_column_lists_columns_found() -> None:
    """A missing required column stops with a message naming it and the known titles present,
    and only counting other cells (they may be an answer: never quoted)."""
    with pytest.raises(SheetError) as caught:
        header = ["Horodateur", "Nom", "Prénom", "ana@lyon.fr", "06 12 34 56 78"]
        locate_columns(header, DEFAULT_ALIASES, "Réponses")
    message = str(caught.value)
    assert "'Adresse e-mail'" in message
    assert "'Horodateur' (column 1), 'Nom' (column 2), 'Prénom' (column 3)" in message
    assert "2 other non-empty cell(s)" in message
    assert "ana@lyon.fr" not in message and "06 12" not in message


def test_valid_row_becomes_response() -> None:
    """A complete row gives a Response with normalized email, role, département and phone."""
    row = answer("02/03/2026 10:00:00", "  Camille.Martin@Lyon.FR ", department="Rhône")
    result = parse_row(2, row, COLUMNS)
    assert result is not None and result.response is not None and not result.anomalies
    response = result.response
    assert response.email == "camille.martin@lyon.fr"
    assert response.role is Role.MAIRE and response.department == "69"
    assert response.phone == "+33 6 12 34 56 78" and response.first_term is True


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({1: ""}, Reason.CHAMP_MANQUANT),
        ({2: ""}, Reason.CHAMP_MANQUANT),
        ({4: "  "}, Reason.CHAMP_MANQUANT),
        ({1: "pas-une-adresse"}, Reason.EMAIL_INVALIDE),
        ({1: "a@b"}, Reason.EMAIL_INVALIDE),
        ({12: ""}, Reason.CONSENTEMENT_ABSENT),
        ({0: "bientôt"}, Reason.HORODATEUR_INVALIDE),
    ],
)
def test_rejected_rows_carry_their_reason(changes: dict[int, str], reason: Reason) -> None:
    """Each rejection gives an anomaly with the SPEC reason code, the row number and no Response."""
    row = answer("02/03/2026 10:00:00", "camille@lyon.fr")
    for index, value in changes.items():
        row[index] = value
    result = parse_row(7, row, COLUMNS)
    assert result is not None and result.response is None
    assert [a.reason for a in result.anomalies] == [reason]
    assert result.anomalies[0].row == 7 and result.anomalies[0].explanation


def test_no_consent_shows_no_personal_field() -> None:
    """A row without consent is listed without the person's name or collectivité."""
    row = answer("02/03/2026 10:00:00", "camille@lyon.fr", consent="")
    result = parse_row(3, row, COLUMNS)
    assert result is not None
    anomaly = result.anomalies[0]
    assert anomaly.person == "" and anomaly.authority == "" and "Camille" not in anomaly.explanation


def test_blank_row_is_skipped() -> None:
    """A row of empty cells is not a submission."""
    assert parse_row(9, ["", " ", ""], COLUMNS) is None


def test_control_characters_are_removed() -> None:
    """CR, LF and other control characters never survive in a field."""
    row = answer("02/03/2026 10:00:00", "camille@lyon.fr", first="Cam\r\nille\x07")
    result = parse_row(2, row, COLUMNS)
    assert result is not None and result.response is not None
    assert result.response.first_name == "Cam ille"


def test_unknown_role_is_kept_with_raw_text() -> None:
    """A role outside the form's choices keeps the answer, with role None and the typed text."""
    row = answer("02/03/2026 10:00:00", "camille@lyon.fr", role="Conseillère déléguée")
    result = parse_row(2, row, COLUMNS)
    assert result is not None and result.response is not None
    assert result.response.role is None and result.response.role_raw == "Conseillère déléguée"


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("Adjointe au maire", Role.ADJOINT),
        ("adjoint·e au maire", Role.ADJOINT),
        ("CONSEILLÈRE MUNICIPALE", Role.CONSEILLER_MUNICIPAL),
        ("Vice-présidente", Role.VICE_PRESIDENT),
        ("Agent·e territorial·e (non élu·e)", Role.AGENT),
    ],
)
def test_role_variants(text: str, role: Role) -> None:
    """Masculine, feminine and inclusive spellings of a role are the same role."""
    assert parse_role(text) is role


def test_email_and_phone_normalization() -> None:
    """Addresses are lowercased; a number that does not parse is kept as typed."""
    assert normalize_email(" A.B@Example.ORG ") == "a.b@example.org"
    assert normalize_email("x@y.fr\r\nBcc: z@w.fr") is None
    assert normalize_phone("+33612345678") == "+33 6 12 34 56 78"
    assert normalize_phone("12") == "12"
    assert normalize_phone("06-39-98-59-77") == "+33 6 39 98 59 77"  # reserved for fiction
    assert normalize_phone("0044 20 7946 0958") == "+44 20 7946 0958"
    assert normalize_phone("06 12 34") == "06 12 34"  # too short: kept as typed


def test_names_typed_in_one_case_are_recased_for_display() -> None:
    """`marty` / `MASSON` from the form become `Marty` / `Masson` in the parsed answer."""
    row = answer("02/03/2026 10:00:00", "marty@example.org", last="MASSON", first="marty")
    result = parse_row(2, row, COLUMNS)
    assert result is not None and result.response is not None
    assert (result.response.first_name, result.response.last_name) == ("Marty", "Masson")
