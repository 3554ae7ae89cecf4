"""The state DB's one schema owner: opening a `StateStore` creates every table, old DBs included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from pipeline.adapters.state import schema
from pipeline.adapters.state.privacy import PrivacyState
from pipeline.adapters.state.store import StateStore
from tests.support import pg

T0 = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def state_url(tmp: Path, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'state.sqlite'}"
    reason = pg.skip_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    return pg.shared_cluster().create_database()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_opening_a_fresh_state_db_creates_every_table_of_the_schema(
    tmp_path: Path, backend: str
) -> None:
    """A new database holds every table `schema.py` declares as soon as the store opens it."""
    store = StateStore(state_url(tmp_path, backend))
    assert set(inspect(store.engine).get_table_names()) == set(schema.metadata.tables)
    assert {"runs", "messages", "locks", "erasures", "privacy_keys"} <= set(schema.metadata.tables)


def test_a_state_db_made_before_the_privacy_tables_gains_them_when_opened(tmp_path: Path) -> None:
    """A database holding only the first tables gets the privacy tables from the store alone,
    so privacy operations need no table creation of their own."""
    url = state_url(tmp_path, "sqlite")
    engine = create_engine(url)
    schema.metadata.create_all(engine, tables=[schema.runs, schema.messages, schema.locks])
    assert "erasures" not in inspect(engine).get_table_names()
    engine.dispose()
    store = StateStore(url)
    assert {"erasures", "privacy_keys"} <= set(inspect(store.engine).get_table_names())
    privacy = PrivacyState(store)
    privacy.record_erasure("abc", T0, T0)
    assert privacy.erasures() == {"abc": T0}
