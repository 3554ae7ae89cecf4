"""Which emails are due: from each person's state and what the ledger already holds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Set

from pipeline.core.model import Eligibility, Person, Status, Template
from pipeline.core.placement import Placement


def message_key(cohort: str, person_id: str, template: Template) -> str:
    """The idempotency key of a message, also its Message-ID's local part."""
    digest = hashlib.sha256(f"{cohort}|{person_id}|{template.value}".encode()).hexdigest()
    return f"{template.value}.{person_id}.{digest[:16]}"


def session_message_key(
    cohort: str, person_id: str, template: Template, session: str, version: str
) -> str:
    """The idempotency key (and Message-ID local part) of a session message."""
    text = f"{cohort}|{person_id}|{template.value}|{session}|{version}"
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{template.value}.{person_id}.{digest[:16]}"


def document_message_key(cohort: str, person_id: str, template: Template) -> str:
    """The key of a certificate's or attestation's email: one per person and template."""
    return message_key(cohort, person_id, template)


def due_messages(
    people: Iterable[Person],
    placements: Mapping[str, Placement],
    already: Mapping[str, Set[Template]],
) -> list[tuple[str, Template]]:
    """(person id, template) pairs the person's state calls for and the ledger does not hold yet.

    `already` holds every template ever queued for the person in this cohort, whatever its
    delivery state: a message is queued at most once.
    """
    due: list[tuple[str, Template]] = []
    for person in people:
        placement = placements[person.id]
        have = already.get(person.id, frozenset())
        wanted: list[Template] = []
        if placement.eligibility is Eligibility.NON_ADHERENTE:
            if Template.NON_ELIGIBLE not in have and Template.ACCUSE_RECEPTION not in have:
                wanted.append(Template.NON_ELIGIBLE)
        else:
            wanted.append(Template.ACCUSE_RECEPTION)
        if placement.status is Status.INSCRIT:
            if Template.INSCRIPTION_CONFIRMEE not in have and Template.PLACE_LIBEREE not in have:
                was_waiting = Template.LISTE_ATTENTE in have
                wanted.append(
                    Template.PLACE_LIBEREE if was_waiting else Template.INSCRIPTION_CONFIRMEE
                )
        elif placement.status is Status.LISTE_ATTENTE:
            confirmed = {Template.INSCRIPTION_CONFIRMEE, Template.PLACE_LIBEREE} & set(have)
            if not confirmed:
                wanted.append(Template.LISTE_ATTENTE)
        due.extend((person.id, t) for t in wanted if t not in have)
    return due
