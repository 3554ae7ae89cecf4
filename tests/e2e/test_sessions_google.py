"""Sessions, attendance and certificates on the Google backend (the Sheets API stand-in):
`sessions init` makes the sheet with its dropdowns and notes, date cells typed in the browser
are read in the spreadsheet's time zone, the three sheets go in the same batched read and write,
staff marks are never written, and reruns send nothing twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.core.vocabulary import SESSION_HEADERS
from pipeline.entry.cli import main
from tests.support.google_world import READ, WRITE_APIS, World, google_world
from tests.support.scenario import OPENING, outbox, records


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with google_world(tmp_path, monkeypatch) as opened:
        yield opened


def templates(world: World) -> Counter[str]:
    return Counter(str(m["X-CUF-Template"]) for m in outbox(world.tmp))


def test_sessions_on_google(world: World) -> None:
    """init, invitations, a rerun that sends nothing, marks kept, certificates proposed."""
    assert world.runs(OPENING) == 0
    placed = templates(world)["inscription_confirmee"]
    assert placed > 0
    assert main(["sessions", "init", "--config", str(world.runs.config)]) == 0
    sheet = world.view.sheet("Sessions")
    assert [c for c in world.view.table("Sessions")[0]] == list(SESSION_HEADERS)
    assert sheet is not None
    debut = sheet.decor.formats.get((2, 4), {})  # Début, first data row
    assert debut.get("numberFormat") == {"type": "DATE_TIME", "pattern": "dd/mm/yyyy hh:mm"}
    debut = sheet.decor.formats.get((2, 4), {})  # Début, first data row
    assert debut.get("numberFormat") == {"type": "DATE_TIME", "pattern": "dd/mm/yyyy hh:mm"}
    # Staff type two sessions in the browser: Google stores the dates as date-time serials.
    world.view.append("Sessions", ["S1", "Ouverture", "Rencontre", "20/04/2026 09:30:00",
                                   "20/04/2026 12:30:00", "Paris", "", ""])  # fmt: skip
    world.view.append("Sessions", ["S2", "Terrain", "Temps de terrain", "27/04/2026 09:30:00",
                                   "27/04/2026 17:00:00", "Lyon", "", ""])  # fmt: skip
    assert world.runs("2026-04-03T09:00") == 0
    assert templates(world)["invitation_session"] == 2 * placed
    assert world.runs.apis("2026-04-03T09:00")[:2] == READ  # one batched read, sheets included
    invitation = next(m for m in outbox(world.tmp) if m["X-CUF-Template"] == "invitation_session")
    text = invitation.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "de 9 h 30 à" in text  # the serial read in the spreadsheet's zone, shown in Paris time
    assert world.runs("2026-04-03T09:10") == 0
    assert templates(world)["invitation_session"] == 2 * placed

    # Staff mark attendance (one mistake), then both sessions are held.
    rows = world.view.table("Émargement")
    header, body = rows[0], [list(r) for r in rows[1:] if any(r)]
    s1, s2 = header.index("S1"), header.index("S2")
    for number, row in enumerate(body):
        row[s1] = "Présent"
        row[s2] = "Présent" if number else "Presnt"
    world.view.rewrite("Émargement", header, body)
    assert world.runs("2026-04-28T09:00") == 0
    marks = [r["S2"] for r in records(world.view, "Émargement")]
    assert marks[0] == "Presnt"  # staff's cell, never written
    certificates = records(world.view, "Certificats")
    assert len(certificates) == placed
    statuses = Counter(str(r["Statut"]) for r in certificates)
    assert statuses["Non atteint"] == 1 and statuses["À valider"] == placed - 1
    assert any(r["Code motif"] == "emargement_invalide" for r in records(world.view, "À vérifier"))
    assert world.runs("2026-04-28T09:10") == 0
    assert not set(world.runs.apis("2026-04-28T09:10")) & WRITE_APIS  # idle: nothing written
