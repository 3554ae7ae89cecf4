"""Personal data, the pure part: identities and erasure tombstones, screening the form's answers
(erased people, consent withdrawn on a later answer), what the sheets hold about one person,
the cells an erasure clears, and the French text of an access export.

No I/O here: the state DB side is `adapters/privacy_state.py`, the commands `pipeline/privacy.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.core.model import CellWrite, SheetWrite, WritePlan
from pipeline.core.parse import has_consent, locate_columns, normalize_email, parse_timestamp
from pipeline.core.people import person_id
from pipeline.core.settings import Settings
from pipeline.core.sheetplan import Table, header_index, read_stamp
from pipeline.core.text import clean, fold
from pipeline.core.vocabulary import ID, PARIS, REVIEW_KEY, MessageState

ERASED_MARK = "<effacé>"


def identity(raw: str) -> str:
    """An address as a form row holds it -> the identity `person_id` is derived from: trimmed,
    lowercased (and normalized as the form's parser does when it is not plain ASCII or has a
    punycode domain). An address that is not valid keeps its trimmed, lowercased text, so its
    rows can still be found."""
    text = raw.strip().lower()
    if text.isascii() and text.isprintable() and " " not in text and "xn--" not in text:
        return text  # the common case, without the validator (runs screen every row)
    return normalize_email(clean(raw)) or clean(raw).lower()


def tombstone(salt: bytes, email: str) -> str:
    """What an erasure keeps of an address: HMAC-SHA256 under the state DB's own salt (hex).

    Without the salt it cannot be reversed or checked against a list of addresses; with it, a
    run recognizes the address's answers and skips them.
    """
    return hmac.new(salt, identity(email).encode("utf-8"), hashlib.sha256).hexdigest()


def _cell(cells: Sequence[str], col: int | None) -> str:
    if col is None or col >= len(cells):
        return ""
    return cells[col]


def covered(moment: datetime | None, until: datetime | None) -> bool:
    """Does an erasure that saw answers up to `until` cover an answer stamped `moment`?

    Yes for every answer given up to the erasure (and for any whose time cannot be read); an
    answer submitted later is a new registration, the person's own new choice.
    """
    return moment is None or (until is not None and moment <= until)


@dataclass(frozen=True)
class Screening:
    """The form's answers as a run may use them."""

    table: Table
    erased_rows: int = 0  # answers of erased people: blanked (not read, not listed)
    withdrawn: frozenset[str] = frozenset()  # person ids whose latest answer withdraws consent
    withdrawn_rows: int = 0  # their earlier answers, now read as given without consent


def screen_responses(
    table: Table,
    settings: Settings,
    erased: Mapping[str, datetime | None],
    salt: bytes | None,
    zone: ZoneInfo = PARIS,
) -> Screening:
    """Blank the answers an erasure covers; when a person's latest answer (by Horodateur) has no
    consent, read their earlier answers without consent too, so they end as if they had never
    consented: listed in `À vérifier` without personal fields, out of the cohort, no email.

    Row numbers do not move (blanked rows stay as empty rows). `erased` maps tombstones
    (`tombstone(salt, email)`) to the latest answer time the erasure saw.
    """
    if len(table) < 2:
        return Screening(table)
    columns = locate_columns(table[0], settings.columns.aliases, settings.sheets.responses)
    email_col, time_col, consent_col = columns["email"], columns["submitted_at"], columns["consent"]
    rows: list[Sequence[str]] = list(table)
    erased_rows = 0
    if erased and salt is not None:
        for index in range(1, len(rows)):
            raw = _cell(rows[index], email_col)
            if not raw.strip():
                continue
            mark = tombstone(salt, raw)
            if mark not in erased:
                continue
            moment = parse_timestamp(clean(_cell(rows[index], time_col)), zone)
            if covered(moment, erased[mark]):
                rows[index] = []
                erased_rows += 1

    seen: dict[str, bool] = {}  # the consent column holds one or two distinct texts

    def consents(cells: Sequence[str]) -> bool:
        text = _cell(cells, consent_col)
        if text not in seen:
            seen[text] = has_consent(clean(text))
        return seen[text]

    refused = {
        identity(_cell(cells, email_col))
        for cells in rows[1:]
        if _cell(cells, email_col).strip() and not consents(cells)
    }
    if not refused:
        return Screening(rows, erased_rows)
    latest: dict[str, tuple[datetime, int, bool]] = {}
    for index in range(1, len(rows)):
        raw = _cell(rows[index], email_col)
        key = identity(raw) if raw.strip() else ""
        if key not in refused:
            continue
        moment = parse_timestamp(clean(_cell(rows[index], time_col)), zone)
        if moment is None:
            continue
        if key not in latest or (moment, index) >= latest[key][:2]:
            latest[key] = (moment, index, consents(rows[index]))
    withdrawn = {key for key, (_, _, consent) in latest.items() if not consent}
    withdrawn_rows = 0
    for index in range(1, len(rows)):
        cells = rows[index]
        raw = _cell(cells, email_col)
        if raw.strip() and consents(cells) and identity(raw) in withdrawn:
            copy = list(cells)
            copy[consent_col] = ""
            rows[index] = copy
            withdrawn_rows += 1
    return Screening(
        rows, erased_rows, frozenset(person_id(key) for key in withdrawn), withdrawn_rows
    )


