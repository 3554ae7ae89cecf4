"""The typo and shortened-name search: which near names count, the margin between the best two, the fields compared.

Pinned against the mutants `make mutation` found alive (tests/unit/mutation-survivors.md lists
those reviewed as equivalent)."""

from __future__ import annotations
