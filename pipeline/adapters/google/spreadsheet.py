"""Google Sheets backend: the Spreadsheet port on the Sheets API v4, via gspread and google-auth.

The number of API calls does not depend on the number of rows:

- `read`: one `spreadsheets.get` limited to sheet properties, then one `values:batchGet` of the
  named sheets that exist (none when no named sheet exists). Values are read unformatted with
  timestamps as serial numbers, so text stays text (`01053` stays `01053`) and numbers are never
  guessed from formatted strings.
- `write`: the same metadata call, one `values:batchGet` of the key columns to check that every
  target row still holds the ID the plan read (staff may sort or insert rows while a run is in
  flight), at most one `spreadsheets.batchUpdate` (new sheets, grid growth, and the layouts the
  plan carries: see google_layout.py), then one `values:batchUpdate` with `valueInputOption=RAW`
  (split only past ~2 MB). An empty plan makes no call at all.

Every call goes through one guarded gspread HTTP client: the configured endpoint, explicit
connect and read timeouts, a client-side token bucket under the 60 requests per minute per user
quota, and bounded, jittered exponential retries (tenacity) on 429/500/502/503/504 and connection
errors, honouring `Retry-After`. Foreign errors become `SheetError` with the fix in the message;
the service account key's content never appears in a message or a log line.

gspread, google-auth, requests and tenacity are imported when a backend is built, not when this
module is imported, so `diplomates --help` stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.adapters.google.layout import (
    DETAIL_FIELDS,
    MARK_FIELDS,
    Existing,
    existing,
    layout_requests,
)
from pipeline.adapters.sheets import Table, cell_text
from pipeline.core.errors import ConfigError, SheetConfigError, SheetError, SheetMovedError
from pipeline.core.model import Cell, CellWrite, SheetWrite, WritePlan

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from gspread.http_client import FileType, HTTPClient, ParamsType
    from requests import Response
    from tenacity import RetryCallState

    from pipeline.config import SpreadsheetSettings

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
GOOGLE_ENDPOINT = "https://sheets.googleapis.com"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
KEY_ENV = "GOOGLE_APPLICATION_CREDENTIALS"

# Sheet properties are all a run needs from the metadata; the time zone says how to read serials.
METADATA_FIELDS = (
    "properties.timeZone,sheets.properties(sheetId,title,gridProperties(rowCount,columnCount))"
)
NEW_SHEET_ROWS = 1000  # Google's own default grid for a new sheet
NEW_SHEET_COLUMNS = 26

_ID_IN_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_BARE_ID = re.compile(r"[A-Za-z0-9_-]+")
_SETUP = "see the README section 'Google Sheets' for the setup"
ENABLE_API_HINT = "Google Cloud console > APIs & Services > Library > Google Sheets API > Enable"


# --- Spreadsheet id --------------------------------------------------------------------------


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


# --- Client-side rate limit ------------------------------------------------------------------


class TokenBucket:
    """A token bucket: at most `burst + per_minute` requests in any minute.

    The defaults (burst 10, 48 per minute) stay under Google's 60 requests per minute per user,
    and let a whole run (a handful of calls) go through without waiting. The clock and the sleep
    are injectable so tests never wait on wall-clock time.
    """

    def __init__(
        self,
        per_minute: float = 48.0,
        burst: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a token bucket needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.capacity = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; return the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                pause = (1 - self._tokens) / self.rate
                self._sleep(pause)
                waited += pause


# --- The guarded HTTP layer ------------------------------------------------------------------


@dataclass
class CallStats:
    """What the guarded client sent: every attempt counts as a request."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0  # seconds spent in backoff and in the rate limiter
    by_api: dict[str, int] = field(default_factory=dict)


def _api_name(method: str, url: str) -> str:
    """`values.batchGet`, `spreadsheets.get`, … from a Sheets URL (never the query string)."""
    path = url.split("?", 1)[0]
    tail = path.split("/v4/spreadsheets/", 1)[-1]
    if "/values:" in tail:
        return "values." + tail.rsplit(":", 1)[1]
    if "/values/" in tail:
        action = tail.rsplit(":", 1)[1] if tail.count(":") else method.lower()
        return "values." + action
    if ":" in tail:
        return "spreadsheets." + tail.rsplit(":", 1)[1]
    return "spreadsheets." + method.lower()


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _transient(exc: BaseException) -> bool:
    """True for what a retry may cure: 429, 5xx from the list, dropped or slow connections."""
    import requests
    from google.auth.exceptions import TransportError
    from gspread.exceptions import APIError

    if isinstance(exc, APIError):
        return _status(exc) in RETRY_STATUSES
    return isinstance(
        exc,
        (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            TransportError,
        ),
    )


