"""Which emails are due, from state transitions and the ledger."""

from __future__ import annotations

from pipeline.core.messages import due_messages
from pipeline.core.model import Eligibility, Status, Template
from pipeline.core.placement import Placement
from tests.support.builders import person

E, S, T = Eligibility, Status, Template
P = person("a", 1)


def due(placement: Placement, have: set[Template] | None = None) -> list[Template]:
    return [t for _, t in due_messages([P], {P.id: placement}, {P.id: have or set()})]


def test_first_valid_answer_gets_acknowledgement() -> None:
    """A valid person of a member (or uncertain) gets `accuse_reception` once."""
    assert due(Placement(E.CERTIFICAT, S.INTERET)) == [T.ACCUSE_RECEPTION]
    assert due(Placement(E.A_VERIFIER, S.A_VERIFIER)) == [T.ACCUSE_RECEPTION]
    assert due(Placement(E.CERTIFICAT, S.INTERET), {T.ACCUSE_RECEPTION}) == []


def test_non_member_gets_non_eligible_instead() -> None:
    """A person whose collectivité is not a member gets `non_eligible`, not the acknowledgement."""
    assert due(Placement(E.NON_ADHERENTE, S.NON_ELIGIBLE)) == [T.NON_ELIGIBLE]
    assert due(Placement(E.NON_ADHERENTE, S.NON_ELIGIBLE), {T.NON_ELIGIBLE}) == []


def test_registration_and_waitlist() -> None:
    """`Inscrit·e` -> `inscription_confirmee`; `Liste d'attente` -> `liste_attente`."""
    have = {T.ACCUSE_RECEPTION}
    assert due(Placement(E.CERTIFICAT, S.INSCRIT), have) == [T.INSCRIPTION_CONFIRMEE]
    assert due(Placement(E.CERTIFICAT, S.LISTE_ATTENTE), have) == [T.LISTE_ATTENTE]


def test_freed_place_sends_place_liberee_instead_of_confirmation() -> None:
    """From the waiting list to `Inscrit·e`: `place_liberee`, never also the confirmation."""
    have = {T.ACCUSE_RECEPTION, T.LISTE_ATTENTE}
    assert due(Placement(E.CERTIFICAT, S.INSCRIT), have) == [T.PLACE_LIBEREE]
    assert due(Placement(E.CERTIFICAT, S.INSCRIT), have | {T.PLACE_LIBEREE}) == []


def test_silent_statuses_send_nothing_new() -> None:
    """`Proposé·e`, `Refusé·e` and `Désisté·e` add nothing beyond the acknowledgement."""
    have = {T.ACCUSE_RECEPTION}
    for status in (S.PROPOSE, S.REFUSE, S.DESISTE, S.HORS_DELAI):
        assert due(Placement(E.CERTIFICAT, status), have) == []


def test_confirmed_person_moved_to_waitlist_gets_no_waitlist_mail() -> None:
    """Someone already confirmed is never told they are on the waiting list."""
    have = {T.ACCUSE_RECEPTION, T.INSCRIPTION_CONFIRMEE}
    assert due(Placement(E.CERTIFICAT, S.LISTE_ATTENTE), have) == []
