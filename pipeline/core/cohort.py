"""One run's pure part: source tables -> people, placements, anomalies, due messages, sheet plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
    Decision,
    Eligibility,
    Match,
    Member,
    Person,
    Reason,
    Response,
    SheetWrite,
    Status,
    Template,
)
from pipeline.core.parse import locate_columns, parse_kind, parse_row
from pipeline.core.people import merge_people, probable_duplicates
from pipeline.core.placement import Placement, parse_decision, place
from pipeline.core.reference import Reference
from pipeline.core.sentrecord import STATE_WORDS, SentEntry, format_sent
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
)


@dataclass(frozen=True)
class LedgerEntry:
    """What the state DB says about one queued message, as the core needs it."""

    person_id: str
    template: Template
    state: str  # a MessageState
    at: datetime | None
    error: str | None = None  # the mail server's last reply, for `failed` and `incertain`
    session: str = ""  # session templates: the session's code
    version: str = ""  # session templates: `v2` (invitation, change), `J-7` (reminder)
    detail: str = ""  # invitations and changes: the session's fingerprint (core/sessions.py)


ABSENT_MARK = "0 (absent du formulaire)"  # `Réponses` of a row whose answers are not found


@dataclass(frozen=True)
class AbsentRow:
    """A person the cohort sheet shows whose answers this run does not find: the row is kept as
    it is (a person once in the sheet is never cleared), marked, and listed in `À vérifier`."""

    person_id: str
    row: int  # in the cohort sheet
    cells: dict[str, str]  # pipeline-owned column -> the text it shows now
    status: Status | None  # as shown, or as a staff decision (Refusé, Désisté) makes it
    authority: str  # the collectivité, as `max_per_authority` counts places

    @property
    def holds_place(self) -> bool:
        return self.status in (Status.INSCRIT, Status.PROPOSE)


@dataclass(frozen=True)
class Evaluation:
    rows_read: int
    people: list[Person]
    matches: dict[str, Match]
    placements: dict[str, Placement]
    anomalies: list[Anomaly]
    due: list[tuple[str, Template]]
    members: list[Member] = field(default_factory=list)
    absent: list[AbsentRow] = field(default_factory=list)


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
        others = sum(1 for h in header if h.strip())
        raise SheetError(
            f"sheet '{sheet}' has no 'Collectivité' column in row 1 ({others} non-empty cell(s), "
            "not shown). Restore the column title, or the header row, in the member list."
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


# Before this, no answer to this form can exist: an earlier timestamp is a typing or import
# error (year 0001 from an empty date), never a reason to jump the queue.
EARLIEST_ANSWER = datetime(2020, 1, 1, tzinfo=PARIS)
# A timestamp this far past the real clock cannot be true (Google stamps answers when they
# arrive); the margin covers a clock a little behind and a spreadsheet time zone set wrong.
FUTURE_MARGIN = timedelta(hours=2)


def _impossible_stamp(response: Response, clock: datetime | None) -> Anomaly | None:
    stamp = response.submitted_at
    if stamp >= EARLIEST_ANSWER and (clock is None or stamp <= clock + FUTURE_MARGIN):
        return None
    shown = stamp.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    why = (
        "est antérieur à 2020, avant que le formulaire existe"
        if stamp < EARLIEST_ANSWER
        else "est dans le futur"
    )
    return Anomaly(
        reason=Reason.HORODATEUR_INVALIDE,
        explanation=(
            f"L'horodateur ({shown}) {why} : il ne peut pas être juste. La réponse est écartée "
            "(sans courriel et sans place) jusqu'à ce que l'horodateur soit corrigé dans la "
            "feuille des réponses."
        ),
        row=response.row,
        person=f"{response.first_name} {response.last_name}".strip(),
        authority=response.authority,
    )


def read_responses(
    table: Table,
    settings: Settings,
    now: datetime,
    time_zone: str | None = None,
    clock: datetime | None = None,
) -> tuple[int, list[Response], list[Anomaly]]:
    """Every non-blank source row becomes a Response or rejection anomalies.

    Answers stamped after `now` are not seen yet (this is how `--as-of` replays the past); a
    stamp before 2020 or after the real `clock` (when given) cannot be true: the answer is
    rejected as `horodateur_invalide`, whatever `now`.
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
        impossible = result.response and _impossible_stamp(result.response, clock)
        if impossible:
            read += 1
            anomalies.append(impossible)
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


