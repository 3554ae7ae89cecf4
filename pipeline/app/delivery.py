"""Delivery: due messages rendered and queued in the ledger once (`queue_due`), then the
ledger's queued messages handed to the mail transport, in one loop (`Delivery`).

pending -> sending -> sent | retry (4xx, network; `failed` once the attempts run out) | failed
(5xx) | incertain (the connection broke after the data was handed over). What the limits
(`email.max_per_day`, `email.max_per_minute`), the send budget or an unavailable server hold
back stays queued for a later run.

Messages go by chunks, each marked `sending` in one commit before its hand-over and `sent` in
one commit after it. The chunk's size depends on what the transport can say after a crash:

- a `ConfirmingTransport` (the outbox: its file is there or not) takes chunks of `SEND_CHUNK`:
  the next run asks it about each message left `sending` (`StateStore.recover_interrupted`):
  delivered -> `sent`, not -> queued again. Nothing is doubled or lost, nothing is `incertain`;
- any other transport (SMTP) takes one message at a time, so a crash leaves at most one message
  `sending`, which the next run marks `incertain` (never resent by itself).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from pipeline.adapters.mail.transport import (
    ConfirmingTransport,
    PermanentFailure,
    RawTransport,
    SendPacer,
    ServerUnavailable,
    TemporaryFailure,
    Transport,
    UncertainDelivery,
)
from pipeline.adapters.state.store import QueuedMessage, StateStore
from pipeline.config import EmailSettings, Settings
from pipeline.core.cohort import Evaluation
from pipeline.core.errors import MailError
from pipeline.core.messages import message_key
from pipeline.core.model import Template

log = logging.getLogger("diplomates.run")

# A run stops sending (the rest waits for the next run) after this long (the lease is renewed
# at each chunk).
SEND_BUDGET = timedelta(minutes=10)
SEND_CHUNK = 200  # messages per pair of ledger commits, for transports that confirm delivery
QUEUE_SLICE = 500  # messages rendered, then queued in one statement


def queue_due(settings: Settings, store: StateStore, evaluation: Evaluation, now: datetime) -> None:
    """Render each message the core found due once and store its bytes in the ledger (unique
    per cohort, person and template: a message already queued is left as it is)."""
    if not evaluation.due:
        return
    from pipeline.adapters.mail.render import forget_rendered, render_raw

    forget_rendered()
    people = {p.id: p for p in evaluation.people}
    items: list[tuple[str, Template, str, bytes]] = []
    cohort = settings.cohort.name
    for person_id, template in evaluation.due:
        if len(items) == QUEUE_SLICE:  # thousands of messages: never all in memory at once
            store.enqueue(cohort, items, now)
            items = []
        person = people[person_id]
        match = evaluation.matches[person_id]
        key = message_key(cohort, person_id, template)
        raw = render_raw(
            template,
            person=person,
            member_name=match.member.name if match.member else None,
            settings=settings,
            message_id=key,
            now=now,
            waitlist_position=evaluation.placements[person_id].waitlist_position,
        )
        items.append((person_id, template, key, raw))
    store.enqueue(cohort, items, now)


def retry_delay(attempts: int, email: EmailSettings | None = None) -> timedelta:
    """After `attempts` tries: 5 min, 10 min, 20 min … capped at 6 h (bounds from `email`)."""
    first = timedelta(minutes=email.retry_first_delay_minutes if email else 5)
    cap = timedelta(hours=email.retry_max_delay_hours if email else 6)
    delay: timedelta = min(first * 2 ** min(max(attempts - 1, 0), 30), cap)
    return delay


class Delivery:
    """One run's sending step. `counts` is the run's report counters (emails_sent, _failed,
    _waiting, _uncertain), updated in place; `checkpoint` is the run's named-step hook
    (`send` at each chunk, `send.transport` before each hand-over, `send.ledger` before the
    `sent` commit)."""

    def __init__(
        self,
        store: StateStore,
        transport: Transport,
        email: EmailSettings,
        *,
        run_id: str,
        counts: dict[str, int],
        checkpoint: Callable[[str], None],
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.store = store
        self.transport = transport
        self.email = email
        self.run_id = run_id
        self.counts = counts
        self.checkpoint = checkpoint
        self.monotonic = monotonic
        self.sleep = sleep

    def send_due(self, cohort: str, now: datetime) -> None:
        """Send what is due in `cohort`, oldest first, within the limits."""
        queued = self.store.due(cohort, now, with_raw=False)
        if not queued:
            return
        batch = self._within_daily_limit(queued, now)
        self.counts["emails_waiting"] += len(queued) - len(batch)
        if batch:
            self._send(batch, now)

    def _within_daily_limit(
        self, queued: Sequence[QueuedMessage], now: datetime
    ) -> Sequence[QueuedMessage]:
        limit = self.email.max_per_day
        if limit is None:
            return queued
        room = max(limit - self.store.sent_since(now - timedelta(days=1)), 0)
        if room < len(queued):
            log.warning(
                "run %s: email.max_per_day (%d) reached; %d message(s) wait for a later run",
                self.run_id, limit, len(queued) - room,
            )  # fmt: skip
        return queued[:room]

    def _send(self, batch: Sequence[QueuedMessage], now: datetime) -> None:
        pacer = SendPacer(
            self.email.max_per_minute, budget=SEND_BUDGET.total_seconds(),
            clock=self.monotonic, sleep=self.sleep,
        )  # fmt: skip
        confirming = isinstance(self.transport, ConfirmingTransport)
        size = SEND_CHUNK if confirming else 1
        done = 0
        try:
            with self.transport as transport:
                while done < len(batch):
                    chunk: list[QueuedMessage] = []
                    while len(chunk) < size and done + len(chunk) < len(batch):
                        if not pacer.ready():
                            break
                        chunk.append(batch[done + len(chunk)])
                    if not chunk:
                        log.warning(
                            "run %s: sending budget used; %d message(s) wait for the next run",
                            self.run_id, len(batch) - done,
                        )  # fmt: skip
                        break
                    self.checkpoint("send")
                    bodies = self.store.bodies(chunk)
                    self.store.mark_sending_many(chunk, now)
                    done += len(chunk)
                    sent: list[QueuedMessage] = []
                    unavailable: ServerUnavailable | None = None
                    for message in chunk:
                        self.checkpoint("send.transport")
                        try:
                            _hand_over(transport, bodies[message.id], message.message_id)
                        except MailError:
                            # An operator's fix (full or read-only outbox, bad settings). A
                            # confirming transport is asked about its `sending` messages by the
                            # next run; for another, this one is known not to have left.
                            if not confirming:
                                self.store.mark_unsent(message, now)
                            raise
                        except UncertainDelivery as exc:
                            self.store.mark_incertain(message, now, str(exc))
                            self.counts["emails_uncertain"] += 1
                            log.warning("run %s: message %s uncertain", self.run_id, message.id)
                        except ServerUnavailable as exc:
                            self._defer(message, now, exc)
                            unavailable = exc
                            break
                        except TemporaryFailure as exc:
                            self._defer(message, now, exc)
                        except PermanentFailure as exc:
                            self.store.mark_failed(message, now, str(exc))
                            self.counts["emails_failed"] += 1
                            log.warning("run %s: message %s refused", self.run_id, message.id)
                        else:
                            sent.append(message)
                    if sent or confirming:
                        self.checkpoint("send.ledger")
                        self.store.mark_sent_many(sent, now)
                        self.counts["emails_sent"] += len(sent)
                    if unavailable is not None:
                        self._unavailable(unavailable, len(batch) - done)
                        break
        except ServerUnavailable as exc:  # could not even connect: nothing was attempted
            self._unavailable(exc, len(batch) - done)
        self.counts["emails_waiting"] += len(batch) - done

    def _unavailable(self, exc: ServerUnavailable, waiting: int) -> None:
        log.warning(
            "run %s: mail server unavailable (%s); %d message(s) wait", self.run_id, exc, waiting
        )

    def _defer(self, message: QueuedMessage, now: datetime, exc: Exception) -> None:
        """A temporary refusal: retry later with backoff, or `failed` once attempts run out."""
        attempts = message.attempts + 1
        if attempts >= self.email.retry_max_attempts:
            self.store.mark_failed(message, now, f"{exc} (après {attempts} tentatives)")
            self.counts["emails_failed"] += 1
            log.warning("run %s: message %s given up after %d attempts", self.run_id,
                        message.id, attempts)  # fmt: skip
            return
        self.store.mark_retry(message, now, str(exc), retry_delay(attempts, self.email))
        self.counts["emails_waiting"] += 1
        log.warning("run %s: message %s deferred (attempt %d)", self.run_id, message.id, attempts)


def _hand_over(transport: Transport, raw: bytes, name: str) -> None:
    """Give one message to the transport: its bytes as queued when it takes them (SMTP, the
    outbox), otherwise parsed back into an `EmailMessage`."""
    if isinstance(transport, RawTransport):
        transport.send_raw(raw, name)
        return
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    transport.send(parsed, name)
