"""Synthetic but realistic source data: the demo workbook, test fixtures and benchmark inputs.

`generate` builds the two sheets the pipeline reads, `Réponses au formulaire 1` (what Google Forms
writes) and `Adhérents` (the member list staff keep), deterministically from a seed, offline.

- Collectivité names are real (a bundled hand-written table, with their département), including
  the hard cases: homonyms (Saint-Denis 93 / 974, Valence 26 / 82, Saint-Louis 68 / 974), a city
  and its intercommunalité, Corsica, overseas, near-miss names that are not members.
- People are not real: common first and last names combined at random, e-mail addresses under the
  reserved `.example` top-level domain and `example.org`/`.com`/`.net` (RFC 2606, so nothing is
  ever deliverable), phone numbers in the ranges ARCEP set aside for fiction (06 39 98 xx xx,
  01 99 00 xx xx…). Surnames of well-known local office holders were left out of the name lists.
- SIREN numbers are synthetic (right prefix for the kind of collectivité, valid Luhn key); none of
  them is claimed to be the collectivité's real one.
- The answers carry the defects the pipeline must handle: resubmissions, probable duplicates,
  invalid addresses, missing fields, no consent, unknown roles, non-members, late answers,
  unreadable timestamps, a formula-like value, a control character. `build` returns where each
  injected case landed (`Dataset.cases`), so tests and the demo can check them.

Usage: `python -m tools.demodata --out demo/out/demo.xlsx [--answers N] [--members N] [--seed S]`.

A development tool, not shipped (outside the `pipeline` package); its tables of collectivités
are data files in `tools/data/`. It stays one file of about 1,100 lines because every injected
case is written next to the generator that places it and records it in `Dataset.cases`, which
tests read back: splitting the cases from the generator would separate each case from its check.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path

from pipeline.core.geo import DEPARTMENTS
from pipeline.core.model import AuthorityKind, Role
from pipeline.core.text import fold

RESPONSES_SHEET = "Réponses au formulaire 1"
MEMBERS_SHEET = "Adhérents"
RESPONSE_HEADERS: tuple[str, ...] = (
    "Horodateur",
    "Adresse e-mail",
    "Nom",
    "Prénom",
    "Collectivité",
    "Type de collectivité",
    "Département",
    "Fonction",
    "Premier mandat",
    "Délégation aux relations internationales",
    "Téléphone",
    "Commentaire",
    "Consentement",
)
MEMBER_HEADERS: tuple[str, ...] = (
    "Collectivité",
    "Type",
    "Département",
    "SIREN",
    "Autres noms",
    "Adhésion",
)
CONSENT_TEXT = "J'accepte que mes données soient utilisées pour le programme"
TIMESTAMP_FORMAT = "dd/mm/yyyy hh:mm:ss"  # how Google Sheets shows the form's Horodateur
ACTIVE = "Active"
RESIGNED = "Résiliée"

# --- Bundled real collectivités ----------------------------------------------------------------
# In data files beside this module (tools/data/*.txt), one line each:
# KIND DÉPARTEMENT Name [| alias; alias]; the files' headers say the rest.

TABLES = Path(__file__).resolve().parent / "data"

_KIND_CODES = {
    "C": AuthorityKind.COMMUNE,
    "I": AuthorityKind.INTERCOMMUNALITE,
    "D": AuthorityKind.DEPARTEMENT,
    "R": AuthorityKind.REGION,
    "A": AuthorityKind.AUTRE,
}

# How people commonly type a few core members (used often, so the demo shows them).
_TYPICAL: dict[tuple[str, str], tuple[str, ...]] = {
    ("Saint-Étienne", "42"): ("Mairie de St-Étienne", "St Etienne", "Ville de Saint-Étienne"),
    ("Lyon", "69"): ("Ville de Lyon", "lyon ", "Mairie de Lyon", "LYON"),
    ("Métropole de Lyon", "69"): ("Grand Lyon", "Métropole de Lyon ", "metropole de lyon"),
    ("Département du Finistère", "29"): ("CD 29", "Conseil départemental du Finistère", "CD29"),
    ("Rennes Métropole", "35"): ("Rennes metropole", "RENNES MÉTROPOLE", "Métropole de Rennes"),
    ("Rennes", "35"): ("Ville de Rennes", "Mairie de Rennes", "rennes"),
    ("Saint-Denis", "93"): ("Ville de Saint-Denis", "St-Denis", "Saint Denis"),
    ("Saint-Denis", "974"): ("Saint-Denis de La Réunion", "Mairie de Saint-Denis", "St-Denis"),
    ("Valence", "82"): ("Valence d'Agen", "Mairie de Valence"),
    ("Montreuil", "93"): ("Ville de Montreuil", "Montreuil-sous-Bois"),
    ("Région Bretagne", "35"): ("Région Bretagne", "Conseil régional de Bretagne", "CR Bretagne"),
}

_REGION_OF = {
    "Bretagne": "de Bretagne",
    "Normandie": "de Normandie",
    "Hauts-de-France": "des Hauts-de-France",
    "Grand Est": "du Grand Est",
    "Île-de-France": "d'Île-de-France",
    "Centre-Val de Loire": "du Centre-Val de Loire",
    "Bourgogne-Franche-Comté": "de Bourgogne-Franche-Comté",
    "Auvergne-Rhône-Alpes": "d'Auvergne-Rhône-Alpes",
    "Provence-Alpes-Côte d'Azur": "de Provence-Alpes-Côte d'Azur",
    "Occitanie": "d'Occitanie",
    "Nouvelle-Aquitaine": "de Nouvelle-Aquitaine",
    "Pays de la Loire": "des Pays de la Loire",
    "Guadeloupe": "de la Guadeloupe",
    "Réunion": "de La Réunion",
}


@dataclass(frozen=True)
class Authority:
    """A collectivité: its canonical name, kind, département code, staff aliases, membership."""

    name: str
    kind: AuthorityKind
    department: str
    aliases: tuple[str, ...] = ()
    resigned: bool = False


def _parse_table(name: str) -> tuple[Authority, ...]:
    """The collectivités of `tools/data/<name>` (lines starting with # are comments)."""
    rows = []
    for line in (TABLES / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        head, _, alias_text = line.partition("|")
        kind, department, name = head.split(maxsplit=2)
        aliases = tuple(a.strip() for a in alias_text.split(";") if a.strip())
        rows.append(
            Authority(
                name=name.strip(),
                kind=_KIND_CODES[kind.rstrip("!")],
                department=department,
                aliases=aliases,
                resigned=kind.endswith("!"),
            )
        )
    return tuple(rows)


_CORE = _parse_table("members-core.txt")
_POOL = _parse_table("members-pool.txt")
MEMBER_CANDIDATES: tuple[Authority, ...] = _CORE + _POOL
"""Real collectivités the member list is drawn from (the first ones always, in this order)."""
NON_MEMBERS: tuple[Authority, ...] = _parse_table("non-members.txt")
"""Real collectivités never in the member list."""

# --- Synthetic filler members (when `members` exceeds the bundled list) ------------------------
# Real commune-name parts joined the way real names are: "Saint-Martin-sur-Loire" (with a
# département on that river or in that pays), "Villeneuve-lès-Angers" (next to a real city).

_FILLER_BASES = (
    "Saint-Martin", "Saint-Julien", "Saint-Pierre", "Saint-Jean", "Saint-Germain",
    "Saint-Laurent", "Saint-Georges", "Saint-Hilaire", "Saint-Cyr", "Saint-Vincent",
    "Sainte-Marie", "Sainte-Colombe", "Notre-Dame", "Villeneuve", "Villefranche",
    "Châteauneuf", "Beaumont", "Montigny", "Fontenay", "Neuville", "Bourg", "Belleville",
    "Fontaine", "Clairefontaine", "Rochefort", "Mont", "Villiers", "Verneuil", "Bréville",
    "Champagne", "Chaumont", "Montfort", "Roche", "Bellegarde", "Boissy", "Marcilly",
    "Chantemerle", "Grandchamp", "Longueville", "Malville",
)  # fmt: skip
_FILLER_QUALIFIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sur-Loire", ("42", "43", "45", "41", "37", "49", "44", "58", "71")),
    ("sur-Seine", ("21", "10", "77", "91", "94", "92", "78", "95", "27", "76")),
    ("sur-Marne", ("52", "51", "02", "77", "93", "94")),
    ("sur-Saône", ("70", "21", "71", "01", "69")),
    ("sur-Rhône", ("01", "69", "26", "07", "30", "84", "13", "38", "42")),
    ("sur-Garonne", ("31", "82", "47", "33")),
    ("sur-Lot", ("46", "47", "12")),
    ("sur-Cher", ("18", "41", "37")),
    ("sur-Mer", ("62", "80", "76", "14", "50", "29", "22", "56", "85", "17", "66", "34", "83")),
    ("de-Provence", ("04", "13", "83", "84")),
    ("en-Bresse", ("01", "71", "39")),
    ("en-Champagne", ("51", "10")),
    ("en-Auge", ("14", "61")),
    ("d'Armagnac", ("32", "40")),
    ("de-Bretagne", ("35", "22", "29", "56")),
    ("en-Vercors", ("26", "38")),
    ("en-Forez", ("42",)),
    ("en-Vexin", ("95", "27", "60")),
    ("le-Château", ("02", "08", "51", "55", "89", "21", "36")),
    ("la-Forêt", ("27", "45", "77", "60", "61", "72")),
    ("les-Bains", ("73", "74", "38", "65", "66", "03", "63", "88")),
    ("du-Lac", ("74", "73", "38", "39", "25")),
    ("les-Vignes", ("21", "51", "33", "84", "71", "89")),
    ("en-Barrois", ("55", "52", "10")),
    ("en-Gâtinais", ("45", "77", "89")),
)
_MAX_FILLERS = 4_000


def _filler_names(count: int, rng: random.Random) -> list[Authority]:
    """`count` plausible made-up communes (a few intercommunalités), unique, not real names."""
    if count > _MAX_FILLERS:
        raise ValueError(
            f"members: at most {len(MEMBER_CANDIDATES) + _MAX_FILLERS} can be generated"
        )
    near = [a for a in MEMBER_CANDIDATES if a.kind is AuthorityKind.COMMUNE]
    near = [a for a in near if "-" not in a.name and " " not in a.name and "'" not in a.name]
    combos: list[tuple[str, tuple[str, ...]]] = [
        (f"{base}-{qualifier}", departments)
        for base in _FILLER_BASES
        for qualifier, departments in _FILLER_QUALIFIERS
    ]
    combos += [
        (f"{base}-lès-{city.name}", (city.department,)) for base in _FILLER_BASES for city in near
    ]
    rng.shuffle(combos)
    taken = {fold(a.name) for a in MEMBER_CANDIDATES + NON_MEMBERS}
    made: list[Authority] = []
    for name, departments in combos:
        if len(made) == count:
            break
        if fold(name) in taken:
            continue
        taken.add(fold(name))
        department = rng.choice(departments)
        if rng.random() < 0.12:
            made.append(
                Authority(
                    f"Communauté de communes du Pays de {name}",
                    AuthorityKind.INTERCOMMUNALITE,
                    department,
                )
            )
        else:
            made.append(Authority(name, AuthorityKind.COMMUNE, department))
    return made


# --- People ------------------------------------------------------------------------------------

_FIRST_NAMES_F = (
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Christine", "Sandrine", "Valérie",
    "Véronique", "Stéphanie", "Céline", "Émilie", "Julie", "Aurélie", "Hélène", "Anne", "Sophie",
    "Caroline", "Claire", "Camille", "Léa", "Chloé", "Manon", "Inès", "Clémence", "Mathilde",
    "Agnès", "Françoise", "Josiane", "Monique", "Brigitte", "Marie-Claude", "Marie-Hélène",
    "Anne-Sophie", "Marie-Christine", "Gaëlle", "Maëlle", "Anaïs", "Zoé", "Océane", "Solène",
    "Maïwenn", "Nadia", "Fatima", "Leïla", "Yasmina", "Aïcha", "Khadija", "Fatou", "Ghislaine",
    "Bernadette", "Thérèse", "Noémie", "Élodie", "Laëtitia", "Joëlle", "Danièle", "Geneviève",
    "Mireille", "Pascale", "Sabrina", "Audrey", "Lucie", "Pauline",
)  # fmt: skip
_FIRST_NAMES_M = (
    "Jean", "Pierre", "Michel", "Alain", "Patrick", "Nicolas", "Christophe", "Stéphane",
    "Frédéric", "Éric", "Laurent", "Sébastien", "Julien", "Olivier", "Thierry", "David", "Jérôme",
    "François", "Jean-Pierre", "Jean-Luc", "Jean-Marc", "Jean-François", "Bernard", "Didier",
    "Pascal", "Gérard", "Daniel", "Yannick", "Loïc", "Gaël", "Erwan", "Cédric", "Aurélien",
    "Romain", "Mathieu", "Thomas", "Antoine", "Maxime", "Hugo", "Lucas", "Benoît", "Grégoire",
    "Joël", "Noël", "René", "André", "Karim", "Mohamed", "Samir", "Mehdi", "Rachid", "Mamadou",
    "Ibrahima", "Kévin", "Jonathan", "Tanguy", "Corentin", "Rémi", "Félix", "Léo", "Gaëtan",
    "Yves", "Marc-Antoine", "Jean-Baptiste", "Hadrien", "Bastien",
)  # fmt: skip
_LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Roux", "Vincent",
    "Fournier", "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet",
    "François", "Martinez", "Legrand", "Garnier", "Blanc", "Guérin", "Muller", "Henry", "Nicolas",
    "Perrin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier",
    "Robin", "Masson", "Sanchez", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval",
    "Joly", "Gautier", "Roger", "Roche", "Roy", "Noël", "Meyer", "Lucas", "Meunier", "Jean",
    "Pérez", "Marchand", "Dufour", "Blanchard", "Marie", "Barbier", "Brun", "Dumas", "Brunet",
    "Schmitt", "Leroux", "Colin", "Fernandez", "Pierre", "Renard", "Arnaud", "Rolland", "Caron",
    "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine", "Picard",
    "Gaillard", "Leclercq", "Lacroix", "Fabre", "Dupuis", "Olivier", "Rodriguez", "Da Silva",
    "Hubert", "Louis", "Charles", "Guillot", "Rivière", "Le Gall", "Guillaume", "Adam", "Rey",
    "Moulin", "Gonzalez", "Berger", "Lecomte", "Fleury", "Deschamps", "Carpentier", "Julien",
    "Benoît", "Maillard", "Marchal", "Vasseur", "Le Roux", "Renault", "Jacquet", "Collet",
    "Prévost", "Poirier", "Charpentier", "Royer", "Huet", "Baron", "Dupuy", "Pons", "Carré",
    "Breton", "Rémy", "Schneider", "Perrot", "Guyot", "Barre", "Marty", "Cousin", "Le Goff",
    "Le Bihan", "Le Corre", "Kerbrat", "Quéré", "Dos Santos", "Ferreira", "Pereira", "Da Costa",
    "N'Diaye", "Diallo", "Traoré", "Koné", "Mendy", "Benali", "Haddad", "Bensaïd", "Ben Amor",
    "Tran", "Pham", "Payet", "Hoarau", "Grondin", "Técher", "Jean-Louis", "Pierre-Louis",
    "Santoni", "Pietri", "Leca", "Mattei", "Weber", "Fischer", "Zimmermann", "Hébert",
    "Thévenin", "Guégan", "Féraud", "Léger", "Chrétien", "Lemaître", "Bénard", "Saint-Jean",
)  # fmt: skip

