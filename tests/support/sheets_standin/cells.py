"""Cell values as the Sheets API stores them, and how each render option shows them.

A cell holds an effective value (text, number or boolean), maybe the formula that produced it,
and maybe a number format (dates are numbers, days since 1899-12-30, shown through a format).
`RAW` input stores what it gets: a string is text, always, even `=1+1` or `01053`.
`USER_ENTERED` input is parsed as if typed in the UI; the stand-in parses the common cases
(numbers, thousands separators, percentages, ISO dates and date-times, booleans, a leading
apostrophe, and formulas of plain arithmetic) and keeps anything else as text.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

EPOCH = datetime(1899, 12, 30)

Scalar = str | float | bool


@dataclass(frozen=True)
class Cell:
    value: Scalar
    formula: str | None = None
    number_format: str | None = None  # "DATE yyyy-mm-dd", "NUMBER #,##0.00", …

    @property
    def is_formula(self) -> bool:
        return self.formula is not None


def serial(moment: datetime | date) -> float:
    """A date or a naive local date-time as a Sheets serial number."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    delta = moment.replace(tzinfo=None) - EPOCH
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


def from_serial(number: float) -> datetime:
    return EPOCH + timedelta(days=number)


# --- input --------------------------------------------------------------------------------------


def raw_cell(value: object) -> Cell | None:
    """RAW input; None means an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return Cell(value)
    if isinstance(value, int | float):
        return Cell(float(value))
    return Cell(str(value))


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_PERCENT = re.compile(r"([+-]?(\d+\.?\d*|\.\d+))%")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_ISO_DATETIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")


def user_entered_cell(value: object) -> Cell | None:
    """USER_ENTERED input, parsed like the UI does for the common cases."""
    if not isinstance(value, str):
        return raw_cell(value)
    text = value
    if text == "":
        return None
    if text.startswith("'"):
        return Cell(text[1:]) if len(text) > 1 else None
    if text.startswith("="):
        return Cell(evaluate(text), formula=text)
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return Cell(stripped.upper() == "TRUE")
    if _NUMBER.fullmatch(stripped):
        return Cell(float(stripped))
    if _GROUPED.fullmatch(stripped):
        decimals = len(stripped.split(".", 1)[1]) if "." in stripped else 0
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return Cell(float(stripped.replace(",", "")), number_format=f"NUMBER {pattern}")
    match = _PERCENT.fullmatch(stripped)
    if match:
        decimals = len(match.group(1).split(".", 1)[1]) if "." in match.group(1) else 0
        pattern = "0" + ("." + "0" * decimals if decimals else "") + "%"
        return Cell(float(match.group(1)) / 100, number_format=f"PERCENT {pattern}")
    match = _ISO_DATETIME.fullmatch(stripped)
    if match:
        year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
        try:
            moment = datetime(year, month, day, hour, minute, second)
        except ValueError:
            return Cell(text)
        return Cell(serial(moment), number_format="DATE_TIME yyyy-mm-dd hh:mm:ss")
    match = _ISO_DATE.fullmatch(stripped)
    if match:
        try:
            day_ = date(*(int(g) for g in match.groups()))
        except ValueError:
            return Cell(text)
        return Cell(serial(day_), number_format="DATE yyyy-mm-dd")
    return Cell(text)


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def evaluate(formula: str) -> Scalar:
    """The value of a formula of plain arithmetic; anything else is an error value."""
    try:
        tree = ast.parse(formula[1:].strip().replace("^", "**"), mode="eval")
        return _arith(tree.body)
    except ZeroDivisionError:
        return "#DIV/0!"
    except (SyntaxError, ValueError, TypeError):
        return "#NAME?"


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _arith(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_arith(node.left), _arith(node.right)))
    raise ValueError("not arithmetic")


# --- output -------------------------------------------------------------------------------------


def json_number(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def general(value: float) -> str:
    """The UI's automatic number format: up to 10 significant digits."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if 1e10 <= abs(value) < 1e15:
        return str(round(value))
    text = f"{value:.10g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}E{'+' if int(exponent) >= 0 else '-'}{abs(int(exponent)):02d}"
    return text


def _formatted_number(cell: Cell) -> str:
    assert isinstance(cell.value, float)
    if cell.number_format is None:
        return general(cell.value)
    kind, _, pattern = cell.number_format.partition(" ")
    if kind in ("DATE", "DATE_TIME", "TIME"):
        moment = from_serial(cell.value)
        text = pattern
        for token, value in (
            ("yyyy", f"{moment.year:04d}"),
            ("dd", f"{moment.day:02d}"),
            ("hh", f"{moment.hour:02d}"),
            ("HH", f"{moment.hour:02d}"),
            ("ss", f"{moment.second:02d}"),
        ):
            text = text.replace(token, value)
        text = re.sub(r"(?<=:)mm|mm(?=:)", f"{moment.minute:02d}", text)
        return text.replace("mm", f"{moment.month:02d}").replace("MM", f"{moment.month:02d}")
    if kind == "PERCENT":
        decimals = len(pattern.split(".", 1)[1]) - 1 if "." in pattern else 0
        return f"{cell.value * 100:.{decimals}f}%"
    if pattern.startswith("#,##0"):
        decimals = len(pattern.split(".", 1)[1]) if "." in pattern else 0
        return f"{cell.value:,.{decimals}f}"
    return general(cell.value)


def render(cell: Cell | None, value_option: str, date_option: str) -> object:
    """A cell as `valueRenderOption` and `dateTimeRenderOption` ask; empty is ""."""
    if cell is None:
        return ""
    if value_option == "FORMULA" and cell.formula is not None:
        return cell.formula
    value = cell.value
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if value_option == "FORMATTED_VALUE" else value
    if isinstance(value, str):
        return value
    is_date = cell.number_format is not None and cell.number_format.startswith(("DATE", "TIME"))
    if value_option == "FORMATTED_VALUE" or (is_date and date_option == "FORMATTED_STRING"):
        return _formatted_number(cell)
    return json_number(value)
