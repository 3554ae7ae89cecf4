"""Fixtures of the matcher's unit tests: the official list and the corpus members' index, built
once per module (a module may define its own `index` from other members)."""

from __future__ import annotations

import pytest

from pipeline.adapters.reference import load_reference
from pipeline.core.matching import MemberIndex, build_index
from pipeline.core.reference import Reference
from tests.support.matching_corpus.corpus import load_members


@pytest.fixture(scope="module")
def reference() -> Reference:
    return load_reference()


@pytest.fixture(scope="module")
def index(reference: Reference) -> MemberIndex:
    return build_index(load_members(), reference)
