"""A local stand-in of the Google Sheets API v4 over real HTTP, for gspread and google-auth.

It serves, on 127.0.0.1 and a free port, in a background thread:

- `GET  /v4/spreadsheets/{id}` (spreadsheets.get, with `fields`)
- `POST /v4/spreadsheets/{id}:batchUpdate` (addSheet, deleteSheet, updateSheetProperties,
  updateSpreadsheetProperties, appendDimension, insertDimension, deleteDimension, sortRange, and
  the formatting requests of `decor.py`: formats, notes, widths, filter, data validation,
  conditional formats, protected ranges, charts, developer metadata)
- `GET|PUT /v4/spreadsheets/{id}/values/{range}`, `POST …/values/{range}:append|:clear`
- `GET /v4/spreadsheets/{id}/values:batchGet`, `POST …/values:batchUpdate|:batchClear`
- `POST /token`: the OAuth token endpoint of the service-account JWT flow (RS256 checked)

Errors use Google's JSON format. Every request is logged (method, path, API method, status,
bytes in and out). Faults can be injected (an HTTP status with `Retry-After`, a dropped
connection before or after the work is done, a slow reply, the API disabled), and hooks can run
before a matching request (to reorder rows between a run's read and its write, as staff do).
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .keys import JWT_GRANT, ServiceAccount, TokenError, verify_assertion
from .state import ApiError, Spreadsheet

PROJECT_NUMBER = "804571368514"
SHEETS_SERVICE = "sheets.googleapis.com"


@dataclass(frozen=True)
class Request:
    """What faults and hooks see of a request."""

    method: str
    path: str
    api: str  # "spreadsheets.get", "values.batchGet", "oauth.token", …
    query: Mapping[str, list[str]]
    spreadsheet_id: str | None


@dataclass(frozen=True)
class Call:
    """One line of the request log."""

    method: str
    path: str
    api: str
    status: int  # 0: the connection was dropped without a reply
    bytes_in: int
    bytes_out: int
    spreadsheet_id: str | None
    body: bytes = b""  # the request body, to inspect what a client sent


Match = Callable[[Request], bool]


@dataclass
class Fault:
    kind: str  # "status", "drop", "slow", "disabled"
    match: Match
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    after: bool = False  # "drop": do the work, then drop the connection
    hits: int = 0


@dataclass
class Hook:
    action: Callable[[], None]
    match: Match
    times: int = 1
    hits: int = 0


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _matcher(api: str | Sequence[str] | None, match: Match | None) -> Match:
    apis = (api,) if isinstance(api, str) else tuple(api or ())

    def matches(request: Request) -> bool:
        if request.api == "oauth.token" and "oauth.token" not in apis:
            return False
        if apis and request.api not in apis:
            return False
        return match(request) if match is not None else True

    return matches


def _json(status: int, body: Mapping[str, Any], headers: dict[str, str] | None = None) -> _Reply:
    data = json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
    return _Reply(
        status, data, {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
    )


_ERROR_TEXT = {
    429: (
        "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute "
        f"per user' of service '{SHEETS_SERVICE}' for consumer 'project_number:{PROJECT_NUMBER}'."
    ),
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "Deadline expired before operation could complete.",
}


def error_reply(status: int, retry_after: str | None = None) -> _Reply:
    """What Google sends for an injected status (a 502 comes as the front end's HTML page)."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    if status == 502:
        page = (
            "<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Error 502 (Server Error)!!1"
            "</title><p><b>502.</b> <ins>That’s an error.</ins><p>The server encountered a "
            "temporary error and could not complete your request.<p>Please try again in 30 "
            "seconds.  <ins>That’s all we know.</ins>"
        ).encode()
        return _Reply(502, page, {"Content-Type": "text/html; charset=UTF-8", **headers})
    error = ApiError(status, _ERROR_TEXT.get(status, "Request failed."))
    if status == 429:
        error.details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_metric": f"{SHEETS_SERVICE}/write_requests",
                    "quota_limit": "WriteRequestsPerMinutePerUser",
                    "service": SHEETS_SERVICE,
                    "consumer": f"projects/{PROJECT_NUMBER}",
                },
            }
        ]
    return _json(status, error.body(), headers)


