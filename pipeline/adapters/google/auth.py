"""Google credentials and the spreadsheet id: what `[spreadsheet]` names, made usable.

The key file is `spreadsheet.credentials`, else the file named by `GOOGLE_APPLICATION_CREDENTIALS`,
else application-default credentials. The key's content never appears in a message or a log line.
google-auth is imported when credentials are loaded, not when this module is imported.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.core.errors import ConfigError, SheetConfigError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
KEY_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
SETUP = "see the README section 'Google Sheets' for the setup"

_ID_IN_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_BARE_ID = re.compile(r"[A-Za-z0-9_-]+")


def spreadsheet_id(key: str) -> str:
    """The spreadsheet id from `spreadsheet.key`: the id itself or the URL pasted from a browser."""
    text = key.strip()
    found = _ID_IN_URL.search(text)
    if found:
        return found.group(1)
    if _BARE_ID.fullmatch(text):
        return text
    raise ConfigError(
        f"spreadsheet.key {key!r} is neither a spreadsheet id nor a Google Sheets URL; paste the "
        "whole address of the spreadsheet from the browser (https://docs.google.com/spreadsheets/"
        "d/<id>/edit) or only the <id> part"
    )


@dataclass(frozen=True)
class Identity:
    credentials: Credentials
    email: str | None  # the service account's address, to name in messages
    source: str  # where the credentials came from, for messages


def load_credentials(path: Path | None) -> Identity:
    """Service account key file when given, else application-default credentials."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError

    if path is None:
        try:
            credentials, _project = google.auth.default(scopes=list(SCOPES))
        except DefaultCredentialsError:
            raise SheetConfigError(
                "no Google credentials found: set spreadsheet.credentials in the config (or the "
                f"environment variable {KEY_ENV}) to the path of the service account's JSON key "
                f"file; {SETUP}"
            ) from None
        email = getattr(credentials, "service_account_email", None)
        return Identity(
            credentials,
            email if isinstance(email, str) and "@" in email else None,
            "application-default credentials",
        )

    info = _read_key_file(path)
    try:
        if info.get("type") == "service_account":
            from google.oauth2 import service_account

            credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=list(SCOPES)
            )
        else:
            credentials, _project = google.auth.load_credentials_from_dict(  # type: ignore[no-untyped-call]
                info, scopes=list(SCOPES)
            )
    except (ValueError, KeyError, TypeError, GoogleAuthError) as exc:
        # The exception text may quote the key material: name only its kind.
        raise SheetConfigError(
            f"the Google key file {path} cannot be used ({type(exc).__name__}): it is damaged or "
            "not a service account key; download a new JSON key for the service account "
            f"(Google Cloud console > IAM > Service accounts > Keys); {SETUP}"
        ) from None
    email = info.get("client_email")
    return Identity(credentials, email if isinstance(email, str) else None, f"key file {path}")


def _read_key_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SheetConfigError(
            f"the Google key file {path} does not exist; set spreadsheet.credentials (or "
            f"{KEY_ENV}) to the path of the service account's JSON key; {SETUP}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SheetConfigError(
            f"the Google key file {path} cannot be read ({type(exc).__name__}); check that it is "
            f"the JSON key of the service account and that this user may read it; {SETUP}"
        ) from None
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise SheetConfigError(
            f"the Google key file {path} is not a JSON key file; download a new JSON key for the "
            f"service account; {SETUP}"
        ) from None
    if info.get("type") == "service_account":
        missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
        if missing:
            raise SheetConfigError(
                f"the Google key file {path} lacks {', '.join(missing)}; download a new JSON key "
                f"for the service account; {SETUP}"
            )
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    if mode & 0o077:
        log.warning(
            "the Google key file %s can be read by other users (mode %o); run: chmod 600 %s",
            path,
            mode & 0o777,
            path,
        )
    return info