_WEBMAIL = (
    ("gmail.example", 30), ("orange.example", 18), ("wanadoo.example", 10), ("free.example", 9),
    ("laposte.example", 7), ("sfr.example", 5), ("hotmail.example", 5), ("yahoo.example", 4),
    ("outlook.example", 4), ("example.org", 3), ("example.com", 3), ("example.net", 2),
)  # fmt: skip

_ROLE_WEIGHTS: dict[AuthorityKind, tuple[tuple[Role, int], ...]] = {
    AuthorityKind.COMMUNE: (
        (Role.MAIRE, 12), (Role.ADJOINT, 35), (Role.CONSEILLER_MUNICIPAL, 28),
        (Role.CONSEILLER_COMMUNAUTAIRE, 5), (Role.AGENT, 16), (Role.AUTRE, 4),
    ),
    AuthorityKind.INTERCOMMUNALITE: (
        (Role.PRESIDENT, 6), (Role.VICE_PRESIDENT, 28), (Role.CONSEILLER_COMMUNAUTAIRE, 34),
        (Role.MAIRE, 6), (Role.AGENT, 22), (Role.AUTRE, 4),
    ),
    AuthorityKind.DEPARTEMENT: (
        (Role.PRESIDENT, 3), (Role.VICE_PRESIDENT, 25), (Role.CONSEILLER_DEPARTEMENTAL, 48),
        (Role.AGENT, 21), (Role.AUTRE, 3),
    ),
    AuthorityKind.REGION: (
        (Role.PRESIDENT, 2), (Role.VICE_PRESIDENT, 20), (Role.CONSEILLER_REGIONAL, 54),
        (Role.AGENT, 21), (Role.AUTRE, 3),
    ),
    # Collectivité de Corse, Martinique, Guyane: their élu·es often pick "Autre" on this form.
    AuthorityKind.AUTRE: (
        (Role.PRESIDENT, 2), (Role.VICE_PRESIDENT, 20), (Role.CONSEILLER_REGIONAL, 25),
        (Role.AGENT, 23), (Role.AUTRE, 30),
    ),
}  # fmt: skip
_ONE_PER_AUTHORITY = {Role.MAIRE: Role.ADJOINT, Role.PRESIDENT: Role.VICE_PRESIDENT}
_UNKNOWN_ROLES = (  # (masculine, feminine): what people type in the form's "Autre :" box
    ("Conseiller délégué", "Conseillère déléguée"),
    ("Maire adjoint", "Maire adjointe"),
    ("Adjoint aux relations internationales", "Adjointe aux relations internationales"),
    ("Chargé de mission coopération", "Chargée de mission coopération"),
    ("Directeur général des services", "Directrice générale des services"),
)
_COMMENTS = (
    "Très intéressée par la coopération décentralisée avec le Sénégal.",
    "Disponible surtout le vendredi.",
    "Notre commune est jumelée avec une ville allemande depuis 1965.",
    "Nouvellement élu, merci pour cette initiative !",
    "Pouvez-vous m'envoyer le programme détaillé ?",
    "Je suis aussi conseiller communautaire.",
    "Intéressé·e par les sessions à distance.",
    "Nous accueillons une délégation japonaise en juin.",
    "Je remplace ma collègue qui ne peut pas participer.",
    "Merci de me contacter par téléphone de préférence.",
    "Première expérience à l'international, beaucoup de questions !",
    "Projet de coopération en cours avec le Liban.\nBesoin d'accompagnement sur les financements.",
)
_RESUBMIT_COMMENTS = (
    "Je corrige mon numéro de téléphone.",
    "Modification de ma fonction.",
    "Deuxième envoi, le premier n'est peut-être pas parti.",
)
_FORMULA = '=HYPERLINK("http://example.com")'
_CONTROL = "\x7f"  # DEL: legal in .xlsx (unlike most C0 controls), invisible in a spreadsheet
_DOMAIN_SHORT = {
    "Communauté d'agglomération": "agglo",
    "Communauté de communes": "cc",
    "Communauté urbaine": "cu",
    "Communauté intercommunale": "ci",
    "Collectivité territoriale": "ct",
}
_DOMAIN_WORDS = re.compile("|".join(_DOMAIN_SHORT))
_DOMAIN_SKIP = {"de", "du", "des", "la", "le", "les", "d", "l"}
_UNREADABLE_TIMESTAMPS = ("32/03/2026 10:04:05", "mardi dernier")

