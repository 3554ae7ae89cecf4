"""Fixtures every suite may use, defined in tests/support: the Sheets stand-in and the Google
backend on it (`sheets_standin`, `google_spreadsheet`), every spreadsheet backend (`backend`)."""

import unicodedata

import pytest

pytest_plugins = ["tests.support.google_harness", "tests.support.backends"]


def ascii_id(text: str) -> str:
    """A test id in ASCII: pytest escapes other characters in node ids (`D\\xe9partement`), and
    such an id given back on a command line run in-process (as mutmut does, `make mutation`) is
    "not found", which mutmut counts as a killed mutant."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Every generated parametrize id in ASCII (see `ascii_id`)."""
    return ascii_id(val) if isinstance(val, str) and not val.isascii() else None