# --- what the sheets hold about one person ------------------------------------------------------


@dataclass(frozen=True)
class FoundRow:
    """One row of a sheet that belongs to the person."""

    sheet: str
    row: int  # 1-based, the header is row 1
    cells: tuple[tuple[str, str], ...]  # (header, value) of every column in use
    width: int  # columns to clear, from column 1
    key_col: int | None  # 1-based column a backend checks before writing (ID, Réf., address)
    key: str  # what the row held there when read

    def get(self, header: str) -> str:
        wanted = fold(header)
        return next((value for name, value in self.cells if fold(name) == wanted), "")


@dataclass(frozen=True)
class Mention:
    """A cell outside the person's own rows that names them."""

    sheet: str
    row: int
    col: int
    header: str
    value: str
    key_col: int | None
    key: str
    exact: bool  # holds their address or person id (else only their name: maybe someone else)


@dataclass(frozen=True)
class Holdings:
    """Everything the spreadsheet holds about one address."""

    email: str  # the identity searched
    person_id: str
    answers: tuple[FoundRow, ...] = ()
    cohort: tuple[FoundRow, ...] = ()
    review: tuple[FoundRow, ...] = ()
    mentions: tuple[Mention, ...] = ()
    answers_until: datetime | None = None  # the latest readable Horodateur of their answers
    names: tuple[str, ...] = ()  # "Prénom Nom" as their rows give it

    @property
    def found(self) -> bool:
        return bool(self.answers or self.cohort or self.review or self.mentions)