# Phone ranges ARCEP reserves for fiction: 01 99 00, 02 61 91, 03 53 01, 04 65 71, 05 36 49,
# 06 39 98 (then 4 digits).
_PHONE_LANDLINE = ("019900", "026191", "035301", "046571", "053649")
_PHONE_MOBILE = "063998"

# --- Time --------------------------------------------------------------------------------------
# Naive Europe/Paris local time, as Google Sheets stores the form's Horodateur. Hours stay within
# 07:00-22:59, so no time falls in the DST gap (29 March 2026, 02:00-03:00).

_WINDOWS = (  # (from, to, share): interest, elections (15 and 22 March), opening, last weeks
    (datetime(2026, 1, 15), datetime(2026, 3, 15), 15),
    (datetime(2026, 3, 15), datetime(2026, 3, 30), 15),
    (datetime(2026, 3, 30), datetime(2026, 4, 15), 45),
    (datetime(2026, 4, 15), datetime(2026, 5, 1), 25),
)
LATE_AFTER = datetime(2026, 5, 1)  # answers from here on are late (after 30 April)
_LATE_WINDOW = (LATE_AFTER, datetime(2026, 5, 11))
_HOURS = tuple(range(7, 23))
_HOUR_WEIGHTS = (1, 3, 5, 5, 4, 3, 2, 4, 5, 5, 4, 3, 2, 3, 3, 2)


