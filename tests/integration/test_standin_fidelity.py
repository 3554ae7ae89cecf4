"""The stand-in answers as Google does: replay gspread's recorded API exchanges against it.

tests/data/gspread-cassettes holds real request/response pairs recorded against the Sheets API v4
by gspread's own test suite (vcrpy JSON; gspread's MIT notice in its README.md and LICENSE.txt).
Each cassette whose Sheets calls the stand-in implements is replayed request by request, in order,
over HTTP; every reply must have the recorded status and the same JSON.

What the replay does not take from the stand-in, said explicitly:

- Drive API calls are not replayed (the stand-in serves the Sheets API only). A recorded
  `files.create` of a spreadsheet seeds the stand-in with a new spreadsheet with the recorded id
  and title (the account's defaults: locale en_US, time zone Etc/GMT, one `Sheet1` of
  1000 x 26); `files.delete` drops it; `files.get` (modification times) is skipped. A
  spreadsheet used without a recorded creation is seeded the same way when first used; one
  first answered 403 is seeded as not shared with the caller; one answered 404 is not seeded.
- Ids Google picks at random (sheets added by `addSheet`, ranges added by `addProtectedRange`)
  are random at the stand-in too: each recorded id is mapped to the stand-in's id when the reply
  that creates it arrives, requests are rewritten with the stand-in's ids and replies compared
  with the recorded ids. Nothing else is ignored: the Sheets API v4 replies here carry no etag
  or timestamp.
- Credentials were filtered out of the recordings; the replay authenticates with a token the
  stand-in issued for the service account that made the recordings (its address shows in
  replies: the editors of a protected range).

A cassette that uses a call the stand-in does not implement is skipped, and the skip names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from tests.support.sheets_standin import SheetsStandIn

CASSETTES = Path(__file__).resolve().parents[1] / "data" / "gspread-cassettes"

IMPLEMENTED_REQUESTS = {
    "addSheet",
    "deleteSheet",
    "updateSheetProperties",
    "updateSpreadsheetProperties",
    "appendDimension",
    "insertDimension",
    "deleteDimension",
    "sortRange",
    # formatting (sheets_standin/decor.py)
    "repeatCell",
    "updateCells",
    "updateDimensionProperties",
    "setBasicFilter",
    "clearBasicFilter",
    "setDataValidation",
    "addConditionalFormatRule",
    "deleteConditionalFormatRule",
    "addProtectedRange",
    "deleteProtectedRange",
    "addChart",
    "deleteEmbeddedObject",
    "createDeveloperMetadata",
    "updateDeveloperMetadata",
    "deleteDeveloperMetadata",
}
RECORDING_ACCOUNT = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"
RANDOM_IDS = {"addSheet": "sheetId", "addProtectedRange": "protectedRangeId"}
SHEETS_HOST = "sheets.googleapis.com"
DRIVE_FILES = "/drive/v3/files"


def _cassettes() -> list[Path]:
    return sorted(CASSETTES.glob("*.json"))


def _interactions(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["interactions"])


def _body(exchange: dict[str, Any]) -> str:
    body = exchange.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    return body or ""


def unsupported(interactions: list[dict[str, Any]]) -> str | None:
    """Why this cassette cannot be replayed against the stand-in, or None."""
    for interaction in interactions:
        request = interaction["request"]
        url = urlsplit(request["uri"])
        method = request["method"]
        query = parse_qs(url.query)
        if url.hostname != SHEETS_HOST:
            if url.path == DRIVE_FILES and method == "POST":
                continue  # a spreadsheet is created: seed it
            if url.path.startswith(DRIVE_FILES + "/") and url.path.count("/") == 4:
                if method in ("DELETE", "GET"):
                    continue  # dropped / Drive metadata, not part of the Sheets API
            return f"uses the Drive API ({method} {url.path.split('/', 4)[-1] or 'files'})"
        tail = url.path.split("/v4/spreadsheets/", 1)[1]
        if "/" not in tail and ":" not in tail:
            if query.get("includeGridData") == ["true"] or "ranges" in query:
                return "asks spreadsheets.get for grid data (includeGridData/ranges)"
        if tail.endswith(":batchUpdate") and "/values" not in tail:
            for item in json.loads(_body(request))["requests"]:
                kind = next(iter(item))
                if kind not in IMPLEMENTED_REQUESTS:
                    return f"uses batchUpdate request {kind}"
        if "/values/" in tail and ":" in tail.rsplit("/", 1)[-1]:
            action = tail.rsplit(":", 1)[-1]
            if action not in ("append", "clear"):
                return f"uses values:{action}"
    return None


def _walk_ids(value: Any, mapping: dict[str, dict[int, int]]) -> Any:
    """Replace every id value (`sheetId`, `protectedRangeId`) found in `mapping` (deep copy)."""
    if isinstance(value, dict):
        return {
            key: (
                mapping[key].get(item, item)
                if key in mapping and isinstance(item, int)
                else _walk_ids(item, mapping)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_walk_ids(item, mapping) for item in value]
    return value


class Replay:
    """Plays one cassette against a stand-in."""

    def __init__(self, standin: SheetsStandIn) -> None:
        self.standin = standin
        self.session = requests.Session()
        self.token = standin.issue_token(RECORDING_ACCOUNT)
        # id field → recorded id → the stand-in's
        self.to_standin: dict[str, dict[int, int]] = {key: {} for key in RANDOM_IDS.values()}
        self.known: set[str] = set()

    def seed_first_use(self, spreadsheet_id: str, interactions: list[dict[str, Any]]) -> None:
        """A spreadsheet used before any recorded creation: seed what the recording implies."""
        if spreadsheet_id in self.known:
            return
        self.known.add(spreadsheet_id)
        first_status = None
        title = "Untitled spreadsheet"
        for interaction in interactions:
            if spreadsheet_id not in interaction["request"]["uri"]:
                continue
            status = interaction["response"]["status"]["code"]
            first_status = first_status or status
            body = _body(interaction["response"])
            if status == 200 and '"properties"' in body and '"spreadsheetUrl"' in body:
                title = json.loads(body)["properties"]["title"]
                break
        if first_status == 404:
            return
        shared = ["someone-else@example.org"] if first_status == 403 else None
        self.standin.create_spreadsheet(
            spreadsheet_id=spreadsheet_id,
            title=title,
            locale="en_US",
            time_zone="Etc/GMT",
            shared_with=shared,
        )

    def play(self, interactions: list[dict[str, Any]]) -> Iterator[tuple[str, Any, Any]]:
        """Yield (what, expected, got) for every Sheets exchange."""
        for number, interaction in enumerate(interactions):
            request, response = interaction["request"], interaction["response"]
            url = urlsplit(request["uri"])
            if url.hostname != SHEETS_HOST:
                self.drive(request, response)
                continue
            tail = url.path.split("/v4/spreadsheets/", 1)[1]
            spreadsheet_id = unquote(tail.split("/", 1)[0].split(":", 1)[0])
            self.seed_first_use(spreadsheet_id, interactions[number:])
            body = _body(request)
            data = None
            if body:
                data = json.dumps(_walk_ids(json.loads(body), self.to_standin)).encode()
            reply = self.session.request(
                request["method"],
                self.standin.url + url.path + (f"?{url.query}" if url.query else ""),
                data=data,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    **({"Content-Type": "application/json"} if data is not None else {}),
                },
                timeout=10,
            )
            expected_body = _body(response)
            expected = {
                "status": response["status"]["code"],
                "json": json.loads(expected_body) if expected_body else None,
            }
            got_json = reply.json() if reply.content else None
            self.learn_ids(expected["json"], got_json)
            back = {
                key: {new: old for old, new in ids.items()} for key, ids in self.to_standin.items()
            }
            got = {"status": reply.status_code, "json": _walk_ids(got_json, back)}
            yield f"#{number} {request['method']} {unquote(url.path)}?{url.query}", expected, got

    def learn_ids(self, expected: Any, got: Any) -> None:
        if not isinstance(expected, dict) or not isinstance(got, dict):
            return
        for mine, theirs in zip(got.get("replies", []), expected.get("replies", []), strict=False):
            for kind, key in RANDOM_IDS.items():
                if kind in mine and kind in theirs:
                    recorded = next(iter(theirs[kind].values()))[key]
                    actual = next(iter(mine[kind].values()))[key]
                    assert isinstance(actual, type(recorded)), f"{key} must have the recorded type"
                    self.to_standin[key][recorded] = actual

    def drive(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        url = urlsplit(request["uri"])
        if request["method"] == "POST" and url.path == DRIVE_FILES:
            created = json.loads(_body(response))
            self.known.add(created["id"])
            self.standin.create_spreadsheet(
                spreadsheet_id=created["id"],
                title=json.loads(_body(request))["name"],
                locale="en_US",
                time_zone="Etc/GMT",
            )
        elif request["method"] == "DELETE":
            self.standin.spreadsheets.pop(url.path.rsplit("/", 1)[1], None)


def test_cassettes_ship_with_the_repository() -> None:
    """The recordings and gspread's MIT notice are in the repository, so the replay runs anywhere."""
    assert len(_cassettes()) >= 100
    assert "Permission is hereby granted" in (CASSETTES / "LICENSE.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("cassette", _cassettes(), ids=lambda path: path.stem)
def test_standin_replies_as_google_did(cassette: Path) -> None:
    """Every Sheets call of the recording gets the recorded status and identical JSON."""
    interactions = _interactions(cassette)
    reason = unsupported(interactions)
    if reason:
        pytest.skip(f"{cassette.stem} {reason}, which the stand-in does not implement")
    with SheetsStandIn() as standin:
        replay = Replay(standin)
        compared = 0
        for what, expected, got in replay.play(interactions):
            assert got == expected, f"{cassette.stem} {what}"
            compared += 1
    assert compared > 0
