"""The guarded HTTP layer every Sheets call goes through.

The configured endpoint, explicit connect and read timeouts, a client-side token bucket under the
60 requests per minute per user quota, and bounded, jittered exponential retries (tenacity) on
429/500/502/503/504 and connection errors, honouring `Retry-After`. `GuardedHTTPClient` is
gspread's own HTTP client with every request routed through a `Guard`.

This module imports gspread, google-auth, requests and tenacity: the adapter imports it when a
backend is built, so `diplomates --help` stays fast.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from google.auth.exceptions import TransportError
from google.auth.transport.requests import AuthorizedSession
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from tenacity import Retrying, retry_if_exception

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from gspread.http_client import FileType, ParamsType
    from requests import Response
    from tenacity import RetryCallState

log = logging.getLogger(__name__)

GOOGLE_ENDPOINT = "https://sheets.googleapis.com"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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


def status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def transient(exc: BaseException) -> bool:
    """True for what a retry may cure: 429, 5xx from the list, dropped or slow connections."""
    if isinstance(exc, APIError):
        return status_of(exc) in RETRY_STATUSES
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


class Guard:
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
            retry=retry_if_exception(transient),
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
    status = status_of(exc)
    if status is not None:
        return f"HTTP {status}"
    return type(exc).__name__


class GuardedHTTPClient(HTTPClient):
    """gspread's HTTP client, every request sent through `guard` (endpoint, rate, retries)."""

    def __init__(
        self, credentials: Credentials, guard: Guard, timeout: tuple[float, float]
    ) -> None:
        # The token request (to the key file's token_uri) gets the same read timeout.
        session = AuthorizedSession(credentials, refresh_timeout=timeout[1])  # type: ignore[no-untyped-call]
        super().__init__(credentials, session=session)
        self.guard = guard
        self.set_timeout(timeout)

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
        url = self.guard.url(endpoint)

        def send() -> Response:
            return super(GuardedHTTPClient, self).request(
                method, url, params, data, json, files, headers
            )

        return self.guard.call(method, url, send)
