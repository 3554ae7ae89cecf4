"""Identity: merge a person's submissions, and spot probable duplicates."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from pipeline.core.model import Anomaly, Person, Reason, Response
from pipeline.core.text import fold


def person_id(email: str) -> str:
    """Stable id from the normalized email: the same address always gives the same id."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return "DT-" + digest[:10].upper()


_MERGED = (
    "last_name",
    "first_name",
    "phone",
    "role",
    "role_raw",
    "authority",
    "authority_kind",
    "department",
    "department_raw",
    "first_term",
    "intl_delegate",
    "comment",
)


def _latest(responses: list[Response], field: str) -> object:
    for response in reversed(responses):
        value = getattr(response, field)
        if value is not None and value != "":
            return value
    return getattr(responses[-1], field)


def merge_people(responses: Iterable[Response]) -> list[Person]:
    """One Person per normalized email; the latest non-empty value of each field wins.

    The result does not depend on the order of `responses` (they are sorted by time, then row).
    """
    groups: dict[str, list[Response]] = defaultdict(list)
    for response in responses:
        groups[response.email].append(response)
    people = []
    for email, group in groups.items():
        group.sort(key=lambda r: (r.submitted_at, r.row))
        values = {field: _latest(group, field) for field in _MERGED}
        # role and role_raw travel together: the role is the latest *typed* one
        latest_role = next((r for r in reversed(group) if r.role_raw), group[-1])
        values["role"], values["role_raw"] = latest_role.role, latest_role.role_raw
        latest_dep = next((r for r in reversed(group) if r.department_raw), group[-1])
        values["department"] = latest_dep.department
        values["department_raw"] = latest_dep.department_raw
        people.append(
            Person.model_validate(
                {
                    "id": person_id(email),
                    "email": email,
                    **values,
                    "first_submitted": group[0].submitted_at,
                    "last_submitted": group[-1].submitted_at,
                    "responses": len(group),
                    "rows": tuple(sorted(r.row for r in group)),
                }
            )
        )
    people.sort(key=lambda p: (p.first_submitted, p.id))
    return people


def probable_duplicates(
    people: Iterable[Person], authority_key: Callable[[Person], str]
) -> list[Anomaly]:
    """Different addresses, same folded name and same collectivité: listed for staff, not merged."""
    groups: dict[tuple[str, str], list[Person]] = defaultdict(list)
    for person in people:
        name = fold(f"{person.first_name} {person.last_name}")
        groups[(name, authority_key(person))].append(person)
    anomalies = []
    for group in groups.values():
        if len(group) < 2:
            continue
        for person in group:
            others = ", ".join(o.id for o in group if o is not person)
            anomalies.append(
                Anomaly(
                    reason=Reason.DOUBLON_PROBABLE,
                    explanation=(
                        f"Même nom et même collectivité que {others}, avec une autre adresse "
                        "e-mail. Les deux fiches sont gardées : vérifiez s'il s'agit de la même "
                        "personne et, si oui, passez l'une d'elles en « Désisté »."
                    ),
                    row=person.rows[-1],
                    person_id=person.id,
                    person=person.display_name,
                    authority=person.authority,
                )
            )
    return anomalies


def index_by_id(people: Iterable[Person]) -> Mapping[str, Person]:
    return {p.id: p for p in people}
