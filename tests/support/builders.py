"""Small builders for tests: settings, form rows, member rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.config import Settings
from pipeline.core.model import Person, Role
from pipeline.core.people import person_id

PARIS = ZoneInfo("Europe/Paris")

FORM_HEADERS = [
    "Horodateur", "Adresse e-mail", "Nom", "Prénom", "Collectivité", "Type de collectivité",
    "Département", "Fonction", "Premier mandat", "Délégation aux relations internationales",
    "Téléphone", "Commentaire", "Consentement",
]  # fmt: skip
MEMBER_HEADERS = ["Collectivité", "Type", "Département", "SIREN", "Autres noms", "Adhésion"]
CONSENT = "J'accepte que mes données soient utilisées pour le programme"


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def settings(tmp: Path, **cohort: Any) -> Settings:
    values: dict[str, Any] = {
        "name": "Promotion 2026",
        "capacity": 3,
        "registration_opens": "2026-03-30T09:00:00+02:00",
        "registration_closes": "2026-04-30T23:59:59+02:00",
    }
    values.update(cohort)
    return Settings.model_validate(
        {
            "spreadsheet": {"backend": "local", "workbook": str(tmp / "wb.xlsx")},
            "email": {
                "transport": "outbox",
                "outbox": str(tmp / "outbox"),
                "sender": "diplomates@cites-unies-france.org",
                "reply_to": "contact@cites-unies-france.org",
            },
            "cohort": values,
            "programme": {"contact_email": "diplomates@cites-unies-france.org"},
            "state": {"url": f"sqlite:///{tmp / 'state.sqlite'}"},
        }
    )


def answer(
    when: str,
    email: str,
    last: str = "Martin",
    first: str = "Camille",
    authority: str = "Ville de Lyon",
    kind: str = "Commune",
    department: str = "69",
    role: str = "Maire",
    first_term: str = "Oui",
    phone: str = "06 12 34 56 78",
    comment: str = "",
    consent: str = CONSENT,
) -> list[str]:
    return [when, email, last, first, authority, kind, department, role, first_term, "Oui",
            phone, comment, consent]  # fmt: skip


def member(
    name: str, kind: str = "Commune", dep: str = "69", aliases: str = "", status: str = "Active"
) -> list[str]:
    return [name, kind, dep, "", aliases, status]


def person(
    name: str,
    day: int,
    role: Role | None = Role.MAIRE,
    first_term: bool = False,
) -> Person:
    """A merged person who answered on 2026-03-<day> 10:00 (Paris), from Lyon."""
    moment = datetime(2026, 3, day, 10, 0, tzinfo=PARIS)
    return Person(
        id=person_id(f"{name}@x.fr"), email=f"{name}@x.fr", last_name=name, first_name="A",
        phone="", role=role, role_raw=role.value if role else "Chargée de mission",
        authority="Lyon", authority_kind=None, department=None, department_raw="",
        first_term=first_term, intl_delegate=None, comment="", first_submitted=moment,
        last_submitted=moment, responses=1, rows=(day,),
    )  # fmt: skip
