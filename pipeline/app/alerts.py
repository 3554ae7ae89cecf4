"""What operators hear of a failed run: the error as logs may show it, and the alert email."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage

from pipeline import logs
from pipeline.adapters.mail.transport import Transport
from pipeline.adapters.state.store import StateStore
from pipeline.config import Settings
from pipeline.core.errors import PipelineError
from pipeline.core.vocabulary import PARIS, RunOutcome

log = logging.getLogger("diplomates.run")


def safe_error(exc: BaseException) -> str:
    """An error as logs and alerts may show it: our own messages (written for operators, no
    personal data), else only the exception's type and where it was raised."""
    if isinstance(exc, PipelineError):
        return str(logs.scrub(str(exc)))
    where = ""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
    return f"unexpected {type(exc).__name__}{where}"


def send_alert(
    settings: Settings,
    store: StateStore,
    transport: Callable[[], Transport],
    *,
    run_id: str,
    now: datetime,
    counts: Mapping[str, int],
    exc: BaseException,
    today: datetime,
) -> None:
    """Email a short alert (no personal data) to alerts.email: on the first failure after a
    run that did not fail, then at most once a day while runs keep failing. `today` is the
    clock's reading; `transport` is opened only when an alert goes out."""
    address = settings.alerts.email
    if not address:
        return
    day = today.astimezone(PARIS).date()
    previous = store.previous_outcome(run_id)
    if (
        previous is not None
        and previous.outcome == RunOutcome.FAILED
        and previous.started_at.astimezone(PARIS).date() == day
    ):
        log.info("no alert: the previous run failed too, and an alert went out today")
        return
    message = alert_message(settings, run_id, now, counts, safe_error(exc), logs.current_step())
    try:
        with transport() as opened:
            opened.send(message, f"alerte.{run_id}")
    except Exception as error:  # the alert must never hide the run's own error
        log.warning("the failure alert could not be sent", extra={"error": safe_error(error)})
    else:
        log.info("failure alert sent", extra={"to": "alerts.email"})


def alert_message(
    settings: Settings,
    run_id: str,
    now: datetime,
    counts: Mapping[str, int],
    error: str,
    step: str | None,
) -> EmailMessage:
    """The alert for a failed run: ids, counts and the error, never a participant's data."""
    from email.headerregistry import Address
    from email.utils import format_datetime, make_msgid

    email = settings.email
    started = now.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
    shown = ", ".join(f"{k}={v}" for k, v in counts.items() if v) or "aucun / none"
    config = str(settings.source) if settings.source else "CONFIG"
    host = f"{socket.gethostname()} (pid {os.getpid()})"
    message = EmailMessage()
    message["Subject"] = f"[{settings.programme.name}] Échec de l'exécution {run_id}"
    message["From"] = Address(email.sender_name, addr_spec=email.sender)
    message["To"] = settings.alerts.email or ""
    message["Reply-To"] = email.reply_to
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(f"alerte.{run_id}", email.sender.split("@")[-1])
    message["Auto-Submitted"] = "auto-generated"
    message["X-CUF-Alert"] = "run-failed"
    message.set_content(
        f"L'exécution {run_id} du pipeline « {settings.programme.name} » a échoué.\n\n"
        f"Début (as of) : {started} (Europe/Paris)\n"
        f"Étape / step : {step or '-'}\n"
        f"Machine : {host}\n"
        f"Erreur / error : {error}\n"
        f"Compteurs / counts : {shown}\n\n"
        "Les exécutions suivantes continuent selon le calendrier ; tant que l'échec se répète, "
        "une seule alerte est envoyée par jour. Les courriels déjà envoyés sont dans le registre "
        "(rien n'est envoyé deux fois).\n"
        f"État / status : diplomates status --config {config}\n\n"
        f"The run {run_id} failed at step '{step or '-'}': {error}. Later runs go on as "
        "scheduled; one alert a day at most while failures repeat.\n"
    )
    return message
