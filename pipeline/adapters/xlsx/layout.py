"""A `SheetLayout` applied to an openpyxl worksheet, and layout marks read back from an .xlsx.

What the layout owns is reset each time it is applied: data validations and conditional formats
that touch its columns or are its own (found by their titles and tested values, wherever a
column move left them), its header cells' look and notes, its column widths, the freeze, the
filter and, on a sheet with charts (the dashboard), the charts. Validations, colours and notes
staff put on their own columns are kept.

Excel and LibreOffice have no warning-only protection (sheet protection blocks typing, sorting
and inserting columns altogether), so a protected area gets a data validation that accepts
nothing, with the "warning" error style: whoever types there is told, and may go on.

The layout mark is a hidden, sheet-scoped defined name (`_diplomates_layout`), saved with the
workbook and read back from `xl/workbook.xml` alone, without parsing the sheets.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterable, Mapping
from copy import copy
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pipeline.core.model import Area, Chart, SheetLayout

MARK_NAME = "_diplomates_layout"
AUTHOR = "Diplomates des territoires"
WARNING_TITLE = "Rempli automatiquement"  # Excel allows 32 characters
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MAX_MESSAGE = 255  # Excel's limit for validation prompts and error messages
DATE_TIME_FORMAT = "DD/MM/YYYY HH:MM"


def read_marks(path: Path) -> dict[str, str]:
    """Sheet name -> layout mark, from the workbook's defined names (no sheet is parsed)."""
    try:
        with zipfile.ZipFile(path) as archive:
            root = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}
    names = [s.get("name", "") for s in root.iter(f"{MAIN_NS}sheet")]
    marks: dict[str, str] = {}
    for defined in root.iter(f"{MAIN_NS}definedName"):
        index = defined.get("localSheetId")
        if defined.get("name") != MARK_NAME or index is None or not index.isdigit():
            continue
        if int(index) < len(names):
            marks[names[int(index)]] = (defined.text or "").strip().strip('"')
    return marks


def _argb(colour: str) -> str:
    return "FF" + colour.upper()


def _ref(area: Area) -> str:
    from openpyxl.utils import get_column_letter

    first = f"{get_column_letter(area.left)}{area.top}"
    last = f"{get_column_letter(area.right)}{area.bottom}"
    return first if first == last else f"{first}:{last}"


def _touches(ranges: Iterable[Any], cols: frozenset[int]) -> bool:
    """True when any of openpyxl's CellRanges has a column among `cols`."""
    return any(
        any(col in cols for col in range(cell_range.min_col, cell_range.max_col + 1))
        for cell_range in ranges
    )


def apply_layout(sheet: Any, layout: SheetLayout) -> None:
    """Make the openpyxl worksheet `sheet` look as `layout` says, and store its mark."""
    _reset(sheet, layout)
    _columns(sheet, layout)
    if layout.frozen_rows or layout.frozen_cols:
        sheet.freeze_panes = sheet.cell(row=layout.frozen_rows + 1, column=layout.frozen_cols + 1)
    else:
        sheet.freeze_panes = None
    if layout.header_height:
        sheet.row_dimensions[1].height = layout.header_height * 0.75  # points
    if layout.header_filter and layout.width:
        sheet.auto_filter.ref = _ref(Area(1, 1, layout.rows, layout.width))
    _validations(sheet, layout)
    _number_formats(sheet, layout)
    _colours(sheet, layout)
    _row_rules(sheet, layout)
    _styles(sheet, layout)
    for chart in layout.charts:
        sheet.add_chart(
            _chart(sheet, chart),
            _ref(Area(chart.anchor_row, chart.anchor_col, chart.anchor_row, chart.anchor_col)),
        )
    _mark(sheet, layout.mark)


def _reset(sheet: Any, layout: SheetLayout) -> None:
    """Drop what an earlier layout left: validations and colour rules on the owned columns or
    recognisably ours, and the charts when the layout has its own."""
    from openpyxl.formatting.formatting import ConditionalFormattingList

    owned = frozenset(layout.owned_cols)
    titles = {WARNING_TITLE} | {d.title[:32] for d in layout.dropdowns}

    def our_validation(dv: Any) -> bool:
        return (
            _touches(dv.sqref.ranges, owned) or dv.promptTitle in titles or dv.errorTitle in titles
        )

    values = {_quoted(c.text) for rule in layout.colours for c in rule.colours}
    formulas = {"=" + _quoted(rule.text) for rule in layout.row_rules}

    def our_rule(rule: Any) -> bool:
        formula = rule.formula[0] if rule.formula else ""
        if rule.type == "cellIs" and rule.operator == "equal":
            return formula in values
        return rule.type == "expression" and any(formula.endswith(end) for end in formulas)

    validations = sheet.data_validations.dataValidation
    validations[:] = [dv for dv in validations if not our_validation(dv)]
    kept = ConditionalFormattingList()
    for formatting in sheet.conditional_formatting:
        if _touches(formatting.sqref.ranges, owned):
            continue
        for rule in formatting.rules:
            if not our_rule(rule):
                kept.add(str(formatting.sqref), rule)
    sheet.conditional_formatting = kept
    if layout.charts:
        sheet._charts = []


