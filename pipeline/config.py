"""Settings: the only reader of the TOML config file and of environment variables.

The models themselves (pure data) live in `pipeline/core/settings.py`, so the core reads them
without reaching up to this loader; they are re-exported here for the floors above.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from pydantic import ValidationError

from pipeline.core.errors import ConfigError
from pipeline.core.settings import (
    DEFAULT_ALIASES,
    DEFAULT_INTERVAL_MINUTES,
    AlertSettings,
    CertificateSettings,
    CohortSettings,
    ColumnSettings,
    EmailSettings,
    PrivacySettings,
    ProgrammeSettings,
    SafetySettings,
    ScheduleSettings,
    Section,
    SessionSettings,
    Settings,
    SheetNames,
    SpreadsheetSettings,
    StateSettings,
)
from pipeline.core.vocabulary import PARIS

__all__ = [
    "PARIS",
    "Section",
    "SpreadsheetSettings",
    "SheetNames",
    "DEFAULT_ALIASES",
    "ColumnSettings",
    "EmailSettings",
    "CohortSettings",
    "ProgrammeSettings",
    "StateSettings",
    "DEFAULT_INTERVAL_MINUTES",
    "ScheduleSettings",
    "AlertSettings",
    "PrivacySettings",
    "SafetySettings",
    "SessionSettings",
    "CertificateSettings",
    "Settings",
    "load_settings",
]


def _resolve(base: Path, value: Path | None) -> Path | None:
    if value is None or value.is_absolute():
        return value
    return (base / value).resolve()


def _relative_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url


def load_settings(path: Path) -> Settings:
    """Read and validate a config file; relative paths are taken from the project root.

    The project root is the folder above `config/` when the file lives there, else the file's own
    folder: `config/demo.toml` names `demo/out/...` as seen from the repository.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found; pass --config with the path of a TOML file "
            "such as config/demo.toml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}; fix the syntax") from None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from None
    logging.getLogger("diplomates.config").info("config file %s", path.resolve())
    base = path.resolve().parent
    if base.name == "config":
        base = base.parent
    return settings.model_copy(
        update={
            "source": path,
            "spreadsheet": settings.spreadsheet.model_copy(
                update={
                    "workbook": _resolve(base, settings.spreadsheet.workbook),
                    "credentials": _resolve(base, settings.spreadsheet.credentials),
                }
            ),
            "email": settings.email.model_copy(
                update={
                    "outbox": _resolve(base, settings.email.outbox),
                    "smtp_ca_file": _resolve(base, settings.email.smtp_ca_file),
                }
            ),
            "state": StateSettings(url=_relative_sqlite(settings.state.url, base)),
            "certificates": settings.certificates.model_copy(
                update={"folder": _resolve(base, settings.certificates.folder)}
            ),
        }
    )


def _explain(path: Path, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        kind = error["type"]
        if kind == "extra_forbidden":
            problems.append(f"key '{key}' is not a known setting (remove it or check its spelling)")
        elif kind == "missing":
            problems.append(f"key '{key}' is required but missing (add it)")
        else:
            message = error["msg"].removeprefix("Value error, ")
            given = error.get("input")
            # A whole section (a rule across its keys) is not repeated back: the message names
            # the keys to fix.
            got = "" if isinstance(given, dict) else f" (got {given!r})"
            problems.append(f"key '{key}': {message}{got}")
    return f"config file {path} is invalid: " + "; ".join(problems) + "."
