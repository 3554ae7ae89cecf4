"""Reading a typed name: designators before and after, islands, cores of intercommunalities, usual names, quartiers, unknown names.

Pinned against the mutants `make mutation` found alive (tests/unit/mutation-survivors.md lists
those reviewed as equivalent)."""

from __future__ import annotations
