"""1,000 emails to a local aiosmtpd (STARTTLS + AUTH, a throwaway CA, in its own process):
wall time and messages per second, one reused connection against a reconnect-per-message
baseline, and the same 1,000 through a run's delivery step (the ledger's two durable writes per
message included). Figures, not assertions. Target: 1,000 messages in under 10 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.adapters.mail.render import render_message, sample_person
from pipeline.adapters.mail.smtp import SmtpTransport
from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner, RunReport
from pipeline.config import Settings
from pipeline.core.messages import message_key
from pipeline.core.model import Template
from pipeline.core.people import person_id

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 4, 2, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
USER, PASSWORD = "bench", "bench-password"
# The server runs in a child process, so that it does not share the client's interpreter lock.
SERVER = f"""
import sys
from pathlib import Path
from tests.support.smtp_server import LocalCA, SmtpServer
folder = Path(sys.argv[1])
ca = LocalCA(folder / "ca.pem", folder / "server.pem", folder / "server.key")
with SmtpServer("starttls", ca=ca, users={{"{USER}": "{PASSWORD}"}}) as server:
    print(server.port, flush=True)
    sys.stdin.readline()
    print(len(server.messages), flush=True)
"""


def settings(port: int, ca_file: Path, state: Path) -> Settings:
    return Settings.model_validate(
        {
            "spreadsheet": {"backend": "local", "workbook": str(state.parent / "unused.xlsx")},
            "email": {
                "transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port,
                "smtp_security": "starttls", "smtp_username": USER, "smtp_ca_file": str(ca_file),
                "sender": "diplomates@cites-unies-france.org",
                "reply_to": "contact@cites-unies-france.org",
            },
            "cohort": {
                "capacity": 60,
                "registration_opens": "2026-03-30T09:00:00+02:00",
                "registration_closes": "2026-04-30T23:59:59+02:00",
            },
            "programme": {"contact_email": "diplomates@cites-unies-france.org"},
            "state": {"url": f"sqlite:///{state}"},
        }
    )  # fmt: skip


def messages(config: Settings, count: int) -> list[tuple[str, EmailMessage]]:
    """`count` rendered inscription_confirmee messages to distinct (reserved-domain) people."""
    out = []
    for n in range(count):
        address = f"elu.{n}@example.org"
        person = sample_person(NOW).model_copy(update={"email": address, "id": person_id(address)})
        key = message_key(config.cohort.name, person.id, Template.INSCRIPTION_CONFIRMEE)
        message = render_message(
            Template.INSCRIPTION_CONFIRMEE, person=person, member_name="Saint-Étienne",
            settings=config, message_id=key, now=NOW,
        )  # fmt: skip
        out.append((key, message))
    return out


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench(count: int) -> None:
    from tests.support.fakes import MemorySpreadsheet
    from tests.support.smtp_server import make_ca

    with tempfile.TemporaryDirectory(prefix="diplomates-smtp-bench-") as folder:
        directory = Path(folder)
        ca = make_ca(directory / "ca")
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(directory / "ca")], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert server.stdin is not None and server.stdout is not None
        try:
            port = int(server.stdout.readline())
            config = settings(port, ca.ca_file, directory / "state.sqlite")
            batch = messages(config, count)
            env = {"DIPLOMATES_SMTP_PASSWORD": PASSWORD}

            def reuse() -> None:
                with SmtpTransport.from_settings(config.email, env) as smtp:
                    for key, message in batch:
                        smtp.send(message, key)

            def reconnect() -> None:
                for key, message in batch:
                    with SmtpTransport.from_settings(config.email, env) as smtp:
                        smtp.send(message, key)

            reused = timed(reuse)
            again = timed(reconnect)

            store = StateStore(config.state.url)
            queue = [
                (f"DT-{n:010d}", Template.INSCRIPTION_CONFIRMEE, key, message.as_bytes())
                for n, (key, message) in enumerate(batch)
            ]
            store.enqueue(config.cohort.name, queue, NOW)
            os.environ.setdefault("DIPLOMATES_SMTP_PASSWORD", PASSWORD)
            runner = Runner(config, spreadsheet=MemorySpreadsheet(), store=store)
            report = RunReport(run_id="bench", now=NOW, dry_run=False)
            delivered = timed(lambda: runner._deliver(report, NOW))
            assert report.counts["emails_sent"] == count, report.counts
            assert store.count_by_state() == {"sent": count}
            server.stdin.write("stop\n")
            server.stdin.flush()
            received = int(server.stdout.readline())
            assert received == 3 * count, f"the server received {received} of {3 * count}"
        finally:
            server.stdin.close()  # the server stops at end of input
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    print(
        f"{count} messages, STARTTLS + AUTH: one reused connection {reused:5.2f} s "
        f"({count / reused:5.0f} msg/s) | reconnect per message {again:5.2f} s "
        f"({count / again:5.0f} msg/s) | reuse is {again / reused:4.1f}x faster"
    )
    print(
        f"{count} messages through a run's delivery step (ledger pending -> sending -> sent): "
        f"{delivered:5.2f} s ({count / delivered:5.0f} msg/s; target < 10 s)"
    )


def main() -> None:
    print("== SMTP delivery to a local aiosmtpd (target: 1,000 messages in < 10 s)")
    bench(int(os.environ.get("BENCH_SMTP_MESSAGES", "1000")))


if __name__ == "__main__":
    main()
