"""A1 notation as the Sheets API reads and writes it: `'My sheet'!A1:B2`, `Sheet1!A:A`, `2:2`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"([A-Za-z]{0,3})(\d*)")
_PLAIN_TITLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*|true|false", re.IGNORECASE)


class RangeError(ValueError):
    """The text is not a range the API can parse."""


@dataclass(frozen=True)
class Ref:
    """A parsed range; None marks an open side (`A:A` has no rows, `2:2` no columns)."""

    sheet: str | None  # None: no sheet named (the first visible sheet is meant)
    top: int | None = None
    left: int | None = None
    bottom: int | None = None
    right: int | None = None
    whole_sheet: bool = False


def column_number(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def quote_title(title: str) -> str:
    """A title as Google prints it in a range: bare when unambiguous, else quoted."""
    if _PLAIN_TITLE.fullmatch(title) and not _CELL_LIKE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def format_range(title: str, top: int, left: int, bottom: int, right: int) -> str:
    start = f"{column_letters(left)}{top}"
    end = f"{column_letters(right)}{bottom}"
    cells = start if (top, left) == (bottom, right) else f"{start}:{end}"
    return f"{quote_title(title)}!{cells}"


def _split_sheet(text: str) -> tuple[str | None, str]:
    if text.startswith("'"):
        index = 1
        title = []
        while index < len(text):
            char = text[index]
            if char == "'":
                if text[index + 1 : index + 2] == "'":
                    title.append("'")
                    index += 2
                    continue
                rest = text[index + 1 :]
                if rest == "":
                    return "".join(title), ""
                if rest.startswith("!"):
                    return "".join(title), rest[1:]
                raise RangeError(text)
            title.append(char)
            index += 1
        raise RangeError(text)
    if "!" in text:
        sheet, cells = text.rsplit("!", 1)
        return sheet, cells
    return None, text


def _cell(text: str) -> tuple[int | None, int | None]:
    match = _CELL.fullmatch(text)
    if not match or not text:
        raise RangeError(text)
    letters, digits = match.groups()
    row = int(digits) if digits else None
    col = column_number(letters) if letters else None
    if row == 0:
        raise RangeError(text)
    return row, col


def parse(text: str) -> Ref:
    """Parse a range; a bare word that is not a cell reference is a sheet title."""
    text = text.strip()
    if not text:
        raise RangeError(text)
    sheet, cells = _split_sheet(text)
    if sheet is None:
        try:
            return _cells(None, cells)
        except RangeError:
            return Ref(sheet=cells, whole_sheet=True)
    if cells == "":
        return Ref(sheet=sheet, whole_sheet=True)
    return _cells(sheet, cells)


def _cells(sheet: str | None, cells: str) -> Ref:
    first, _, second = cells.partition(":")
    top, left = _cell(first)
    if not second:
        if top is None or left is None:
            raise RangeError(cells)
        return Ref(sheet, top, left, top, left)
    bottom, right = _cell(second)
    if top is None and bottom is None and (left is None or right is None):
        raise RangeError(cells)
    if left is None and right is None and (top is None or bottom is None):
        raise RangeError(cells)
    if top is not None and bottom is not None and bottom < top:
        top, bottom = bottom, top
    if left is not None and right is not None and right < left:
        left, right = right, left
    # `A2:2` opens the right side, `A2:B` the bottom: A1 notation reads like that.
    if left is not None and right is None and bottom is not None and top is not None:
        return Ref(sheet, top, left, bottom, None)
    return Ref(sheet, top, left, bottom, right)
