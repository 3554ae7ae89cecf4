"""What the message ledger tells staff: one `À vérifier` row per person whose email was refused
for good (`courriel_rejete`) or whose send was interrupted (`envoi_incertain`), in French, with
the server's reply and the command that resends the message on purpose."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.core.cohort import Evaluation, LedgerEntry
from pipeline.core.messages import session_message_key
from pipeline.core.model import Anomaly, Reason
from pipeline.core.vocabulary import COHORT_NAME, TROUBLED, MessageState


def ledger_anomalies(
    ledger: Sequence[LedgerEntry],
    evaluation: Evaluation,
    config: str = "CONFIG",
    cohort: str = COHORT_NAME,
) -> list[Anomaly]:
    """`courriel_rejete` / `envoi_incertain` rows for staff: one per person and reason, giving
    the server's reply and the command that resends the message on purpose (a session message
    by its id: a person has several of the same template)."""
    people = {p.id: p for p in evaluation.people}
    grouped: dict[tuple[str, str], list[str]] = {}
    for entry in sorted(ledger, key=lambda e: (e.person_id, e.template.value, e.session)):
        if entry.state not in TROUBLED:
            continue
        resend = (
            f"diplomates resend --config {config} --person {entry.person_id} "
            f"--template {entry.template.value}"
        )
        if entry.session:
            key = session_message_key(
                cohort, entry.person_id, entry.template, entry.session, entry.version
            )
            resend = f"diplomates resend --config {config} --message {key}"
        reply = " ".join((entry.error or "").split())
        if entry.state == MessageState.FAILED:
            said = f" (réponse du serveur : {reply})" if reply else ""
            text = (
                f"Le serveur de messagerie a refusé définitivement le courriel "
                f"« {_named(entry)} »{said} : vérifiez l'adresse e-mail. S'il faut le "
                f"renvoyer tel quel : {resend}"
            )
        else:
            text = (
                f"L'envoi du courriel « {_named(entry)} » a été interrompu : il est peut-être "
                "parti, peut-être pas. Il ne sera pas renvoyé automatiquement ; pour le renvoyer "
                f"après vérification auprès de la personne : {resend}"
            )
        grouped.setdefault((entry.state, entry.person_id), []).append(text)
    found = []
    for (state, person_id), texts in grouped.items():
        person = people.get(person_id)
        found.append(
            Anomaly(
                reason=Reason.COURRIEL_REJETE
                if state == MessageState.FAILED
                else Reason.ENVOI_INCERTAIN,
                explanation=" / ".join(texts),
                person_id=person_id,
                person=person.display_name if person else "",
                authority=person.authority if person else "",
            )
        )
    return found


def _named(entry: LedgerEntry) -> str:
    """A message as staff recognise it: `invitation_session S1 v2`, `accuse_reception`."""
    return " ".join(w for w in (entry.template.value, entry.session, entry.version) if w)
