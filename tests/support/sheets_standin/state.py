"""The stand-in's spreadsheets: sheets, grids and cells, and the API methods that act on them.

Each method takes the request's query and JSON body and returns the JSON reply, or raises
`ApiError`, which the server turns into Google's error format. Nothing here does I/O.
"""

from __future__ import annotations

import copy
import functools
import math
import random
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import a1, cells, fields
from .cells import Cell
from .decor import Decor, DecorMixin
from .google_defaults import spreadsheet_properties

Query = Mapping[str, list[str]]

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

VALUE_RENDER = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_RENDER = ("SERIAL_NUMBER", "FORMATTED_STRING")
DIMENSIONS = ("ROWS", "COLUMNS")
INPUT_OPTIONS = ("RAW", "USER_ENTERED")


class ApiError(Exception):
    """An error reply: HTTP code, Google's status name, message and optional details."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS.get(code, "UNKNOWN")
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid_value(field_name: str, type_name: str, value: object) -> ApiError:
    text = f"Invalid value at '{field_name}' ({type_name}), \"{value}\""
    return ApiError(
        400,
        text,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field_name, "description": text}],
            }
        ],
    )


def _one(query: Query, name: str, default: str | None = None) -> str | None:
    values = query.get(name)
    return values[-1] if values else default


def _enum(query: Query, name: str, allowed: Sequence[str], default: str, proto: str) -> str:
    value = _one(query, name, default) or default
    if value not in allowed:
        snake = "".join("_" + c.lower() if c.isupper() else c for c in name)
        raise invalid_value(snake, f"type.googleapis.com/google.apps.sheets.v4.{proto}", value)
    return value


def _bool(query: Query, name: str) -> bool:
    return (_one(query, name, "false") or "false").lower() == "true"


def _drop_zero(reply: dict[str, Any]) -> dict[str, Any]:
    """proto3 JSON leaves out integer fields that are zero."""
    return {key: value for key, value in reply.items() if value != 0 or isinstance(value, bool)}


def _float32(value: float) -> float:
    target = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        candidate = float(f"{target:.{digits}g}")
        if struct.unpack("f", struct.pack("f", candidate))[0] == target:
            return candidate
    return float(target)


def _color(color: Mapping[str, Any]) -> dict[str, Any]:
    """Colours are stored with 8 bits per channel, shown as float32; zero channels left out."""
    out: dict[str, Any] = {}
    for name, value in color.items():
        if name in ("red", "green", "blue", "alpha") and isinstance(value, int | float):
            stored = _float32(math.floor(float(value) * 255 + 1e-6) / 255)
            if stored:
                out[name] = int(stored) if stored.is_integer() else stored
        else:
            out[name] = value
    return out


_DEFAULT_FALSE = ("hidden", "rightToLeft", "hideGridlines", "rowGroupControlAfter")
_DEFAULT_ZERO = ("frozenRowCount", "frozenColumnCount")


def _normalize_properties(props: dict[str, Any]) -> dict[str, Any]:
    for name in _DEFAULT_FALSE:
        if props.get(name) is False:
            del props[name]
    grid = props.get("gridProperties")
    if isinstance(grid, dict):
        for name in (*_DEFAULT_ZERO, *_DEFAULT_FALSE):
            if grid.get(name) in (0, False) and name in grid:
                del grid[name]
    if isinstance(props.get("tabColor"), dict):
        props["tabColor"] = _color(props["tabColor"])
    style = props.get("tabColorStyle")
    if isinstance(style, dict) and isinstance(style.get("rgbColor"), dict):
        style["rgbColor"] = _color(style["rgbColor"])
    return props


def _get_path(data: Mapping[str, Any], path: Sequence[str]) -> tuple[bool, Any]:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _set_path(data: dict[str, Any], path: Sequence[str], present: bool, value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if not present:
                return
            child = node[part] = {}
        node = child
    value = _without_nulls(value)
    if present and value not in (None, {}):
        node[path[-1]] = value
    else:
        node.pop(path[-1], None)


def _without_nulls(value: Any) -> Any:
    """JSON null unsets a field; a message left empty by that is unset too."""
    if isinstance(value, dict):
        kept = {k: _without_nulls(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return copy.deepcopy(value)


@dataclass
class Sheet:
    properties: dict[str, Any]
    rows: dict[int, dict[int, Cell]] = field(default_factory=dict)
    decor: Decor = field(default_factory=Decor)  # formats, validation, filter, charts, …

    @property
    def sheet_id(self) -> int:
        return int(self.properties["sheetId"])

    @property
    def title(self) -> str:
        return str(self.properties["title"])

    @property
    def row_count(self) -> int:
        return int(self.properties["gridProperties"].get("rowCount", 0))

    @property
    def column_count(self) -> int:
        return int(self.properties["gridProperties"].get("columnCount", 0))

    def cell(self, row: int, col: int) -> Cell | None:
        return self.rows.get(row, {}).get(col)

    def put(self, row: int, col: int, cell: Cell | None) -> None:
        if cell is None:
            line = self.rows.get(row)
            if line is not None:
                line.pop(col, None)
                if not line:
                    del self.rows[row]
        else:
            self.rows.setdefault(row, {})[col] = cell

    def clear(self, top: int, left: int, bottom: int, right: int) -> None:
        for row in [r for r in self.rows if top <= r <= bottom]:
            for col in [c for c in self.rows[row] if left <= c <= right]:
                self.put(row, col, None)

    def crop(self) -> None:
        """Drop cells outside the grid (after the grid shrank)."""
        for row in list(self.rows):
            if row > self.row_count:
                del self.rows[row]
                continue
            for col in [c for c in self.rows[row] if c > self.column_count]:
                self.put(row, col, None)

    def shift(self, dimension: str, start: int, count: int) -> None:
        """Move every row (or column) at or after `start` (1-based) by `count` (negative: up)."""
        if dimension == "ROWS":
            self.rows = {(r + count if r >= start else r): line for r, line in self.rows.items()}
        else:
            self.rows = {
                r: {(c + count if c >= start else c): cell for c, cell in line.items()}
                for r, line in self.rows.items()
            }

    def table(self) -> list[list[object]]:
        """Every value, unformatted, as rows (for assertions)."""
        if not self.rows:
            return []
        out: list[list[object]] = []
        for row in range(1, max(self.rows) + 1):
            line = self.rows.get(row, {})
            values = [
                cells.render(line.get(c), "UNFORMATTED_VALUE", "SERIAL_NUMBER")
                for c in range(1, max(line, default=0) + 1)
            ]
            out.append(values)
        return out


@dataclass(frozen=True)
class Area:
    sheet: Sheet
    top: int
    left: int
    bottom: int
    right: int
    single: bool  # the range named one cell: a write may extend from it

    def name(self) -> str:
        return a1.format_range(self.sheet.title, self.top, self.left, self.bottom, self.right)


class Spreadsheet(DecorMixin):
    def __init__(
        self,
        spreadsheet_id: str,
        title: str,
        *,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
        shared_with: Iterable[str] | None = None,
        rng: random.Random | None = None,
        first_sheet: str | None = "Sheet1",
    ) -> None:
        self.id = spreadsheet_id
        self.properties = spreadsheet_properties(title, locale, time_zone)
        self.sheets: list[Sheet] = []
        self.shared_with = set(shared_with) if shared_with is not None else None
        self.named_ranges: list[dict[str, Any]] = []
        self._rng = rng or random.Random(0)
        if first_sheet is not None:
            self._new_sheet({"sheetId": 0, "title": first_sheet})

    # -- sheets --

    def sheet(self, title: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        for sheet in self.sheets:
            if sheet.title.casefold() == title.casefold():
                return sheet
        return None

    def sheet_by_id(self, sheet_id: object) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        return None

    def _reindex(self) -> None:
        for index, sheet in enumerate(self.sheets):
            sheet.properties["index"] = index

    def _new_sheet(self, requested: Mapping[str, Any]) -> Sheet:
        props = copy.deepcopy(dict(requested))
        if "sheetId" in props:
            if self.sheet_by_id(props["sheetId"]) is not None:
                raise ApiError(400, f"A sheet with the id {props['sheetId']} already exists.")
        else:
            while True:
                candidate = self._rng.randrange(1, 2**31 - 1)
                if self.sheet_by_id(candidate) is None:
                    break
            props["sheetId"] = candidate
        title = props.get("title")
        if not title:
            number = len(self.sheets) + 1
            while self.sheet(f"Sheet{number}") is not None:
                number += 1
            title = f"Sheet{number}"
        if self.sheet(str(title)) is not None:
            raise ApiError(
                400, f'A sheet with the name "{title}" already exists. Please enter another name.'
            )
        grid = dict(props.get("gridProperties") or {})
        grid.setdefault("rowCount", 1000)
        grid.setdefault("columnCount", 26)
        index = props.get("index", len(self.sheets))
        ordered: dict[str, Any] = {
            "sheetId": props["sheetId"],
            "title": title,
            "index": index,
            "sheetType": props.get("sheetType", "GRID"),
            "gridProperties": grid,
        }
        for key, value in props.items():
            if key not in ordered:
                ordered[key] = value
        sheet = Sheet(_normalize_properties(ordered))
        self.sheets.insert(min(int(index), len(self.sheets)), sheet)
        self._reindex()
        return sheet

    def add_sheet(
        self,
        title: str,
        rows: Sequence[Sequence[object]] = (),
        *,
        sheet_id: int | None = None,
        row_count: int | None = None,
        column_count: int | None = None,
    ) -> Sheet:
        """Seed a sheet with values (RAW semantics; a `Cell` is stored as given)."""
        width = max((len(row) for row in rows), default=0)
        props: dict[str, Any] = {
            "title": title,
            "gridProperties": {
                "rowCount": row_count or max(1000, len(rows)),
                "columnCount": column_count or max(26, width),
            },
        }
        if sheet_id is not None:
            props["sheetId"] = sheet_id
        sheet = self._new_sheet(props)
        self.fill(sheet, rows)
        return sheet

    @staticmethod
    def fill(sheet: Sheet, rows: Sequence[Sequence[object]], top: int = 1) -> None:
        for r, row in enumerate(rows, start=top):
            for c, value in enumerate(row, start=1):
                sheet.put(r, c, value if isinstance(value, Cell) else cells.raw_cell(value))

    def snapshot(self) -> tuple[Any, ...]:
        """Enough to undo a failed request (cells are immutable: copying the maps suffices)."""
        return (
            copy.deepcopy(self.properties),
            list(self.sheets),
            [
                (
                    s,
                    copy.deepcopy(s.properties),
                    {r: dict(line) for r, line in s.rows.items()},
                    copy.deepcopy(s.decor),
                )
                for s in self.sheets
            ],
        )

    def restore(self, saved: tuple[Any, ...]) -> None:
        properties, sheets, contents = saved
        self.properties = properties
        self.sheets = sheets
        for sheet, props, rows, decor in contents:
            sheet.properties = props
            sheet.rows = rows
            sheet.decor = decor

    # -- ranges --

    def area(self, text: str) -> Area:
        try:
            ref = a1.parse(text)
        except a1.RangeError:
            raise ApiError(400, f"Unable to parse range: {text}") from None
        if ref.sheet is None:
            visible = [s for s in self.sheets if not s.properties.get("hidden")]
            sheet = visible[0] if visible else self.sheets[0]
        else:
            found = self.sheet(ref.sheet)
            if found is None:
                raise ApiError(400, f"Unable to parse range: {text}")
            sheet = found
        if ref.whole_sheet:
            return Area(sheet, 1, 1, sheet.row_count, sheet.column_count, False)
        top = ref.top or 1
        left = ref.left or 1
        bottom = ref.bottom if ref.bottom is not None else sheet.row_count
        right = ref.right if ref.right is not None else sheet.column_count
        single = (
            ref.top == ref.bottom
            and ref.left == ref.right
            and ref.top is not None
            and ref.left is not None
        )
        area = Area(sheet, top, left, bottom, right, single)
        self._inside_grid(area, bottom, right)
        return area

    @staticmethod
    def _inside_grid(area: Area, bottom: int, right: int) -> None:
        sheet = area.sheet
        if bottom > sheet.row_count or right > sheet.column_count:
            start = f"{a1.column_letters(area.left)}{area.top}"
            end = f"{a1.column_letters(right)}{bottom}"
            cells_ = start if (area.top, area.left) == (bottom, right) else f"{start}:{end}"
            raise ApiError(
                400,
                f"Range ('{sheet.title.replace(chr(39), chr(39) * 2)}'!{cells_}) exceeds grid "
                f"limits. Max rows: {sheet.row_count}, max columns: {sheet.column_count}",
            )

    # -- spreadsheets.get --

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "spreadsheetId": self.id,
            "properties": copy.deepcopy(self.properties),
            "sheets": [
                {"properties": copy.deepcopy(s.properties), **s.decor.as_json()}
                for s in self.sheets
            ],
        }
        if self.named_ranges:
            body["namedRanges"] = copy.deepcopy(self.named_ranges)
        body["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{self.id}/edit"
        return body

    def get(self, query: Query) -> dict[str, Any]:
        if _bool(query, "includeGridData") or query.get("ranges"):
            raise ApiError(501, "The stand-in does not serve grid data (includeGridData, ranges).")
        body = self.as_json()
        mask = _one(query, "fields")
        if mask:
            try:
                body = fields.apply(body, fields.parse(mask))
            except fields.MaskError:
                raise ApiError(400, f"Invalid field selection {mask}") from None
        return body

    # -- values --

    def render_area(
        self, area: Area, major: str, value_option: str, date_option: str
    ) -> dict[str, Any]:
        reply: dict[str, Any] = {"range": area.name(), "majorDimension": major}
        sheet = area.sheet
        lines: list[list[object]] = []
        if major == "ROWS":
            for row in range(area.top, area.bottom + 1):
                stored = sheet.rows.get(row)
                if not stored:
                    lines.append([])
                    continue
                lines.append(
                    [
                        cells.render(stored.get(col), value_option, date_option)
                        for col in range(area.left, area.right + 1)
                    ]
                )
        else:
            for col in range(area.left, area.right + 1):
                lines.append(
                    [
                        cells.render(sheet.cell(row, col), value_option, date_option)
                        for row in range(area.top, area.bottom + 1)
                    ]
                )
        for line in lines:
            while line and line[-1] == "":
                line.pop()
        while lines and not lines[-1]:
            lines.pop()
        if lines:
            reply["values"] = lines
        return reply

    def _read_options(self, query: Query) -> tuple[str, str, str]:
        major = _enum(query, "majorDimension", DIMENSIONS, "ROWS", "Dimension")
        value_option = _enum(
            query, "valueRenderOption", VALUE_RENDER, "FORMATTED_VALUE", "ValueRenderOption"
        )
        date_option = _enum(
            query, "dateTimeRenderOption", DATE_RENDER, "SERIAL_NUMBER", "DateTimeRenderOption"
        )
        return major, value_option, date_option

    def values_get(self, range_text: str, query: Query) -> dict[str, Any]:
        major, value_option, date_option = self._read_options(query)
        return self.render_area(self.area(range_text), major, value_option, date_option)

    def values_batch_get(self, query: Query) -> dict[str, Any]:
        major, value_option, date_option = self._read_options(query)
        areas = [self.area(text) for text in query.get("ranges", [])]
        reply: dict[str, Any] = {"spreadsheetId": self.id}
        if areas:
            reply["valueRanges"] = [
                self.render_area(area, major, value_option, date_option) for area in areas
            ]
        return reply

    def _write(
        self,
        area: Area,
        values: object,
        major: str | None,
        input_option: str,
        *,
        grow: bool = False,
        field_name: str = "data.values",
    ) -> dict[str, Any]:
        if not isinstance(values, list) or not all(isinstance(v, list) for v in values):
            shown = values if not isinstance(values, list) else "…"
            raise invalid_value(field_name, "type.googleapis.com/google.protobuf.ListValue", shown)
        major = major or "ROWS"
        if major not in DIMENSIONS:
            raise invalid_value(
                "data.major_dimension", "type.googleapis.com/google.apps.sheets.v4.Dimension", major
            )
        lines: list[list[object]] = values
        if major == "COLUMNS":
            height = max((len(line) for line in lines), default=0)
            lines = [[line[r] if r < len(line) else None for line in lines] for r in range(height)]
        height = len(lines)
        width = max((len(line) for line in lines), default=0)
        bottom = area.top + max(height, 1) - 1
        right = area.left + max(width, 1) - 1
        if not area.single and not grow:
            if height and bottom > area.bottom:
                raise ApiError(
                    400,
                    f"Requested writing within range [{area.name()}], but tried writing to row "
                    f"[{bottom}]",
                )
            if width and right > area.right:
                raise ApiError(
                    400,
                    f"Requested writing within range [{area.name()}], but tried writing to column "
                    f"[{a1.column_letters(right)}]",
                )
        sheet = area.sheet
        if grow:
            grid = sheet.properties["gridProperties"]
            grid["rowCount"] = max(sheet.row_count, bottom)
            grid["columnCount"] = max(sheet.column_count, right)
        else:
            self._inside_grid(Area(sheet, area.top, area.left, bottom, right, False), bottom, right)
        parse = cells.raw_cell if input_option == "RAW" else cells.user_entered_cell
        touched_rows: set[int] = set()
        touched_cols: set[int] = set()
        count = 0
        for r, line in enumerate(lines, start=area.top):
            for c, value in enumerate(line, start=area.left):
                if value is None:
                    continue
                if isinstance(value, list | dict):
                    raise invalid_value(
                        field_name, "type.googleapis.com/google.protobuf.Value", value
                    )
                sheet.put(r, c, parse(value))
                touched_rows.add(r)
                touched_cols.add(c)
                count += 1
        written = Area(sheet, area.top, area.left, bottom, right, False)
        return {
            "updatedRange": written.name(),
            "updatedRows": len(touched_rows),
            "updatedColumns": len(touched_cols),
            "updatedCells": count,
            "_area": written,
            "_rows": {(sheet.sheet_id, r) for r in touched_rows},
            "_cols": {(sheet.sheet_id, c) for c in touched_cols},
        }

    def _update_reply(self, result: dict[str, Any], query: Query, include: bool) -> dict[str, Any]:
        reply = {"spreadsheetId": self.id}
        reply.update({k: v for k, v in result.items() if not k.startswith("_")})
        if include:
            value_option = _enum(
                query,
                "responseValueRenderOption",
                VALUE_RENDER,
                "FORMATTED_VALUE",
                "ValueRenderOption",
            )
            date_option = _enum(
                query,
                "responseDateTimeRenderOption",
                DATE_RENDER,
                "SERIAL_NUMBER",
                "DateTimeRenderOption",
            )
            reply["updatedData"] = self.render_area(
                result["_area"], "ROWS", value_option, date_option
            )
        return _drop_zero(reply)

    def _input_option(self, value: str | None) -> str:
        if not value:
            raise ApiError(400, "'valueInputOption' is required but not specified")
        if value not in INPUT_OPTIONS:
            raise invalid_value(
                "value_input_option",
                "type.googleapis.com/google.apps.sheets.v4.ValueInputOption",
                value,
            )
        return value

    def values_update(
        self, range_text: str, query: Query, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        input_option = self._input_option(_one(query, "valueInputOption"))
        area = self.area(range_text)
        if body.get("range") and self.area(str(body["range"])).name() != area.name():
            raise ApiError(
                400,
                f"Requested range [{body['range']}] does not match the range in the URL [{range_text}].",
            )
        result = self._write(area, body.get("values", []), body.get("majorDimension"), input_option)
        return self._update_reply(result, query, _bool(query, "includeValuesInResponse"))

    def values_batch_update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        input_option = self._input_option(body.get("valueInputOption"))
        query = {
            name: [str(body[name])]
            for name in ("responseValueRenderOption", "responseDateTimeRenderOption")
            if name in body
        }
        include = bool(body.get("includeValuesInResponse"))
        responses = []
        rows: set[tuple[int, int]] = set()
        cols: set[tuple[int, int]] = set()
        sheets: set[int] = set()
        total = 0
        for index, value_range in enumerate(body.get("data", [])):
            if not isinstance(value_range, Mapping) or "range" not in value_range:
                raise ApiError(400, f"Invalid data[{index}]: a range is required.")
            area = self.area(str(value_range["range"]))
            result = self._write(
                area,
                value_range.get("values", []),
                value_range.get("majorDimension"),
                input_option,
                field_name=f"data[{index}].values",
            )
            responses.append(self._update_reply(result, query, include))
            rows |= result["_rows"]
            cols |= result["_cols"]
            if result["updatedCells"]:
                sheets.add(area.sheet.sheet_id)
            total += result["updatedCells"]
        reply = _drop_zero(
            {
                "spreadsheetId": self.id,
                "totalUpdatedRows": len(rows),
                "totalUpdatedColumns": len(cols),
                "totalUpdatedCells": total,
                "totalUpdatedSheets": len(sheets),
            }
        )
        if responses:
            reply["responses"] = responses
        return reply

    def values_append(
        self, range_text: str, query: Query, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        input_option = self._input_option(_one(query, "valueInputOption"))
        insert = _one(query, "insertDataOption", "OVERWRITE")
        if insert not in ("OVERWRITE", "INSERT_ROWS"):
            raise invalid_value(
                "insert_data_option",
                "type.googleapis.com/google.apps.sheets.v4.InsertDataOption",
                insert,
            )
        area = self.area(range_text)
        table = _find_table(area)
        reply: dict[str, Any] = {"spreadsheetId": self.id}
        if table is None:
            top, left = area.top, area.left
        else:
            t_top, t_left, t_bottom, t_right = table
            reply["tableRange"] = a1.format_range(
                area.sheet.title, t_top, t_left, t_bottom, t_right
            )
            top, left = t_bottom + 1, t_left
        values = body.get("values", [])
        major = body.get("majorDimension") or "ROWS"
        if insert == "INSERT_ROWS" and isinstance(values, list):
            count = (
                len(values)
                if major == "ROWS"
                else max((len(v) for v in values if isinstance(v, list)), default=0)
            )
            area.sheet.shift("ROWS", top, count)
            area.sheet.properties["gridProperties"]["rowCount"] = area.sheet.row_count + count
        start = Area(area.sheet, top, left, top, left, True)
        result = self._write(start, values, major, input_option, grow=True)
        reply["updates"] = self._update_reply(
            result, query, _bool(query, "includeValuesInResponse")
        )
        return reply

    def values_clear(self, range_text: str) -> dict[str, Any]:
        area = self.area(range_text)
        area.sheet.clear(area.top, area.left, area.bottom, area.right)
        return {"spreadsheetId": self.id, "clearedRange": area.name()}

    def values_batch_clear(self, body: Mapping[str, Any]) -> dict[str, Any]:
        areas = [self.area(str(text)) for text in body.get("ranges", [])]
        for area in areas:
            area.sheet.clear(area.top, area.left, area.bottom, area.right)
        reply: dict[str, Any] = {"spreadsheetId": self.id}
        if areas:
            reply["clearedRanges"] = [area.name() for area in areas]
        return reply

    # -- spreadsheets.batchUpdate --

    def batch_update(self, body: Mapping[str, Any], caller: str | None = None) -> dict[str, Any]:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "Must specify at least one request.")
        replies = []
        for index, request in enumerate(requests):
            if not isinstance(request, Mapping) or len(request) != 1:
                raise ApiError(
                    400, f"Invalid requests[{index}]: exactly one kind of request is allowed."
                )
            ((kind, payload),) = request.items()
            handler = getattr(self, f"_do_{kind}", None)
            if kind == "addProtectedRange":  # the caller becomes an editor of the range

                def handler(payload: Mapping[str, Any]) -> dict[str, Any]:
                    return self.protect(payload, caller)

            if handler is None:
                raise ApiError(501, f"The stand-in does not implement requests[{index}].{kind}.")
            try:
                replies.append(handler(payload))
            except ApiError as exc:
                if exc.code == 400:
                    raise ApiError(
                        400, f"Invalid requests[{index}].{kind}: {exc.message}"
                    ) from None
                raise
        return {"spreadsheetId": self.id, "replies": replies}

    def _grid(self, sheet_id: object) -> Sheet:
        sheet = self.sheet_by_id(sheet_id)
        if sheet is None:
            raise ApiError(400, f"No grid with id: {sheet_id}")
        return sheet

    def _do_addSheet(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        sheet = self._new_sheet(payload.get("properties", {}))
        return {"addSheet": {"properties": copy.deepcopy(sheet.properties)}}

    def _do_deleteSheet(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        sheet = self._grid(payload.get("sheetId"))
        if len(self.sheets) == 1:
            raise ApiError(400, "You can't remove all the sheets in a document.")
        self.sheets.remove(sheet)
        self._reindex()
        return {}

    def _do_updateSheetProperties(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        wanted = payload.get("properties", {})
        sheet = self._grid(wanted.get("sheetId"))
        mask_text = payload.get("fields")
        if not mask_text:
            raise ApiError(400, "At least one field must be updated, but none were specified.")
        updated = copy.deepcopy(sheet.properties)
        if mask_text == "*":
            for key, value in wanted.items():
                if key != "sheetId":
                    updated[key] = copy.deepcopy(value)
        else:
            for path in fields.paths(fields.parse(mask_text)):
                present, value = _get_path(wanted, path)
                _set_path(updated, path, present, value)
        title = str(updated.get("title", ""))
        other = self.sheet(title)
        if other is not None and other is not sheet:
            raise ApiError(
                400, f'A sheet with the name "{title}" already exists. Please enter another name.'
            )
        if updated.get("hidden") and all(
            s.properties.get("hidden") for s in self.sheets if s is not sheet
        ):
            raise ApiError(400, "You can't hide all the sheets in a document.")
        old_index = self.sheets.index(sheet)
        new_index = int(updated.get("index", old_index))
        sheet.properties = _normalize_properties(updated)
        if new_index != old_index:
            self.sheets.remove(sheet)
            if new_index > old_index:
                new_index -= 1
            self.sheets.insert(max(0, min(new_index, len(self.sheets))), sheet)
        self._reindex()
        sheet.crop()
        return {}

    def _do_updateSpreadsheetProperties(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        wanted = payload.get("properties", {})
        mask_text = payload.get("fields")
        if not mask_text:
            raise ApiError(400, "At least one field must be updated, but none were specified.")
        for path in fields.paths(fields.parse(mask_text)):
            present, value = _get_path(wanted, path)
            _set_path(self.properties, path, present, value)
        return {}

    def _do_appendDimension(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        sheet = self._grid(payload.get("sheetId"))
        dimension = payload.get("dimension")
        length = int(payload.get("length", 0))
        if dimension not in DIMENSIONS:
            raise ApiError(400, "dimension must be ROWS or COLUMNS")
        if length <= 0:
            raise ApiError(400, "length must be greater than zero")
        grid = sheet.properties["gridProperties"]
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        grid[key] = int(grid[key]) + length
        return {}

    def _dimension_range(self, payload: Mapping[str, Any]) -> tuple[Sheet, str, int, int]:
        span = payload.get("range", {})
        sheet = self._grid(span.get("sheetId"))
        dimension = span.get("dimension")
        if dimension not in DIMENSIONS:
            raise ApiError(400, "range.dimension must be ROWS or COLUMNS")
        start = int(span.get("startIndex", 0))
        limit = sheet.row_count if dimension == "ROWS" else sheet.column_count
        end = int(span.get("endIndex", limit))
        if not 0 <= start < end:
            raise ApiError(400, "range.startIndex must be less than range.endIndex")
        return sheet, dimension, start, end

    def _do_insertDimension(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        sheet, dimension, start, end = self._dimension_range(payload)
        count = end - start
        sheet.shift(dimension, start + 1, count)
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        sheet.properties["gridProperties"][key] += count
        return {}

    def _do_deleteDimension(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        sheet, dimension, start, end = self._dimension_range(payload)
        limit = sheet.row_count if dimension == "ROWS" else sheet.column_count
        end = min(end, limit)
        if start == 0 and end >= limit:
            what = "rows" if dimension == "ROWS" else "columns"
            raise ApiError(400, f"You can't delete all the {what} in the sheet.")
        if dimension == "ROWS":
            sheet.clear(start + 1, 1, end, 10**9)
        else:
            sheet.clear(1, start + 1, 10**9, end)
        sheet.shift(dimension, end + 1, -(end - start))
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        sheet.properties["gridProperties"][key] -= end - start
        return {}

    def _do_sortRange(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        span = payload.get("range", {})
        sheet = self._grid(span.get("sheetId"))
        top = int(span.get("startRowIndex", 0)) + 1
        bottom = int(span.get("endRowIndex", sheet.row_count))
        left = int(span.get("startColumnIndex", 0)) + 1
        right = int(span.get("endColumnIndex", sheet.column_count))
        specs = [
            (int(spec.get("dimensionIndex", 0)) + 1, spec.get("sortOrder", "ASCENDING"))
            for spec in payload.get("sortSpecs", [])
        ]
        lines = [
            {c: cell for c, cell in sheet.rows.get(r, {}).items() if left <= c <= right}
            for r in range(top, bottom + 1)
        ]

        def compare(a: dict[int, Cell], b: dict[int, Cell]) -> int:
            for column, order in specs:
                x, y = a.get(column), b.get(column)
                if x is None or y is None:
                    if x is None and y is None:
                        continue
                    return 1 if x is None else -1  # empty cells go last, either order
                kx, ky = _sort_key(x), _sort_key(y)
                if kx != ky:
                    sign = 1 if kx > ky else -1
                    return sign if order == "ASCENDING" else -sign
            return 0

        ordered = sorted(lines, key=functools.cmp_to_key(compare))
        for r, line in zip(range(top, bottom + 1), ordered, strict=True):
            kept = {c: cell for c, cell in sheet.rows.get(r, {}).items() if not left <= c <= right}
            kept.update(line)
            if kept:
                sheet.rows[r] = kept
            else:
                sheet.rows.pop(r, None)
        return {}

    # -- what staff do by hand (no API call) --

    def reorder_rows(self, title: str, order: Sequence[int]) -> None:
        """Put the rows `order` (1-based, old numbers) at rows min(order)… in that order."""
        sheet = self.sheet(title)
        if sheet is None:
            raise KeyError(title)
        first = min(order)
        if sorted(order) != list(range(first, first + len(order))):
            raise ValueError("order must be a permutation of contiguous row numbers")
        moved = {first + i: sheet.rows.get(old) for i, old in enumerate(order)}
        for row, line in moved.items():
            if line is None:
                sheet.rows.pop(row, None)
            else:
                sheet.rows[row] = line

    def insert_rows(self, title: str, before: int, count: int = 1) -> None:
        """Insert empty rows before row `before` (1-based), as a person would in the UI."""
        sheet = self.sheet(title)
        if sheet is None:
            raise KeyError(title)
        self._do_insertDimension(
            {
                "range": {
                    "sheetId": sheet.sheet_id,
                    "dimension": "ROWS",
                    "startIndex": before - 1,
                    "endIndex": before - 1 + count,
                }
            }
        )


def _sort_key(cell: Cell) -> tuple[int, Any]:
    """Numbers, then text (ignoring case), then booleans, as the Sheets UI sorts."""
    value = cell.value
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, float):
        return (0, value)
    return (1, value.casefold())


def _find_table(area: Area) -> tuple[int, int, int, int] | None:
    """The table an append extends: the last block of connected non-empty cells in the range.

    A one-cell range holding a value names where the table starts, and the table is the block
    holding that cell, wherever it ends (an append to `A1` of a filled `A1:C5` writes row 6).
    """
    sheet = area.sheet
    origin = (area.top, area.left)
    anchored = area.single and sheet.cell(*origin) is not None
    first_row, first_col, last_row, last_col = (
        (1, 1, 10**9, 10**9) if anchored else (area.top, area.left, area.bottom, area.right)
    )
    filled = {
        (r, c)
        for r, line in sheet.rows.items()
        if first_row <= r <= last_row
        for c in line
        if first_col <= c <= last_col
    }
    if not filled:
        return None
    seen: set[tuple[int, int]] = set()
    best: tuple[int, int, int, int] | None = None
    for start in [origin] if anchored else sorted(filled):
        if start in seen:
            continue
        stack = [start]
        seen.add(start)
        top, left, bottom, right = start[0], start[1], start[0], start[1]
        while stack:
            r, c = stack.pop()
            top, left = min(top, r), min(left, c)
            bottom, right = max(bottom, r), max(right, c)
            for near in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if near in filled and near not in seen:
                    seen.add(near)
                    stack.append(near)
        block = (top, left, bottom, right)
        if best is None or (bottom, left) > (best[2], best[1]):
            best = block
    return best