def _retry_after(exc: BaseException | None) -> float | None:
    """Seconds asked by a `Retry-After` header (seconds or HTTP date), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _Guard:
    """Endpoint rewrite, rate limit and bounded retries around each HTTP call."""

    def __init__(
        self,
        *,
        endpoint: str,
        max_attempts: int,
        backoff_base: float,
        backoff_max: float,
        max_retry_after: float,
        bucket: TokenBucket,
        sleep: Callable[[float], None],
        rng: random.Random,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.bucket = bucket
        self.sleep = sleep
        self.rng = rng
        self.stats = CallStats()
        self.attempts = 0  # of the latest call

    def url(self, endpoint: str) -> str:
        if endpoint.startswith(GOOGLE_ENDPOINT):
            return self.endpoint + endpoint[len(GOOGLE_ENDPOINT) :]
        return endpoint

    def call(self, method: str, url: str, send: Callable[[], Response]) -> Response:
        from tenacity import Retrying, retry_if_exception

        api = _api_name(method, url)

        self.attempts = 0

        def attempt() -> Response:
            self.attempts += 1
            self.stats.waited += self.bucket.acquire()
            self.stats.requests += 1
            self.stats.by_api[api] = self.stats.by_api.get(api, 0) + 1
            return send()

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            pause = state.next_action.sleep if state.next_action else 0.0
            self.stats.retries += 1
            self.stats.waited += pause
            log.warning(
                "Google Sheets %s failed (%s); retry %d of %d in %.1f s",
                api,
                _describe_failure(exc),
                state.attempt_number,
                self.max_attempts - 1,
                pause,
            )

        retrying = Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception(_transient),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)

    def _stop(self, state: RetryCallState) -> bool:
        """Give up after `max_attempts`, or at once when Google asks to wait too long."""
        if state.attempt_number >= self.max_attempts:
            return True
        asked = _retry_after(state.outcome.exception() if state.outcome else None)
        return asked is not None and asked > self.max_retry_after

    def _wait(self, state: RetryCallState) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** (state.attempt_number - 1))
        pause = ceiling / 2 + self.rng.uniform(0, ceiling / 2)  # "equal jitter"
        asked = _retry_after(state.outcome.exception() if state.outcome else None)
        return max(pause, asked) if asked is not None else pause


def _describe_failure(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    status = _status(exc)
    if status is not None:
        return f"HTTP {status}"
    return type(exc).__name__


def _guarded_http_client(
    credentials: Credentials, guard: _Guard, timeout: tuple[float, float]
) -> HTTPClient:
    """A gspread HTTPClient whose every request goes through `guard`."""
    from google.auth.transport.requests import AuthorizedSession
    from gspread.http_client import HTTPClient

    class GuardedHTTPClient(HTTPClient):
        def request(
            self,
            method: str,
            endpoint: str,
            params: ParamsType | None = None,
            data: bytes | None = None,
            json: Mapping[str, Any] | None = None,
            files: FileType = None,
            headers: MutableMapping[str, str] | None = None,
        ) -> Response:
            url = guard.url(endpoint)

            def send() -> Response:
                return HTTPClient.request(self, method, url, params, data, json, files, headers)

            return guard.call(method, url, send)

    # The token request (to the key file's token_uri) gets the same read timeout.
    session = AuthorizedSession(credentials, refresh_timeout=timeout[1])  # type: ignore[no-untyped-call]
    client = GuardedHTTPClient(credentials, session=session)
    client.set_timeout(timeout)
    return client


# --- Credentials -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    credentials: Credentials
    email: str | None  # the service account's address, to name in messages
    source: str  # where the credentials came from, for messages


def _load_credentials(path: Path | None) -> _Identity:
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
                f"file; {_SETUP}"
            ) from None
        email = getattr(credentials, "service_account_email", None)
        return _Identity(
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
            f"(Google Cloud console > IAM > Service accounts > Keys); {_SETUP}"
        ) from None
    email = info.get("client_email")
    return _Identity(credentials, email if isinstance(email, str) else None, f"key file {path}")


def _read_key_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SheetConfigError(
            f"the Google key file {path} does not exist; set spreadsheet.credentials (or "
            f"{KEY_ENV}) to the path of the service account's JSON key; {_SETUP}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SheetConfigError(
            f"the Google key file {path} cannot be read ({type(exc).__name__}); check that it is "
            f"the JSON key of the service account and that this user may read it; {_SETUP}"
        ) from None
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise SheetConfigError(
            f"the Google key file {path} is not a JSON key file; download a new JSON key for the "
            f"service account; {_SETUP}"
        ) from None
    if info.get("type") == "service_account":
        missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
        if missing:
            raise SheetConfigError(
                f"the Google key file {path} lacks {', '.join(missing)}; download a new JSON key "
                f"for the service account; {_SETUP}"
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


# --- The backend -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _SheetInfo:
    sheet_id: int
    rows: int
    columns: int
    layout: Existing = Existing()  # the layout mark, and what a new layout would replace


@dataclass(frozen=True)
class _Metadata:
    sheets: dict[str, _SheetInfo]
    time_zone: str | None


class GoogleSpreadsheet:
    """The Spreadsheet port on a Google spreadsheet, through gspread's HTTP client.

    Timeouts, retries, payload size and rate limit are class attributes; each may also be given
    to the constructor (or to `from_settings`).
    """

    connect_timeout: float = 10.0  # seconds to open a connection
    read_timeout: float = 60.0  # seconds to wait for a reply
    max_attempts: int = 5  # per call, the first one included
    backoff_base: float = 1.0  # seconds, doubled at each retry, with jitter
    backoff_max: float = 32.0
    max_retry_after: float = 120.0  # a longer Retry-After makes the run give up at once
    max_payload_bytes: int = 2_000_000  # Google's advice for one request body
    requests_per_minute: float = 48.0
    burst: float = 10.0

    def __init__(
        self,
        spreadsheet_id: str,
        credentials: Credentials,
        *,
        api_endpoint: str = GOOGLE_ENDPOINT,
        service_account_email: str | None = None,
        credentials_source: str = "credentials",
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_attempts: int | None = None,
        max_payload_bytes: int | None = None,
        rate_limiter: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.api_endpoint = api_endpoint.rstrip("/")
        self.service_account_email = service_account_email
        self.credentials_source = credentials_source
        if connect_timeout is not None:
            self.connect_timeout = connect_timeout
        if read_timeout is not None:
            self.read_timeout = read_timeout
        if max_attempts is not None:
            self.max_attempts = max_attempts
        if max_payload_bytes is not None:
            self.max_payload_bytes = max_payload_bytes
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        bucket = rate_limiter or TokenBucket(
            self.requests_per_minute, self.burst, clock=clock, sleep=sleep
        )
        self._guard = _Guard(
            endpoint=self.api_endpoint,
            max_attempts=self.max_attempts,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            max_retry_after=self.max_retry_after,
            bucket=bucket,
            sleep=sleep,
            rng=rng or random.Random(),
        )
        self._http = _guarded_http_client(
            credentials, self._guard, (self.connect_timeout, self.read_timeout)
        )
        self.time_zone: str | None = None  # the spreadsheet's own, known after the first call
        self._marks: dict[str, str] = {}  # layout marks found by the last read

    @classmethod
    def from_settings(
        cls,
        settings: SpreadsheetSettings,
        *,
        environ: Mapping[str, str] | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_attempts: int | None = None,
        max_payload_bytes: int | None = None,
        rate_limiter: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> GoogleSpreadsheet:
        """Build the backend from `[spreadsheet]`: key (id or URL), credentials, api_endpoint.

        The key file is `spreadsheet.credentials`, else the file named by
        `GOOGLE_APPLICATION_CREDENTIALS`, else application-default credentials are used. The
        token endpoint is the key file's `token_uri`, as google-auth does.
        """
        if not settings.key:
            raise ConfigError(
                "backend 'google' needs spreadsheet.key (the spreadsheet id or its URL)"
            )
        env = os.environ if environ is None else environ
        path = settings.credentials
        if path is None and env.get(KEY_ENV):
            path = Path(env[KEY_ENV]).expanduser()
        identity = _load_credentials(path)
        return cls(
            spreadsheet_id(settings.key),
            identity.credentials,
            api_endpoint=settings.api_endpoint,
            service_account_email=identity.email,
            credentials_source=identity.source,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
            max_payload_bytes=max_payload_bytes,
            rate_limiter=rate_limiter,
            sleep=sleep,
            clock=clock,
            rng=rng,
        )

    # -- the port --

    def describe(self) -> str:
        where = "" if self.api_endpoint == GOOGLE_ENDPOINT else f" at {self.api_endpoint}"
        who = (
            f" (service account {self.service_account_email})" if self.service_account_email else ""
        )
        return f"Google spreadsheet {self.spreadsheet_id}{where}{who}"

    @property
    def stats(self) -> CallStats:
        """Requests sent so far by this backend (retries included)."""
        return self._guard.stats

    def read(self, names: Sequence[str]) -> Mapping[str, Table]:
        """Read the named sheets: one metadata call and one `values:batchGet`, whatever the size."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        with self._translated("reading the spreadsheet", "nothing was written"):
            meta = self._metadata()
            self._marks = {
                name: info.layout.mark
                for name, info in meta.sheets.items()
                if info.layout.mark is not None
            }
            present = [name for name in wanted if name in meta.sheets]
            if not present:
                return {}
            reply = self._http.values_batch_get(
                self.spreadsheet_id,
                [_quote(name) for name in present],
                params={
                    "majorDimension": "ROWS",
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER",
                },
            )
        ranges = reply.get("valueRanges", [])
        if len(ranges) != len(present):
            raise SheetError(
                f"{self.describe()} answered {len(ranges)} ranges for {len(present)} sheets; "
                "rerun, and report it if it persists"
            )
        return {
            name: [[cell_text(value) for value in row] for row in value_range.get("values", [])]
            for name, value_range in zip(present, ranges, strict=True)
        }

    def layout_marks(self) -> Mapping[str, str]:
        """Layout marks (sheet developer metadata) seen by the last read's metadata call."""
        return dict(self._marks)

    def write(self, plan: WritePlan) -> None:
        """Apply the plan: check the key columns, create or grow sheets, apply layouts, write
        every cell as RAW."""
        sheets = _merge(plan.sheets)
        if not sheets:
            return
        with self._translated("preparing the write", "nothing was written"):
            meta = self._metadata(detail=any(sheet.layout is not None for sheet in sheets))
            self._check_sheets_exist(sheets, meta)
            self._verify_keys(sheets, meta)
            self._restructure(sheets, meta)
        data = [
            value_range
            for sheet in sheets
            for value_range in _value_ranges(sheet.sheet, sheet.cells, self.max_payload_bytes)
        ]
        chunks = _chunks(data, self.max_payload_bytes)
        for done, chunk in enumerate(chunks):
            consequence = (
                "no cell was written (sheets may have been created or grown)"
                if done == 0
                else f"{done} of {len(chunks)} parts were written; the next run completes the rest"
            )
            with self._translated("writing cells", consequence):
                self._values_batch_update(chunk)

    # -- calls --

    def _metadata(self, detail: bool = False) -> _Metadata:
        """Sheet properties and layout marks; with `detail`, also what a layout replaces."""
        fields = ",".join((METADATA_FIELDS, MARK_FIELDS) + ((DETAIL_FIELDS,) if detail else ()))
        reply = self._http.fetch_sheet_metadata(self.spreadsheet_id, params={"fields": fields})
        sheets: dict[str, _SheetInfo] = {}
        for sheet in reply.get("sheets", []):
            props = sheet.get("properties", {})
            grid = props.get("gridProperties", {})
            columns = int(grid.get("columnCount", 0))
            sheets[str(props.get("title", ""))] = _SheetInfo(
                sheet_id=int(props.get("sheetId", 0)),
                rows=int(grid.get("rowCount", 0)),
                columns=columns,
                layout=existing(sheet, columns),
            )
        zone = reply.get("properties", {}).get("timeZone")
        self.time_zone = zone if isinstance(zone, str) else None
        return _Metadata(sheets, self.time_zone)

    def _values_batch_update(self, data: list[dict[str, Any]]) -> None:
        from gspread.urls import SPREADSHEET_VALUES_BATCH_UPDATE_URL

        body = {"valueInputOption": "RAW", "includeValuesInResponse": False, "data": data}
        self._http.request(
            "post",
            SPREADSHEET_VALUES_BATCH_UPDATE_URL % self.spreadsheet_id,
            data=_compact(body),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def _check_sheets_exist(self, sheets: Sequence[SheetWrite], meta: _Metadata) -> None:
        for sheet in sheets:
            if sheet.sheet in meta.sheets:
                continue
            if sheet.expected_keys:
                raise SheetMovedError(
                    f"sheet '{sheet.sheet}' was deleted or renamed in {self.describe()} during "
                    "the run; nothing was written. The next run will re-plan (and recreate it "
                    "if the pipeline owns it)."
                )
            if not sheet.create:
                raise SheetError(
                    f"sheet '{sheet.sheet}' not found in {self.describe()}; it was renamed or "
                    "deleted: restore its name in Google Sheets or update the [sheets] section "
                    "of the config"
                )

    def _verify_keys(self, sheets: Sequence[SheetWrite], meta: _Metadata) -> None:
        """One `values:batchGet` of the key columns: stop when a target row is not as read.

        Every `(row, key)` of `expected_keys` must still hold that key, and every other row the
        plan fills (below the header) must still have an empty key cell: the plan put new people
        there because the row was empty. Staff sorting, inserting or deleting rows breaks either.
        """
        checks: list[tuple[SheetWrite, dict[int, str], int, str | None]] = []
        for sheet in sheets:
            info = meta.sheets.get(sheet.sheet)
            if sheet.key_col is None or info is None:
                continue
            expect = {row: "" for row in {cell.row for cell in sheet.cells} if row > 1}
            expect.update(dict(sheet.expected_keys))
            if not expect:
                continue
            top, bottom = min(expect), min(max(expect), info.rows)  # past the grid: deleted
            column = _column_letters(sheet.key_col)
            inside = top <= info.rows and sheet.key_col <= info.columns
            wanted = f"{_quote(sheet.sheet)}!{column}{top}:{column}{max(top, bottom)}"
            checks.append((sheet, expect, top, wanted if inside else None))
        asked = [span for _sheet, _expect, _top, span in checks if span is not None]
        found_ranges: list[Any] = []
        if asked:
            reply = self._http.values_batch_get(
                self.spreadsheet_id,
                asked,
                params={
                    "majorDimension": "ROWS",
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER",
                },
            )
            found_ranges = list(reply.get("valueRanges", []))
        for sheet, expect, top, span in checks:
            values = found_ranges.pop(0).get("values", []) if span and found_ranges else []
            moved = []
            for row, key in sorted(expect.items()):
                index = row - top
                cells = values[index] if index < len(values) else []
                if (cell_text(cells[0]).strip() if cells else "") != key.strip():
                    moved.append(row)
            if moved:
                raise SheetMovedError(
                    f"sheet '{sheet.sheet}' was reordered during the run (rows were sorted, "
                    f"inserted or deleted): {len(moved)} row(s) no longer hold what the run read "
                    f"(first: row {moved[0]}); nothing was written. The next run will re-plan "
                    "from the new order."
                )

    def _restructure(self, sheets: Sequence[SheetWrite], meta: _Metadata) -> None:
        """Create and grow sheets in one batchUpdate.

        A batchUpdate retried after a dropped reply may have been applied already: Google then
        refuses the repeated addSheet ("already exists"). Re-read the metadata once and send
        only what is still missing.
        """
        from gspread.exceptions import APIError

        structure = _batch_requests(sheets, meta)
        if not structure:
            return
        try:
            self._http.batch_update(self.spreadsheet_id, {"requests": structure})
        except APIError as exc:
            message = str(exc.error.get("message", "")) if isinstance(exc.error, Mapping) else ""
            if _status(exc) != 400 or "already exists" not in message:
                raise
            remaining = _batch_requests(sheets, self._metadata(detail=True))
            if remaining:
                self._http.batch_update(self.spreadsheet_id, {"requests": remaining})

    @property
    def _foreign_errors(self) -> tuple[type[BaseException], ...]:
        import requests
        from google.auth.exceptions import GoogleAuthError
        from gspread.exceptions import APIError

        return (APIError, requests.RequestException, GoogleAuthError)

    def _translated(self, doing: str, consequence: str) -> _Translating:
        return _Translating(self, doing, consequence)

    def explain(self, exc: BaseException, doing: str, consequence: str) -> SheetError:
        """Turn a foreign error (gspread, requests, google-auth) into a SheetError with the fix."""
        from google.auth.exceptions import RefreshError, TransportError
        from gspread.exceptions import APIError

        where = self.describe()
        who = self.service_account_email
        attempts = f"{self._guard.attempts} attempt{'s' if self._guard.attempts > 1 else ''}"
        if isinstance(exc, APIError):
            status = _status(exc) or exc.code
            error = exc.error if isinstance(exc.error, Mapping) else {}
            message = str(error.get("message", "")).strip()
            reason = str(error.get("status", "")).strip()
            if status == 403 and _api_disabled(error):
                link = _activation_link(error) or ENABLE_API_HINT
                return SheetError(
                    f"the Google Sheets API is disabled in the Google Cloud project of "
                    f"{who or 'these credentials'} (HTTP 403 SERVICE_DISABLED) while {doing}; "
                    f"{consequence}. Enable it ({link}), wait a few minutes, then rerun."
                )
            if status == 403 and "insufficient authentication scopes" in message:
                return SheetError(
                    f"the credentials ({self.credentials_source}) lack the Google Sheets scope "
                    f"(HTTP 403) while {doing}; {consequence}. Use a service account key file "
                    f"(spreadsheet.credentials); {_SETUP}."
                )
            if status == 403:
                account = who or "the Google account of the application-default credentials"
                return SheetError(
                    f"{account} may not open spreadsheet {self.spreadsheet_id} (HTTP 403 "
                    f"PERMISSION_DENIED) while {doing}; {consequence}. Share the spreadsheet with "
                    f"{account} as Editor (Share button in Google Sheets), then rerun."
                )
            if status == 404:
                return SheetError(
                    f"spreadsheet {self.spreadsheet_id} not found (HTTP 404) while {doing}; "
                    f"{consequence}. Check spreadsheet.key in the config: it must be the id "
                    "between /d/ and /edit in the spreadsheet's address, or that whole address."
                )
            if status == 401:
                return SheetError(
                    f"Google rejected the credentials ({self.credentials_source}) with HTTP 401 "
                    f"while {doing}; {consequence}. The key may have been deleted or revoked: "
                    f"create a new JSON key for the service account; {_SETUP}."
                )
            if status == 400 and "Unable to parse range" in message:
                return SheetError(
                    f"a sheet of {where} was renamed or deleted while {doing} (Google: "
                    f"{message}); {consequence}. Restore its name or update the [sheets] section "
                    "of the config, then rerun."
                )
            if status in RETRY_STATUSES:
                return SheetError(
                    f"Google Sheets kept answering HTTP {status} {reason} after {attempts} "
                    f"while {doing} {where}; {consequence}. Google is overloaded or "
                    "the quota is used up: wait a few minutes and rerun."
                )
            return SheetError(
                f"Google Sheets refused a request while {doing} {where} (HTTP {status} {reason}: "
                f"{message or 'no detail'}); {consequence}."
            )
        if isinstance(exc, RefreshError):
            detail = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
            return SheetError(
                f"could not get an access token for {who or 'the credentials'} "
                f"({self.credentials_source}) while {doing}: {detail[:200] or 'refused'}; "
                f"{consequence}. The key may have been deleted or revoked, or the machine's clock "
                f"is wrong: create a new JSON key for the service account; {_SETUP}."
            )
        kind = type(exc).__name__
        if isinstance(exc, TransportError) or _transient(exc):
            return SheetError(
                f"cannot reach the Google Sheets API at {self.api_endpoint} ({kind}, {attempts}, "
                f"connect timeout {self.connect_timeout:g} s, read timeout "
                f"{self.read_timeout:g} s) while {doing}; {consequence}. Check the network "
                "connection or the proxy (spreadsheet.api_endpoint), then rerun."
            )
        return SheetError(
            f"the request to Google Sheets failed ({kind}) while {doing} {where}; {consequence}."
        )


class _Translating:
    """Context manager: foreign errors inside become SheetError (the original is chained)."""

    def __init__(self, owner: GoogleSpreadsheet, doing: str, consequence: str) -> None:
        self.owner = owner
        self.doing = doing
        self.consequence = consequence

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is not None and isinstance(exc, self.owner._foreign_errors):
            raise self.owner.explain(exc, self.doing, self.consequence) from exc


def _api_disabled(error: Mapping[str, Any]) -> bool:
    message = str(error.get("message", ""))
    if "has not been used in project" in message or "API has not been used" in message:
        return True
    if "is disabled" in message and "API" in message:
        return True
    details = error.get("details", [])
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, Mapping) and detail.get("reason") == "SERVICE_DISABLED":
                return True
    return False


