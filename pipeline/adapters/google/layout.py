"""A `SheetLayout` as Sheets API `batchUpdate` requests, and layout marks in sheet metadata.

Pure: JSON in (the sheet as `spreadsheets.get` describes it), request bodies out. The requests
go into the one `spreadsheets.batchUpdate` a write makes (see google_sheets.py).

Re-applying a layout first removes what an earlier one left: protected ranges whose description
starts with `[diplomates]`, conditional format rules that only cover columns the layout owns or
that test one of the layout's own values (Google moves rules with their column, but a rule left
on a column that became a staff one is still found), the charts of a sheet whose layout has
charts (the dashboard, which staff do not edit), data validation on the owned columns. Rules,
validation and protections staff put on their own columns stay.

The layout mark is developer metadata on the sheet (key `diplomates.layout`), invisible in the
interface, deleted with the sheet, and read with the sheet properties at no extra call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gspread.utils import rowcol_to_a1

from pipeline.core.model import Area, Chart, ColumnLayout, SheetLayout

MARK_KEY = "diplomates.layout"
OURS = "[diplomates]"
# Fields of `spreadsheets.get`: the mark (read with every run's metadata call) and, only when a
# layout is about to be applied, what a new layout replaces.
MARK_FIELDS = "sheets.developerMetadata(metadataId,metadataKey,metadataValue)"
DETAIL_FIELDS = (
    "sheets(protectedRanges(protectedRangeId,description),"
    "conditionalFormats(ranges,booleanRule.condition),charts(chartId))"
)
PIXELS_PER_CHARACTER = 7
PADDING_PIXELS = 12


@dataclass(frozen=True)
class Existing:
    """What a sheet holds that applying a layout may replace."""

    mark: str | None = None
    mark_id: int | None = None
    protected: tuple[tuple[int, str], ...] = ()  # (protectedRangeId, description)
    # per conditional format rule: the columns it covers, its condition type and first value
    rules: tuple[tuple[tuple[int, ...], str, str], ...] = ()
    charts: tuple[int, ...] = ()


def existing(sheet: Mapping[str, Any], column_count: int) -> Existing:
    """The layout-related parts of one sheet of a `spreadsheets.get` reply."""
    mark: str | None = None
    mark_id: int | None = None
    for item in sheet.get("developerMetadata", []):
        if item.get("metadataKey") == MARK_KEY:
            mark = str(item.get("metadataValue", ""))
            mark_id = int(item["metadataId"]) if "metadataId" in item else None
    protected = tuple(
        (int(item.get("protectedRangeId", 0)), str(item.get("description", "")))
        for item in sheet.get("protectedRanges", [])
    )
    rules = []
    for rule in sheet.get("conditionalFormats", []):
        cols: set[int] = set()
        for span in rule.get("ranges", []):
            left = int(span.get("startColumnIndex", 0)) + 1
            right = int(span.get("endColumnIndex", column_count))
            cols.update(range(left, right + 1))
        condition = rule.get("booleanRule", {}).get("condition", {})
        values = condition.get("values") or [{}]
        first = str(values[0].get("userEnteredValue", ""))
        rules.append((tuple(sorted(cols)), str(condition.get("type", "")), first))
    charts = tuple(int(item.get("chartId", 0)) for item in sheet.get("charts", []))
    return Existing(mark, mark_id, protected, tuple(rules), charts)


def _grid(sheet_id: int, area: Area) -> dict[str, int]:
    return {
        "sheetId": sheet_id,
        "startRowIndex": area.top - 1,
        "endRowIndex": area.bottom,
        "startColumnIndex": area.left - 1,
        "endColumnIndex": area.right,
    }


DATE_TIME_PATTERN = "dd/mm/yyyy hh:mm"  # date-time cells as French staff read them


def rgb(colour: str) -> dict[str, float]:
    """A colour "RRGGBB" as a Sheets Color (channels from 0 to 1)."""
    return {
        name: round(int(colour[index : index + 2], 16) / 255, 4)
        for name, index in (("red", 0), ("green", 2), ("blue", 4))
    }


def colour_style(colour: str) -> dict[str, Any]:
    """A colour "RRGGBB" as a Sheets ColorStyle (the API marks the plain Color fields deprecated)."""
    return {"rgbColor": rgb(colour)}


def _letters(col: int) -> str:
    return str(rowcol_to_a1(1, col))[:-1]  # the column letters of row 1's cell


def _runs(cols: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for col in sorted(set(cols)):
        if runs and col == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], col)
        else:
            runs.append((col, col))
    return runs


def layout_requests(sheet_id: int, layout: SheetLayout, before: Existing) -> list[dict[str, Any]]:
    """The batchUpdate requests that give the sheet `sheet_id` this layout and its mark."""
    owned = set(layout.owned_cols)
    requests: list[dict[str, Any]] = [
        {
            "updateSheetProperties": {
                "properties": {
                    "sheetId": sheet_id,
                    "gridProperties": {
                        "frozenRowCount": layout.frozen_rows,
                        "frozenColumnCount": layout.frozen_cols,
                    },
                },
                "fields": "gridProperties.frozenRowCount,gridProperties.frozenColumnCount",
            }
        }
    ]
    requests += [
        {"deleteProtectedRange": {"protectedRangeId": ident}}
        for ident, description in before.protected
        if description.startswith(OURS)
    ]
    texts = {colour.text for rule in layout.colours for colour in rule.colours}
    formulas = {f'="{rule.text}"' for rule in layout.row_rules}
    ours = [
        index
        for index, (cols, kind, value) in enumerate(before.rules)
        if (cols and set(cols) <= owned)
        or (kind == "TEXT_EQ" and value in texts)
        or (kind == "CUSTOM_FORMULA" and any(value.endswith(end) for end in formulas))
    ]
    requests += [
        {"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": index}}
        for index in sorted(ours, reverse=True)
    ]
    if layout.charts:
        requests += [{"deleteEmbeddedObject": {"objectId": ident}} for ident in before.charts]
    if layout.header_filter and layout.width:
        area = Area(1, 1, layout.rows, layout.width)
        requests.append({"setBasicFilter": {"filter": {"range": _grid(sheet_id, area)}}})
    listed = {dropdown.col for dropdown in layout.dropdowns}
    requests += [
        {"setDataValidation": {"range": _grid(sheet_id, Area(2, left, layout.rows, right))}}
        for left, right in _runs([c for c in layout.owned_cols if c not in listed])
    ]
    requests += [
        {
            "repeatCell": {
                "range": _grid(sheet_id, Area(2, col, layout.rows, col)),
                "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE_TIME",
                                                                "pattern": pattern}}},
                "fields": "userEnteredFormat.numberFormat",
            }
        }
        for col, pattern in layout.number_formats
    ]  # fmt: skip
    for dropdown in layout.dropdowns:
        requests.append(
            {
                "setDataValidation": {
                    "range": _grid(sheet_id, Area(2, dropdown.col, layout.rows, dropdown.col)),
                    "rule": {
                        "condition": {
                            "type": "ONE_OF_LIST",
                            "values": [{"userEnteredValue": value} for value in dropdown.values],
                        },
                        "inputMessage": f"{dropdown.title} : {dropdown.help}",
                        "strict": True,
                        "showCustomUi": True,
                    },
                }
            }
        )
    requests += [
        {
            "updateDimensionProperties": {
                "range": {
                    "sheetId": sheet_id,
                    "dimension": "COLUMNS",
                    "startIndex": column.col - 1,
                    "endIndex": column.col,
                },
                "properties": {"pixelSize": column.width * PIXELS_PER_CHARACTER + PADDING_PIXELS},
                "fields": "pixelSize",
            }
        }
        for column in layout.columns
    ]
    if layout.header_height:
        requests.append(
            {
                "updateDimensionProperties": {
                    "range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": 0,
                              "endIndex": 1},
                    "properties": {"pixelSize": layout.header_height},
                    "fields": "pixelSize",
                }
            }
        )  # fmt: skip
    requests += _header_requests(sheet_id, layout.columns)
    for column in layout.columns:
        data_format: dict[str, Any] = {}
        if column.wrap:
            data_format.update(wrapStrategy="WRAP", verticalAlignment="TOP")
        if column.date_time:
            data_format["numberFormat"] = {"type": "DATE_TIME", "pattern": DATE_TIME_PATTERN}
        if data_format:
            requests.append(
                {
                    "repeatCell": {
                        "range": _grid(sheet_id, Area(2, column.col, layout.rows, column.col)),
                        "cell": {"userEnteredFormat": data_format},
                        "fields": "userEnteredFormat(" + ",".join(sorted(data_format)) + ")",
                    }
                }
            )
    for style in layout.styles:
        text: dict[str, Any] = {"bold": style.bold}
        if style.font:
            text["foregroundColorStyle"] = colour_style(style.font)
        if style.size:
            text["fontSize"] = style.size
        cell_format: dict[str, Any] = {"textFormat": text}
        if style.fill:
            cell_format["backgroundColorStyle"] = colour_style(style.fill)
        requests.append(
            {
                "repeatCell": {
                    "range": _grid(sheet_id, style.area),
                    "cell": {"userEnteredFormat": cell_format},
                    "fields": "userEnteredFormat(" + ",".join(sorted(cell_format)) + ")",
                }
            }
        )
    index = 0
    for rule in layout.colours:
        for colour in rule.colours:
            requests.append(
                {
                    "addConditionalFormatRule": {
                        "rule": {
                            "ranges": [_grid(sheet_id, Area(2, rule.col, layout.rows, rule.col))],
                            "booleanRule": {
                                "condition": {
                                    "type": "TEXT_EQ",
                                    "values": [{"userEnteredValue": colour.text}],
                                },
                                "format": {
                                    "backgroundColorStyle": colour_style(colour.fill),
                                    "textFormat": {
                                        "foregroundColorStyle": colour_style(colour.font),
                                        "bold": colour.bold,
                                    },
                                },
                            },
                        },
                        "index": index,
                    }
                }
            )
            index += 1
    for row_rule in layout.row_rules:
        wanted = row_rule.text.replace('"', '""')
        formula = f'=${_letters(row_rule.col)}{row_rule.area.top}="{wanted}"'
        requests.append(
            {
                "addConditionalFormatRule": {
                    "rule": {
                        "ranges": [_grid(sheet_id, row_rule.area)],
                        "booleanRule": {
                            "condition": {
                                "type": "CUSTOM_FORMULA",
                                "values": [{"userEnteredValue": formula}],
                            },
                            "format": {
                                "backgroundColorStyle": colour_style(row_rule.fill),
                                "textFormat": {
                                    "foregroundColorStyle": colour_style(row_rule.font),
                                    "bold": row_rule.bold,
                                },
                            },
                        },
                    },
                    "index": index,
                }
            }
        )
        index += 1
    requests += [
        {
            "addProtectedRange": {
                "protectedRange": {
                    "range": _grid(sheet_id, area),
                    "description": layout.protection_note,
                    "warningOnly": True,
                }
            }
        }
        for area in layout.protected
    ]
    requests += [{"addChart": {"chart": _chart(sheet_id, chart)}} for chart in layout.charts]
    if before.mark_id is not None:
        requests.append(
            {
                "updateDeveloperMetadata": {
                    "dataFilters": [{"developerMetadataLookup": {"metadataId": before.mark_id}}],
                    "developerMetadata": {"metadataValue": layout.mark},
                    "fields": "metadataValue",
                }
            }
        )
    else:
        requests.append(
            {
                "createDeveloperMetadata": {
                    "developerMetadata": {
                        "metadataKey": MARK_KEY,
                        "metadataValue": layout.mark,
                        "location": {"sheetId": sheet_id},
                        "visibility": "DOCUMENT",
                    }
                }
            }
        )
    return requests


def _header_requests(sheet_id: int, columns: Sequence[ColumnLayout]) -> list[dict[str, Any]]:
    """One updateCells per run of adjacent header cells of the same kind (format and note, or
    note only), so header cells of columns staff added in between are never touched."""
    requests: list[dict[str, Any]] = []
    runs: list[list[ColumnLayout]] = []
    for column in sorted(columns, key=lambda c: c.col):
        if (
            runs
            and runs[-1][-1].col + 1 == column.col
            and bool(runs[-1][-1].header_fill) == bool(column.header_fill)
        ):
            runs[-1].append(column)
        else:
            runs.append([column])
    for run in runs:
        formatted = bool(run[0].header_fill)
        values = []
        for column in run:
            data: dict[str, Any] = {}
            if formatted:
                data["userEnteredFormat"] = {
                    "backgroundColorStyle": colour_style(column.header_fill),
                    "textFormat": {
                        "foregroundColorStyle": colour_style(column.header_font),
                        "bold": True,
                    },
                    "verticalAlignment": "MIDDLE",
                    "wrapStrategy": "WRAP",
                }
            if column.note:
                data["note"] = column.note
            values.append(data)
        fields = "note"
        if formatted:
            fields += (
                ",userEnteredFormat(backgroundColorStyle,textFormat,verticalAlignment,wrapStrategy)"
            )
        requests.append(
            {
                "updateCells": {
                    "range": _grid(sheet_id, Area(1, run[0].col, 1, run[-1].col)),
                    "rows": [{"values": values}],
                    "fields": fields,
                }
            }
        )
    return requests


def _chart(sheet_id: int, chart: Chart) -> dict[str, Any]:
    labels = {
        "sourceRange": {
            "sources": [
                _grid(sheet_id, Area(chart.first_row, chart.labels_col, chart.last_row,
                                     chart.labels_col))
            ]
        }
    }  # fmt: skip
    values = {
        "sourceRange": {
            "sources": [
                _grid(sheet_id, Area(chart.first_row, chart.values_col, chart.last_row,
                                     chart.values_col))
            ]
        }
    }  # fmt: skip
    spec: dict[str, Any] = {"title": chart.title}
    if chart.kind == "pie":
        spec["pieChart"] = {"legendPosition": "RIGHT_LEGEND", "domain": labels, "series": values}
    else:
        spec["basicChart"] = {
            "chartType": "BAR",
            "legendPosition": "NO_LEGEND",
            "axis": [{"position": "BOTTOM_AXIS", "title": "Personnes"}],
            "domains": [{"domain": labels}],
            "series": [
                {
                    "series": values,
                    "targetAxis": "BOTTOM_AXIS",
                    "colorStyle": colour_style("2F5597"),
                }
            ],
            "headerCount": 0,
        }
    return {
        "spec": spec,
        "position": {
            "overlayPosition": {
                "anchorCell": {
                    "sheetId": sheet_id,
                    "rowIndex": chart.anchor_row - 1,
                    "columnIndex": chart.anchor_col - 1,
                },
                "widthPixels": chart.width,
                "heightPixels": chart.height,
            }
        },
    }
