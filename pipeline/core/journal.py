"""The `Journal` sheet: one row per run that changed something (or failed), with its counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from pipeline.core.cohort import Evaluation, current_decisions, sheet_stamp
from pipeline.core.layout import header_after, journal_layout, rows_after, with_layout
from pipeline.core.model import Cell, Reason, SheetWrite
from pipeline.core.sheetplan import Table, plan_append
from pipeline.core.vocabulary import JOURNAL_HEADERS

# A run's counters, in the order of the Journal's columns after `Début`, `Fin` and `Résultat`.
COUNT_KEYS = (
    "rows_read", "new", "updated", "duplicates", "anomalies", "emails_sent", "emails_failed",
    "emails_waiting", "emails_uncertain",
)  # fmt: skip


def sheet_counts(
    evaluation: Evaluation, writes: Sequence[SheetWrite], cohort_table: Table | None
) -> dict[str, int]:
    """What a run did to the sheets: rows read, people new to the cohort sheet, rows updated
    (the cohort sheet's write comes first in `writes`), probable duplicates, anomalies."""
    known, _ = current_decisions(cohort_table)
    reasons = Counter(a.reason for a in evaluation.anomalies)
    return {
        "rows_read": evaluation.rows_read,
        "new": sum(1 for p in evaluation.people if p.id not in known),
        "updated": len(writes[0].expected_keys),
        "duplicates": reasons[Reason.DOUBLON_PROBABLE],
        "anomalies": len({a.key for a in evaluation.anomalies}),
    }


def journal_entry(
    name: str,
    current: Table | None,
    *,
    run_id: str,
    counts: Mapping[str, int],
    start: datetime,
    end: datetime,
    result: str,
    marks: Mapping[str, str] | None,
) -> SheetWrite:
    """The run's row appended to the Journal (`name`, as read: `current`), with its layout."""
    values: list[Cell] = [sheet_stamp(start), sheet_stamp(end), result]
    values += [counts[k] for k in COUNT_KEYS]
    values.append(run_id)
    values.append(counts.get("emails_recovered", 0))
    entry = plan_append(name, current, JOURNAL_HEADERS, values)
    layout = journal_layout(header_after(current, entry), rows_after(current, entry))
    return with_layout(entry, layout, marks)
