"""The ledger rebuilt from the run's other records, so that nothing is ever sent twice.

The cohort sheet's `Courriels envoyés` (core/sentrecord.py) and, for a state DB that knows
nothing of the cohort, the outbox folder's files also say what was sent. What they record and
the ledger lacks is adopted into the ledger (without a body) before the run decides what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from pipeline.adapters.sheets import Table
from pipeline.adapters.state.store import StateStore
from pipeline.config import Settings
from pipeline.core.cohort import LedgerEntry
from pipeline.core.messages import message_key, session_message_key
from pipeline.core.model import Template
from pipeline.core.sentrecord import sheet_records
from pipeline.core.sessions import INVITED, read_sessions
from pipeline.core.vocabulary import PARIS, MessageState

log = logging.getLogger("diplomates.run")


def _template(name: str) -> Template | None:
    try:
        return Template(name)
    except ValueError:
        return None


def rebuild_ledger(
    settings: Settings,
    store: StateStore,
    tables: Mapping[str, Table],
    ledger: list[LedgerEntry],
    now: datetime,
    *,
    counts: dict[str, int],
    dry_run: bool,
) -> list[LedgerEntry]:
    """Never send what another record says was sent. The cohort sheet's `Courriels envoyés`
    is read every run (cheap: it is in memory); when this ledger knows nothing of the cohort
    (a new, emptied or wrong state DB), the outbox folder's files too. What they record and
    the ledger lacks is added to the ledger, without a body, so nothing sends it again; the
    Journal counts it and one warning names the likely cause."""
    cohort = settings.cohort.name
    known = {(e.person_id, e.template, e.session, e.version) for e in ledger}
    Key = tuple[str, Template, str, str]  # person, template, session, version
    found: dict[Key, tuple[str, datetime]] = {}
    for person_id, entries in sheet_records(tables.get(cohort)).items():
        for entry in entries:
            template = _template(entry.template)
            if template is None:  # a template this version does not send
                continue
            session = entry.session or ""
            version = entry.qualifier or (
                "v1" if template is Template.INVITATION_SESSION and session else ""
            )  # an invitation shows no qualifier for its first version
            noon = datetime.combine(entry.day, datetime.min.time().replace(hour=12))
            found.setdefault(
                (person_id, template, session, version),
                (entry.state, noon.replace(tzinfo=PARIS)),
            )
    from_sheet = len(set(found) - known)
    outbox = settings.email.outbox
    if not ledger and outbox is not None:
        from pipeline.adapters.mail.transport import filed_messages
        from pipeline.core.people import person_id as id_of

        for name, address, when in filed_messages(outbox):
            template = _template(name)
            # a session message's file does not say its session: the sheet's record covers it
            if template is not None and not template.per_session:
                found.setdefault(
                    (id_of(address), template, "", ""), (MessageState.SENT.value, when)
                )
    missing = {key: value for key, value in found.items() if key not in known}
    if not missing:
        return ledger
    where = store._safe_url()
    from_outbox = len(missing) - from_sheet
    log.warning(
        "the state database %s did not know %d sent email(s) that the sheet '%s' (%d) or "
        "the outbox (%d) records: they are added to its ledger and will not be sent again. "
        "%s",
        where, len(missing), cohort, from_sheet, from_outbox,
        "It holds no message at all for this cohort: if this is not a first run on a new "
        "database, check state.url (a new pod without its volume?)."
        if not ledger
        else "Was the database restored from an older copy?",
        extra={"person_ids": sorted({key[0] for key in missing})},
    )  # fmt: skip
    counts["emails_recovered"] = len(missing)
    # What was sent is taken to match the sessions as they are now (the sheet records no
    # times): their fingerprints go with the adopted invitations and changes, so a later
    # change of Début, Fin or Lieu is still seen and sent once.
    sessions, _ = read_sessions(tables.get(settings.sheets.sessions))
    prints = {s.code.casefold(): s.fingerprint for s in sessions}
    adopted = [
        (
            pid, template,
            session_message_key(cohort, pid, template, session, version)
            if session else message_key(cohort, pid, template),
            state, at, session, version,
            prints.get(session.casefold(), "") if template in INVITED else "",
        )
        for (pid, template, session, version), (state, at) in sorted(missing.items())
    ]  # fmt: skip
    if dry_run:
        return ledger + [
            LedgerEntry(pid, t, state, at, session=session, version=version, detail=detail)
            for pid, t, _, state, at, session, version, detail in adopted
        ]
    store.adopt(cohort, adopted, now)
    return store.ledger(cohort)