def _activation_link(error: Mapping[str, Any]) -> str | None:
    details = error.get("details", [])
    if isinstance(details, list):
        for detail in details:
            metadata = detail.get("metadata") if isinstance(detail, Mapping) else None
            if isinstance(metadata, Mapping) and isinstance(metadata.get("activationUrl"), str):
                return str(metadata["activationUrl"])
    found = re.search(
        r"https://console\.(?:developers|cloud)\.google\.com/\S+", str(error.get("message", ""))
    )
    return found.group(0).rstrip(".") if found else None


# --- Planning the calls (pure) ---------------------------------------------------------------


def _quote(title: str) -> str:
    """A sheet title as an A1 range prefix: always quoted, quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def _column_letters(col: int) -> str:
    if col < 1:
        raise ValueError(f"column numbers start at 1, got {col}")
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _a1(row: int, col: int) -> str:
    if row < 1:
        raise ValueError(f"row numbers start at 1, got {row}")
    return f"{_column_letters(col)}{row}"


def _merge(sheets: Iterable[SheetWrite]) -> list[SheetWrite]:
    """Non-empty sheet writes, one per sheet name, in plan order (a repeated name is merged)."""
    merged: dict[str, SheetWrite] = {}
    for sheet in sheets:
        if sheet.empty:
            continue
        before = merged.get(sheet.sheet)
        if before is None:
            merged[sheet.sheet] = sheet
            continue
        merged[sheet.sheet] = SheetWrite(
            sheet=sheet.sheet,
            create=before.create or sheet.create,
            cells=before.cells + sheet.cells,
            key_col=before.key_col if before.key_col is not None else sheet.key_col,
            expected_keys=before.expected_keys + sheet.expected_keys,
            layout=sheet.layout if sheet.layout is not None else before.layout,
        )
    return list(merged.values())


def _batch_requests(sheets: Sequence[SheetWrite], meta: _Metadata) -> list[dict[str, Any]]:
    """The write's one batchUpdate: structure first, then the layouts."""
    ids = _new_sheet_ids(sheets, meta)
    requests = _structure_requests(sheets, meta, ids)
    for sheet in sheets:
        if sheet.layout is None:
            continue
        info = meta.sheets.get(sheet.sheet)
        sheet_id = info.sheet_id if info is not None else ids[sheet.sheet]
        before = info.layout if info is not None else Existing()
        requests += layout_requests(sheet_id, sheet.layout, before)
    return requests


