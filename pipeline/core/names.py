"""People's names shown as people write their own: `MASSON` -> `Masson`, `jean-marc` -> `Jean-Marc`.

Only a name typed all in lower case or all in capitals is recased; a name typed with both
(`de La Fontaine`, `McDonald`, `d'ARTAGNAN`) is kept exactly as its owner wrote it.
"""

from __future__ import annotations

import re

# Particles written in lower case inside a name (`Jean de La Fontaine`, `Ludwig van Beethoven`);
# articles (`Le Bihan`, `La Fontaine`) are capitalised.
_PARTICLES = frozenset(
    {"de", "du", "des", "d'", "d’", "van", "von", "der", "den", "da", "di", "dos"}
)
_APOSTROPHES = "'’"
# A word break after which a letter starts a new part of the name: space, hyphen, apostrophe.
_PARTS = re.compile(r"([\s\-'’]+)")


def _capital(part: str) -> str:
    if not part:
        return part
    lowered = part.lower()
    if lowered.startswith("mc") and len(lowered) > 2:  # McDonald, McCartney
        return "Mc" + lowered[2].upper() + lowered[3:]
    return lowered[0].upper() + lowered[1:]


def _word(word: str, only: bool) -> str:
    """One space-separated word: a particle stays lower case (unless it is the whole name)."""
    lowered = word.lower()
    if not only and lowered in _PARTICLES:
        return lowered
    if len(lowered) > 2 and lowered[0] == "d" and lowered[1] in _APOSTROPHES:
        return "d" + lowered[1] + _recase(lowered[2:])  # d'Estaing
    return _recase(word)


def _recase(word: str) -> str:
    return "".join(
        piece if _PARTS.fullmatch(piece) else _capital(piece) for piece in _PARTS.split(word)
    )


def display_name(text: str) -> str:
    """A first or last name as its owner would write it (see the module docstring)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return text
    if any(c.islower() for c in letters) and any(c.isupper() for c in letters):
        return text
    words = text.split(" ")
    only = sum(1 for w in words if w) == 1
    return " ".join(_word(w, only) if w else w for w in words)
