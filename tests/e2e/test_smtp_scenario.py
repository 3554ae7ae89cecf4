"""The CLI over SMTP (STARTTLS + AUTH, a test CA) through the staff-and-time scenario, with
temporary and permanent refusals and processes killed in the middle of a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.adapters.mail.render import message_id_header
from pipeline.adapters.mail.smtp import PASSWORD_ENV
from pipeline.adapters.state.store import MessageRecord, StateStore
from pipeline.core.people import person_id
from pipeline.entry.cli import main
from tests.support.scenario import CONFIG as SCENARIO_CONFIG
from tests.support.scenario import WorkbookView, people, records, staff_edit, write_workbook
from tests.support.smtp_server import Captured, LocalCA, SmtpServer, make_ca

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "cuf-relay", "Tr0ub4dor&3-relais"
SENDER = "diplomates@cites-unies-france.org"
SMTP_SECTION = """[email]
transport = "smtp"
smtp_host = "127.0.0.1"
smtp_port = {port}
smtp_security = "starttls"
smtp_username = "{user}"
smtp_ca_file = "{tmp}/ca/ca.pem"
smtp_timeout = 10
retry_max_attempts = 2
sender = "{sender}"
reply_to = "contact@cites-unies-france.org"
"""
# The scenario's config with its [email] section (the outbox) replaced by the SMTP one.
CONFIG = (
    SCENARIO_CONFIG[: SCENARIO_CONFIG.index("[email]")]
    + SMTP_SECTION
    + SCENARIO_CONFIG[SCENARIO_CONFIG.index("[cohort]") :]
)
VALID = [
    "ana@lyon.fr", "bruno@rennes.fr", "chloe@lyon.fr", "dan@nulle-part.fr", "eve@rennes.fr",
    "ivan@lyon.fr", "jade@lyon.fr", "kim@lyon.fr",
]  # fmt: skip
UNKNOWN_USER = "550 5.1.1 <dan@nulle-part.fr>: Recipient address rejected: User unknown"
FULL = "452 4.2.2 Mailbox full"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return make_ca(tmp_path_factory.mktemp("shared-ca"))


@pytest.fixture
def server(ca: LocalCA) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", ca=ca, users={USER: PASSWORD}) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, server: SmtpServer, ca: LocalCA) -> Path:
    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / "ca.pem").write_bytes(ca.ca_file.read_bytes())
    path = tmp_path / "config.toml"
    text = CONFIG.format(tmp=tmp_path, port=server.port, user=USER, sender=SENDER)
    path.write_text(text, encoding="utf-8")
    write_workbook(tmp_path / "wb.xlsx")
    return path


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.delenv("DIPLOMATES_CRASH_AT", raising=False)


def run(config: Path, as_of: str) -> int:
    return main(["run", "--config", str(config), "--as-of", as_of])


def run_process(config: Path, as_of: str, **env: str) -> subprocess.Popen[bytes]:
    """A real `python -m pipeline run` process (so that it can be SIGKILLed)."""
    environment = {**os.environ, PASSWORD_ENV: PASSWORD, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--config", str(config), "--as-of", as_of],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def rows_of(path: Path, name: str) -> list[dict[str, object]]:
    return records(WorkbookView(path), name)


def by_email(path: Path) -> dict[str, dict[str, object]]:
    return people(WorkbookView(path))


def ledger(tmp: Path) -> list[MessageRecord]:
    return StateStore(f"sqlite:///{tmp / 'state.sqlite'}").find_messages(cohort="Promotion 2026")


def delivered(server: SmtpServer) -> Counter[tuple[str, str]]:
    return Counter((m.to, str(m.message["X-CUF-Template"])) for m in server.messages)


def review(tmp: Path, reason: str) -> dict[str, str]:
    """ID -> explanation of the `À vérifier` rows with this reason."""
    return {
        str(r["ID"]): str(r["Explication"])
        for r in rows_of(tmp / "wb.xlsx", "À vérifier")
        if r["Code motif"] == reason
    }


def assert_well_formed(captured: Captured) -> None:
    message: EmailMessage = captured.message
    assert captured.mail_from == SENDER and message["To"] == captured.to
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Reply-To"] == "contact@cites-unies-france.org"
    assert message["X-CUF-Template"] and message["Date"] and message["Message-ID"]
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def assert_nothing_lost_nothing_twice(tmp: Path, server: SmtpServer) -> None:
    """Every ledger row is settled; each `sent` one arrived exactly once, with its Message-ID."""
    by_id = Counter(m.message["Message-ID"].strip() for m in server.messages)
    for record in ledger(tmp):
        assert record.state in ("sent", "failed", "incertain"), record
        message_id = message_id_header(record.message_id, "x@cites-unies-france.org")
        if record.state == "sent":
            assert by_id[message_id] == 1, record
        else:
            assert by_id[message_id] <= 1, record
    assert all(count == 1 for count in by_id.values())


def test_staff_and_time_scenario_over_smtp(
    tmp_path: Path, config: Path, server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refusals, a kill mid-batch, a resend, staff edits: none lost, none twice, all visible."""
    script = server.handler.script
    script.always_refuse.update({"dan@nulle-part.fr": UNKNOWN_USER, "kim@lyon.fr": FULL})
    script.rcpt["bruno@rennes.fr"] = ["451 4.7.1 Greylisted, try again in 5 minutes"]

    # 1. Interest phase: 5 delivered, Bruno greylisted, Kim's mailbox full, Dan's address unknown.
    assert run(config, "2026-03-20T10:00") == 0
    assert "5 emails sent, 1 refused, 2 waiting" in capsys.readouterr().out
    assert sorted(to for to, _ in delivered(server)) == [
        "ana@lyon.fr", "chloe@lyon.fr", "eve@rennes.fr", "ivan@lyon.fr", "jade@lyon.fr",
    ]  # fmt: skip
    assert server.logins == [(USER, True)] and len(server.handler.peers) == 1
    rejected = review(tmp_path, "courriel_rejete")
    assert list(rejected) == [person_id("dan@nulle-part.fr")]
    assert UNKNOWN_USER in rejected[person_id("dan@nulle-part.fr")]
    people = by_email(tmp_path / "wb.xlsx")
    assert people["dan@nulle-part.fr"]["Courriels envoyés"] == "Non éligible refusé 20/03/2026"

    # 2. Six minutes later: Bruno's goes; Kim's mailbox is still full: given up, shown to staff.
    assert run(config, "2026-03-20T10:06") == 0
    assert delivered(server)[("bruno@rennes.fr", "accuse_reception")] == 1
    rejected = review(tmp_path, "courriel_rejete")
    assert FULL + " (après 2 tentatives)" in rejected[person_id("kim@lyon.fr")]
    assert server.handler.rcpts.count("kim@lyon.fr") == 2

    # 3. Opening: a batch of 6; the process is SIGKILLed as it hands the 2nd to the transport.
    process = run_process(config, "2026-04-02T09:00", DIPLOMATES_CRASH_AT="send.transport:2")
    assert process.wait(timeout=60) == -signal.SIGKILL
    states = Counter(r.state for r in ledger(tmp_path))
    assert states["sending"] == 1 and states["pending"] == 4
    assert run(config, "2026-04-02T09:05") == 0  # at once: the dead run's lock died with it
    uncertain = [r for r in ledger(tmp_path) if r.state == "incertain"]
    assert len(uncertain) == 1
    flagged = uncertain[0]
    explanation = review(tmp_path, "envoi_incertain")[flagged.person_id]
    resend_line = f"--person {flagged.person_id} --template {flagged.template.value}"
    assert resend_line in explanation
    flagged_id = message_id_header(flagged.message_id, "x@cites-unies-france.org")
    assert run(config, "2026-04-02T09:10") == 0  # never resent by itself
    assert [m for m in server.messages if m.message["Message-ID"].strip() == flagged_id] == []
    status = {k: row["Statut"] for k, row in by_email(tmp_path / "wb.xlsx").items()}
    assert [k for k, v in sorted(status.items()) if v == "Inscrit·e"] == [
        "ana@lyon.fr", "bruno@rennes.fr", "jade@lyon.fr",
    ]  # fmt: skip

    # ... staff check with the person, then resend it on purpose with the one-line command.
    command = ["resend", "--config", str(config), *resend_line.split()]
    assert main([*command, "--as-of", "2026-04-02T09:15"]) == 0
    assert "sent again" in capsys.readouterr().out
    assert review(tmp_path, "envoi_incertain") == {}
    assert delivered(server)[(flagged_address(tmp_path, flagged), flagged.template.value)] == 1

    # 4. Staff refuse Bruno: Chloé gets the freed place; her server answers 451 once.
    script.data["chloe@lyon.fr"] = ["451 4.3.0 Temporary local problem"]

    def refuse_bruno(workbook: Workbook) -> None:
        sheet = workbook["Promotion 2026"]
        header = [c.value for c in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            if row[header.index("Courriel")].value == "bruno@rennes.fr":
                row[header.index("Décision CUF")].value = "Refusé"

    staff_edit(tmp_path / "wb.xlsx", refuse_bruno)
    assert run(config, "2026-04-03T10:00") == 0
    assert delivered(server)[("chloe@lyon.fr", "place_liberee")] == 0
    assert run(config, "2026-04-03T10:10") == 0
    assert delivered(server)[("chloe@lyon.fr", "place_liberee")] == 1
    assert by_email(tmp_path / "wb.xlsx")["chloe@lyon.fr"]["Statut"] == "Inscrit·e"

    # 5. Idle reruns send nothing; every message arrived once, is failed, or is shown to staff.
    assert run(config, "2026-04-03T10:20") == 0
    assert_nothing_lost_nothing_twice(tmp_path, server)
    assert all(count == 1 for count in delivered(server).values())
    expected = {
        ("ana@lyon.fr", "inscription_confirmee"), ("bruno@rennes.fr", "inscription_confirmee"),
        ("jade@lyon.fr", "inscription_confirmee"), ("chloe@lyon.fr", "liste_attente"),
        ("ivan@lyon.fr", "liste_attente"), ("eve@rennes.fr", "liste_attente"),
        ("chloe@lyon.fr", "place_liberee"),
    }  # fmt: skip
    assert expected <= set(delivered(server))
    settled = {(r.person_id, r.template.value): r.state for r in ledger(tmp_path)}
    assert settled[(person_id("dan@nulle-part.fr"), "non_eligible")] == "failed"
    assert settled[(person_id("kim@lyon.fr"), "accuse_reception")] == "failed"
    assert set(review(tmp_path, "courriel_rejete")) == {
        person_id("dan@nulle-part.fr"), person_id("kim@lyon.fr"),
    }  # fmt: skip
    for captured in server.messages:
        assert_well_formed(captured)
    journal = rows_of(tmp_path / "wb.xlsx", "Journal")
    # The killed run sent one message and never wrote its Journal row; the ledger has it.
    assert sum(int(str(r["Courriels envoyés"])) for r in journal) == len(server.messages) - 1


def flagged_address(tmp: Path, record: MessageRecord) -> str:
    return next(a for a in VALID if person_id(a) == record.person_id)


@pytest.mark.parametrize(
    "kill",
    ["server", "send.ledger:3"],
    ids=["server-kills-client-during-DATA", "killed-after-the-server-accepted"],
)
def test_sigkill_in_the_middle_of_a_batch_then_rerun(
    tmp_path: Path,
    config: Path,
    server: SmtpServer,
    kill: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGKILL mid-batch, rerun: each message sent once or `incertain`, listed and resendable."""
    env: dict[str, str] = {}
    process: list[subprocess.Popen[bytes]] = []
    if kill == "server":

        def kill_client(count: int) -> None:
            if count == 3:  # the 3rd message is in, its 250 not yet written
                os.kill(process[0].pid, signal.SIGKILL)

        server.handler.script.after_message = kill_client
    else:
        env["DIPLOMATES_CRASH_AT"] = kill
    process.append(run_process(config, "2026-03-20T10:00", **env))
    assert process[0].wait(timeout=60) == -signal.SIGKILL
    assert len(server.messages) == 3
    before = Counter(r.state for r in ledger(tmp_path))
    assert before == {"sent": 2, "sending": 1, "pending": 5}
    assert not (tmp_path / "wb.xlsx").read_bytes() == b""  # the workbook is whole

    server.handler.script.after_message = None
    rerun = run_process(config, "2026-03-20T10:05")  # at once: the dead run's lock died with it
    assert rerun.wait(timeout=60) == 0, rerun.stderr.read() if rerun.stderr else ""
    states = Counter(r.state for r in ledger(tmp_path))
    assert states == {"sent": 7, "incertain": 1}
    assert_nothing_lost_nothing_twice(tmp_path, server)
    assert len(server.messages) == 8 and len(set(delivered(server))) == 8
    assert sorted(to for to, _ in delivered(server)) == sorted(VALID)
    [flagged] = [r for r in ledger(tmp_path) if r.state == "incertain"]
    assert list(review(tmp_path, "envoi_incertain")) == [flagged.person_id]
    assert set(by_email(tmp_path / "wb.xlsx")) == set(VALID)

    # The operator sees it in `status` and resends it on purpose by its id; a sent one is refused.
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"uncertain  {flagged.template.value}" in out and flagged.message_id in out
    assert "diplomates resend --config" in out and "@" not in out.split("messages:")[-1]
    command = ["resend", "--config", str(config), "--message", flagged.message_id]
    assert main([*command, "--as-of", "2026-03-20T10:10"]) == 0
    assert "sent again" in capsys.readouterr().out
    assert Counter(r.state for r in ledger(tmp_path)) == {"sent": 8}
    assert review(tmp_path, "envoi_incertain") == {}
    assert main([*command, "--as-of", "2026-03-20T10:15"]) == 1
    assert "was sent" in capsys.readouterr().err


def test_sigterm_between_an_smtp_send_and_its_ledger_write(
    tmp_path: Path, config: Path, server: SmtpServer
) -> None:
    """SIGTERM right after the 2nd message is handed over: it is recorded `sent`, the rest wait
    `pending`, the run exits 0; the next run sends the rest, nothing twice."""
    process = run_process(config, "2026-03-20T10:00", DIPLOMATES_CRASH_AT="send.ledger:2:TERM")
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    assert Counter(r.state for r in ledger(tmp_path)) == {"sent": 2, "pending": len(VALID) - 2}
    assert len(server.messages) == 2
    assert run(config, "2026-03-20T10:05") == 0
    assert Counter(r.state for r in ledger(tmp_path)) == {"sent": len(VALID)}
    assert_nothing_lost_nothing_twice(tmp_path, server)
    assert sorted(to for to, _ in delivered(server)) == sorted(VALID)


def test_preview_writes_the_four_files_with_real_or_sample_data(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`preview` renders a message for a person found by address, or sample data; sends nothing."""
    out = tmp_path / "preview-chloe"
    command = ["preview", "liste_attente", "--config", str(config), "--out", str(out)]
    assert main([*command, "--email", " Chloe@Lyon.FR ", "--as-of", "2026-04-02T09:00"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["body.html", "body.txt", "message.eml", "subject.txt"]
    assert "Chloé" in (out / "body.txt").read_text() and "Chloé" in (out / "body.html").read_text()
    assert "liste d’attente" in (out / "subject.txt").read_text().lower()
    eml = message_from_bytes((out / "message.eml").read_bytes(), policy=policy.default)
    assert eml["To"] == "chloe@lyon.fr" and eml["X-CUF-Template"] == "liste_attente"
    assert "Ville de Lyon" in (out / "body.txt").read_text()
    sample = tmp_path / "preview-sample"
    assert main(["preview", "accuse_reception", "--config", str(config), "--out", str(sample)]) == 0
    assert "Camille" in (sample / "body.txt").read_text()
    assert not (tmp_path / "state.sqlite").exists() or ledger(tmp_path) == []
    capsys.readouterr()
    assert (
        main(["preview", "inconnu", "--config", str(config), "--out", str(sample)]) == 2
    )  # a usage error
    assert "unknown template 'inconnu'" in capsys.readouterr().err
    assert main([*command, "--email", "personne@ailleurs.fr"]) == 1
    err = capsys.readouterr().err
    assert "no person with this address" in err and "personne@ailleurs.fr" not in err


def test_preview_of_a_waiting_list_message_for_someone_now_registered_says_it_no_longer_applies(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`preview liste_attente --email X` for a person now `Inscrit·e` writes nothing and says the
    message no longer applies (no stale position), naming their Statut, not their address."""
    out = tmp_path / "preview-ana"
    command = ["preview", "liste_attente", "--config", str(config), "--out", str(out)]
    assert main([*command, "--email", "ana@lyon.fr", "--as-of", "2026-04-02T09:00"]) == 1
    err = capsys.readouterr().err
    assert "no longer applies" in err and "Inscrit·e" in err and "ana@lyon.fr" not in err
    assert not out.exists()


def test_a_lost_state_db_delivers_nothing_twice_over_smtp(
    tmp_path: Path, config: Path, server: SmtpServer
) -> None:
    """State DB deleted (or state.url pointing at a new one) between runs: the sheet's
    `Courriels envoyés` rebuilds the ledger; each person/template arrives once."""
    assert run(config, "2026-03-20T10:00") == 0
    assert run(config, "2026-04-02T09:00") == 0
    first = delivered(server)
    assert first and max(first.values()) == 1
    for path in tmp_path.glob("state.sqlite*"):
        path.unlink()
    assert run(config, "2026-04-02T09:30") == 0
    assert delivered(server) == first
    journal = rows_of(tmp_path / "wb.xlsx", "Journal")
    assert journal[-1]["Courriels retrouvés"] == sum(first.values())
    records = ledger(tmp_path)
    assert {r.state for r in records} <= {"sent", "failed"} and len(records) == len(first)