def _quoted(text: str) -> str:
    """A text as a formula string literal."""
    return '"' + text.replace('"', '""') + '"'


def _columns(sheet: Any, layout: SheetLayout) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    for column in layout.columns:
        sheet.column_dimensions[get_column_letter(column.col)].width = column.width + 0.7
        cell = sheet.cell(row=1, column=column.col)
        if column.header_fill:
            cell.fill = PatternFill("solid", start_color=_argb(column.header_fill))
            cell.font = Font(bold=True, color=_argb(column.header_font))
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        if column.note:
            comment = Comment(column.note, AUTHOR)
            comment.width, comment.height = 260, 110
            cell.comment = comment
        else:
            cell.comment = None
        # The column's own style (what a cell written later gets), and its data cells now.
        letter = get_column_letter(column.col)
        if column.wrap or column.date_time or letter in sheet.column_dimensions:
            dimension = sheet.column_dimensions[letter]
            wrapped = Alignment(wrap_text=True, vertical="top")
            dimension.alignment = wrapped if column.wrap else Alignment()
            dimension.number_format = DATE_TIME_FORMAT if column.date_time else "General"
    styles = column_styles(sheet)
    for col, style in styles.items():
        for row in range(2, sheet.max_row + 1):
            apply_column_style(sheet.cell(row=row, column=col), style)


# (the alignment when the column wraps, else None; date-time; the column's width in characters)
ColumnStyle = tuple[Any, bool, float]
LINE_HEIGHT = 15.0  # points: one line of the default font


def column_styles(sheet: Any) -> dict[int, ColumnStyle]:
    """Column -> the wrap and number format its own style carries (columns with neither are
    absent): a cell openpyxl creates has the default style, whatever its column's."""
    from openpyxl.utils import column_index_from_string

    styles: dict[int, ColumnStyle] = {}
    for letter, dimension in sheet.column_dimensions.items():
        wrap = copy(dimension.alignment) if dimension.alignment.wrap_text else None
        date_time = dimension.number_format == DATE_TIME_FORMAT
        if wrap or date_time:
            first = dimension.min or column_index_from_string(letter)
            for col in range(first, (dimension.max or first) + 1):
                styles[col] = (wrap, date_time, float(dimension.width or 10))
    return styles


def apply_column_style(cell: Any, style: ColumnStyle) -> None:
    """Style a data cell as its column says. A wrapped text also sets its row's height: Excel
    and LibreOffice do not grow a row for a wrapped cell they did not lay out themselves."""
    wrap, date_time, width = style
    if wrap is not None:
        cell.alignment = wrap
        text = cell.value if isinstance(cell.value, str) else ""
        per_line = max(width * 1.1 - 2, 10)
        lines = sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))
        height = LINE_HEIGHT * lines if lines > 1 else None
        cell.parent.row_dimensions[cell.row].height = height
    if date_time:
        cell.number_format = DATE_TIME_FORMAT


def _number_formats(sheet: Any, layout: SheetLayout) -> None:
    """Date-time columns: the column's own format, which cells typed there take."""
    from openpyxl.utils import get_column_letter

    for col, pattern in layout.number_formats:
        sheet.column_dimensions[get_column_letter(col)].number_format = pattern


