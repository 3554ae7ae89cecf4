"""Parts and former names: the edges of each rule (ordinals, lists, sectors, the method shown).

Pinned against the mutants `make mutation` found alive (tests/unit/mutation-survivors.md lists
those reviewed as equivalent)."""

from __future__ import annotations
