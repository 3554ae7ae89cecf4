"""Exit codes as the README says: 2 for every configuration or usage problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.entry.cli import main
from tests.support.ops import make_env
from tests.support.scenario import ANSWERS


def config(tmp: Path, old: str = "", new: str = "") -> str:
    env = make_env(tmp, ANSWERS)
    text = env.config.read_text(encoding="utf-8")
    assert old in text
    env.config.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(env.config)


def test_usage_problems_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown template in preview or resend, resend with neither option: exit 2."""
    path = config(tmp_path)
    out = str(tmp_path / "apercu")
    assert main(["preview", "pas_un_modele", "--config", path, "--out", out]) == 2
    assert main(["resend", "--config", path]) == 2
    assert main(["resend", "--config", path, "--person", "DT-X", "--template", "nope"]) == 2
    assert "usage error" in capsys.readouterr().err


def test_smtp_user_without_password_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """email.smtp_username set, DIPLOMATES_SMTP_PASSWORD empty: a configuration error, exit 2."""
    monkeypatch.delenv("DIPLOMATES_SMTP_PASSWORD", raising=False)
    smtp = 'transport = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = 2525\nsmtp_username = "u"\n'
    path = config(tmp_path, "[email]\n", "[email]\n" + smtp)
    assert main(["run", "--config", path, "--as-of", "2026-03-20T10:00"]) == 2
    assert "DIPLOMATES_SMTP_PASSWORD" in capsys.readouterr().err


@pytest.mark.parametrize("credentials", ["missing.json", None])
def test_google_without_credentials_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, credentials: str | None
) -> None:
    """The Google backend with a missing key file, or with no credentials at all: exit 2."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata server on this machine
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud login either
    key = f'credentials = "{tmp_path / credentials}"\n' if credentials else ""
    google = f'backend = "google"\nkey = "abc123"\n{key}'
    path = config(tmp_path, 'backend = "local"\n', google)
    assert main(["status", "--config", path]) == 0  # status needs no spreadsheet
    assert main(["run", "--config", path]) == 2


def test_debug_is_accepted_after_the_subcommand(tmp_path: Path) -> None:
    """`diplomates status --config X --debug` works like `diplomates --debug status …`."""
    path = config(tmp_path)
    assert main(["status", "--config", path, "--debug"]) == 0
    assert main(["--debug", "status", "--config", path]) == 0
