"""Identity: merging submissions by normalized email, and probable duplicates."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.model import Reason, Response, Role
from pipeline.core.people import merge_people, person_id, probable_duplicates
from pipeline.core.vocabulary import PARIS

BASE = datetime(2026, 3, 1, 9, 0, tzinfo=PARIS)


def response(row: int, email: str, minutes: int, **fields: object) -> Response:
    values: dict[str, object] = {
        "row": row,
        "submitted_at": BASE + timedelta(minutes=minutes),
        "email": email,
        "last_name": "Martin",
        "first_name": "Camille",
        "authority": "Ville de Lyon",
        "role": Role.MAIRE,
        "role_raw": "Maire",
    }
    values.update(fields)
    return Response.model_validate(values)


def test_person_id_is_stable_and_derived_from_email() -> None:
    """The same normalized address always gives the same id; another address another id."""
    assert person_id("a@b.fr") == person_id(" A@B.fr ")
    assert person_id("a@b.fr") != person_id("c@b.fr")
    assert person_id("a@b.fr").startswith("DT-") and len(person_id("a@b.fr")) == 13


def test_latest_non_empty_value_wins() -> None:
    """A later answer updates a field; an empty later field does not erase an earlier value."""
    people = merge_people(
        [
            response(2, "a@b.fr", 0, phone="+33 6 12 34 56 78", comment="premier"),
            response(5, "a@b.fr", 30, phone="", comment="second", last_name="Martin-Durand"),
        ]
    )
    assert len(people) == 1
    person = people[0]
    assert person.phone == "+33 6 12 34 56 78" and person.comment == "second"
    assert person.last_name == "Martin-Durand" and person.responses == 2
    assert person.first_submitted == BASE and person.last_submitted == BASE + timedelta(minutes=30)
    assert person.rows == (2, 5)


emails = st.sampled_from(["a@b.fr", "c@d.fr", "e@f.fr"])
responses = st.lists(
    st.builds(
        lambda row, email, minutes, phone: response(row, email, minutes, phone=phone),
        st.integers(2, 500),
        emails,
        st.integers(0, 10_000),
        st.sampled_from(["", "+33 6 12 34 56 78", "+33 1 23 45 67 89"]),
    ),
    max_size=12,
    unique_by=lambda r: r.row,
)


@given(responses, st.randoms())
def test_merging_is_order_independent(items: list[Response], rnd: object) -> None:
    """Shuffling the submissions does not change the merged people."""
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert merge_people(items) == merge_people(shuffled)


@given(responses)
def test_merging_is_idempotent(items: list[Response]) -> None:
    """Merging the same submissions twice over gives the same people (duplicated rows aside)."""
    once = merge_people(items)
    assert merge_people(items) == once
    assert sum(p.responses for p in once) == len(items)


def test_probable_duplicates_listed_not_merged() -> None:
    """Same folded name and collectivité with two addresses: both listed, still two people."""
    people = merge_people(
        [
            response(2, "a@b.fr", 0, first_name="Éloïse", last_name="Dupont"),
            response(3, "x@y.fr", 5, first_name="eloise", last_name="DUPONT"),
            response(4, "z@y.fr", 6, first_name="Éloïse", last_name="Dupont", authority="Rennes"),
        ]
    )
    found = probable_duplicates(people, lambda p: p.authority.lower())
    assert len(people) == 3
    assert {a.reason for a in found} == {Reason.DOUBLON_PROBABLE}
    assert {a.person_id for a in found} == {person_id("a@b.fr"), person_id("x@y.fr")}