def _labelled(
    header: Sequence[str], cells: Sequence[str], width: int
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for col in range(width):
        name = _cell(header, col).strip() or f"(colonne {col + 1})"
        value = _cell(cells, col)
        if value.strip() or _cell(header, col).strip():
            pairs.append((name, value))
    return tuple(pairs)


def _width(table: Table) -> int:
    return max((len(cells) for cells in table), default=0)


def find_person(
    tables: Mapping[str, Table], settings: Settings, email: str, zone: ZoneInfo = PARIS
) -> Holdings:
    """The person's form answers (every row with their address), cohort row(s) (their ID or
    address), `À vérifier` rows (their ID, or the source row number of one of their answers),
    and every other cell of these sheets, Journal and dashboard included, that holds their
    address or person id (or, reported only, their name)."""
    key = identity(email)
    pid = person_id(key)
    names = settings.sheets
    answers: list[FoundRow] = []
    until: datetime | None = None
    people: set[tuple[str, str]] = set()  # (first name, last name)
    own: set[tuple[str, int]] = set()
    key_cols: dict[str, int | None] = {}

    source = tables.get(names.responses) or []
    if source:
        columns = locate_columns(source[0], settings.columns.aliases, names.responses)
        email_col = columns["email"]
        key_cols[names.responses] = email_col
        width = _width(source)
        for index, cells in enumerate(source[1:], start=2):
            raw = _cell(cells, email_col)
            if not raw.strip() or identity(raw) != key:
                continue
            answers.append(
                FoundRow(
                    names.responses, index, _labelled(source[0], cells, width), width,
                    email_col + 1, raw,
                )
            )  # fmt: skip
            moment = parse_timestamp(clean(_cell(cells, columns["submitted_at"])), zone)
            if moment is not None and (until is None or moment > until):
                until = moment
            first = clean(_cell(cells, columns["first_name"]))
            last = clean(_cell(cells, columns["last_name"]))
            if first or last:
                people.add((first, last))
    own.update((names.responses, r.row) for r in answers)

    cohort: list[FoundRow] = []
    table = tables.get(settings.cohort.name) or []
    if table:
        header = header_index(table[0])
        id_col, mail_col = header.get(fold(ID)), header.get(fold("Courriel"))
        key_cols[settings.cohort.name] = id_col
        width = _width(table)
        for index, cells in enumerate(table[1:], start=2):
            mail = _cell(cells, mail_col)
            if _cell(cells, id_col).strip() != pid and not (mail.strip() and identity(mail) == key):
                continue
            found = FoundRow(
                settings.cohort.name, index, _labelled(table[0], cells, width), width,
                None if id_col is None else id_col + 1, _cell(cells, id_col),
            )  # fmt: skip
            cohort.append(found)
            first, last = clean(found.get("Prénom")), clean(found.get("Nom"))
            if first or last:
                people.add((first, last))
    own.update((settings.cohort.name, r.row) for r in cohort)
    for sheet in (names.attendance, names.certificates):  # rows keyed by ID, like the cohort
        table = tables.get(sheet) or []
        if not table:
            continue
        id_col = header_index(table[0]).get(fold("ID"))
        key_cols[sheet] = id_col
        width = _width(table)
        for index, cells in enumerate(table[1:], start=2):
            if id_col is None or _cell(cells, id_col).strip() != pid:
                continue
            cohort.append(
                FoundRow(sheet, index, _labelled(table[0], cells, width), width, id_col + 1, pid)
            )
            own.add((sheet, index))

    review: list[FoundRow] = []
    table = tables.get(names.review) or []
    lines = {str(r.row) for r in answers}
    if table:
        header = header_index(table[0])
        ref_col, id_col = header.get(fold(REVIEW_KEY)), header.get(fold(ID))
        line_col = header.get(fold("Ligne"))
        key_cols[names.review] = ref_col
        width = _width(table)
        for index, cells in enumerate(table[1:], start=2):
            row_id = _cell(cells, id_col).strip()
            line = _cell(cells, line_col).strip()
            if row_id != pid and not (line in lines and row_id in ("", pid)):
                continue
            review.append(
                FoundRow(
                    names.review, index, _labelled(table[0], cells, width), width,
                    None if ref_col is None else ref_col + 1, _cell(cells, ref_col),
                )
            )  # fmt: skip
    own.update((names.review, r.row) for r in review)

    exact = re.compile(
        rf"(?<![\w.+'-]){re.escape(key)}(?![\w-]|\.[\w-])|(?<![\w-]){re.escape(pid)}(?!\w)",
        re.IGNORECASE,
    )
    full = {fold(f"{a} {b}") for first, last in people for a, b in ((first, last), (last, first))}
    named = re.compile(
        "|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in sorted(full) if len(n) >= 5)
    )
    split = {(fold(first), fold(last)) for first, last in people if first and last}
    mentions: list[Mention] = []
    for sheet in (names.responses, settings.cohort.name, names.review, names.journal,
                  names.dashboard, names.members, names.attendance,
                  names.certificates):  # fmt: skip
        table = tables.get(sheet) or []
        if not table:
            continue
        key_col = key_cols.get(sheet)
        for index, cells in enumerate(table[1:], start=2):
            if (sheet, index) in own:
                continue
            folded = [fold(value) for value in cells]
            # first and last name in two cells of one row (form answers, cohort rows)
            last_col = next((folded.index(b) for a, b in split if a in folded and b in folded), -1)
            for col, value in enumerate(cells):
                if not value.strip():
                    continue
                holds = exact.search(value) is not None
                if (
                    not holds
                    and col != last_col
                    and not (named.pattern and named.search(folded[col]))
                ):
                    continue
                mentions.append(
                    Mention(
                        sheet, index, col + 1, _cell(table[0], col).strip() or f"(colonne {col + 1})",
                        value, None if key_col is None else key_col + 1, _cell(cells, key_col),
                        holds,
                    )
                )  # fmt: skip
    return Holdings(
        key, pid, tuple(answers), tuple(cohort), tuple(review), tuple(mentions), until,
        tuple(sorted(f"{first} {last}".strip() for first, last in people)),
    )  # fmt: skip


def clearable(mention: Mention, settings: Settings, include_source: bool) -> bool:
    """An erasure clears a mention holding the address or id, except in the member list (staff's,
    read only) and, without `include_source`, in the form's answers."""
    if not mention.exact or mention.sheet == settings.sheets.members:
        return False
    return include_source or mention.sheet != settings.sheets.responses


def erasure_plan(holdings: Holdings, settings: Settings, include_source: bool) -> WritePlan:
    """Every cell of the person's cohort and `À vérifier` rows (staff columns included: it is
    their data) and every other output cell holding their address or id, as "" in one batch;
    with `include_source`, also every cell of their form answers (rows stay where they are, so
    other people's row numbers do not move). A cell that names them only by name is left."""
    rows = list(holdings.cohort) + list(holdings.review)
    if include_source:
        rows += list(holdings.answers)
    cells: dict[str, dict[tuple[int, int], CellWrite]] = {}
    expected: dict[str, dict[int, str]] = {}
    key_cols: dict[str, int | None] = {}
    for found in rows:
        target = cells.setdefault(found.sheet, {})
        for col in range(1, found.width + 1):
            target[(found.row, col)] = CellWrite(found.row, col, "")
        key_cols[found.sheet] = found.key_col
        if found.key_col is not None:
            expected.setdefault(found.sheet, {})[found.row] = found.key
    for mention in holdings.mentions:
        if not clearable(mention, settings, include_source):
            continue
        cells.setdefault(mention.sheet, {})[(mention.row, mention.col)] = CellWrite(
            mention.row, mention.col, ""
        )
        key_cols.setdefault(mention.sheet, mention.key_col)
        if mention.key_col is not None:
            expected.setdefault(mention.sheet, {})[mention.row] = mention.key
    return WritePlan(
        sheets=tuple(
            SheetWrite(
                sheet=sheet,
                cells=tuple(sorted(writes.values(), key=lambda w: (w.row, w.col))),
                key_col=key_cols.get(sheet),
                expected_keys=tuple(sorted(expected.get(sheet, {}).items())),
            )
            for sheet, writes in cells.items()
            if writes
        )
    )


# --- the access export, as French text ----------------------------------------------------------

_STATES = {
    MessageState.PENDING: "en attente d'envoi",
    MessageState.SENDING: "envoi en cours",
    MessageState.SENT: "envoyé",
    MessageState.RETRY: "nouvel essai prévu",
    MessageState.FAILED: "refusé par le serveur de messagerie",
    MessageState.INCERTAIN: "envoi interrompu (peut-être parti)",
}


def _stamp(text: object) -> str:
    if not isinstance(text, str) or not text:
        return "-"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


# Date-time cells read back as ISO text or serial numbers: shown as French dates in the export.
_DATE_TIME_COLUMNS = frozenset(
    fold(h) for h in ("Horodateur", "Première réponse", "Dernière réponse", "Début", "Fin")
)


def _cell_shown(name: str, value: object) -> str:
    text = str(value)
    if not text.strip():
        return "(vide)"
    if fold(name) in _DATE_TIME_COLUMNS:
        moment = read_stamp(text)
        if moment is not None:
            return moment.strftime("%d/%m/%Y %H:%M:%S")
    return text


def _rows(lines: list[str], items: Iterable[Mapping[str, Any]]) -> None:
    for item in items:
        lines.append(f"   Ligne {item['row']} :")
        for name, value in item["values"].items():
            lines.append(f"     {name} : {_cell_shown(name, value)}")


def export_text(document: Mapping[str, Any]) -> str:
    """The access export (`diplomates export --format text`) in plain French, for the person."""
    person = document["person"]
    where = document["sources"]
    lines = [
        f"Données détenues sur {person['email']} (identifiant {person['id']})",
        f"Programme « {document['programme']} » — {document['controller']}",
        f"Extraction du {_stamp(document['generated_at'])} (heure de Paris).",
        "",
    ]
    sections: list[tuple[str, str, Sequence[Mapping[str, Any]]]] = [
        ("Réponses au formulaire", "form_answers", document["form_answers"]),
        ("Fiche dans la promotion", "cohort_rows", document["cohort_rows"]),
        ("Points à vérifier par l'équipe", "review_rows", document["review_rows"]),
    ]
    number = 0
    for title, key, items in sections:
        number += 1
        lines.append(f"{number}. {title} — {where[key]}")
        if not items:
            lines.append("   Rien.")
        else:
            _rows(lines, items)
        lines.append("")
    number += 1
    lines.append(f"{number}. Courriels — {where['messages']}")
    if not document["messages"]:
        lines.append("   Aucun.")
    for message in document["messages"]:
        state = _STATES.get(message["state"], message["state"])
        lines.append(
            f"   « {message['template']} » ({message['cohort']}) : {state} ; préparé le "
            f"{_stamp(message['created_at'])}, envoyé le {_stamp(message['sent_at'])}, dernière "
            f"mise à jour le {_stamp(message['updated_at'])}, {message['attempts']} tentative(s)"
        )
        if message.get("server_reply"):
            lines.append(f"     réponse du serveur : {message['server_reply']}")
        if not message["body_kept"]:
            lines.append("     contenu effacé (durée de conservation écoulée)")
        if message.get("content"):
            lines.append("     contenu :")
            lines.extend(f"       {line}" for line in str(message["content"]).splitlines())
    lines.append("")
    number += 1
    lines.append(f"{number}. Copies des courriels — {where['outbox_files']}")
    if not document["outbox_files"]:
        lines.append("   Aucune.")
    lines.extend(f"   {item['file']} ({item['bytes']} octets)" for item in document["outbox_files"])
    lines.append("")
    number += 1
    lines.append(f"{number}. Autres mentions")
    if not document["mentions"] and not document.get("run_errors"):
        lines.append("   Aucune.")
    for item in document["mentions"]:
        note = "" if item["exact"] else " (même nom : peut-être une autre personne)"
        lines.append(
            f"   feuille « {item['sheet']} », ligne {item['row']}, colonne « {item['header']} »"
            f"{note} : {item['value']}"
        )
    for item in document.get("run_errors", ()):
        lines.append(f"   {item['source']} (le {_stamp(item['started_at'])}) : {item['error']}")
    lines.append("")
    number += 1
    erasure = document["erasure"]
    lines.append(f"{number}. Effacement")
    if erasure is None:
        lines.append("   Aucune demande d'effacement enregistrée pour cette adresse.")
    else:
        lines.append(
            f"   Effacement enregistré le {_stamp(erasure['erased_at'])} : seule une empreinte "
            "chiffrée de l'adresse est gardée, pour que les réponses données jusqu'au "
            f"{_stamp(erasure['answers_until'])} ne soient plus traitées."
        )
    lines.append("")
    lines.extend(f"{note}" for note in document["notes"])
    return "\n".join(lines) + "\n"
