"""The deciding steps: places named by the answer, contradictions of type and département, several places, codes, aliases.

Pinned against the mutants `make mutation` found alive (tests/unit/mutation-survivors.md lists
those reviewed as equivalent)."""

from __future__ import annotations
