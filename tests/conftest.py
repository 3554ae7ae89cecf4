"""Fixtures every suite may use, defined in tests/support: the Sheets stand-in and the Google
backend on it (`sheets_standin`, `google_spreadsheet`), every spreadsheet backend (`backend`)."""

pytest_plugins = ["tests.support.google_harness", "tests.support.backends"]