# --- Small text helpers -----------------------------------------------------------------------


def _ascii(text: str) -> str:
    text = text.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _slug(text: str, sep: str = "-") -> str:
    return re.sub(r"[^a-z0-9]+", sep, _ascii(text).lower()).strip(sep)


def _of(name: str) -> str:
    """French "of" before a place name: `de Lyon`, `d'Angers`, `du Havre`, `des Abymes`."""
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    if name[0] in "AEIOUYÉÈÊÎÔÂ" or name.startswith(("Hy", "Hé")):  # Hyères, Hérouville: h muet
        return "d'" + name
    return "de " + name


def _share(total: int, rate: float, minimum: int = 0, from_size: int = 0) -> int:
    """round(total * rate), at least `minimum` once `total` reaches `from_size`."""
    count = round(total * rate)
    return max(count, minimum) if total >= from_size else count


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


# --- The dataset -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """Both sheets (header row first) and where each injected case landed.

    `cases` maps a case name to the sheet row numbers (1-based, header = row 1) where it was
    injected; `member_cases` does the same for the member list. A resubmission repeats its
    person's earlier answer (one field changed), so it may carry that person's traits (non-member,
    unknown role…) without being listed under them again.
    """

    responses: list[list[object]]
    members: list[list[object]]
    cases: dict[str, list[int]] = field(default_factory=dict)
    member_cases: dict[str, list[int]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """How many rows carry each case (answers, then members prefixed `member_`)."""
        out = {name: len(rows) for name, rows in self.cases.items()}
        out.update({f"member_{name}": len(rows) for name, rows in self.member_cases.items()})
        return out


@dataclass
class _Answer:
    when: datetime | str
    email: str
    last: str
    first: str
    authority: str
    kind: str
    department: str
    role: str
    first_term: str
    intl: str
    phone: str
    comment: str
    consent: str

    def row(self) -> list[object]:
        return [
            self.when, self.email, self.last, self.first, self.authority, self.kind,
            self.department, self.role, self.first_term, self.intl, self.phone, self.comment,
            self.consent,
        ]  # fmt: skip


@dataclass
class _Person:
    first: str
    last: str
    feminine: bool
    authority: Authority
    member: bool
    answer: _Answer


class _Builder:
    def __init__(
        self, rng: random.Random, members: Sequence[Authority], others: Sequence[Authority]
    ):
        self.rng = rng
        self.members = list(members)
        core = set(_CORE)
        weights = [3 if m in core else (0.5 if m.resigned else 1) for m in self.members]
        self.member_weights = list(accumulate(weights))
        self.non_members = list(NON_MEMBERS)
        self.others = list(others)  # bundled candidates not drawn as members this time
        self.emails: set[str] = set()
        self.unique_roles: set[tuple[str, str, Role]] = set()
        self.typical_used: dict[Authority, int] = {}

    # -- who ------------------------------------------------------------------------------------

    def authority(self, member: bool) -> tuple[Authority, bool]:
        """A collectivité for a new respondent, and whether it is in the member list."""
        if member or not (self.non_members or self.others):
            return self.rng.choices(self.members, cum_weights=self.member_weights)[0], True
        if self.others and (not self.non_members or self.rng.random() < 0.3):
            return self.rng.choice(self.others), False
        return self.rng.choice(self.non_members), False

    def names(self) -> tuple[str, str, bool]:
        feminine = self.rng.random() < 0.5
        first = self.rng.choice(_FIRST_NAMES_F if feminine else _FIRST_NAMES_M)
        last = self.rng.choice(_LAST_NAMES)
        if self.rng.random() < 0.06:
            other = self.rng.choice(_LAST_NAMES)
            if other != last and " " not in other + last:
                last = f"{last}-{other}"
        return first, last, feminine

    def render_names(self, first: str, last: str) -> tuple[str, str]:
        """As typed: some last names in capitals, some all lowercase, a stray space."""
        r = self.rng.random()
        if r < 0.16:
            last = last.upper()
        elif r < 0.19:
            first, last = first.lower(), last.lower()
        if self.rng.random() < 0.03:
            first += " "
        return first, last

    def email(self, first: str, last: str, authority: Authority, webmail: bool = False) -> str:
        given, family = _slug(first, ""), _slug(last, "")
        dotted = _slug(first, "-")
        local = self.rng.choices(
            (
                f"{dotted}.{family}",
                f"{given[0]}.{family}",
                f"{given}{family}",
                f"{family}.{dotted}",
                f"{given[0]}{family}",
            ),
            weights=(55, 15, 10, 10, 10),
        )[0]
        if not webmail and self.rng.random() < 0.4:
            domain = self.institution_domain(authority)
        else:
            domain = self.rng.choices([d for d, _ in _WEBMAIL], [w for _, w in _WEBMAIL])[0]
            if self.rng.random() < 0.2:
                local += str(self.rng.randint(1, 99))
        address, n = f"{local}@{domain}", 2
        while address in self.emails:
            address, n = f"{local}{n}@{domain}", n + 1
        self.emails.add(address)
        if self.rng.random() < 0.05:  # typed with capitals; identity is the lowercased address
            address = address[0].upper() + address[1:]
        return address

    def institution_domain(self, authority: Authority) -> str:
        if authority.kind is AuthorityKind.COMMUNE:
            stem = self.rng.choice(("mairie-", "ville-", "")) + _slug(authority.name)
        elif authority.kind is AuthorityKind.DEPARTEMENT:
            stem = _slug(DEPARTMENTS[authority.department][0])
        elif authority.kind is AuthorityKind.REGION:
            stem = _slug(authority.name.removeprefix("Région "))
        else:
            stem = _slug(_DOMAIN_WORDS.sub(lambda m: _DOMAIN_SHORT[m.group(0)], authority.name))
            head, *words = stem.split("-")
            stem = "-".join([head, *(w for w in words if w not in _DOMAIN_SKIP)])
        if len(stem) > 40:
            stem = stem[:40].rsplit("-", 1)[0]
        return stem + ".example"

    # -- what they type ---------------------------------------------------------------------------

    def typed_authority(self, a: Authority) -> str:
        rng = self.rng
        typical = _TYPICAL.get((a.name, a.department), ())
        if typical:  # each typical spelling once, in turn, then now and then
            used = self.typical_used.get(a, 0)
            self.typical_used[a] = used + 1
            if used < len(typical):
                return typical[used]
            if rng.random() < 0.3:
                return rng.choice(typical)
        if a.aliases and rng.random() < 0.08:
            return rng.choice(a.aliases)
        if a.kind is AuthorityKind.COMMUNE:
            text = self._typed_commune(a.name)
        elif a.kind is AuthorityKind.DEPARTEMENT and a.name.startswith("Département "):
            text = self._typed_department_authority(a)
        elif a.kind is AuthorityKind.REGION:
            text = self._typed_region(a.name.removeprefix("Région "))
        elif a.kind is AuthorityKind.INTERCOMMUNALITE:
            text = self._typed_interco(a.name)
        else:
            text = rng.choice((a.name, a.name, a.name.rsplit(" de ", 1)[-1]))
        r = rng.random()
        if r < 0.08:
            text = text.lower()
        elif r < 0.14:
            text = _ascii(text)
        elif r < 0.17:
            text = text.upper()
        if rng.random() < 0.05:
            text += " "
        return text

    def _typed_commune(self, name: str) -> str:
        rng = self.rng
        body = name
        if "Saint" in body and rng.random() < 0.4:
            short = rng.choice(("St-", "St ", "St-"))
            body = body.replace("Sainte-", "Ste-").replace("Saint-", short)
        elif "-" in body and rng.random() < 0.06:
            body = body.replace("-", " ")
        prefix = rng.choices(("", "Mairie ", "Ville ", "Commune "), weights=(55, 18, 22, 5))[0]
        return f"{prefix}{_of(body)}" if prefix else body

    def _typed_department_authority(self, a: Authority) -> str:
        of = a.name.removeprefix("Département ")
        code, place = a.department, DEPARTMENTS[a.department][0]
        forms = (
            (a.name, 25),
            (f"Conseil départemental {of}", 25),
            (f"CD {code}", 10),
            (f"CD{code}", 5),
            (f"Conseil Départemental {code}", 5),
            (f"Département {code}", 5),
            (place, 10),
            (f"CD {of}", 5),
        )
        return self.rng.choices([f for f, _ in forms], [w for _, w in forms])[0]

    def _typed_region(self, region: str) -> str:
        of = _REGION_OF.get(region, _of(region))
        forms = (
            (f"Région {region}", 45),
            (f"Conseil régional {of}", 30),
            (f"CR {region}", 5),
            (region, 15),
            (f"Région {region.upper()}", 5),
        )
        return self.rng.choices([f for f, _ in forms], [w for _, w in forms])[0]

    def _typed_interco(self, name: str) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            for long, short in (
                ("Communauté d'agglomération", rng.choice(("CA", "Agglo", "Communauté d'agglo"))),
                ("Communauté de communes", "CC"),
                ("Communauté urbaine", "CU"),
                ("Métropole", "Metropole"),
                ("métropole", "metropole"),
            ):
                if long in name:
                    return name.replace(long, short, 1)
        elif r < 0.22:
            head, sep, _ = name.rpartition(" ")
            if sep and name.lower().endswith(" métropole"):
                return f"Métropole {_of(head)}"
        return name

    def typed_department(self, a: Authority, cases: dict[str, bool]) -> str:
        rng = self.rng
        code = a.department
        if a.kind is AuthorityKind.REGION and rng.random() < 0.3:
            region = DEPARTMENTS[code][1]
            same = [c for c, (_, reg) in DEPARTMENTS.items() if reg == region and c != code]
            if same:
                code = rng.choice(same)
                cases["department_other_in_region"] = True
        elif rng.random() < 0.012:
            code = rng.choice([c for c in DEPARTMENTS if c != code])
            cases["department_wrong"] = True
        name = DEPARTMENTS[code][0]
        if code in ("2A", "2B") and rng.random() < 0.2:
            return "20"  # the old Corsican number, still typed
        r = rng.random()
        if r < 0.16:
            return ""
        if r < 0.55:
            return code.lstrip("0") if code.startswith("0") and rng.random() < 0.5 else code
        if r < 0.75:
            return name
        if r < 0.86:
            return f"{code} - {name}"
        if r < 0.93:
            return _ascii(name).lower()
        return f"{name} ({code})"

    def kind_answer(self, a: Authority) -> str:
        r = self.rng.random()
        if r < 0.84:
            return a.kind.value
        if r < 0.91:
            return ""
        others = [k.value for k in AuthorityKind if k is not a.kind]
        return self.rng.choice(others)

    def role(self, a: Authority) -> Role:
        table = _ROLE_WEIGHTS[a.kind]
        role = self.rng.choices([r for r, _ in table], [w for _, w in table])[0]
        if role in _ONE_PER_AUTHORITY:
            key = (a.name, a.department, role)
            if key in self.unique_roles:
                return _ONE_PER_AUTHORITY[role]
            self.unique_roles.add(key)
        return role

    def first_term(self, role: Role | None, a: Authority) -> str:
        rng = self.rng
        if role is not None and not role.is_elected:
            return rng.choices(("Non", "", "Oui"), weights=(75, 15, 10))[0]
        municipal = a.kind in (AuthorityKind.COMMUNE, AuthorityKind.INTERCOMMUNALITE)
        return "Oui" if rng.random() < (0.65 if municipal else 0.3) else "Non"

    def phone(self) -> str:
        rng = self.rng
        if rng.random() < 0.25:
            return ""
        prefix = _PHONE_MOBILE if rng.random() < 0.75 else rng.choice(_PHONE_LANDLINE)
        digits = prefix + f"{rng.randrange(10_000):04d}"
        pairs = " ".join(digits[i : i + 2] for i in range(0, 10, 2))
        forms = (
            (pairs, 40),
            (digits, 20),
            ("+33" + digits[1:], 15),
            (f"+33 {digits[1]} " + pairs[3:], 10),
            (pairs.replace(" ", "."), 10),
            (pairs.replace(" ", "-"), 5),
        )
        return rng.choices([f for f, _ in forms], [w for _, w in forms])[0]

    # -- a whole answer ---------------------------------------------------------------------------

    def new_person(self, when: datetime | str, member: bool, cases: dict[str, bool]) -> _Person:
        rng = self.rng
        a, is_member = self.authority(member)
        first, last, feminine = self.names()
        shown_first, shown_last = self.render_names(first, last)
        role = self.role(a)
        answer = _Answer(
            when=when,
            email=self.email(first, last, a),
            last=shown_last,
            first=shown_first,
            authority=self.typed_authority(a),
            kind=self.kind_answer(a),
            department=self.typed_department(a, cases),
            role=role.value,
            first_term=self.first_term(role, a),
            intl="Oui" if rng.random() < 0.4 else "Non",
            phone=self.phone(),
            comment=rng.choice(_COMMENTS) if rng.random() < 0.12 else "",
            consent=CONSENT_TEXT,
        )
        return _Person(first, last, feminine, a, is_member, answer)

    def duplicate_of(self, original: _Person, when: datetime | str) -> _Person:
        """Same person by name and collectivité, under another address (probable duplicate)."""
        rng = self.rng
        shown_last = original.last.upper() if rng.random() < 0.5 else original.last
        answer = replace(
            original.answer,
            when=when,
            email=self.email(original.first, original.last, original.authority, webmail=True),
            last=shown_last,
            first=original.first,
            phone=self.phone(),
            comment="",
            intl="Oui" if rng.random() < 0.4 else "Non",
        )
        return replace(original, answer=answer)

    def resubmission(self, person: _Person, when: datetime | str) -> _Answer:
        """The same person again, address typed differently, one field changed."""
        rng = self.rng
        answer = replace(person.answer, when=when, email=_retyped_email(person.answer.email, rng))
        changed = rng.choice(("phone", "role", "first_term", "intl", "comment", "authority"))
        if changed == "phone":
            answer.phone = self.phone() or f"06 39 98 {rng.randrange(100):02d} 00"
        elif changed == "role":
            role = self.role(person.authority)
            if role.value == answer.role:
                role = Role.AUTRE if role is not Role.AUTRE else Role.AGENT
            answer.role = role.value
        elif changed == "first_term":
            answer.first_term = "Non" if answer.first_term == "Oui" else "Oui"
        elif changed == "intl":
            answer.intl = "Non" if answer.intl == "Oui" else "Oui"
        elif changed == "comment":
            answer.comment = rng.choice(_RESUBMIT_COMMENTS)
        else:
            typed = self.typed_authority(person.authority)
            answer.authority = typed if typed != answer.authority else typed + " "
        return answer


def _retyped_email(email: str, rng: random.Random) -> str:
    """The same address (once trimmed and lowercased) typed another way."""
    forms = (
        email.upper(),
        email[0].upper() + email[1:].lower(),
        " " + email.lower(),
        email.lower() + " ",
        email.split("@")[0].title() + "@" + email.split("@")[1].lower(),
    )
    retyped = rng.choice(forms)
    return retyped if retyped != email else email.lower() + "  "


def _invalid_email(email: str, rng: random.Random) -> str:
    local, _, domain = email.lower().partition("@")
    forms = (
        f"{local}.{domain}",  # no @
        f"{local}@@{domain}",
        f"{local.replace('.', ' ', 1) if '.' in local else local + ' x'}@{domain}",
        f"{local}@{domain.split('.')[0]}",  # no dot in the domain
        f"{local}@{domain.replace('.', '..', 1)}",
        local,
    )
    return rng.choice(forms)


def _moment(start: datetime, end: datetime, rng: random.Random) -> datetime:
    day = start + timedelta(days=rng.randrange((end - start).days))
    hour = rng.choices(_HOURS, weights=_HOUR_WEIGHTS)[0]
    return day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))


def _timestamps(count: int, late: int, rng: random.Random) -> list[datetime]:
    """`count` strictly increasing submission times, the last `late` ones after 30 April."""
    weights = [w for *_, w in _WINDOWS]
    times = []
    for _ in range(count - late):
        start, end, _ = rng.choices(_WINDOWS, weights=weights)[0]
        times.append(_moment(start, end, rng))
    times.sort()
    times += sorted(_moment(*_LATE_WINDOW, rng) for _ in range(late))
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            times[i] = times[i - 1] + timedelta(seconds=rng.randint(1, 40))
    return times


def _pick(pool: list[int], count: int) -> list[int]:
    """Take up to `count` positions from the end of a shuffled pool (so picks are disjoint)."""
    taken = pool[len(pool) - count :] if count > 0 else []
    del pool[len(pool) - len(taken) :]
    return sorted(taken)


def _choose_members(count: int, rng: random.Random) -> tuple[list[Authority], list[Authority]]:
    """(members, bundled candidates left out): the hard cases first, then a seeded sample."""
    chosen = list(_CORE[:count])
    rest = list(_POOL)
    rng.shuffle(rest)
    take = max(0, count - len(chosen))
    picked = [replace(a, resigned=True) if rng.random() < 0.03 else a for a in rest[:take]]
    chosen += picked
    if count > len(chosen):
        chosen += _filler_names(count - len(chosen), rng)
    return chosen, rest[take:]


def _member_rows(
    members: list[Authority], rng: random.Random
) -> tuple[list[list[object]], dict[str, list[int]]]:
    ordered = sorted(members, key=lambda a: (fold(a.name), a.department))
    cases: dict[str, list[int]] = {"resigned": [], "aliases": [], "siren": [], "synthetic": []}
    bundled = {(a.name, a.department) for a in MEMBER_CANDIDATES}
    prefixes = {
        AuthorityKind.COMMUNE: "21",
        AuthorityKind.DEPARTEMENT: "22",
        AuthorityKind.REGION: "23",
        AuthorityKind.INTERCOMMUNALITE: "24",
        AuthorityKind.AUTRE: "20",
    }
    sirens: set[str] = set()
    rows: list[list[object]] = [list(MEMBER_HEADERS)]
    for a in ordered:
        row_number = len(rows) + 1
        siren: object = ""
        if rng.random() < 0.55:
            value = ""
            while not value or value in sirens:
                body = prefixes[a.kind] + f"{rng.randrange(1_000_000):06d}"
                value = next(body + d for d in "0123456789" if _luhn_ok(body + d))
            sirens.add(value)
            r = rng.random()
            siren = (
                int(value)
                if r < 0.25
                else (f"{value[:3]} {value[3:6]} {value[6:]}" if r < 0.3 else value)
            )
            cases["siren"].append(row_number)
        aliases = "; ".join(a.aliases)
        if aliases:
            cases["aliases"].append(row_number)
        if a.resigned:
            cases["resigned"].append(row_number)
        if (a.name, a.department) not in bundled:
            cases["synthetic"].append(row_number)
        rows.append(
            [a.name, a.kind.value, a.department, siren, aliases, RESIGNED if a.resigned else ACTIVE]
        )
    return rows, cases


def build(answers: int = 300, members: int = 150, seed: int = 2026) -> Dataset:
    """Both sheets and the map of injected cases; the same arguments always give the same data."""
    if answers < 0 or members < 1:
        raise ValueError("answers must be >= 0 and members >= 1")
    rng = random.Random(seed)
    member_list, left_out = _choose_members(members, rng)
    member_rows, member_cases = _member_rows(member_list, rng)
    builder = _Builder(rng, member_list, left_out)

    late = _share(answers, 0.015, minimum=2, from_size=50)
    times = _timestamps(answers, late, rng)
    on_time = answers - late
    # Positions (0-based, in submission order) of each injected case.
    resubmit_from = max(1, answers // 10)
    resubmits = set(
        rng.sample(
            range(resubmit_from, on_time),
            min(max(0, on_time - resubmit_from), _share(answers, 0.09)),
        )
    )
    fresh = [i for i in range(answers) if i not in resubmits]
    pool = [i for i in fresh if i < on_time]
    rng.shuffle(pool)
    invalid_email = set(_pick(pool, _share(answers, 0.03)))
    missing = set(_pick(pool, _share(answers, 0.03)))
    no_consent = set(_pick(pool, _share(answers, 0.03)))
    unreadable = set(_pick(pool, min(len(_UNREADABLE_TIMESTAMPS), _share(answers, 0.01, 1, 10))))
    unknown_role = set(_pick(pool, _share(answers, 0.02)))
    formula = set(_pick(pool, 1 if answers >= 5 else 0))
    control = set(_pick(pool, 1 if answers >= 5 else 0))
    invalid_phone = set(_pick(pool, 1 if answers >= 20 else 0))
    duplicates = set(_pick(pool, _share(answers, 0.01, 2, 30)))
    rejected = invalid_email | missing | no_consent | unreadable
    text_times = set(
        rng.sample([i for i in range(answers) if i not in unreadable], _share(answers, 0.01, 2, 50))
    )
    non_member = set(
        rng.sample([i for i in fresh if i not in duplicates], _share(len(fresh), 0.15))
    )

    cases: dict[str, list[int]] = {
        name: []
        for name in (
            "resubmission", "resubmission_consent_fixed", "probable_duplicate", "invalid_email",
            "missing_field", "no_consent", "unreadable_timestamp", "text_timestamp",
            "unknown_role", "non_member", "resigned_member", "late", "formula", "control_character",
            "invalid_phone", "department_other_in_region", "department_wrong",
        )
    }  # fmt: skip
    people: list[_Person] = []  # first answers, in order
    clean: list[int] = []  # indexes in `people` of valid first answers, for resubmits/duplicates
    resubmitted: set[int] = set()
    consent_missing: list[int] = []
    rows: list[list[object]] = [list(RESPONSE_HEADERS)]
    for i in range(answers):
        row_number = i + 2
        when: datetime | str = times[i]
        if i in unreadable:
            when = _UNREADABLE_TIMESTAMPS[len(cases["unreadable_timestamp"])]
            cases["unreadable_timestamp"].append(row_number)
        elif i in text_times:
            when = times[i].strftime("%d/%m/%Y %H:%M:%S")
            cases["text_timestamp"].append(row_number)
        flags: dict[str, bool] = {}

        if i in resubmits:
            if consent_missing and not cases["resubmission_consent_fixed"]:
                person = people[consent_missing[0]]
                answer = replace(person.answer, when=when, consent=CONSENT_TEXT)
                answer.email = _retyped_email(answer.email, rng)
                cases["resubmission_consent_fixed"].append(row_number)
                rows.append(answer.row())
                continue
            candidates = (
                [p for p in clean[-25:] if p not in resubmitted] if rng.random() < 0.6 else []
            )
            candidates = candidates or [p for p in clean if p not in resubmitted]
            if candidates:
                index = rng.choice(candidates)
                resubmitted.add(index)
                answer = builder.resubmission(people[index], when)
                cases["resubmission"].append(row_number)
                rows.append(answer.row())
                continue
            # Nobody to resubmit yet: a new person instead.

        originals = [p for p in clean if people[p].member] if i in duplicates else []
        if originals:
            person = builder.duplicate_of(people[rng.choice(originals)], when)
            cases["probable_duplicate"].append(row_number)
        else:
            person = builder.new_person(when, member=i not in non_member, cases=flags)
        answer = person.answer
        if i in invalid_email:
            answer.email = _invalid_email(answer.email, rng)
            cases["invalid_email"].append(row_number)
        elif i in missing:
            which = len(cases["missing_field"]) % 5
            if which == 0:
                answer.email = ""
            elif which == 1:
                answer.last = ""
            elif which == 2:
                answer.first = ""
            elif which == 3:
                answer.authority = ""
            else:
                answer.authority = "   "
            cases["missing_field"].append(row_number)
        elif i in no_consent:
            answer.consent = ""
            consent_missing.append(len(people))
            cases["no_consent"].append(row_number)
        if i in unknown_role:
            answer.role = rng.choice(_UNKNOWN_ROLES)[1 if person.feminine else 0]
            cases["unknown_role"].append(row_number)
        if i in formula:
            answer.comment = _FORMULA
            cases["formula"].append(row_number)
        if i in control:
            answer.last = answer.last + _CONTROL
            cases["control_character"].append(row_number)
        if i in invalid_phone:
            answer.phone = "06 39 98 12"
            cases["invalid_phone"].append(row_number)
        if not person.member:
            cases["non_member"].append(row_number)
        elif person.authority.resigned:
            cases["resigned_member"].append(row_number)
        if i >= on_time:
            cases["late"].append(row_number)
        for flag in flags:
            cases[flag].append(row_number)
        if i not in rejected and i not in duplicates:
            clean.append(len(people))
        people.append(person)
        rows.append(answer.row())
    return Dataset(rows, member_rows, cases, member_cases)


def generate(
    answers: int = 300, members: int = 150, seed: int = 2026
) -> tuple[list[list[object]], list[list[object]]]:
    """(responses rows, members rows), each with its header row first."""
    data = build(answers, members, seed)
    return data.responses, data.members


def write_workbook(path: Path, answers: int = 300, members: int = 150, seed: int = 2026) -> None:
    """An .xlsx with the two source sheets, timestamps as date cells like Google Sheets keeps."""
    data = build(answers, members, seed)
    _save(Path(path), data)


def _save(path: Path, data: Dataset) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    widths: dict[str, tuple[int, ...]] = {
        RESPONSES_SHEET: (20, 34, 18, 16, 34, 18, 16, 30, 10, 10, 18, 40, 30),
        MEMBERS_SHEET: (44, 18, 12, 14, 40, 12),
    }
    for title, rows in ((RESPONSES_SHEET, data.responses), (MEMBERS_SHEET, data.members)):
        sheet = workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        for col, width in enumerate(widths[title], start=1):
            sheet.column_dimensions[get_column_letter(col)].width = width
        for row in rows:
            cells: list[object] = []
            for value in row:
                if isinstance(value, datetime):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = TIMESTAMP_FORMAT
                    cells.append(cell)
                elif isinstance(value, str) and value.startswith("="):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"  # text as typed, never a formula
                    cells.append(cell)
                else:
                    cells.append(value)
            sheet.append(cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.demodata --out PATH [--answers N] [--members N] [--seed S]`."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.demodata",
        description="Write a synthetic source workbook (form answers and member list).",
    )
    parser.add_argument("--out", type=Path, required=True, help="path of the .xlsx to write")
    parser.add_argument("--answers", type=int, default=300, help="form answers (default 300)")
    parser.add_argument("--members", type=int, default=150, help="member list size (default 150)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    args = parser.parse_args(argv)
    try:
        started = time.perf_counter()
        data = build(args.answers, args.members, args.seed)
        _save(args.out, data)
        elapsed = time.perf_counter() - started
    except ValueError as error:
        parser.error(str(error))
    counts = ", ".join(f"{name} {n}" for name, n in data.counts().items() if n)
    print(
        f"wrote {args.out}: {args.answers} answers, {args.members} members "
        f"(seed {args.seed}) in {elapsed:.2f} s\n{counts}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