def disabled_reply() -> _Reply:
    link = (
        f"https://console.developers.google.com/apis/api/{SHEETS_SERVICE}/overview"
        f"?project={PROJECT_NUMBER}"
    )
    error = ApiError(
        403,
        f"Google Sheets API has not been used in project {PROJECT_NUMBER} before or it is "
        f"disabled. Enable it by visiting {link} then retry. If you enabled this API recently, "
        "wait a few minutes for the action to propagate to our systems and retry.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": SHEETS_SERVICE,
                    "consumer": f"projects/{PROJECT_NUMBER}",
                    "serviceTitle": "Google Sheets API",
                    "activationUrl": link,
                    "containerInfo": PROJECT_NUMBER,
                },
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Google developers console API activation", "url": link}],
            },
        ],
    )
    return _json(403, error.body())


def _classify(method: str, raw_path: str) -> tuple[str, str | None, str | None]:
    """(API method, spreadsheet id, range) from the raw (still percent-encoded) path."""
    if raw_path == "/token":
        return "oauth.token", None, None
    prefix = "/v4/spreadsheets/"
    if not raw_path.startswith(prefix):
        return "unknown", None, None
    rest = raw_path[len(prefix) :]
    head, slash, tail = rest.partition("/")
    if not slash:
        if head.endswith(":batchUpdate"):
            return "spreadsheets.batchUpdate", unquote(head[: -len(":batchUpdate")]), None
        return "spreadsheets.get", unquote(head), None
    spreadsheet_id = unquote(head)
    for suffix, api in (
        ("values:batchGet", "values.batchGet"),
        ("values:batchUpdate", "values.batchUpdate"),
        ("values:batchClear", "values.batchClear"),
    ):
        if tail == suffix:
            return api, spreadsheet_id, None
    if tail.startswith("values/"):
        range_part = tail[len("values/") :]
        for suffix, api in ((":append", "values.append"), (":clear", "values.clear")):
            if range_part.endswith(suffix):
                return api, spreadsheet_id, unquote(range_part[: -len(suffix)])
        return (
            ("values.update" if method == "PUT" else "values.get"),
            spreadsheet_id,
            unquote(range_part),
        )
    return "unknown", spreadsheet_id, None


