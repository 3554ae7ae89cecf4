"""Text folding shared by header matching, identity and collectivité matching."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Trimmed, lowercased, accent-free, single-spaced: `  Adresse E-mail ` -> `adresse e-mail`.

    Typographic apostrophes become `'` (Google Forms on phones types `’`).
    """
    return _SPACES.sub(" ", strip_accents(text.translate(_APOSTROPHES)).casefold()).strip()


def clean(text: str) -> str:
    """A form value made safe to show and store: control characters out, spaces collapsed."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "\u2019": "'", "\u2018": "'", "\u02bc": "'"}
)


def ascii_fold(text: str) -> str:
    """Lowercased plain ASCII, fast: `Vœuil-et-Giget` -> `voeuil-et-giget`, `Île` -> `ile`.

    Letters with accents lose them; characters with no ASCII form are dropped. Used for the
    tens of thousands of names of the official list, where `fold` would be slow.
    """
    text = text.translate(_LIGATURES).casefold()
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
