"""A pytest plugin for `make mutation` only (loaded by `[tool.mutmut]` in pyproject.toml).

mutmut runs the tests from a copy of the code in `mutants/`, whose reference cache stamp differs
from the working copy's (the stamp hashes the source files). Two things keep that run fast and
honest: the official list is cached in `mutants/.reference-cache` (not the shared
`~/.cache/diplomates`, where other checkouts' stamps would force a rebuild in every mutant's
process), and a process running a mutant never writes that cache, so tables built by mutated
code can never be read by the next mutant. The cache is written once, by mutmut's clean run
(the original code).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import pipeline.adapters.reference as reference_adapter
import pipeline.core.reference as reference_core

CACHE = Path(__file__).resolve().parent.parent / ".reference-cache"


def pytest_configure(config: pytest.Config) -> None:
    if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
        # mutmut forks each mutant's run from a process that ran the clean tests: a memo filled
        # there would answer with the original code (`_same_word` behind `_designator_firsts`)
        reference_core._designator_firsts.cache_clear()
    write = reference_adapter._write_cache

    def write_unless_mutated(path: Path, *args: Any) -> None:
        if path.parent == CACHE and "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
            return
        write(path, *args)

    reference_adapter.default_cache_dir = lambda: CACHE
    reference_adapter._write_cache = write_unless_mutated
