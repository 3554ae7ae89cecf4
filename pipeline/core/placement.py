"""Eligibility, ranking, capacity and staff decisions -> each person's Statut and Rang."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from pipeline.core.model import (
    Anomaly,
    Decision,
    Eligibility,
    Match,
    MatchOutcome,
    Person,
    Reason,
    Status,
)
from pipeline.core.settings import CohortSettings
from pipeline.core.text import fold
from pipeline.core.vocabulary import PARIS

_DECISIONS = {fold(d.value): d for d in Decision}
PLACED = frozenset({Status.INSCRIT, Status.PROPOSE})


@dataclass(frozen=True)
class Placement:
    eligibility: Eligibility
    status: Status
    rank: int | None = None
    waitlist_position: int | None = None


def parse_decision(text: str) -> Decision | None:
    """An allowed `Décision CUF` value, accent- and case-insensitive; None when empty or invalid."""
    return _DECISIONS.get(fold(text))


def fr_datetime(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def eligibility_of(person: Person, match: Match) -> tuple[Eligibility, list[Anomaly]]:
    """Certificat / Sessions / Non adhérente / À vérifier, with the anomalies that explain doubt."""
    anomalies: list[Anomaly] = []

    def note(reason: Reason, text: str) -> None:
        anomalies.append(
            Anomaly(
                reason=reason,
                explanation=text,
                row=person.rows[-1],
                person_id=person.id,
                person=person.display_name,
                authority=person.authority,
            )
        )

    if person.role is None:
        typed = f"« {person.role_raw} »" if person.role_raw else "vide"
        note(
            Reason.FONCTION_INCONNUE,
            f"La fonction ({typed}) ne fait pas partie des choix du formulaire : impossible de "
            "savoir s'il s'agit d'un·e élu·e. Vérifiez puis corrigez la réponse ou décidez à la main.",
        )
    if match.outcome is MatchOutcome.AMBIGUOUS:
        note(
            Reason.COLLECTIVITE_AMBIGUE,
            match.explanation
            or f"« {person.authority} » ne correspond à aucune adhérente avec certitude.",
        )
        eligibility = Eligibility.A_VERIFIER
    elif person.role is None:
        eligibility = Eligibility.A_VERIFIER
    elif match.outcome is MatchOutcome.NONE:
        eligibility = Eligibility.NON_ADHERENTE
    else:
        eligibility = Eligibility.CERTIFICAT if person.role.is_elected else Eligibility.SESSIONS
    return eligibility, anomalies


def place(
    people: Iterable[Person],
    matches: Mapping[str, Match],
    decisions: Mapping[str, str],
    previous: Mapping[str, Status],
    cohort: CohortSettings,
    now: datetime,
    held: Mapping[str, str] | None = None,
) -> tuple[dict[str, Placement], list[Anomaly]]:
    """Every person's eligibility and status; placeable people ranked and placed by capacity.

    Stability: someone already `Inscrit·e` keeps the place (a confirmation is never revoked by a
    later, higher-priority answer); staff `Accepté` is placed even over capacity. `held` maps the
    people whose answers are no longer found but whose row still shows a place to their
    collectivité (as `max_per_authority` counts it): their places stay taken.
    """
    people = list(people)
    result: dict[str, Placement] = {}
    anomalies: list[Anomaly] = []
    candidates: list[tuple[Person, Eligibility, Decision | None]] = []
    opened = now >= cohort.registration_opens

    for person in people:
        match = matches[person.id]
        eligibility, found = eligibility_of(person, match)
        anomalies.extend(found)
        typed = decisions.get(person.id, "").strip()
        decision = parse_decision(typed)
        if typed and decision is None:
            allowed = ", ".join(f"« {d.value} »" for d in Decision)
            anomalies.append(
                Anomaly(
                    reason=Reason.DECISION_INVALIDE,
                    explanation=(
                        f"« {typed} » n'est pas une décision reconnue ; elle est ignorée. "
                        f"Valeurs possibles : {allowed} (ou vide)."
                    ),
                    row=None,
                    person_id=person.id,
                    person=person.display_name,
                    authority=person.authority,
                )
            )
        late = person.first_submitted > cohort.registration_closes
        if late:
            anomalies.append(
                Anomaly(
                    reason=Reason.HORS_DELAI,
                    explanation=(
                        f"Première réponse le {fr_datetime(person.first_submitted)}, après la "
                        f"clôture des inscriptions ({fr_datetime(cohort.registration_closes)}). "
                        "Écrivez « Accepté » dans Décision CUF pour l'intégrer malgré tout."
                    ),
                    row=person.rows[0],
                    person_id=person.id,
                    person=person.display_name,
                    authority=person.authority,
                )
            )
        accepted = decision is Decision.ACCEPTE
        if decision is Decision.REFUSE:
            result[person.id] = Placement(eligibility, Status.REFUSE)
        elif decision is Decision.DESISTE:
            result[person.id] = Placement(eligibility, Status.DESISTE)
        elif not opened:
            status = {
                Eligibility.NON_ADHERENTE: Status.NON_ELIGIBLE,
                Eligibility.A_VERIFIER: Status.A_VERIFIER,
            }.get(eligibility, Status.INTERET)
            if accepted or late:
                status = Status.INTERET if accepted else Status.HORS_DELAI
            result[person.id] = Placement(eligibility, status)
        elif eligibility is Eligibility.NON_ADHERENTE and not accepted:
            result[person.id] = Placement(eligibility, Status.NON_ELIGIBLE)
        elif eligibility is Eligibility.A_VERIFIER and not accepted:
            result[person.id] = Placement(eligibility, Status.A_VERIFIER)
        elif late and not accepted:
            result[person.id] = Placement(eligibility, Status.HORS_DELAI)
        else:
            candidates.append((person, eligibility, decision))

    def merit(item: tuple[Person, Eligibility, Decision | None]) -> tuple[object, ...]:
        """The programme's order: staff `Accepté`, Certificat, new élu·es, earliest answer."""
        person, eligibility, decision = item
        return (
            decision is not Decision.ACCEPTE,
            eligibility is not Eligibility.CERTIFICAT,
            not person.is_new_elected,
            person.first_submitted,
            person.id,
        )

    def priority(item: tuple[Person, Eligibility, Decision | None]) -> tuple[object, ...]:
        """Who gets a place first: as `merit`, but a place held at the last run is kept."""
        first, *rest = merit(item)
        return (first, previous.get(item[0].id) not in PLACED, *rest)

    candidates.sort(key=priority)
    placed = len(held or {})
    per_authority: Counter[str] = Counter((held or {}).values())
    cap = cohort.max_per_authority
    seated: list[tuple[Person, Eligibility, Status, Decision | None]] = []
    waiting: list[tuple[Person, Eligibility, str, Decision | None]] = []
    for person, eligibility, decision in candidates:
        match = matches[person.id]
        authority = match.member.name if match.member else fold(person.authority)
        keeps_place = decision is Decision.ACCEPTE or previous.get(person.id) is Status.INSCRIT
        fits = placed < cohort.capacity and (cap is None or per_authority[authority] < cap)
        if decision is not Decision.LISTE_ATTENTE and (keeps_place or fits):
            placed += 1
            per_authority[authority] += 1
            confirmed = not cohort.require_staff_approval or decision is Decision.ACCEPTE
            confirmed = confirmed or previous.get(person.id) is Status.INSCRIT
            status = Status.INSCRIT if confirmed else Status.PROPOSE
            seated.append((person, eligibility, status, decision))
        else:
            waiting.append((person, eligibility, authority, decision))
    # Ranks follow the outcome, so they agree with Statut and do not move on the next run (which
    # sorts the people placed now first): placed people in priority order, then the waiting
    # list, where people whose collectivité is at `max_per_authority` come after the others (a
    # place freed elsewhere cannot go to them): the position a person is told is true.
    # Within each, the order ignores the previous run's statuses (which only decide who keeps
    # a place): someone placed by this run ranks the same on the next, where they are "previous".
    seated.sort(key=lambda item: merit((item[0], item[1], item[3])))
    waiting.sort(
        key=lambda item: (
            cap is not None and per_authority[item[2]] >= cap,
            merit((item[0], item[1], item[3])),
        )
    )
    for rank, (person, eligibility, status, _) in enumerate(seated, start=1):
        result[person.id] = Placement(eligibility, status, rank=rank)
    for position, (person, eligibility, _, _) in enumerate(waiting, start=1):
        result[person.id] = Placement(
            eligibility,
            Status.LISTE_ATTENTE,
            rank=len(seated) + position,
            waitlist_position=position,
        )
    return result, anomalies
