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