_ALLOWED_METHODS = {
    "spreadsheets.get": "GET",
    "spreadsheets.batchUpdate": "POST",
    "values.get": "GET",
    "values.update": "PUT",
    "values.append": "POST",
    "values.clear": "POST",
    "values.batchGet": "GET",
    "values.batchUpdate": "POST",
    "values.batchClear": "POST",
    "oauth.token": "POST",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _serve(self) -> None:
        self.server.standin._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: SheetsStandIn


class SheetsStandIn:
    """The stand-in: start it, seed spreadsheets, point `api_endpoint` and `token_uri` at it."""

    def __init__(self, *, seed: int = 0, require_auth: bool = True) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.accounts: dict[str, ServiceAccount] = {}
        self.tokens: dict[str, str] = {}
        self.log: list[Call] = []
        self.faults: list[Fault] = []
        self.hooks: list[Hook] = []
        self.api_disabled = False
        self.require_auth = require_auth
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle --

    def start(self) -> SheetsStandIn:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.standin = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sheets-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SheetsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    # -- state --

    def new_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self._rng.choice(alphabet) for _ in range(43))

    def create_spreadsheet(
        self,
        sheets: Mapping[str, Sequence[Sequence[object]]] | None = None,
        *,
        spreadsheet_id: str | None = None,
        title: str = "Diplomates des territoires",
        locale: str = "fr_FR",
        time_zone: str = "Europe/Paris",
        shared_with: Sequence[str] | None = None,
        first_sheet: str | None = None,
    ) -> Spreadsheet:
        """A spreadsheet holding `sheets` (name → rows); `shared_with` None: anyone may open it.

        Without sheets, it has Google's default `Sheet1`, as a new spreadsheet does.
        """
        if first_sheet is None and not sheets:
            first_sheet = "Sheet1"
        with self.lock:
            spreadsheet = Spreadsheet(
                spreadsheet_id or self.new_id(),
                title,
                locale=locale,
                time_zone=time_zone,
                shared_with=shared_with,
                rng=random.Random(self._rng.random()),
                first_sheet=first_sheet,
            )
            for number, (name, rows) in enumerate((sheets or {}).items()):
                # Google numbers the first sheet 0 and picks random ids for the others.
                first = number == 0 and not spreadsheet.sheets
                spreadsheet.add_sheet(name, rows, sheet_id=0 if first else None)
            self.spreadsheets[spreadsheet.id] = spreadsheet
            return spreadsheet

    def register(self, account: ServiceAccount) -> ServiceAccount:
        self.accounts[account.email] = account
        return account

    def issue_token(self, email: str) -> str:
        token = "ya29.standin-" + "".join(self._rng.choice(string.ascii_letters) for _ in range(32))
        self.tokens[token] = email
        return token

    # -- faults and hooks --

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        api: str | Sequence[str] | None = None,
        match: Match | None = None,
    ) -> Fault:
        """Answer the next `times` matching requests with `status` in Google's error format."""
        fault = Fault("status", _matcher(api, match), times, status=status, retry_after=retry_after)
        self.faults.append(fault)
        return fault

    def drop_connection(
        self,
        *,
        times: int = 1,
        after: bool = False,
        api: str | Sequence[str] | None = None,
        match: Match | None = None,
    ) -> Fault:
        """Close the connection without a reply (`after`: once the request has been applied)."""
        fault = Fault("drop", _matcher(api, match), times, after=after)
        self.faults.append(fault)
        return fault

    def slow(
        self,
        delay: float,
        *,
        times: int = 1,
        api: str | Sequence[str] | None = None,
        match: Match | None = None,
    ) -> Fault:
        """Wait `delay` seconds before answering (then answer normally)."""
        fault = Fault("slow", _matcher(api, match), times, delay=delay)
        self.faults.append(fault)
        return fault

    def disable_api(self, disabled: bool = True) -> None:
        """Answer every API request as Google does when the API is off in the Cloud project."""
        self.api_disabled = disabled

    def before(
        self,
        action: Callable[[], None],
        *,
        times: int = 1,
        api: str | Sequence[str] | None = None,
        match: Match | None = None,
    ) -> Hook:
        """Run `action` before serving the next `times` matching requests."""
        hook = Hook(action, _matcher(api, match), times)
        self.hooks.append(hook)
        return hook

    def reorder_rows_before(
        self,
        spreadsheet_id: str,
        sheet: str,
        order: Sequence[int],
        *,
        api: str | Sequence[str] | None = None,
        match: Match | None = None,
    ) -> Hook:
        """Reorder rows (as staff sorting the sheet) just before the next matching request."""
        spreadsheet = self.spreadsheets[spreadsheet_id]
        return self.before(lambda: spreadsheet.reorder_rows(sheet, order), api=api, match=match)

    # -- log --

    def calls(self, api: str | None = None, *, spreadsheet_id: str | None = None) -> list[Call]:
        """Logged API calls (the token endpoint only when asked for by `api="oauth.token"`)."""
        with self.lock:
            return [
                call
                for call in self.log
                if (call.api == api if api else call.api != "oauth.token")
                and (spreadsheet_id is None or call.spreadsheet_id == spreadsheet_id)
            ]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    # -- serving --

    def _take(self, items: Sequence[Any], request: Request) -> Iterator[Any]:
        for item in items:
            if item.hits < item.times and item.match(request):
                item.hits += 1
                yield item

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        api, spreadsheet_id, range_text = _classify(handler.command, parts.path)
        request = Request(handler.command, parts.path, api, query, spreadsheet_id)
        bytes_in = len(handler.requestline) + 2 + len(str(handler.headers)) + len(body)
        with self.lock:
            hooks = list(self._take(self.hooks, request))
            fault = next(self._take(self.faults, request), None)
        for hook in hooks:
            with self.lock:
                hook.action()
        reply: _Reply | None
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(fault.delay)
        if fault is not None and fault.kind == "drop" and not fault.after:
            reply = None
        elif fault is not None and fault.kind == "status":
            reply = error_reply(fault.status, fault.retry_after)
        else:
            reply = self._answer(handler, request, range_text, body)
            if fault is not None and fault.kind == "drop":
                reply = None
        self._send(handler, request, reply, bytes_in, body)

    def _send(
        self,
        handler: _Handler,
        request: Request,
        reply: _Reply | None,
        bytes_in: int,
        body: bytes,
    ) -> None:
        if reply is None:
            handler.close_connection = True
            self._record(request, 0, bytes_in, 0, body)
            return
        reason = handler.responses.get(reply.status, ("",))[0]
        head = [f"HTTP/1.1 {reply.status} {reason}", f"Content-Length: {len(reply.body)}"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        head.append("Date: " + handler.date_time_string())
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body
        # Logged before the reply leaves, so a client that got its reply sees its call logged.
        self._record(request, reply.status, bytes_in, len(data), body)
        try:
            handler.wfile.write(data)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True  # the client gave up (a timeout): nothing to do

    def _record(
        self, request: Request, status: int, bytes_in: int, bytes_out: int, body: bytes
    ) -> None:
        with self.lock:
            self.log.append(
                Call(
                    request.method,
                    request.path,
                    request.api,
                    status,
                    bytes_in,
                    bytes_out,
                    request.spreadsheet_id,
                    body,
                )
            )

    def _answer(
        self, handler: _Handler, request: Request, range_text: str | None, body: bytes
    ) -> _Reply:
        if request.api == "unknown" or _ALLOWED_METHODS.get(request.api) != request.method:
            return _json(404, ApiError(404, "Method not found.").body())
        if request.api == "oauth.token":
            return self._token(body)
        if self.api_disabled:
            return disabled_reply()
        try:
            payload: Any = json.loads(body) if body else {}
        except ValueError:
            return _json(400, ApiError(400, "Invalid JSON payload received.").body())
        try:
            with self.lock:
                spreadsheet, caller = self._authorize(handler, request.spreadsheet_id)
                reply = self._dispatch(spreadsheet, request, range_text, payload, caller)
                return _json(200, reply)
        except ApiError as exc:
            return _json(exc.code, exc.body())

    def _authorize(
        self, handler: _Handler, spreadsheet_id: str | None
    ) -> tuple[Spreadsheet, str | None]:
        email: str | None = None
        if self.require_auth:
            header = handler.headers.get("Authorization", "")
            if not header:
                raise ApiError(
                    401,
                    "Request is missing required authentication credential. Expected OAuth 2 "
                    "access token, login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                )
            email = self.tokens.get(header.removeprefix("Bearer ").strip())
            if email is None:
                raise ApiError(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                )
        spreadsheet = self.spreadsheets.get(spreadsheet_id or "")
        if spreadsheet is None:
            raise ApiError(404, "Requested entity was not found.")
        if spreadsheet.shared_with is not None and (
            email is None or email not in spreadsheet.shared_with
        ):
            raise ApiError(403, "The caller does not have permission")
        return spreadsheet, email

    @staticmethod
    def _dispatch(
        spreadsheet: Spreadsheet,
        request: Request,
        range_text: str | None,
        payload: Any,
        caller: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ApiError(400, "Invalid JSON payload received. Expected an object.")
        query = request.query
        api = request.api
        if api == "spreadsheets.get":
            return spreadsheet.get(query)
        if api == "spreadsheets.batchUpdate":
            return _atomic(spreadsheet, lambda: spreadsheet.batch_update(payload, caller))
        if api == "values.batchGet":
            return spreadsheet.values_batch_get(query)
        if api == "values.batchUpdate":
            return _atomic(spreadsheet, lambda: spreadsheet.values_batch_update(payload))
        if api == "values.batchClear":
            return _atomic(spreadsheet, lambda: spreadsheet.values_batch_clear(payload))
        assert range_text is not None
        if api == "values.get":
            return spreadsheet.values_get(range_text, query)
        if api == "values.update":
            return _atomic(
                spreadsheet, lambda: spreadsheet.values_update(range_text, query, payload)
            )
        if api == "values.append":
            return _atomic(
                spreadsheet, lambda: spreadsheet.values_append(range_text, query, payload)
            )
        return spreadsheet.values_clear(range_text)

    def _token(self, body: bytes) -> _Reply:
        form = parse_qs(body.decode("utf-8", "replace"))
        try:
            if form.get("grant_type", [""])[0] != JWT_GRANT:
                raise TokenError("unsupported_grant_type", "Invalid grant_type.")
            claims = verify_assertion(
                form.get("assertion", [""])[0], self.accounts, self.token_uri, time.time()
            )
        except TokenError as exc:
            return _json(400, {"error": exc.error, "error_description": exc.description})
        with self.lock:
            token = self.issue_token(str(claims["iss"]))
        return _json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})


def _atomic(spreadsheet: Spreadsheet, apply: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """All or nothing, as Google applies a request: restore the state when it fails."""
    saved = spreadsheet.snapshot()
    try:
        return apply()
    except ApiError:
        spreadsheet.restore(saved)
        raise