def _new_sheet_ids(sheets: Sequence[SheetWrite], meta: _Metadata) -> dict[str, int]:
    """Ids for the sheets this batch adds with a layout: its requests must name the new sheet.

    Derived from the title (stable across a retried batch), never one already in use.
    """
    taken = {info.sheet_id for info in meta.sheets.values()}
    ids: dict[str, int] = {}
    for sheet in sheets:
        if sheet.layout is None or sheet.sheet in meta.sheets:
            continue
        candidate = zlib.crc32(sheet.sheet.encode("utf-8")) % (2**31 - 2) + 1
        while candidate in taken:
            candidate = candidate % (2**31 - 2) + 1
        taken.add(candidate)
        ids[sheet.sheet] = candidate
    return ids


def _structure_requests(
    sheets: Sequence[SheetWrite], meta: _Metadata, ids: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """addSheet for missing sheets, appendDimension where cells or a layout's data ranges fall
    outside the grid."""
    requests: list[dict[str, Any]] = []
    for sheet in sheets:
        layout = sheet.layout
        rows = max([cell.row for cell in sheet.cells] + [layout.rows if layout else 1])
        columns = max([cell.col for cell in sheet.cells] + [layout.width if layout else 1])
        if layout is not None:
            columns = max([columns] + [c.anchor_col for c in layout.charts])
        info = meta.sheets.get(sheet.sheet)
        if info is None:
            properties: dict[str, Any] = {
                "title": sheet.sheet,
                "gridProperties": {
                    "rowCount": max(rows, NEW_SHEET_ROWS),
                    "columnCount": max(columns, NEW_SHEET_COLUMNS),
                },
            }
            if ids and sheet.sheet in ids:
                properties["sheetId"] = ids[sheet.sheet]
            requests.append({"addSheet": {"properties": properties}})
            continue
        for dimension, needed, have in (
            ("ROWS", rows, info.rows),
            ("COLUMNS", columns, info.columns),
        ):
            if needed > have:
                requests.append(
                    {
                        "appendDimension": {
                            "sheetId": info.sheet_id,
                            "dimension": dimension,
                            "length": needed - have,
                        }
                    }
                )
    return requests


def _value_ranges(title: str, cells: Sequence[CellWrite], limit: int) -> list[dict[str, Any]]:
    """Contiguous cells grouped into rectangles, each one ValueRange (later writes win)."""
    grid: dict[tuple[int, int], Cell] = {}
    for cell in cells:
        _a1(cell.row, cell.col)  # validates the coordinates
        grid[(cell.row, cell.col)] = cell.value
    runs: list[tuple[int, int, int]] = []  # (first column, last column, row)
    by_row: dict[int, list[int]] = {}
    for row, col in grid:
        by_row.setdefault(row, []).append(col)
    for row, cols in by_row.items():
        cols.sort()
        start = previous = cols[0]
        for col in cols[1:]:
            if col != previous + 1:
                runs.append((start, previous, row))
                start = col
            previous = col
        runs.append((start, previous, row))
    runs.sort()
    blocks: list[tuple[int, int, int, int]] = []  # (first row, last row, first col, last col)
    for first_col, last_col, row in runs:
        if blocks:
            top, bottom, left, right = blocks[-1]
            if (left, right) == (first_col, last_col) and row == bottom + 1:
                blocks[-1] = (top, row, left, right)
                continue
        blocks.append((row, row, first_col, last_col))
    blocks.sort()
    ranges: list[dict[str, Any]] = []
    for top, bottom, left, right in blocks:
        ranges.extend(_block_ranges(title, grid, top, bottom, left, right, limit))
    return ranges


def _block_ranges(
    title: str,
    grid: Mapping[tuple[int, int], Cell],
    top: int,
    bottom: int,
    left: int,
    right: int,
    limit: int,
) -> list[dict[str, Any]]:
    """One ValueRange for the block, split by rows when it alone would pass the payload limit."""
    value_range = {
        "range": f"{_quote(title)}!{_a1(top, left)}"
        + ("" if (top, left) == (bottom, right) else f":{_a1(bottom, right)}"),
        "values": [
            [grid[(row, col)] for col in range(left, right + 1)] for row in range(top, bottom + 1)
        ],
    }
    if top == bottom or len(_compact(value_range)) <= limit // 2:
        return [value_range]
    middle = (top + bottom) // 2
    return _block_ranges(title, grid, top, middle, left, right, limit) + _block_ranges(
        title, grid, middle + 1, bottom, left, right, limit
    )


def _chunks(data: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    """Split the ValueRanges into request bodies of at most about `limit` bytes (one if it fits)."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for value_range in data:
        weight = len(_compact(value_range)) + 1
        if current and size + weight > limit:
            chunks.append(current)
            current, size = [], 0
        current.append(value_range)
        size += weight
    if current:
        chunks.append(current)
    return chunks


def _compact(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
