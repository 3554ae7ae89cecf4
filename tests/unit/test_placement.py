"""Eligibility, ranking, capacity and staff decisions, as SPEC.md states them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import CohortSettings
from pipeline.core.cohort import current_decisions
from pipeline.core.errors import SheetError
from pipeline.core.model import (
    AuthorityKind,
    Eligibility,
    Match,
    MatchOutcome,
    Member,
    Person,
    Reason,
    Role,
    Status,
)
from pipeline.core.people import person_id
from pipeline.core.placement import place
from pipeline.core.vocabulary import PARIS
from tests.support.builders import person, settings

OPENS = datetime(2026, 3, 30, 9, 0, tzinfo=PARIS)
AFTER = OPENS + timedelta(days=2)
LYON = Member(row=2, name="Lyon", kind=AuthorityKind.COMMUNE, department="69")
RENNES = Member(row=3, name="Rennes", kind=AuthorityKind.COMMUNE, department="35")


def cohort(**changes: object) -> CohortSettings:
    return settings(Path("/tmp")).cohort.model_copy(update=changes)


def matched(member: Member = LYON) -> Match:
    return Match(outcome=MatchOutcome.MATCHED, member=member, method="nom")


def run(
    people: list[Person],
    matches: dict[str, Match] | None = None,
    decisions: dict[str, str] | None = None,
    previous: dict[str, Status] | None = None,
    now: datetime = AFTER,
    **cohort_changes: object,
) -> tuple[dict[str, Status], dict[str, int | None], list[Reason]]:
    matches = matches or {}
    full = {p.id: matches.get(p.last_name, matched()) for p in people}
    placements, anomalies = place(
        people, full, decisions or {}, previous or {}, cohort(**cohort_changes), now
    )
    by_name = {p.id: p.last_name for p in people}
    statuses = {by_name[k]: v.status for k, v in placements.items()}
    ranks = {by_name[k]: v.rank for k, v in placements.items()}
    return statuses, ranks, [a.reason for a in anomalies]


def test_before_opening_everyone_valid_is_interest() -> None:
    """Before registration opens, placeable people get `Intérêt enregistré`, others their status."""
    people = [person("a", 1), person("b", 2), person("c", 3)]
    none = Match(outcome=MatchOutcome.NONE)
    doubt = Match(outcome=MatchOutcome.AMBIGUOUS, explanation="deux candidates")
    statuses, ranks, _ = run(people, {"b": none, "c": doubt}, now=OPENS - timedelta(minutes=1))
    assert statuses == {"a": Status.INTERET, "b": Status.NON_ELIGIBLE, "c": Status.A_VERIFIER}
    assert set(ranks.values()) == {None}


def test_capacity_fills_in_rank_order() -> None:
    """With 3 places, the 3 first ranked are Inscrit·e and the rest wait, ranks 1..n."""
    people = [person(n, d) for n, d in (("a", 5), ("b", 1), ("c", 3), ("d", 2), ("e", 4))]
    statuses, ranks, _ = run(people)
    assert [n for n, s in sorted(statuses.items()) if s is Status.INSCRIT] == ["b", "c", "d"]
    assert statuses["a"] is statuses["e"] is Status.LISTE_ATTENTE
    assert ranks == {"b": 1, "d": 2, "c": 3, "e": 4, "a": 5}


def test_ranking_certificat_then_new_elected_then_earliest() -> None:
    """Certificat before Sessions, then new élu·es, then the earliest first answer."""
    people = [
        person("agent", 1, role=Role.AGENT),
        person("old", 2),
        person("new", 3, first_term=True),
        person("newer", 4, first_term=True),
    ]
    _, ranks, _ = run(people, capacity=10)
    assert ranks == {"new": 1, "newer": 2, "old": 3, "agent": 4}


def test_eligibility_by_role_and_match() -> None:
    """Élu·e of a member: Certificat; non-élu·e: Sessions; unknown role: À vérifier."""
    people = [person("elu", 1), person("agent", 2, role=Role.AUTRE), person("odd", 3, role=None)]
    full = {p.id: matched() for p in people}
    placements, anomalies = place(people, full, {}, {}, cohort(capacity=10), AFTER)
    by_name = {p.last_name: placements[p.id] for p in people}
    assert by_name["elu"].eligibility is Eligibility.CERTIFICAT
    assert by_name["agent"].eligibility is Eligibility.SESSIONS
    assert by_name["odd"].eligibility is Eligibility.A_VERIFIER
    assert by_name["odd"].status is Status.A_VERIFIER
    assert [a.reason for a in anomalies] == [Reason.FONCTION_INCONNUE]


def test_refusal_frees_a_place_for_the_waiting_list() -> None:
    """Staff `Refusé` gives `Refusé·e` and the first on the waiting list takes the place."""
    people = [person(n, d) for n, d in (("a", 1), ("b", 2), ("c", 3), ("d", 4))]
    decisions = {person_id("b@x.fr"): "refusé"}
    previous = {p.id: Status.INSCRIT for p in people[:3]}
    statuses, ranks, _ = run(people, decisions=decisions, previous=previous)
    assert statuses["b"] is Status.REFUSE and ranks["b"] is None
    assert statuses["d"] is Status.INSCRIT


def test_confirmed_place_is_never_taken_back() -> None:
    """A later, higher-priority answer does not push an `Inscrit·e` person to the waiting list."""
    people = [person("a", 1, role=Role.AGENT), person("b", 2, first_term=True)]
    previous = {person_id("a@x.fr"): Status.INSCRIT}
    statuses, _, _ = run(people, previous=previous, capacity=1)
    assert statuses == {"a": Status.INSCRIT, "b": Status.LISTE_ATTENTE}


def test_staff_acceptance_ranks_first_and_places_even_over_capacity() -> None:
    """`Accepté` is ranked first and placed even when the places are taken."""
    people = [person("a", 1), person("b", 2), person("late", 20)]
    decisions = {person_id("late@x.fr"): "Accepté"}
    previous = {person_id("a@x.fr"): Status.INSCRIT, person_id("b@x.fr"): Status.INSCRIT}
    statuses, ranks, _ = run(people, decisions=decisions, previous=previous, capacity=2)
    assert statuses == {"a": Status.INSCRIT, "b": Status.INSCRIT, "late": Status.INSCRIT}
    assert ranks["late"] == 1


def test_staff_approval_mode_proposes_then_confirms() -> None:
    """With approval required, placed people are `Proposé·e` until staff write `Accepté`."""
    people = [person("a", 1), person("b", 2)]
    decisions = {person_id("b@x.fr"): "ACCEPTE"}
    statuses, _, _ = run(people, decisions=decisions, require_staff_approval=True)
    assert statuses == {"a": Status.PROPOSE, "b": Status.INSCRIT}


def test_waitlist_and_withdrawal_decisions_win() -> None:
    """`Liste d'attente` and `Désisté` typed by staff always win over capacity."""
    people = [person("a", 1), person("b", 2)]
    decisions = {person_id("a@x.fr"): "Liste d’attente", person_id("b@x.fr"): "Désisté"}
    statuses, _, _ = run(people, decisions=decisions)
    assert statuses == {"a": Status.LISTE_ATTENTE, "b": Status.DESISTE}


def test_max_per_authority_caps_places() -> None:
    """With a cap of 1 per collectivité, a second person of the same member waits."""
    people = [person("a", 1), person("b", 2), person("c", 3)]
    statuses, _, _ = run(people, {"c": matched(RENNES)}, max_per_authority=1)
    assert statuses == {"a": Status.INSCRIT, "b": Status.LISTE_ATTENTE, "c": Status.INSCRIT}


def test_late_first_answer_is_hors_delai() -> None:
    """A first answer after closing is `Hors délai` with a `hors_delai` anomaly."""
    late = person("late", 1)
    late = late.model_copy(update={"first_submitted": datetime(2026, 5, 2, tzinfo=PARIS)})
    statuses, _, reasons = run([late, person("a", 2)], now=datetime(2026, 5, 3, tzinfo=PARIS))
    assert statuses == {"late": Status.HORS_DELAI, "a": Status.INSCRIT}
    assert reasons == [Reason.HORS_DELAI]


def test_invalid_decision_is_reported_and_ignored() -> None:
    """A decision outside the allowed values is listed as `decision_invalide` and ignored."""
    people = [person("a", 1)]
    statuses, _, reasons = run(people, decisions={person_id("a@x.fr"): "peut-être"})
    assert statuses == {"a": Status.INSCRIT} and reasons == [Reason.DECISION_INVALIDE]


def test_renamed_decision_column_stops_the_run() -> None:
    """A cohort sheet with people but no `Décision CUF` column is an error, not silence."""
    table = [["ID", "Statut", "Decision"], ["DT-1", "Inscrit·e", "Refusé"]]
    with pytest.raises(SheetError, match="no 'Décision CUF' column"):
        current_decisions(table, "Promotion 2026")
    decisions, shown = current_decisions(
        [["ID", "Décision CUF", "Statut"], ["DT-1", "Refusé", "Inscrit·e"]]
    )
    assert decisions == {"DT-1": "Refusé"} and shown == {"DT-1": Status.INSCRIT}
