"""The cohort sheet's `Courriels envoyés` cell: a second record of what was sent (SPEC).

One formatter and one parser, shared by every part of the pipeline that sends. A cell holds
entries separated by "; ", each `<Libellé>[ <code session>][ <qualificatif>][ <état>] <JJ/MM/AAAA>`:

    Accusé de réception 02/03/2026; Inscription confirmée 01/04/2026; Invitation S1 12/05/2026;
    Modification S1 v2 20/05/2026; Rappel S1 J-7 05/05/2026; Liste d'attente refusé 03/04/2026

The qualifier is `v<N>` (a version; `v<N>.<R>` once a person is invited again after a
cancellation, R being the round) or `J-<N>` (a reminder); the state word is `refusé` (the
server refused it for good) or `incertain` (maybe sent), absent for a delivered message. The
parser also reads the first version's form, `accuse_reception 2026-03-02` (and
`accuse_reception refusé 2026-03-02`), so a sheet written before still rebuilds the ledger.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.core.text import fold
from pipeline.core.vocabulary import MessageState

# Template name -> French label, for every template the programme sends (some are sent by later
# parts of the pipeline; the table is complete so a sheet can always be read back).
LABELS: dict[str, str] = {
    "accuse_reception": "Accusé de réception",
    "non_eligible": "Non éligible",
    "inscription_confirmee": "Inscription confirmée",
    "liste_attente": "Liste d'attente",
    "place_liberee": "Place libérée",
    "invitation_session": "Invitation",
    "session_modifiee": "Modification",
    "session_annulee": "Annulation",
    "rappel_session": "Rappel",
    "certificat": "Certificat d'auditeur",
    "attestation": "Attestation de participation",
}
# Ledger state -> the word shown before the date (a delivered message shows none).
STATE_WORDS: dict[str, str] = {
    MessageState.SENT.value: "",
    MessageState.FAILED.value: "refusé",
    MessageState.INCERTAIN.value: "incertain",
}
SEPARATOR = "; "

_BY_LABEL = sorted(
    ((fold(label), name) for name, label in LABELS.items()), key=lambda x: -len(x[0])
)
_EXACT = {label: name for name, label in LABELS.items()}
_WORD_STATES = {fold(word): state for state, word in STATE_WORDS.items() if word}
_NEW_DATE = re.compile(r"^(.*?)\s+(\d{1,2})/(\d{1,2})/(\d{4})$")
_OLD = re.compile(r"^([a-z_]+)(?:\s+(refusé|refuse|incertain))?\s+(\d{4})-(\d{2})-(\d{2})$")
# as written: a session code `V1` is no version
_QUALIFIER = re.compile(r"^(v\d+(?:\.\d+)?|J-\d+)$")


@dataclass(frozen=True)
class SentEntry:
    """One message the cell records: template name, day (Europe/Paris), and for session
    messages the session code and the qualifier (`v2`, `J-7`); `state` is the ledger's
    (`sent`, `failed`, `incertain`)."""

    template: str
    day: date
    session: str | None = None
    qualifier: str | None = None
    state: str = MessageState.SENT.value


def format_entry(entry: SentEntry) -> str:
    """`Modification S1 v2 20/05/2026` (see the module's docstring)."""
    parts = [LABELS.get(entry.template, entry.template)]
    parts += [p for p in (entry.session, entry.qualifier) if p]
    word = STATE_WORDS.get(entry.state, "")
    if word:
        parts.append(word)
    parts.append(entry.day.strftime("%d/%m/%Y"))
    return " ".join(parts)


def format_sent(entries: Iterable[SentEntry]) -> str:
    """The whole cell: entries in the order given, separated by "; "."""
    return SEPARATOR.join(format_entry(e) for e in entries)


def _parse_one(text: str) -> SentEntry | None:
    text = " ".join(text.split())
    old = _OLD.match(text)
    if old and old.group(1) in LABELS:
        name, word, year, month, day = old.groups()
        try:
            when = date(int(year), int(month), int(day))
        except ValueError:
            return None
        return SentEntry(
            name, when, state=_WORD_STATES.get(fold(word or ""), MessageState.SENT.value)
        )
    found = _NEW_DATE.match(text)
    if not found:
        return None
    head, day_text, month_text, year_text = found.groups()
    try:
        when = date(int(year_text), int(month_text), int(day_text))
    except ValueError:
        return None
    exact = _EXACT.get(head)
    if exact is not None:  # the pipeline's own writing: the common case, no folding needed
        return SentEntry(exact, when)
    folded = fold(head)
    hit = next(
        ((label, name) for label, name in _BY_LABEL
         if folded == label or folded.startswith(label + " ")),
        None,
    )  # fmt: skip
    if hit is None:
        return None
    label, name = hit
    rest = head.split()[len(label.split()) :]
    state: str = MessageState.SENT.value
    if rest and fold(rest[-1]) in _WORD_STATES:
        state = _WORD_STATES[fold(rest.pop())]
    qualifier = rest.pop() if rest and _QUALIFIER.match(rest[-1]) else None
    session = " ".join(rest) or None
    return SentEntry(name, when, session, qualifier, state)


def parse_sent(text: str) -> tuple[list[SentEntry], int]:
    """The entries a cell records, and how many parts could not be read (staff typing, say):
    those are skipped, never guessed."""
    entries: list[SentEntry] = []
    unreadable = 0
    for part in re.split(r"[;\n]", text or ""):
        if not part.strip():
            continue
        entry = _parse_one(part)
        if entry is None:
            unreadable += 1
        else:
            entries.append(entry)
    return entries, unreadable


def sheet_records(
    table: Sequence[Sequence[str]] | None, id_header: str = "ID", column: str = "Courriels envoyés"
) -> dict[str, list[SentEntry]]:
    """What a cohort sheet says was sent, by person id (rows without an ID are skipped)."""
    if not table:
        return {}
    header = [fold(h) for h in table[0]]
    try:
        id_col, sent_col = header.index(fold(id_header)), header.index(fold(column))
    except ValueError:
        return {}
    found: dict[str, list[SentEntry]] = {}
    for cells in table[1:]:
        pid = cells[id_col].strip() if id_col < len(cells) else ""
        text = cells[sent_col] if sent_col < len(cells) else ""
        if not pid or not text.strip():
            continue
        entries, _ = parse_sent(text)
        if entries:
            found.setdefault(pid, []).extend(entries)
    return found
