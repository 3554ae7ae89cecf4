"""Impossible timestamps are rejected (horodateur_invalide), replays still hide later answers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.core.cohort import read_responses
from pipeline.core.model import Reason
from tests.support.builders import FORM_HEADERS, answer, settings

PARIS = ZoneInfo("Europe/Paris")
CLOCK = datetime(2026, 4, 10, 12, 0, tzinfo=PARIS)


def test_stamps_in_the_future_or_before_2020_are_rejected_with_a_reason(tmp_path: Path) -> None:
    """Year 0001 and a stamp past the real clock: listed horodateur_invalide, never a person."""
    table = [
        FORM_HEADERS,
        answer("02/03/2026 09:00:00", "ok@lyon.fr"),
        answer("01/01/0001 00:00:00", "ancient@lyon.fr"),
        answer("02/03/2019 09:00:00", "early@lyon.fr"),
        answer("02/03/2031 09:00:00", "future@lyon.fr"),
    ]
    read, responses, anomalies = read_responses(table, settings(tmp_path), CLOCK, clock=CLOCK)
    assert [r.email for r in responses] == ["ok@lyon.fr"]
    assert read == 4
    assert sorted((a.row, a.reason) for a in anomalies) == [
        (3, Reason.HORODATEUR_INVALIDE), (4, Reason.HORODATEUR_INVALIDE),
        (5, Reason.HORODATEUR_INVALIDE),
    ]  # fmt: skip
    texts = {a.row: a.explanation for a in anomalies}
    assert "antérieur à 2020" in texts[3] and "dans le futur" in texts[5]


def test_a_replay_hides_later_answers_without_calling_them_wrong(tmp_path: Path) -> None:
    """--as-of before an answer that the real clock has seen: not read, no anomaly."""
    table = [FORM_HEADERS, answer("05/04/2026 09:00:00", "later@lyon.fr")]
    as_of = datetime(2026, 4, 1, 9, 0, tzinfo=PARIS)
    read, responses, anomalies = read_responses(table, settings(tmp_path), as_of, clock=CLOCK)
    assert (read, responses, anomalies) == (0, [], [])
