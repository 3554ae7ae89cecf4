"""Sessions, pure: the staff's `Sessions` sheet read, and which session messages are due.

SPEC "After registration": invitations (`.ics` REQUEST), changes (same UID, higher SEQUENCE),
cancellations (`.ics` CANCEL) and reminders, each at most once per person, session and version.

Versions are numbered per session (`v1`, `v2` …) from the ledger itself: every invitation or
change records the session's fingerprint (Début, Fin, Lieu) in its `detail`; the session's
current version is the latest one recorded when the fingerprint still matches, else one more.
So everyone invited to a session shares its version numbers, and the `.ics` SEQUENCE is
`version - 1`. A ledger rebuilt from the sheet's `Courriels envoyés` has no fingerprints: the
latest version is then taken to be the current one (no change is invented, nothing sent twice).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.core.cohort import LedgerEntry
from pipeline.core.model import Anomaly, Reason, Status, Template
from pipeline.core.parse import parse_timestamp
from pipeline.core.sheetplan import Table, header_index
from pipeline.core.text import clean, fold
from pipeline.core.vocabulary import PARIS, MessageState

FORMATS = ("Rencontre", "Session de travail", "Temps de terrain")
CANCELLED = "Annulée"
ONLINE = "En ligne"
INVITED = frozenset({Template.INVITATION_SESSION, Template.SESSION_MODIFIEE})


@dataclass(frozen=True)
class Session:
    """One valid row of the `Sessions` sheet."""

    code: str
    title: str
    format: str
    start: datetime  # aware
    end: datetime
    place: str
    link: str
    cancelled: bool
    row: int

    @property
    def fingerprint(self) -> str:
        """What a change of makes a new version: Début, Fin and Lieu (SPEC)."""
        text = f"{self.start.isoformat()}|{self.end.isoformat()}|{fold(self.place)}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def online(self) -> bool:
        return fold(self.place) == fold(ONLINE)

    def held(self, now: datetime) -> bool:
        """Planned, not cancelled, and ended: it counts in the attendance rate."""
        return not self.cancelled and self.end <= now


def session_uid(cohort: str, code: str, domain: str = "cites-unies-france.org") -> str:
    """The `.ics` UID: stable per cohort and session code (never reused)."""
    digest = hashlib.sha256(f"{cohort}|{fold(code)}".encode()).hexdigest()[:20]
    return f"session-{digest}@{domain}"


def _invalid(row: int, code: str, why: str) -> Anomaly:
    label = f"la session « {code} »" if code else "une session sans code"
    return Anomaly(
        reason=Reason.SESSION_INVALIDE,
        row=row,
        person=f"Sessions, ligne {row}",
        explanation=(
            f"Ligne {row} de l'onglet Sessions ({label}) : {why} Cette ligne est ignorée tant "
            "qu'elle n'est pas corrigée ; les autres sessions continuent."
        ),
    )


def read_sessions(
    table: Table | None, zone: ZoneInfo = PARIS
) -> tuple[list[Session], list[Anomaly]]:
    """Valid sessions in sheet order, and a `session_invalide` anomaly per bad row.

    A bad row (no code, a code already used above, an unreadable date, Fin before Début) is
    ignored; the first row with a code wins over later duplicates.
    """
    if not table:
        return [], []
    columns = header_index(table[0])

    def get(cells: Sequence[str], name: str) -> str:
        col = columns.get(fold(name))
        return clean(cells[col]) if col is not None and col < len(cells) else ""

    sessions: list[Session] = []
    anomalies: list[Anomaly] = []
    seen: set[str] = set()
    for number, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        code = get(cells, "Session")
        if not code:
            anomalies.append(_invalid(number, "", "le code de session (colonne Session) est vide."))
            continue
        if fold(code) in seen:
            anomalies.append(
                _invalid(number, code, "ce code est déjà utilisé par une ligne au-dessus.")
            )
            continue
        seen.add(fold(code))
        start_text, end_text = get(cells, "Début"), get(cells, "Fin")
        start, end = parse_timestamp(start_text, zone), parse_timestamp(end_text, zone)
        if start is None or end is None:
            which = "Début" if start is None else "Fin"
            shown = start_text if start is None else end_text
            anomalies.append(
                _invalid(
                    number,
                    code,
                    f"la date de {which} « {shown} » ne se lit pas (attendu JJ/MM/AAAA HH:MM).",
                )  # fmt: skip
            )
            continue
        if end <= start:
            anomalies.append(_invalid(number, code, "la Fin n'est pas après le Début."))
            continue
        status = fold(get(cells, "Statut"))
        sessions.append(
            Session(
                code=code,
                title=get(cells, "Titre") or code,
                format=get(cells, "Format"),
                start=start,
                end=end,
                place=get(cells, "Lieu"),
                link=get(cells, "Lien"),
                cancelled=status.startswith("annul"),
                row=number,
            )
        )
    return sessions, anomalies


@dataclass(frozen=True)
class SessionDue:
    """One session message to queue: who, which template, which session, which version.

    `version` is the ledger's key part: `v<N>` for invitations and changes, `J-<N>` for
    reminders, empty for cancellations. `sequence` is the `.ics` SEQUENCE; `detail` the
    fingerprint recorded with invitations and changes.
    """

    person_id: str
    template: Template
    session: str
    version: str
    sequence: int
    detail: str = ""


def _version_number(version: str) -> int:
    """`v2` -> 2; `v2.3` (the third round's) -> 2; anything else -> 0."""
    number = version[1:].split(".", 1)[0]
    return int(number) if version.startswith("v") and number.isdigit() else 0


def _round(version: str) -> int:
    """The invitation round a version belongs to: `v2` -> 1, `v2.3` -> 3 (the person's third
    invitation to the session, after two cancellations)."""
    _, dot, after = version.partition(".")
    return int(after) if dot and after.isdigit() else 1


def _versioned(version: int, rounds: int) -> str:
    return f"v{version}" if rounds == 1 else f"v{version}.{rounds}"


def current_versions(sessions: Iterable[Session], ledger: Iterable[LedgerEntry]) -> dict[str, int]:
    """Session code -> its current version number (1 for a session nobody was invited to)."""
    latest: dict[str, tuple[int, str]] = {}
    for entry in ledger:
        if entry.template not in INVITED or not entry.session:
            continue
        number = _version_number(entry.version)
        key = fold(entry.session)
        known = latest.get(key)
        if known is None or number > known[0] or (number == known[0] and entry.detail):
            latest[key] = (number, entry.detail)
    versions = {}
    for session in sessions:
        known = latest.get(fold(session.code))
        if known is None:
            versions[session.code] = 1
        elif not known[1] or known[1] == session.fingerprint:
            versions[session.code] = max(known[0], 1)
        else:
            versions[session.code] = known[0] + 1
    return versions


def invited_now(ledger: Iterable[LedgerEntry]) -> dict[str, set[str]]:
    """Folded session code -> people whose latest invitation round was not cancelled (someone
    cancelled then invited again counts; someone only cancelled does not)."""
    rounds: dict[tuple[str, str], list[int]] = {}  # (session, person) -> [cancels, max round]
    for entry in ledger:
        if not entry.session:
            continue
        seen = rounds.setdefault((fold(entry.session), entry.person_id), [0, 0])
        if entry.template is Template.SESSION_ANNULEE:
            seen[0] += 1
        elif entry.template in INVITED:
            seen[1] = max(seen[1], _round(entry.version))
    invited: dict[str, set[str]] = {}
    for (code, pid), (cancels, latest) in rounds.items():
        if latest > cancels:
            invited.setdefault(code, set()).add(pid)
    return invited


def reminder_offset(session: Session, now: datetime, days: Sequence[int]) -> int | None:
    """The reminder due now: the latest threshold (`Début - N days`) passed before Début."""
    if now >= session.start:
        return None
    passed = [d for d in days if now >= session.start - timedelta(days=d)]
    return min(passed) if passed else None


def due_session_messages(
    sessions: Sequence[Session],
    statuses: Mapping[str, Status],
    ledger: Sequence[LedgerEntry],
    now: datetime,
    reminder_days: Sequence[int] = (7, 1),
    withdrawn: Set[str] = frozenset(),
) -> list[SessionDue]:
    """Session messages that people's state and the sessions call for, not in the ledger yet.

    `statuses` maps every known person to their Statut now. For each person and session:
    - `Inscrit·e`, session planned and not started: an invitation (current version) if never
      invited, else a change if invited to an older version; a reminder when a threshold of
      `reminder_days` has passed since the invitation went out (only the latest threshold: a
      late run does not send J-7 and J-1 together);
    - invited, then the session is `Annulée` or the person is no longer `Inscrit·e`, before
      Début: one cancellation.
    Nothing is ever due for a session that started. A person who received a cancellation and
    is `Inscrit·e` again before Début is invited again, once: a new round (`_round`), whose
    versions carry the round (`v1.2`) and whose `.ics` SEQUENCE is above the cancellation's.
    """
    versions = current_versions(sessions, ledger)
    history: dict[tuple[str, str], dict[tuple[Template, str], LedgerEntry]] = {}
    for entry in ledger:
        if entry.session:
            history.setdefault((entry.person_id, fold(entry.session)), {})[
                (entry.template, entry.version)
            ] = entry
    due: list[SessionDue] = []
    for pid in sorted(set(statuses) | {pid for pid, _ in history}):
        status = statuses.get(pid)
        for session in sessions:
            if now >= session.start:
                continue
            have = history.get((pid, fold(session.code)), {})
            version = versions[session.code]
            # each cancellation this person received for the session ends a round; the next
            # invitation (if they are Inscrit·e again) opens the next one, one SEQUENCE higher
            rounds = sum(1 for t, _ in have if t is Template.SESSION_ANNULEE) + 1
            sequence = version - 1 + rounds - 1
            latest = max(
                ((_version_number(v) or 1, v) for (t, v) in have
                 if t in INVITED and _round(v) == rounds),
                default=None,
            )  # fmt: skip
            enrolled = status is Status.INSCRIT and pid not in withdrawn
            if not enrolled or session.cancelled:
                if latest is not None:  # the first round's cancellation keeps its key ""
                    mark = "" if rounds == 1 else latest[1]
                    due.append(
                        SessionDue(pid, Template.SESSION_ANNULEE, session.code, mark, sequence)
                    )
                continue
            if latest is None or latest[0] < version:
                due.append(
                    SessionDue(
                        pid,
                        Template.INVITATION_SESSION
                        if latest is None
                        else Template.SESSION_MODIFIEE,
                        session.code,
                        _versioned(version, rounds),
                        sequence,
                        session.fingerprint,
                    )  # fmt: skip
                )
                continue
            offset = reminder_offset(session, now, reminder_days)
            if offset is None or (Template.RAPPEL_SESSION, f"J-{offset}") in have:
                continue
            first_sent = min(
                (
                    e.at
                    for (t, v), e in have.items()
                    if t in INVITED
                    and _round(v) == rounds
                    and e.state == MessageState.SENT
                    and e.at is not None
                ),
                default=None,
            )
            threshold = session.start - timedelta(days=offset)
            if first_sent is not None and first_sent < threshold:
                due.append(
                    SessionDue(pid, Template.RAPPEL_SESSION, session.code, f"J-{offset}", sequence)
                )
    return due
