"""The stand-in's formatting requests: what a sheet looks like, stored as Google stores it.

`batchUpdate` requests handled here (as `Spreadsheet` methods, through `DecorMixin`):
repeatCell, updateCells, updateDimensionProperties, setBasicFilter, clearBasicFilter,
setDataValidation, addConditionalFormatRule, deleteConditionalFormatRule, addProtectedRange,
deleteProtectedRange, addChart, deleteEmbeddedObject, createDeveloperMetadata,
updateDeveloperMetadata, deleteDeveloperMetadata.

Sheet-level objects (conditional formats, protected ranges, the basic filter, charts, developer
metadata) are served by `spreadsheets.get` under each sheet, as Google does; cell formats,
notes, data validation and column sizes are grid data, which the stand-in does not serve: tests
read them from `Decor`. Ranges are checked against the grid as Google checks them. Known
simplification: inserting or deleting rows and columns does not move any of this.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import fields

if TYPE_CHECKING:
    import random

    from .state import ApiError, Sheet

SHEET_OBJECTS = (
    "conditionalFormats",
    "protectedRanges",
    "basicFilter",
    "charts",
    "developerMetadata",
)


@dataclass
class Decor:
    """Everything about a sheet's look; (row, col) are 1-based."""

    formats: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    validations: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    columns: dict[int, dict[str, Any]] = field(default_factory=dict)  # 1-based: properties
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    charts: list[dict[str, Any]] = field(default_factory=list)
    developer_metadata: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The sheet-level objects as `spreadsheets.get` shows them (empty ones left out)."""
        body: dict[str, Any] = {}
        for name, value in (
            ("conditionalFormats", self.conditional_formats),
            ("protectedRanges", self.protected_ranges),
            ("basicFilter", self.basic_filter),
            ("charts", self.charts),
            ("developerMetadata", self.developer_metadata),
        ):
            if value:
                body[name] = copy.deepcopy(value)
        return body


def _error(code: int, message: str) -> ApiError:
    from .state import ApiError

    return ApiError(code, message)


def _public_range(sheet: Sheet, span: Mapping[str, Any]) -> dict[str, Any]:
    """A GridRange as Google echoes it: sheetId 0 left out (proto3), given bounds kept."""
    out: dict[str, Any] = {}
    if sheet.sheet_id:
        out["sheetId"] = sheet.sheet_id
    for name in ("startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex"):
        if name in span and span[name] is not None:
            out[name] = int(span[name])
    return out


class DecorMixin:
    """The formatting requests, mixed into the stand-in's `Spreadsheet`."""

    sheets: list[Sheet]
    _rng: random.Random

    if TYPE_CHECKING:

        def _grid(self, sheet_id: object) -> Sheet: ...

    # -- helpers --

    def _bounds(self, span: Mapping[str, Any]) -> tuple[Sheet, int, int, int, int]:
        """(sheet, top, left, bottom, right), 1-based and inclusive; open sides reach the grid's
        edge. A range past the grid is refused, as Google refuses it."""
        from . import a1

        sheet = self._grid(span.get("sheetId", 0))
        top = int(span.get("startRowIndex", 0)) + 1
        left = int(span.get("startColumnIndex", 0)) + 1
        bottom = int(span.get("endRowIndex", sheet.row_count))
        right = int(span.get("endColumnIndex", sheet.column_count))
        if bottom < top or right < left:
            raise _error(400, "The range's start must not be after its end.")
        if bottom > sheet.row_count or right > sheet.column_count:
            start = f"{a1.column_letters(left)}{top}"
            end = f"{a1.column_letters(right)}{bottom}"
            title = sheet.title.replace("'", "''")
            raise _error(
                400,
                f"Range ('{title}'!{start}:{end}) exceeds grid limits. Max rows: "
                f"{sheet.row_count}, max columns: {sheet.column_count}",
            )
        return sheet, top, left, bottom, right

    def _new_id(self, taken: set[int]) -> int:
        while True:
            candidate = self._rng.randrange(1, 2**31 - 1)
            if candidate not in taken:
                return candidate

    def _apply_cell(
        self, sheet: Sheet, row: int, col: int, data: Mapping[str, Any], mask: str
    ) -> None:
        """Set the fields `mask` names from `data` on one cell (absent in data: cleared)."""
        decor = sheet.decor
        paths = fields.paths(fields.parse(mask))
        current: dict[str, Any] = {"userEnteredFormat": decor.formats.get((row, col), {})}
        if (row, col) in decor.notes:
            current["note"] = decor.notes[(row, col)]
        if (row, col) in decor.validations:
            current["dataValidation"] = decor.validations[(row, col)]
        for path in paths:
            if path[0] not in ("userEnteredFormat", "note", "dataValidation"):
                raise _error(400, f"The stand-in does not store cell field {'.'.join(path)}.")
            node: Any = data
            present = True
            for part in path:
                if isinstance(node, Mapping) and part in node:
                    node = node[part]
                else:
                    present = False
                    break
            target = current
            for part in path[:-1]:
                target = target.setdefault(part, {})
            if present and node is not None:
                target[path[-1]] = copy.deepcopy(node)
            else:
                target.pop(path[-1], None)
        formats = current.get("userEnteredFormat") or {}
        if formats:
            decor.formats[(row, col)] = formats
        else:
            decor.formats.pop((row, col), None)
        if current.get("note"):
            decor.notes[(row, col)] = str(current["note"])
        else:
            decor.notes.pop((row, col), None)
        if current.get("dataValidation"):
            decor.validations[(row, col)] = current["dataValidation"]
        else:
            decor.validations.pop((row, col), None)

    # -- cells --

    def _do_repeatCell(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        sheet, top, left, bottom, right = self._bounds(payload.get("range", {}))
        mask = payload.get("fields")
        if not mask:
            raise _error(400, "At least one field must be updated, but none were specified.")
        cell = payload.get("cell", {})
        for row in range(top, bottom + 1):
            for col in range(left, right + 1):
                self._apply_cell(sheet, row, col, cell, mask)
        return {}

    def _do_updateCells(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        mask = payload.get("fields")
        if not mask:
            raise _error(400, "At least one field must be updated, but none were specified.")
        rows = payload.get("rows", [])
        if "range" in payload:
            sheet, top, left, bottom, right = self._bounds(payload["range"])
        else:
            start = payload.get("start", {})
            sheet = self._grid(start.get("sheetId", 0))
            top = int(start.get("rowIndex", 0)) + 1
            left = int(start.get("columnIndex", 0)) + 1
            bottom = top + len(rows) - 1
            right = left + max((len(r.get("values", [])) for r in rows), default=1) - 1
            self._bounds(
                {
                    "sheetId": sheet.sheet_id,
                    "startRowIndex": top - 1,
                    "endRowIndex": bottom,
                    "startColumnIndex": left - 1,
                    "endColumnIndex": right,
                }
            )
        for r, row in enumerate(range(top, bottom + 1)):
            values = rows[r].get("values", []) if r < len(rows) else []
            for c, col in enumerate(range(left, right + 1)):
                self._apply_cell(sheet, row, col, values[c] if c < len(values) else {}, mask)
        return {}

    def _do_setDataValidation(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        sheet, top, left, bottom, right = self._bounds(payload.get("range", {}))
        rule = payload.get("rule")
        if rule is not None:
            condition = rule.get("condition", {})
            if not condition.get("type"):
                raise _error(400, "Invalid ConditionType: CONDITION_TYPE_UNSPECIFIED")
            if condition["type"] == "ONE_OF_LIST" and not condition.get("values"):
                raise _error(400, "ONE_OF_LIST condition needs at least one value.")
        stored = {k: v for k, v in (rule or {}).items() if v not in (None, False)}
        for row in range(top, bottom + 1):
            for col in range(left, right + 1):
                if rule is None:
                    sheet.decor.validations.pop((row, col), None)
                else:
                    sheet.decor.validations[(row, col)] = copy.deepcopy(stored)
        return {}

    def _do_updateDimensionProperties(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        span = payload.get("range", {})
        sheet = self._grid(span.get("sheetId", 0))
        dimension = span.get("dimension")
        if dimension not in ("ROWS", "COLUMNS"):
            raise _error(400, "range.dimension must be ROWS or COLUMNS")
        limit = sheet.row_count if dimension == "ROWS" else sheet.column_count
        start = int(span.get("startIndex", 0))
        end = int(span.get("endIndex", limit))
        if not 0 <= start < end or end > limit:
            raise _error(400, f"Invalid dimension range [{start}, {end}) for a grid of {limit}.")
        mask = payload.get("fields")
        if not mask:
            raise _error(400, "At least one field must be updated, but none were specified.")
        wanted = payload.get("properties", {})
        store = sheet.decor.rows if dimension == "ROWS" else sheet.decor.columns
        for index in range(start + 1, end + 1):
            current = store.setdefault(index, {})
            for path in fields.paths(fields.parse(mask)):
                name = path[0]
                if name in wanted and wanted[name] is not None:
                    current[name] = copy.deepcopy(wanted[name])
                else:
                    current.pop(name, None)
        return {}

    # -- filter --

    def _do_setBasicFilter(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        wanted = dict(payload.get("filter", {}))
        span = wanted.get("range", {})
        sheet, top, left, bottom, right = self._bounds(span)
        stored = {k: copy.deepcopy(v) for k, v in wanted.items() if k != "range"}
        stored["range"] = _public_range(
            sheet,
            {
                "startRowIndex": top - 1,
                "endRowIndex": bottom,
                "startColumnIndex": left - 1,
                "endColumnIndex": right,
            },
        )
        sheet.decor.basic_filter = {"range": stored.pop("range"), **stored}
        return {}

    def _do_clearBasicFilter(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._grid(payload.get("sheetId", 0)).decor.basic_filter = None
        return {}

    # -- conditional formats --

    def _do_addConditionalFormatRule(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        rule = payload.get("rule", {})
        ranges = rule.get("ranges", [])
        if not ranges:
            raise _error(400, "A conditional format rule needs at least one range.")
        if ("booleanRule" in rule) == ("gradientRule" in rule):
            raise _error(400, "A conditional format rule needs a booleanRule or a gradientRule.")
        sheets = {self._bounds(span)[0].sheet_id for span in ranges}
        if len(sheets) != 1:
            raise _error(400, "All ranges of a conditional format rule must be on one sheet.")
        sheet = self._grid(sheets.pop())
        stored = copy.deepcopy(dict(rule))
        stored["ranges"] = [_public_range(sheet, span) for span in ranges]
        index = int(payload.get("index", 0))
        rules = sheet.decor.conditional_formats
        if not 0 <= index <= len(rules):
            raise _error(400, f"Invalid index {index}: the sheet has {len(rules)} rules.")
        rules.insert(index, stored)
        return {}

    def _do_deleteConditionalFormatRule(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        sheet = self._grid(payload.get("sheetId", 0))
        index = int(payload.get("index", 0))
        rules = sheet.decor.conditional_formats
        if not 0 <= index < len(rules):
            raise _error(400, f"No conditional format on sheet: {sheet.sheet_id} at index: {index}")
        return {"deleteConditionalFormatRule": {"rule": rules.pop(index)}}

    # -- protection --

    def _protected_ids(self) -> set[int]:
        return {
            int(item["protectedRangeId"])
            for sheet in self.sheets
            for item in sheet.decor.protected_ranges
        }

    def protect(self, payload: Mapping[str, Any], caller: str | None) -> dict[str, Any]:
        """addProtectedRange, knowing the caller (an editor of what it protects)."""
        wanted = payload.get("protectedRange", {})
        span = wanted.get("range")
        if span is None:
            raise _error(
                400, "A protected range needs a range (named ranges: not in the stand-in)."
            )
        sheet = self._bounds(span)[0]
        ident = wanted.get("protectedRangeId") or self._new_id(self._protected_ids())
        reply: dict[str, Any] = {"protectedRangeId": ident, "range": _public_range(sheet, span)}
        if wanted.get("description"):
            reply["description"] = str(wanted["description"])
        if wanted.get("warningOnly"):
            reply["warningOnly"] = True
        reply["requestingUserCanEdit"] = True
        editors = wanted.get("editors") or {}
        users = [caller] if caller else []
        users += [u for u in editors.get("users") or [] if u not in users]
        stored = copy.deepcopy(reply)
        stored["editors"] = {"users": users} if users else {}
        if editors.get("groups"):
            stored["editors"]["groups"] = list(editors["groups"])
        sheet.decor.protected_ranges.append(stored)
        reply["editors"] = {}
        return {"addProtectedRange": {"protectedRange": reply}}

    def _do_addProtectedRange(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.protect(payload, None)

    def _do_deleteProtectedRange(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        ident = payload.get("protectedRangeId")
        for sheet in self.sheets:
            for item in sheet.decor.protected_ranges:
                if item["protectedRangeId"] == ident:
                    sheet.decor.protected_ranges.remove(item)
                    return {}
        raise _error(400, f"No protected range with id: {ident}")

    # -- charts --

    def _do_addChart(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        chart = copy.deepcopy(dict(payload.get("chart", {})))
        spec = chart.get("spec")
        if not isinstance(spec, Mapping) or not spec:
            raise _error(400, "A chart needs a spec.")
        overlay = chart.get("position", {}).get("overlayPosition", {})
        anchor = overlay.get("anchorCell", {})
        sheet = self._grid(anchor.get("sheetId", 0))
        row = int(anchor.get("rowIndex", 0))
        col = int(anchor.get("columnIndex", 0))
        if row >= sheet.row_count or col >= sheet.column_count:
            raise _error(400, "The chart's anchor cell is outside the grid.")
        for source in _sources(spec):
            self._bounds(source)
        taken = {int(c["chartId"]) for s in self.sheets for c in s.decor.charts}
        chart["chartId"] = chart.get("chartId") or self._new_id(taken)
        sheet.decor.charts.append(chart)
        return {"addChart": {"chart": copy.deepcopy(chart)}}

    def _do_deleteEmbeddedObject(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        ident = payload.get("objectId")
        for sheet in self.sheets:
            for chart in sheet.decor.charts:
                if chart["chartId"] == ident:
                    sheet.decor.charts.remove(chart)
                    return {}
        raise _error(400, f"No object with id: {ident}")

    # -- developer metadata --

    def _metadata_items(self) -> list[tuple[Sheet, dict[str, Any]]]:
        return [(s, item) for s in self.sheets for item in s.decor.developer_metadata]

    def _lookup(self, data_filter: Mapping[str, Any]) -> list[tuple[Sheet, dict[str, Any]]]:
        lookup = data_filter.get("developerMetadataLookup")
        if not isinstance(lookup, Mapping) or not lookup:
            raise _error(400, "The stand-in only supports developerMetadataLookup filters.")
        found = []
        for sheet, item in self._metadata_items():
            if "metadataId" in lookup and item["metadataId"] != lookup["metadataId"]:
                continue
            if "metadataKey" in lookup and item["metadataKey"] != lookup["metadataKey"]:
                continue
            if "metadataValue" in lookup and item.get("metadataValue") != lookup["metadataValue"]:
                continue
            location = lookup.get("metadataLocation", {})
            if "sheetId" in location and sheet.sheet_id != location["sheetId"]:
                continue
            found.append((sheet, item))
        return found

    def _do_createDeveloperMetadata(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        wanted = dict(payload.get("developerMetadata", {}))
        if not wanted.get("metadataKey"):
            raise _error(400, "Developer metadata needs a metadataKey.")
        if wanted.get("visibility") not in ("DOCUMENT", "PROJECT"):
            raise _error(400, "Metadata visibility must be DOCUMENT or PROJECT.")
        location = wanted.get("location", {})
        if "sheetId" not in location:
            raise _error(501, "The stand-in stores developer metadata on sheets only.")
        sheet = self._grid(location["sheetId"])
        taken = {int(item["metadataId"]) for _, item in self._metadata_items()}
        stored = {
            "metadataId": wanted.get("metadataId") or self._new_id(taken),
            "metadataKey": str(wanted["metadataKey"]),
            "metadataValue": str(wanted.get("metadataValue", "")),
            "location": {"locationType": "SHEET", "sheetId": sheet.sheet_id},
            "visibility": wanted["visibility"],
        }
        sheet.decor.developer_metadata.append(stored)
        return {"createDeveloperMetadata": {"developerMetadata": copy.deepcopy(stored)}}

    def _do_updateDeveloperMetadata(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        mask = payload.get("fields")
        if not mask:
            raise _error(400, "At least one field must be updated, but none were specified.")
        wanted = payload.get("developerMetadata", {})
        updated = []
        for data_filter in payload.get("dataFilters", []):
            for _, item in self._lookup(data_filter):
                for path in fields.paths(fields.parse(mask)):
                    if path[0] not in ("metadataKey", "metadataValue", "visibility"):
                        raise _error(501, f"The stand-in cannot update {'.'.join(path)}.")
                    if path[0] in wanted:
                        item[path[0]] = wanted[path[0]]
                updated.append(copy.deepcopy(item))
        return {"updateDeveloperMetadata": {"developerMetadata": updated}}

    def _do_deleteDeveloperMetadata(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        deleted = []
        for sheet, item in self._lookup(payload.get("dataFilter", {})):
            sheet.decor.developer_metadata.remove(item)
            deleted.append(item)
        reply: dict[str, Any] = {}
        if deleted:
            reply["deletedDeveloperMetadata"] = deleted
        return {"deleteDeveloperMetadata": reply}


def _sources(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every GridRange a chart spec reads (domains and series)."""
    found: list[Mapping[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if "sourceRange" in node and isinstance(node["sourceRange"], Mapping):
                found.extend(node["sourceRange"].get("sources", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found
