"""The shared vocabulary: sheet names, the headers of every output sheet, message states.

One home for the words more than one module spells: a newcomer who wants to rename a column or
add a sheet looks here first. Values shown in sheets are in French (SPEC); message states are
the ledger's own codes (English words, plus `incertain`), stored as they are in the state DB.
"""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

# The programme runs on Paris time: stamps shown to staff, dates in emails, naive config dates.
PARIS = ZoneInfo("Europe/Paris")

# --- sheet names (defaults: `[sheets]` in the config may rename them) ----------------------------

RESPONSES_SHEET = "Réponses au formulaire 1"
MEMBERS_SHEET = "Adhérents"
REVIEW_SHEET = "À vérifier"
JOURNAL_SHEET = "Journal"
DASHBOARD_SHEET = "Tableau de bord"
SESSIONS_SHEET = "Sessions"  # staff plan the sessions here (read only)
ATTENDANCE_SHEET = "Émargement"
CERTIFICATES_SHEET = "Certificats"

# --- the cohort sheet (named after the cohort: `[cohort].name`) --------------------------------

COHORT_NAME = "Promotion 2026"  # the default cohort, and the sheet's name

ID = "ID"
STATUS = "Statut"
SENT = "Courriels envoyés"
# The staff's own columns: the pipeline reads them and never writes them.
DECISION = "Décision CUF"
NOTES = "Notes CUF"
STAFF_COLUMNS = (DECISION, NOTES)
COHORT_HEADERS = (
    ID, "Nom", "Prénom", "Courriel", "Téléphone", "Fonction", "Collectivité (saisie)",
    "Collectivité adhérente", "Correspondance", "Département", "Nouvel·le élu·e", "Éligibilité",
    STATUS, "Rang", DECISION, NOTES, "Première réponse", "Dernière réponse", "Réponses", SENT,
)  # fmt: skip
COHORT_OWNED = tuple(h for h in COHORT_HEADERS if h not in STAFF_COLUMNS)

# --- `À vérifier` ---------------------------------------------------------------------------------

REVIEW_KEY = "Réf."
REVIEW_HEADERS = (
    REVIEW_KEY, "Ligne", ID, "Personne", "Collectivité (saisie)", "Motif", "Explication",
    "Code motif",
)  # fmt: skip

# --- after registration: `Sessions` (staff's plan), `Émargement`, `Certificats` ----------------

SESSION_HEADERS = ("Session", "Titre", "Format", "Début", "Fin", "Lieu", "Lien", "Statut")
ATTENDANCE_BASE = (ID, "Nom", "Prénom", "Collectivité adhérente", "Éligibilité")
ATTENDANCE_TAIL = ("Présences", "Taux", "Heures")  # after one column per session held
CERTIFICATE_HEADERS = (
    ID, "Nom", "Prénom", "Collectivité adhérente", "Éligibilité", "Document", "Présences",
    "Taux", "Heures", "Code de vérification", STATUS, DECISION, NOTES,
)  # fmt: skip
CERTIFICATE_OWNED = tuple(h for h in CERTIFICATE_HEADERS if h not in STAFF_COLUMNS)

# --- `Journal`: one row per run that changed something -------------------------------------------

JOURNAL_HEADERS = (
    "Début", "Fin", "Résultat", "Lignes lues", "Nouvelles personnes", "Mises à jour",
    "Doublons", "Anomalies", "Courriels envoyés", "Courriels en échec",
    "Courriels en attente", "Courriels incertains", "Exécution", "Courriels retrouvés",
)  # fmt: skip
# `Résultat`: what staff read of a run's outcome.
JOURNAL_SUCCESS = "Succès"
JOURNAL_FAILURE = "Échec"
JOURNAL_INTERRUPTED = "Interrompu"


# --- message states (the ledger's `state` column) ------------------------------------------------


class MessageState(StrEnum):
    """Where one queued message stands: pending -> sending -> sent | retry | failed | incertain."""

    PENDING = "pending"  # queued, not yet handed to the transport
    SENDING = "sending"  # handed over (committed before the hand-over, for SMTP)
    SENT = "sent"
    RETRY = "retry"  # refused for now; tried again after `next_attempt_at`
    FAILED = "failed"  # refused for good (or after too many attempts)
    INCERTAIN = "incertain"  # a run stopped during the hand-over: maybe sent, never resent alone


# Waiting for a run to send them.
UNSENT = (MessageState.PENDING, MessageState.RETRY)
# Settled: delivered, refused, or left uncertain (their copy may be dropped once old enough).
SETTLED = (MessageState.SENT, MessageState.FAILED, MessageState.INCERTAIN)
# Need a person's look (`À vérifier`, `diplomates resend`).
TROUBLED = (MessageState.FAILED, MessageState.INCERTAIN)


# --- run outcomes (the `runs` table's `outcome`, logs, `status`) ----------------------------------


class RunOutcome(StrEnum):
    RUNNING = "running"  # started, not finished (yet)
    SUCCESS = "success"  # finished and changed something (sent, wrote)
    IDLE = "idle"  # finished, nothing to do
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # stopped on request (SIGTERM) at a step boundary
    CRASHED = "crashed"  # left `running` by a killed process (marked by the next run)
    SKIPPED = "skipped"  # the scheduler's word: another run held the lock (never recorded)


# Runs that ended by themselves: their moment counts as the last run's.
FINISHED = (RunOutcome.SUCCESS, RunOutcome.IDLE)