def absent_rows(
    cohort: Table | None,
    present: Set[str],
    released: Set[str],
    decisions: Mapping[str, str],
) -> list[AbsentRow]:
    """Rows of the cohort sheet whose ID is not among the people read this run, except those
    `released` (consent withdrawn: their data must go)."""
    if not cohort:
        return []
    columns = header_index(cohort[0])
    id_col = columns.get(fold(ID))
    if id_col is None:
        return []
    statuses = {fold(s.value): s for s in Status}
    found: dict[str, AbsentRow] = {}
    for number, cells in enumerate(cohort[1:], start=2):
        pid = cells[id_col].strip() if id_col < len(cells) else ""
        if not pid or pid in present or pid in released or pid in found:
            continue

        def text(name: str, cells: Sequence[str] = cells) -> str:
            col = columns.get(fold(name))
            return cells[col] if col is not None and col < len(cells) else ""

        status = statuses.get(fold(text(STATUS)))
        decision = parse_decision(decisions.get(pid, ""))
        if decision is Decision.REFUSE:
            status = Status.REFUSE
        elif decision is Decision.DESISTE:
            status = Status.DESISTE
        member = text("Collectivité adhérente").strip()
        found[pid] = AbsentRow(
            person_id=pid,
            row=number,
            cells={name: text(name) for name in COHORT_OWNED},
            status=status,
            authority=member or fold(text("Collectivité (saisie)")),
        )
    return list(found.values())


def absent_anomaly(row: AbsentRow, responses_sheet: str) -> Anomaly:
    person = " ".join(p for p in (row.cells.get("Prénom", ""), row.cells.get("Nom", "")) if p)
    return Anomaly(
        reason=Reason.ABSENT_DU_FORMULAIRE,
        explanation=(
            f"Les réponses de cette personne ne sont plus trouvées dans « {responses_sheet} » "
            "(ligne supprimée ou vidée, colonne « Adresse e-mail » déplacée ou doublée, adresse "
            "modifiée dans la réponse ?). Sa ligne est gardée telle quelle, avec sa décision et "
            "ses notes, et marquée « absent du formulaire » dans Réponses ; elle ne reçoit aucun "
            "courriel et garde sa place si elle en avait une. Si ses réponses reviennent, la même "
            "ligne est mise à jour. Pour la retirer de la promotion, écrivez « Désisté » ou "
            "« Refusé » dans Décision CUF."
        ),
        person_id=row.person_id,
        person=person,
        authority=row.cells.get("Collectivité (saisie)", ""),
    )


def evaluate(
    responses_table: Table,
    members_table: Table,
    cohort_table: Table | None,
    ledger: Sequence[LedgerEntry],
    settings: Settings,
    now: datetime,
    reference: Reference | None = None,
    time_zone: str | None = None,
    released: Set[str] = frozenset(),
    clock: datetime | None = None,
) -> Evaluation:
    """Everything a run decides, before any write or send.

    `time_zone` is the spreadsheet's own (Google Sheets reports it); timestamps without an offset
    are read in it. None means Europe/Paris. People the cohort sheet shows but whose answers are
    not found keep their row (`AbsentRow`), except those `released` (consent withdrawn). `clock`
    is the real time of the run (not `--as-of`): answers stamped after it are impossible.
    """
    rows_read, responses, anomalies = read_responses(
        responses_table, settings, now, time_zone, clock
    )
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
    absent = absent_rows(cohort_table, {p.id for p in people}, released, decisions)
    held = {row.person_id: row.authority for row in absent if row.holds_place}
    placements, found = place(people, matches, decisions, previous, settings.cohort, now, held)
    anomalies.extend(found)
    anomalies.extend(absent_anomaly(row, settings.sheets.responses) for row in absent)
    due = due_messages(people, placements, already)
    return Evaluation(rows_read, people, matches, placements, anomalies, due, members, absent)


