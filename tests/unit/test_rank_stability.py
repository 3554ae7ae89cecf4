"""Ranks never flap: a run right after any run plans nothing, caps and staff decisions included."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member
from tests.support.builders import settings as make_settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport

PARIS = ZoneInfo("Europe/Paris")
OPENING = datetime(2026, 4, 2, 9, 0, tzinfo=PARIS)
COHORT = "Promotion 2026"
PLACES = [("Ville de Lyon", "69"), ("Rennes", "35"), ("Nantes", "44"), ("Lille", "59")]
ROLES = ["Maire", "Adjoint·e au maire", "Agent·e territorial·e (non élu·e)"]
DECISIONS = ["", "", "", "Accepté", "Refusé", "Liste d'attente", "Désisté"]

people = st.lists(
    st.tuples(
        st.integers(0, len(PLACES) - 1),  # collectivité
        st.sampled_from(ROLES),
        st.booleans(),  # first term
        st.integers(1, 28),  # day of March
    ),
    min_size=1,
    max_size=12,
)


def rank_by_status(sheet: MemorySpreadsheet) -> list[tuple[int, str]]:
    header, *rows = sheet.tables[COHORT]
    rank, status = header.index("Rang"), header.index("Statut")
    return sorted((int(r[rank]), r[status]) for r in rows if r[rank])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=people,
    capacity=st.integers(1, 6),
    cap=st.none() | st.integers(1, 3),
    approval=st.booleans(),
    decisions=st.lists(st.sampled_from(DECISIONS), min_size=12, max_size=12),
)
def test_an_immediate_rerun_plans_nothing(
    people: list[tuple[int, str, bool, int]],
    capacity: int,
    cap: int | None,
    approval: bool,
    decisions: list[str],
) -> None:
    """Run, rerun: nothing to write or send; after staff decisions, the same; and nobody
    Inscrit·e or Proposé·e ranks behind someone on the waiting list."""
    answers = [
        answer(
            f"{day:02d}/03/2026 09:{n:02d}:00", f"p{n}@example.fr", f"Nom{n}", f"P{n}",
            PLACES[where][0], department=PLACES[where][1], role=role,
            first_term="Oui" if first else "Non",
        )
        for n, (where, role, first, day) in enumerate(people)
    ]  # fmt: skip
    sheet = MemorySpreadsheet(
        {
            "Réponses au formulaire 1": [FORM_HEADERS, *answers],
            "Adhérents": [MEMBER_HEADERS, *(member(name, dep=dep) for name, dep in PLACES)],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = make_settings(
            Path(tmp), capacity=capacity, max_per_authority=cap, require_staff_approval=approval
        )
        store = StateStore(config.state.url)
        runner = Runner(config, spreadsheet=sheet, transport=RecordingTransport(), store=store)
        moment = OPENING
        runner.run(now=moment)
        for step in range(2):
            moment += timedelta(minutes=1)
            report = runner.run(now=moment)
            assert report.plan.empty and not report.due, (step, report.plan)
            ranked = [status for _, status in rank_by_status(sheet)]
            waiting = [i for i, s in enumerate(ranked) if s == "Liste d'attente"]
            placed = [i for i, s in enumerate(ranked) if s in ("Inscrit·e", "Proposé·e")]
            assert not waiting or not placed or max(placed) < min(waiting)
            if step == 0:  # staff decide, a run applies it; the next must be idle again
                header, *rows = sheet.tables[COHORT]
                col = header.index("Décision CUF")
                for row, decision in zip(rows, decisions, strict=False):
                    while len(row) <= col:
                        row.append("")
                    row[col] = decision
                moment += timedelta(minutes=1)
                runner.run(now=moment)
        store.close()
