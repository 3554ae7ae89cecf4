"""Google Sheets backend: the Spreadsheet port on the Sheets API v4, via gspread and google-auth.

The number of API calls does not depend on the number of rows:

- `read`: one `spreadsheets.get` limited to sheet properties, then one `values:batchGet` of the
  named sheets that exist (none when no named sheet exists). Values are read unformatted with
  timestamps as serial numbers, so text stays text (`01053` stays `01053`) and numbers are never
  guessed from formatted strings.
- `write`: the same metadata call, one `values:batchGet` of the key columns to check that every
  target row still holds the ID the plan read (staff may sort or insert rows while a run is in
  flight), at most one `spreadsheets.batchUpdate` (new sheets, grid growth, and the layouts the
  plan carries: see layout.py), then one `values:batchUpdate` with `valueInputOption=RAW`
  (split only past ~2 MB). An empty plan makes no call at all.

Every call goes through one guarded gspread HTTP client (http.py: endpoint, timeouts, rate
limit, retries); credentials and the spreadsheet id come from auth.py; the request bodies are
planned, pure, in plan.py. Foreign errors become `SheetError` with the fix in the message (here);
the service account key's content never appears in a message or a log line.

This package imports gspread, google-auth, requests and tenacity: it is imported only when a
Google backend is opened (`app/wiring.open_spreadsheet`), so `diplomates --help` stays fast.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.adapters.google.auth import KEY_ENV, SETUP, load_credentials, spreadsheet_id
from pipeline.adapters.google.http import (
    GOOGLE_ENDPOINT,
    RETRY_STATUSES,
    CallStats,
    Guard,
    GuardedHTTPClient,
    TokenBucket,
    status_of,
    transient,
)
from pipeline.adapters.google.layout import DETAIL_FIELDS, MARK_FIELDS, existing
from pipeline.adapters.google.plan import (
    Metadata,
    SheetInfo,
    batch_requests,
    chunks,
    column_letters,
    compact,
    merge,
    quote,
    value_ranges,
)
from pipeline.adapters.sheets import Table, cell_text
from pipeline.core.errors import ConfigError, SheetError, SheetMovedError
from pipeline.core.model import SheetWrite, WritePlan

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from pipeline.config import SpreadsheetSettings

log = logging.getLogger(__name__)

METADATA_FIELDS = (
    "properties.timeZone,sheets.properties(sheetId,title,gridProperties(rowCount,columnCount))"
)
ENABLE_API_HINT = "Google Cloud console > APIs & Services > Library > Google Sheets API > Enable"


__all__ = ["GoogleSpreadsheet", "SheetMovedError", "TokenBucket", "spreadsheet_id"]


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
        self._guard = Guard(
            endpoint=self.api_endpoint,
            max_attempts=self.max_attempts,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            max_retry_after=self.max_retry_after,
            bucket=bucket,
            sleep=sleep,
            rng=rng or random.Random(),
        )
        self._http = GuardedHTTPClient(
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
        identity = load_credentials(path)
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
                [quote(name) for name in present],
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
        sheets = merge(plan.sheets)
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
            for value_range in value_ranges(sheet.sheet, sheet.cells, self.max_payload_bytes)
        ]
        parts = chunks(data, self.max_payload_bytes)
        for done, chunk in enumerate(parts):
            consequence = (
                "no cell was written (sheets may have been created or grown)"
                if done == 0
                else f"{done} of {len(parts)} parts were written; the next run completes the rest"
            )
            with self._translated("writing cells", consequence):
                self._values_batch_update(chunk)

    # -- calls --

    def _metadata(self, detail: bool = False) -> Metadata:
        """Sheet properties and layout marks; with `detail`, also what a layout replaces."""
        fields = ",".join((METADATA_FIELDS, MARK_FIELDS) + ((DETAIL_FIELDS,) if detail else ()))
        reply = self._http.fetch_sheet_metadata(self.spreadsheet_id, params={"fields": fields})
        sheets: dict[str, SheetInfo] = {}
        for sheet in reply.get("sheets", []):
            props = sheet.get("properties", {})
            grid = props.get("gridProperties", {})
            columns = int(grid.get("columnCount", 0))
            sheets[str(props.get("title", ""))] = SheetInfo(
                sheet_id=int(props.get("sheetId", 0)),
                rows=int(grid.get("rowCount", 0)),
                columns=columns,
                layout=existing(sheet, columns),
            )
        zone = reply.get("properties", {}).get("timeZone")
        self.time_zone = zone if isinstance(zone, str) else None
        return Metadata(sheets, self.time_zone)

    def _values_batch_update(self, data: list[dict[str, Any]]) -> None:
        from gspread.urls import SPREADSHEET_VALUES_BATCH_UPDATE_URL

        body = {"valueInputOption": "RAW", "includeValuesInResponse": False, "data": data}
        self._http.request(
            "post",
            SPREADSHEET_VALUES_BATCH_UPDATE_URL % self.spreadsheet_id,
            data=compact(body),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def _check_sheets_exist(self, sheets: Sequence[SheetWrite], meta: Metadata) -> None:
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

    def _verify_keys(self, sheets: Sequence[SheetWrite], meta: Metadata) -> None:
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
            column = column_letters(sheet.key_col)
            inside = top <= info.rows and sheet.key_col <= info.columns
            wanted = f"{quote(sheet.sheet)}!{column}{top}:{column}{max(top, bottom)}"
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

    def _restructure(self, sheets: Sequence[SheetWrite], meta: Metadata) -> None:
        """Create and grow sheets in one batchUpdate.

        A batchUpdate retried after a dropped reply may have been applied already: Google then
        refuses the repeated addSheet ("already exists"). Re-read the metadata once and send
        only what is still missing.
        """
        from gspread.exceptions import APIError

        structure = batch_requests(sheets, meta)
        if not structure:
            return
        try:
            self._http.batch_update(self.spreadsheet_id, {"requests": structure})
        except APIError as exc:
            message = str(exc.error.get("message", "")) if isinstance(exc.error, Mapping) else ""
            if status_of(exc) != 400 or "already exists" not in message:
                raise
            remaining = batch_requests(sheets, self._metadata(detail=True))
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
            status = status_of(exc) or exc.code
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
                    f"(spreadsheet.credentials); {SETUP}."
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
                    f"create a new JSON key for the service account; {SETUP}."
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
                f"is wrong: create a new JSON key for the service account; {SETUP}."
            )
        kind = type(exc).__name__
        if isinstance(exc, TransportError) or transient(exc):
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