def fr_stamp(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def sheet_stamp(moment: datetime | None) -> Cell:
    """A moment as a date-time cell: Paris wall-clock time to the second (empty when None)."""
    if moment is None:
        return ""
    return moment.astimezone(PARIS).replace(tzinfo=None, microsecond=0)


def sent_summary(entries: Sequence[LedgerEntry]) -> str:
    """`Accusé de réception 02/03/2026; Inscription confirmée 01/04/2026` (delivered, refused
    or uncertain; see core/sentrecord.py): a second record of the ledger, read back when the
    state DB is lost."""
    shown = [
        e
        for e in sorted(entries, key=lambda e: e.at or datetime.min.replace(tzinfo=PARIS))
        if e.state in STATE_WORDS and e.at is not None
    ]
    return format_sent(
        SentEntry(
            e.template.value,
            e.at.astimezone(PARIS).date(),
            session=e.session or None,
            qualifier=e.version if e.version and e.version != "v1" else None,  # v1: implied
            state=e.state,
        )
        for e in shown
        if e.at is not None
    )


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
    for absent in evaluation.absent:  # kept as shown, marked; the ledger still speaks for it
        kept: dict[str, Cell] = dict(absent.cells)
        if absent.status is not None:
            kept[STATUS] = absent.status.value
        kept["Réponses"] = ABSENT_MARK
        if absent.person_id in by_person:
            kept[SENT] = sent_summary(by_person[absent.person_id])
        rows.append(kept)
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
    evaluation: Evaluation,
    settings: Settings,
    updated: str = "",
    extra: Sequence[Sequence[Cell]] = (),
) -> list[list[Cell]]:
    """Key figures, then counts by Statut, Éligibilité, type of collectivité and région.

    `updated` is the date of the last run that changed something (see `plan_outputs`).
    """
    people = evaluation.people
    placements = evaluation.placements
    status = Counter(placements[p.id].status.value for p in people)
    eligibility = Counter(placements[p.id].eligibility.value for p in people)
    for absent in evaluation.absent:  # rows kept while their answers are not found
        if absent.status is not None:
            status[absent.status.value] += 1
        if absent.cells.get("Éligibilité"):
            eligibility[absent.cells["Éligibilité"]] += 1

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
        ["Personnes", len(people) + len(evaluation.absent)],
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
    return grid[:-1] + [list(line) for line in extra]


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
    dashboard_extra: Sequence[Sequence[Cell]] = (),
) -> list[SheetWrite]:
    """Writes for the cohort sheet, `À vérifier` and `Tableau de bord` (Journal is the run's).

    Each write carries its sheet's layout when the layout mark read with the sheet (`marks`)
    is not the current one (core/layout.py). The dashboard shows `stamp` as its last update when
    this run changes anything, in these sheets or elsewhere (`activity`: mail was sent, or another
    sheet changed); else the date it shows stays, so an idle run plans nothing. `dashboard_extra`
    rows (sessions, documents) follow the dashboard's own sections.
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
        grid = dashboard_grid(evaluation, settings, updated, dashboard_extra)
        return with_layout(plan_grid(names.dashboard, current, grid), dashboard_layout(grid), marks)

    dashboard = board(shown_update(current))
    if stamp and (activity or not (cohort.empty and review.empty and dashboard.empty)):
        dashboard = board(stamp)
    return [cohort, review, dashboard]
