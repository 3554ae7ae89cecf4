"""What `diplomates run --dry-run` lists: each message a run would send, each cell it would change.

Personal values are masked (an address as `c…@lyon.fr`, a name, phone or typed collectivité as its
first letter, an explanation by its length), so the listing can be pasted into a ticket; ids,
statuses, codes and dates are shown as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from pipeline.core.model import Cell, SheetWrite, Template
from pipeline.core.sheetplan import as_text
from pipeline.core.text import fold

# Columns whose values are a person's own data (or what they typed): shown masked.
PERSONAL = frozenset(
    fold(h) for h in ("Nom", "Prénom", "Courriel", "Téléphone", "Personne", "Collectivité (saisie)")
)
# Free text that may quote what a person typed: shown by its length only.
FREE_TEXT = frozenset({fold("Explication")})


def mask_address(address: str) -> str:
    """`camille.martin@lyon.fr` -> `c…@lyon.fr`."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if at else mask_text(address)


def mask_text(value: str) -> str:
    """A personal value shown by its first character only (`Martin` -> `M…`)."""
    return f"{value[:1]}…" if value else ""


def _shown(value: str, column: str) -> str:
    if value and column in FREE_TEXT:
        return f"<{len(value)} characters>"
    if value and column in PERSONAL:
        value = mask_address(value) if "@" in value else mask_text(value)
    return repr(value)


def message_lines(
    due: Sequence[tuple[str, Template]], addresses: Mapping[str, str]
) -> Iterator[str]:
    """One line per message: template, person ID, masked address."""
    for person_id, template in sorted(due, key=lambda item: (item[1].value, item[0])):
        address = mask_address(addresses.get(person_id, ""))
        yield f"{template.value:22} {person_id:14} {address}"


def change_lines(write: SheetWrite, before: Sequence[Sequence[str]] | None) -> Iterator[str]:
    """One line per changed cell: row key, column, old -> new (personal values masked)."""
    table = [list(row) for row in before or ()]
    header = list(table[0]) if table else []
    new: dict[tuple[int, int], Cell] = {(c.row, c.col): c.value for c in write.cells}
    for (row, col), value in new.items():  # the header as the write leaves it
        if row == 1:
            header += [""] * (col - len(header))
            header[col - 1] = as_text(value)

    def old(row: int, col: int) -> str:
        if row - 1 < len(table) and col - 1 < len(table[row - 1]):
            return table[row - 1][col - 1]
        return ""

    def key(row: int) -> str:
        if row == 1:
            return "(header)"
        if write.key_col is None:
            return f"row {row}"
        found = as_text(new.get((row, write.key_col))) or old(row, write.key_col)
        return found or f"row {row}"

    for (row, col), value in sorted(new.items()):
        title = header[col - 1] if col - 1 < len(header) else f"column {col}"
        column = fold(title) if row > 1 else ""
        was, will = _shown(old(row, col), column), _shown(as_text(value), column)
        yield f"{key(row):14} {title}: {was} → {will}"
