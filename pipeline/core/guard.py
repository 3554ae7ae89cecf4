"""The sanity guard: inputs that no real day produces stop a run before it sends or writes.

Pure: the tables the run read, what the core made of them and the last run's moment go in, a
list of plain English findings comes out (empty: go on). Findings name sheets and counts, never
a participant's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.core.cohort import Evaluation
from pipeline.core.settings import Settings
from pipeline.core.sheetplan import Table, header_index
from pipeline.core.text import fold
from pipeline.core.vocabulary import COHORT_NAME, ID, MEMBERS_SHEET, RESPONSES_SHEET


@dataclass(frozen=True)
class Limits:
    """The `[safety]` config section and the sheet names findings quote."""

    responses: str = RESPONSES_SHEET
    members: str = MEMBERS_SHEET
    cohort: str = COHORT_NAME
    max_vanished_share: float = 0.2
    max_eligibility_change_share: float = 0.25
    min_people: int = 20
    clock_tolerance: timedelta = timedelta(minutes=5)


def limits_from(settings: Settings) -> Limits:
    """The thresholds of `[safety]` and the sheet names findings quote."""
    safety, names = settings.safety, settings.sheets
    return Limits(
        responses=names.responses, members=names.members, cohort=settings.cohort.name,
        max_vanished_share=safety.max_vanished_share,
        max_eligibility_change_share=safety.max_eligibility_change_share,
        min_people=safety.min_people,
        clock_tolerance=timedelta(minutes=safety.clock_tolerance_minutes),
    )  # fmt: skip


def _shown(cohort: Table | None, column: str) -> dict[str, str]:
    """ID -> the text `column` shows, for every row with an ID (first row wins)."""
    if not cohort:
        return {}
    columns = header_index(cohort[0])
    id_col, col = columns.get(fold(ID)), columns.get(fold(column))
    found: dict[str, str] = {}
    if id_col is None:
        return found
    for cells in cohort[1:]:
        pid = cells[id_col].strip() if id_col < len(cells) else ""
        if pid and pid not in found:
            found[pid] = cells[col].strip() if col is not None and col < len(cells) else ""
    return found


def clock_problem(now: datetime, last: datetime | None, limits: Limits) -> str | None:
    """A run `now` earlier than the last run's moment (a wrong clock, or `--as-of` in the past)."""
    if last is None or now >= last - limits.clock_tolerance:
        return None
    return (
        f"this run's time ({now.isoformat(timespec='minutes')}) is earlier than the last run's "
        f"({last.isoformat(timespec='minutes')}): a clock set back, or --as-of in the past, "
        "would hide answers that runs already saw"
    )


def input_problems(
    evaluation: Evaluation, members: Table, cohort: Table | None, limits: Limits
) -> list[str]:
    """What looks broken in this run's inputs, compared with what the cohort sheet shows."""
    names = safety = limits
    problems: list[str] = []
    shown = _shown(cohort, "Éligibilité")
    if not evaluation.members:
        rows = max(len([r for r in members[1:] if any(c.strip() for c in r)]), 0) if members else 0
        problems.append(
            f"the member list '{names.members}' holds no member ({rows} row(s) without a "
            "'Collectivité'): everyone would be judged 'Non adhérente'"
        )
    elif not any(m.active for m in evaluation.members):
        problems.append(
            f"no member of '{names.members}' is active ('Adhésion'): everyone would be judged "
            "'Non adhérente'"
        )
    if evaluation.rows_read == 0 and shown:
        problems.append(
            f"the responses sheet '{names.responses}' holds no answer while "
            f"'{limits.cohort}' shows {len(shown)} people"
        )
    if len(shown) >= safety.min_people:
        vanished = len(evaluation.absent)
        if vanished / len(shown) > safety.max_vanished_share:
            problems.append(
                f"the answers of {vanished} of the {len(shown)} people in "
                f"'{limits.cohort}' are no longer found in '{names.responses}' (more than "
                f"safety.max_vanished_share = {safety.max_vanished_share:.0%}), perhaps a "
                "moved or inserted column, or deleted rows"
            )
        placements = evaluation.placements
        compared = [pid for pid in shown if pid in placements and shown[pid]]
        changed = sum(1 for pid in compared if placements[pid].eligibility.value != shown[pid])
        if compared and changed / len(compared) > safety.max_eligibility_change_share:
            problems.append(
                f"the Éligibilité of {changed} of {len(compared)} people would change (more "
                f"than safety.max_eligibility_change_share = "
                f"{safety.max_eligibility_change_share:.0%}), perhaps a damaged member list"
            )
    return problems


def refusal(problems: Sequence[str]) -> str:
    """The one paragraph an operator reads."""
    return (
        "the inputs look wrong, so this run stopped before sending or writing anything: "
        + "; ".join(problems)
        + ". Fix the spreadsheet (its version history can restore it); if the change is real, "
        "run once with `diplomates run --force` (thresholds: [safety] in the config file)."
    )
