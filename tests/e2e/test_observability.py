"""Logs and `diplomates status` tell the operator what happened, without personal data."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.adapters.state.store import StateStore
from pipeline.entry.cli import main
from tests.support.builders import answer
from tests.support.ops import diplomates, edit_workbook, make_env, outbox_messages

# Planted values: none of them may appear in any log line, any command output or the alert.
CANARIES = [
    "Zéphyrine", "Canarimonde", "zephyrine.canarimonde@canari-poste.fr", "Bartholomé",
    "Oiselier", "b.oiselier@canari-poste.fr", "pas-une-adresse-canari", "07 31 41 59 26",
    "Commentaire-canari", "Quenotte-Canari",
]  # fmt: skip
ANSWERS = [
    answer("02/03/2026 09:00:00", "zephyrine.canarimonde@canari-poste.fr", "Canarimonde",
           "Zéphyrine", phone="07 31 41 59 26", comment="Commentaire-canari"),
    answer("03/03/2026 09:00:00", "b.oiselier@canari-poste.fr", "Oiselier", "Bartholomé",
           "Quenotte-Canari"),  # an unknown collectivité, typed by the person
    answer("04/03/2026 09:00:00", "pas-une-adresse-canari", "Canarimonde", "Zéphyrine"),
]  # fmt: skip
ALERTS = '\n[alerts]\nemail = "exploitation@cites-unies-france.org"\n[schedule]\ninterval_minutes = 0.02\n'


def folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_no_log_line_or_output_holds_planted_personal_data(tmp_path: Path) -> None:
    """Runs, a killed send, a scheduler, a failed run and its alert, status: canaries never show."""
    env = make_env(tmp_path, ANSWERS, extra=ALERTS)
    config = str(env.config)
    outputs = []

    def call(*args: str, crash: str | None = None, code: int = 0) -> None:
        extra = {"DIPLOMATES_CRASH_AT": crash} if crash else None
        done = diplomates(*args, extra_env=extra)
        assert done.returncode == code, done.stderr[-2000:]
        outputs.append(done.stdout + done.stderr)

    call("run", "--config", config, "--as-of", "2026-03-20T10:00", crash="send.ledger:1", code=-9)
    call("run", "--config", config, "--as-of", "2026-03-20T10:05", "--dry-run")
    call("run", "--config", config, "--as-of", "2026-03-20T10:05")
    call("schedule", "--config", config, crash="read:1:TERM")
    edit_workbook(env.book, lambda wb: setattr(wb["Adhérents"], "title", "Membres"))
    call("run", "--config", config, "--as-of", "2026-04-02T09:00", code=1)
    call("status", "--config", config)
    alerts = [m for m in outbox_messages(env.outbox).values() if m["X-CUF-Alert"]]
    assert len(alerts) == 1
    outputs.append(alerts[0].as_string())
    text = "\n".join(outputs)
    assert "uncertain" in text and "run failed" in text and "scheduler started" in text
    for canary in CANARIES:
        assert folded(canary) not in folded(text), canary
    for line in "\n".join(outputs[:-2]).splitlines():  # stderr lines are JSON logs or messages
        if line.startswith("{"):
            entry = json.loads(line)
            assert {"ts", "level", "run", "step", "msg"} <= set(entry)


def test_status_shows_runs_ledger_lock_and_next_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Last runs with outcome and counts, messages by state, the lock holder, the next run."""
    env = make_env(tmp_path, ANSWERS[:2], extra='\n[schedule]\ncron = "*/10 7-20 * * *"\n')
    config = str(env.config)
    assert main(["run", "--config", config, "--as-of", "2026-03-20T10:00"]) == 0
    store = StateStore(env.state_url())
    store.acquire_lock("ops-host:4242:abc123", datetime.now(UTC), timedelta(minutes=10))
    capsys.readouterr()
    try:
        assert main(["status", "--config", config]) == 0
    finally:
        store.close()
    out = capsys.readouterr().out
    assert "last runs" in out and "success" in out and "emails_sent=2" in out
    assert "messages: 0 waiting (pending 0, retry 0), 0 failed, 0 uncertain" in out
    assert "lock: held by ops-host:4242:abc123 (alive: it holds the lock file " in out
    assert "next scheduled run: " in out and "cron '*/10 7-20 * * *' (Europe/Paris)" in out
    assert "@" not in out


def test_config_may_come_from_the_environment_and_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --config, DIPLOMATES_CONFIG names the file; the command logs which file it used;
    with neither, exit 2 and one line saying how to give one."""
    env = make_env(tmp_path, ANSWERS[:2])
    monkeypatch.delenv("DIPLOMATES_CONFIG", raising=False)
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "--config" in err and "DIPLOMATES_CONFIG" in err and err.count("\n") == 1
    monkeypatch.setenv("DIPLOMATES_CONFIG", str(env.config))
    assert main(["status"]) == 0
    captured = capsys.readouterr()
    assert "no run recorded yet" in captured.out
    assert "config file" in captured.err and str(env.config.resolve()) in captured.err


def test_smtp_config_error_shows_the_sender_and_balanced_quotes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rule across the [email] keys names the key to fix, without echoing the section or
    masking the (non-personal) sender address; exit 2."""
    env = make_env(tmp_path, ANSWERS[:2])
    text = env.config.read_text(encoding="utf-8")
    env.config.write_text(text.replace("[email]\n", '[email]\ntransport = "smtp"\n'), "utf-8")
    assert main(["run", "--config", str(env.config)]) == 2
    err = capsys.readouterr().err
    assert "email.smtp_host" in err and "masqu" not in err and "masked" not in err
    assert "{" not in err and "'email'" in err