def _validations(sheet: Any, layout: SheetLayout) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    for dropdown in layout.dropdowns:
        letter = get_column_letter(dropdown.col)
        listed = dropdown.values
        validation = DataValidation(
            type="list",
            formula1='"' + ",".join(listed) + '"',
            allow_blank=True,
            showInputMessage=True,
            showErrorMessage=True,
            errorStyle="stop",
            promptTitle=dropdown.title[:32],
            prompt=dropdown.help[:MAX_MESSAGE],
            errorTitle="Valeur non prévue",
            error=dropdown.error[:MAX_MESSAGE],
        )
        validation.add(f"{letter}2:{letter}{layout.rows}")
        sheet.add_data_validation(validation)
    if layout.protected:
        warning = DataValidation(
            type="textLength",
            operator="lessThan",
            formula1="0",
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",
            errorTitle=WARNING_TITLE,
            error=layout.protection_note.removeprefix("[diplomates] ")[:MAX_MESSAGE],
        )
        for area in layout.protected:
            warning.add(_ref(area))
        sheet.add_data_validation(warning)


def _colours(sheet: Any, layout: SheetLayout) -> None:
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    for rule in layout.colours:
        letter = get_column_letter(rule.col)
        cells = f"{letter}2:{letter}{layout.rows}"
        for colour in rule.colours:
            fill = _argb(colour.fill)
            sheet.conditional_formatting.add(
                cells,
                CellIsRule(
                    operator="equal",
                    formula=[_quoted(colour.text)],
                    fill=PatternFill("solid", start_color=fill, end_color=fill),
                    font=Font(color=_argb(colour.font), bold=colour.bold),
                ),
            )


def _row_rules(sheet: Any, layout: SheetLayout) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    for rule in layout.row_rules:
        fill = _argb(rule.fill)
        sheet.conditional_formatting.add(
            _ref(rule.area),
            FormulaRule(
                formula=[f"${get_column_letter(rule.col)}{rule.area.top}={_quoted(rule.text)}"],
                fill=PatternFill("solid", start_color=fill, end_color=fill),
                font=Font(color=_argb(rule.font), bold=rule.bold),
            ),
        )


def _styles(sheet: Any, layout: SheetLayout) -> None:
    from openpyxl.styles import Font, PatternFill

    for style in layout.styles:
        for row in range(style.area.top, style.area.bottom + 1):
            for col in range(style.area.left, style.area.right + 1):
                cell = sheet.cell(row=row, column=col)
                font: dict[str, Any] = {"bold": style.bold}
                if style.font:
                    font["color"] = _argb(style.font)
                if style.size:
                    font["size"] = style.size
                cell.font = Font(**font)
                if style.fill:
                    cell.fill = PatternFill("solid", start_color=_argb(style.fill))


def _chart(sheet: Any, spec: Chart) -> Any:
    from openpyxl.chart import BarChart, PieChart, Reference
    from openpyxl.chart.label import DataLabelList
    from openpyxl.chart.series import DataPoint

    values = Reference(sheet, min_col=spec.values_col, min_row=spec.first_row,
                       max_row=spec.last_row)  # fmt: skip
    labels = Reference(sheet, min_col=spec.labels_col, min_row=spec.first_row,
                       max_row=spec.last_row)  # fmt: skip
    chart: Any
    if spec.kind == "pie":
        chart = PieChart()
    else:
        chart = BarChart()
        chart.type = "bar"  # horizontal bars: long French labels stay readable
        chart.legend = None
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.x_axis.scaling.orientation = "maxMin"  # first label on top, as in the table
        chart.y_axis.majorGridlines = None
    chart.title = spec.title
    chart.add_data(values, titles_from_data=False)
    chart.set_categories(labels)
    series = chart.series[0]
    if spec.kind == "pie":
        for index, colour in enumerate(spec.colours):
            point = DataPoint(idx=index)
            point.graphicalProperties.solidFill = colour
            series.dPt.append(point)
    else:
        series.graphicalProperties.solidFill = "2F5597"
    pie = spec.kind == "pie"  # every flag explicit: LibreOffice reads a missing one as "show"
    chart.dataLabels = DataLabelList(
        showVal=not pie,
        showPercent=pie,
        showCatName=False,
        showSerName=False,
        showLegendKey=False,
        showLeaderLines=False,
    )
    chart.width = spec.width * 2.54 / 96  # centimetres
    chart.height = spec.height * 2.54 / 96
    return chart


def _mark(sheet: Any, mark: str) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    sheet.defined_names[MARK_NAME] = DefinedName(MARK_NAME, attr_text=f'"{mark}"', hidden=True)


def marks_of(workbook: Any) -> Mapping[str, str]:
    """Sheet name -> mark, from an openpyxl workbook (for tests and tools)."""
    found = {}
    for sheet in workbook.worksheets:
        defined = sheet.defined_names.get(MARK_NAME)
        if defined is not None:
            found[sheet.title] = str(defined.attr_text).strip('"')
    return found
