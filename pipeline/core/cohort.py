"""One run's pure part: source tables -> people, placements, anomalies, due messages, sheet plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from pipeline.core.errors import SheetError
from pipeline.core.geo import department_code, region_of
from pipeline.core.layout import (
    cohort_layout,
    dashboard_layout,
    header_after,
    review_layout,
    rows_after,
    with_layout,
)
from pipeline.core.matching import build_index, match_authority, match_key
from pipeline.core.messages import due_messages
from pipeline.core.model import (
    Anomaly,
    Cell,
    Eligibility,
    Match,
    Member,
    Person,
    Response,
    SheetWrite,
    Status,
    Template,
)
from pipeline.core.parse import locate_columns, parse_kind, parse_row
from pipeline.core.people import merge_people, probable_duplicates
from pipeline.core.placement import Placement, place
from pipeline.core.reference import Reference
from pipeline.core.settings import Settings
from pipeline.core.sheetplan import Table, header_index, plan_grid, plan_keyed
from pipeline.core.text import clean, fold
from pipeline.core.vocabulary import (
    COHORT_HEADERS,
    COHORT_OWNED,
    DECISION,
    ID,
    PARIS,
    REVIEW_HEADERS,
    REVIEW_KEY,
    SENT,
    STATUS,
    MessageState,
)


@dataclass(frozen=True)
class LedgerEntry:
    """What the state DB says about one queued message, as the core needs it."""

    person_id: str
    template: Template
    state: str  # a MessageState
    at: datetime | None
    error: str | None = None  # the mail server's last reply, for `failed` and `incertain`


@dataclass(frozen=True)
class Evaluation:
    rows_read: int
    people: list[Person]
    matches: dict[str, Match]
    placements: dict[str, Placement]
    anomalies: list[Anomaly]
    due: list[tuple[str, Template]]
    members: list[Member] = field(default_factory=list)


def _member_columns(header: Sequence[str], sheet: str) -> dict[str, int]:
    columns = header_index(header)
    found = {
        name: columns[fold(label)]
        for name, label in (
            ("name", "Collectivité"),
            ("kind", "Type"),
            ("department", "Département"),
            ("siren", "SIREN"),
            ("aliases", "Autres noms"),
            ("status", "Adhésion"),
        )
        if fold(label) in columns
    }
    if "name" not in found:
        seen = ", ".join(f"'{h}'" for h in header if h.strip()) or "none"
        raise SheetError(
            f"sheet '{sheet}' has no 'Collectivité' column; columns found: {seen}. "
            "Restore the column title in the member list."
        )
    return found


def read_members(table: Table, sheet: str) -> list[Member]:
    """The member list; an empty `Adhésion` counts as active, `Résiliée` (or anything else) not."""
    if not table:
        return []
    columns = _member_columns(table[0], sheet)
    members = []
    for number, cells in enumerate(table[1:], start=2):

        def get(name: str, cells: Sequence[str] = cells) -> str:
            col = columns.get(name)
            return clean(cells[col]) if col is not None and col < len(cells) else ""

        name = get("name")
        if not name:
            continue
        status = fold(get("status"))
        members.append(
            Member(
                row=number,
                name=name,
                kind=parse_kind(get("kind")),
                department=department_code(get("department")),
                siren="".join(ch for ch in get("siren") if ch.isdigit()),
                aliases=tuple(a.strip() for a in get("aliases").split(";") if a.strip()),
                active=status in ("", "active", "actif", "active ", "oui"),
            )
        )
    return members


def read_responses(
    table: Table, settings: Settings, now: datetime, time_zone: str | None = None
) -> tuple[int, list[Response], list[Anomaly]]:
    """Every non-blank source row becomes a Response or rejection anomalies.

    Answers stamped after `now` are not seen yet (this is how `--as-of` replays the past).
    """
    sheet = settings.sheets.responses
    if not table:
        raise SheetError(
            f"sheet '{sheet}' is empty: it should hold the form's answers with a header row. "
            "Check [sheets].responses in the config file."
        )
    columns = locate_columns(table[0], settings.columns.aliases, sheet)
    zone = ZoneInfo(time_zone) if time_zone else PARIS
    responses: list[Response] = []
    anomalies: list[Anomaly] = []
    read = 0
    for number, cells in enumerate(table[1:], start=2):
        result = parse_row(number, cells, columns, zone)
        if result is None:
            continue
        if result.response is not None and result.response.submitted_at > now:
            continue
        read += 1
        anomalies.extend(result.anomalies)
        if result.response is not None:
            responses.append(result.response)
    return read, responses, anomalies


def current_decisions(
    cohort: Table | None, sheet: str = "Promotion 2026"
) -> tuple[dict[str, str], dict[str, Status]]:
    """Staff decisions typed in the cohort sheet, and the Statut each row shows, by ID.

    A cohort sheet holding people but no `Décision CUF` column stops the run: carrying on would
    silently drop every decision staff typed (a refused person would be placed again).
    """
    if not cohort:
        return {}, {}
    columns = header_index(cohort[0])
    id_col, dec_col = columns.get(fold(ID)), columns.get(fold(DECISION))
    st_col = columns.get(fold(STATUS))
    has_people = id_col is not None and any(
        id_col < len(cells) and cells[id_col].strip() for cells in cohort[1:]
    )
    if has_people and dec_col is None:
        raise SheetError(
            f"sheet '{sheet}' has no '{DECISION}' column: the decisions staff typed cannot be "
            f"read, so nothing was written. Rename the column back to '{DECISION}' (or undo the "
            "change in the sheet's version history)."
        )
    statuses = {fold(s.value): s for s in Status}
    decisions: dict[str, str] = {}
    shown: dict[str, Status] = {}
    if id_col is None:
        return decisions, shown
    for cells in cohort[1:]:
        pid = cells[id_col].strip() if id_col < len(cells) else ""
        if not pid or pid in decisions:
            continue
        decisions[pid] = cells[dec_col] if dec_col is not None and dec_col < len(cells) else ""
        if st_col is not None and st_col < len(cells) and fold(cells[st_col]) in statuses:
            shown[pid] = statuses[fold(cells[st_col])]
    return decisions, shown


def evaluate(
    responses_table: Table,
    members_table: Table,
    cohort_table: Table | None,
    ledger: Sequence[LedgerEntry],
    settings: Settings,
    now: datetime,
    reference: Reference | None = None,
    time_zone: str | None = None,
) -> Evaluation:
    """Everything a run decides, before any write or send.

    `time_zone` is the spreadsheet's own (Google Sheets reports it); timestamps without an offset
    are read in it. None means Europe/Paris.
    """
    rows_read, responses, anomalies = read_responses(responses_table, settings, now, time_zone)
    members = read_members(members_table, settings.sheets.members)
    index = build_index(members, reference)
    people = merge_people(responses)
    matches = {
        p.id: match_authority(index, p.authority, p.authority_kind, p.department) for p in people
    }

    def authority_key(person: Person) -> str:
        member = matches[person.id].member
        return "member:" + member.name if member else "typed:" + match_key(person.authority)

    anomalies.extend(probable_duplicates(people, authority_key))
    decisions, shown = current_decisions(cohort_table, settings.cohort.name)
    already: dict[str, set[Template]] = {}
    for entry in ledger:
        already.setdefault(entry.person_id, set()).add(entry.template)
    previous: dict[str, Status] = dict(shown)
    for pid, templates in already.items():
        if templates & {Template.INSCRIPTION_CONFIRMEE, Template.PLACE_LIBEREE}:
            previous[pid] = Status.INSCRIT
    placements, found = place(people, matches, decisions, previous, settings.cohort, now)
    anomalies.extend(found)
    due = due_messages(people, placements, already)
    return Evaluation(rows_read, people, matches, placements, anomalies, due, members)


def fr_stamp(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def sheet_stamp(moment: datetime | None) -> Cell:
    """A moment as a date-time cell: Paris wall-clock time to the second (empty when None)."""
    if moment is None:
        return ""
    return moment.astimezone(PARIS).replace(tzinfo=None, microsecond=0)


_LEDGER_LABELS: dict[str, str] = {
    MessageState.SENT: "",
    MessageState.FAILED: " refusé",
    MessageState.INCERTAIN: " incertain",
}


def sent_summary(entries: Sequence[LedgerEntry]) -> str:
    """`accuse_reception 2026-03-02; inscription_confirmee 2026-04-01` (delivered or flagged)."""
    parts = []
    for entry in sorted(entries, key=lambda e: e.at or datetime.min.replace(tzinfo=PARIS)):
        if entry.state not in _LEDGER_LABELS or entry.at is None:
            continue
        day = entry.at.astimezone(PARIS).date().isoformat()
        parts.append(f"{entry.template.value}{_LEDGER_LABELS[entry.state]} {day}")
    return "; ".join(parts)


def cohort_rows(evaluation: Evaluation, ledger: Sequence[LedgerEntry]) -> list[dict[str, Cell]]:
    by_person: dict[str, list[LedgerEntry]] = {}
    for entry in ledger:
        by_person.setdefault(entry.person_id, []).append(entry)
    rows = []
    for person in evaluation.people:
        placement = evaluation.placements[person.id]
        match = evaluation.matches[person.id]
        rows.append(
            {
                ID: person.id,
                "Nom": person.last_name,
                "Prénom": person.first_name,
                "Courriel": person.email,
                "Téléphone": person.phone,
                "Fonction": person.role.value if person.role else person.role_raw,
                "Collectivité (saisie)": person.authority,
                "Collectivité adhérente": match.member.name if match.member else "",
                "Correspondance": match.method,
                "Département": person.department
                or (match.member.department if match.member else "")
                or "",
                "Nouvel·le élu·e": "Oui" if person.is_new_elected else "Non",
                "Éligibilité": placement.eligibility.value,
                STATUS: placement.status.value,
                "Rang": placement.rank if placement.rank is not None else "",
                "Première réponse": sheet_stamp(person.first_submitted),
                "Dernière réponse": sheet_stamp(person.last_submitted),
                "Réponses": person.responses,
                SENT: sent_summary(by_person.get(person.id, [])),
            }
        )
    return rows


def review_rows(anomalies: Sequence[Anomaly]) -> list[dict[str, Cell]]:
    unique = {a.key: a for a in anomalies}
    ordered = sorted(unique.values(), key=lambda a: (a.row or 0, a.reason.value, a.person_id or ""))
    return [
        {
            REVIEW_KEY: a.key,
            "Ligne": a.row if a.row is not None else "",
            ID: a.person_id or "",
            "Personne": a.person,
            "Collectivité (saisie)": a.authority,
            "Motif": a.reason.label,
            "Explication": a.explanation,
            "Code motif": a.reason.value,
        }
        for a in ordered
    ]


UPDATED = "Dernière mise à jour"


def _label_order(label: str) -> tuple[bool, str]:
    """Alphabetical, accents ignored (Île-de-France among the I), "Non précisé·e" last."""
    return label.startswith("Non précis"), fold(label)


def dashboard_grid(
    evaluation: Evaluation, settings: Settings, updated: str = ""
) -> list[list[Cell]]:
    """Key figures, then counts by Statut, Éligibilité, type of collectivité and région.

    `updated` is the date of the last run that changed something (see `plan_outputs`).
    """
    people = evaluation.people
    placements = evaluation.placements
    status = Counter(placements[p.id].status.value for p in people)
    eligibility = Counter(placements[p.id].eligibility.value for p in people)

    def kind(p: Person) -> str:
        member = evaluation.matches[p.id].member
        value = p.authority_kind or (member.kind if member else None)
        return value.value if value else "Non précisé"

    def region(p: Person) -> str:
        member = evaluation.matches[p.id].member
        code = p.department or (member.department if member else None)
        return region_of(code) or "Non précisée"

    kinds = Counter(kind(p) for p in people)
    regions = Counter(region(p) for p in people)
    placed = status.get(Status.INSCRIT.value, 0) + status.get(Status.PROPOSE.value, 0)
    grid: list[list[Cell]] = [
        [f"{settings.programme.name} — {settings.cohort.name}", ""],
        [UPDATED, updated],
        ["Personnes", len(people)],
        ["Places", settings.cohort.capacity],
        ["Places restantes", max(settings.cohort.capacity - placed, 0)],
        ["Liste d'attente", status.get(Status.LISTE_ATTENTE.value, 0)],
        ["Nouvel·les élu·es", sum(1 for p in people if p.is_new_elected)],
        ["Points à vérifier", len({a.key for a in evaluation.anomalies})],
        ["", ""],
    ]
    sections: list[tuple[str, list[str], Counter[str]]] = [
        ("Statut", [s.value for s in Status], status),
        ("Éligibilité", [e.value for e in Eligibility], eligibility),
        ("Type de collectivité", sorted(kinds, key=_label_order), kinds),
        ("Région", sorted(regions, key=_label_order), regions),
    ]
    for title, order, counts in sections:
        grid.append([title, "Nombre"])
        grid.extend(
            [label, counts[label]]
            for label in order
            if counts[label] or title in ("Statut", "Éligibilité")
        )
        grid.append(["", ""])
    return grid[:-1]


def shown_update(table: Table | None) -> str:
    """The last-update date the dashboard shows now (empty when none)."""
    for line in table or ():
        if line and line[0] == UPDATED:
            return line[1] if len(line) > 1 else ""
    return ""


def plan_outputs(
    evaluation: Evaluation,
    ledger: Sequence[LedgerEntry],
    tables: Mapping[str, Table],
    settings: Settings,
    marks: Mapping[str, str] | None = None,
    stamp: str = "",
    activity: bool = False,
) -> list[SheetWrite]:
    """Writes for the cohort sheet, `À vérifier` and `Tableau de bord` (Journal is the run's).

    Each write carries its sheet's layout when the layout mark read with the sheet (`marks`)
    is not the current one (core/layout.py). The dashboard shows `stamp` as its last update when
    this run changes anything, in these sheets or elsewhere (`activity`: mail was sent); else the
    date it shows stays, so an idle run plans nothing.
    """
    names = settings.sheets
    current = tables.get(settings.cohort.name)
    cohort = plan_keyed(
        settings.cohort.name,
        current,
        COHORT_HEADERS,
        COHORT_OWNED,
        cohort_rows(evaluation, ledger),
        key=ID,
    )
    layout = cohort_layout(header_after(current, cohort), rows_after(current, cohort))
    cohort = with_layout(cohort, layout, marks)
    current = tables.get(names.review)
    review = plan_keyed(
        names.review,
        current,
        REVIEW_HEADERS,
        REVIEW_HEADERS,
        review_rows(evaluation.anomalies),
        key=REVIEW_KEY,
    )
    review = with_layout(
        review, review_layout(header_after(current, review), rows_after(current, review)), marks
    )
    current = tables.get(names.dashboard)

    def board(updated: str) -> SheetWrite:
        grid = dashboard_grid(evaluation, settings, updated)
        return with_layout(plan_grid(names.dashboard, current, grid), dashboard_layout(grid), marks)

    dashboard = board(shown_update(current))
    if stamp and (activity or not (cohort.empty and review.empty and dashboard.empty)):
        dashboard = board(stamp)
    return [cohort, review, dashboard]
