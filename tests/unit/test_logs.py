"""Structured logs: JSON lines off a terminal, text on one; run id and step on every line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from pipeline import logs


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DIPLOMATES_LOG_FORMAT", raising=False)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]:
        root.removeHandler(handler)


def emit(stream: io.StringIO, debug: bool = False) -> list[str]:
    logs.setup(debug=debug, stream=stream)
    log = logging.getLogger("diplomates.test")
    log.info("before any run")
    with logs.run_context("run123"):
        logs.set_step("send")
        log.info("message deferred", extra={"message_id": 7, "to": "camille.martin@lyon.fr"})
        try:
            raise ValueError("bad value for camille.martin@lyon.fr")
        except ValueError:
            log.exception("unexpected")
    log.warning("after the run")
    return stream.getvalue().splitlines()


def test_json_lines_carry_run_id_and_step_when_not_a_terminal() -> None:
    """Off a terminal each line is one JSON object with ts, level, run and step (null outside)."""
    lines = [json.loads(line) for line in emit(io.StringIO())]
    assert [(e["run"], e["step"]) for e in lines] == [
        (None, None), ("run123", "send"), ("run123", "send"), (None, None),
    ]  # fmt: skip
    assert lines[1]["msg"] == "message deferred" and lines[1]["message_id"] == 7
    assert {"ts", "level", "logger"} <= set(lines[0]) and lines[3]["level"] == "warning"


def test_email_shaped_text_is_masked_and_tracebacks_need_debug() -> None:
    """An address in a field or message is masked; an exception shows its type only."""
    text = "\n".join(emit(io.StringIO()))
    assert "camille.martin@lyon.fr" not in text and "<masked address>" in text
    assert '"exception": "ValueError"' in text and "Traceback" not in text
    debug = "\n".join(emit(io.StringIO(), debug=True))
    assert "Traceback" in debug and "camille.martin@lyon.fr" not in debug


def test_a_terminal_gets_readable_text() -> None:
    """On a terminal: time, level, [run · step], the message and key=value fields."""
    lines = emit(Terminal())
    assert "[run123 · send] message deferred" in lines[1] and "message_id=7" in lines[1]
    assert not lines[0].startswith("{")


def test_the_environment_can_force_a_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """DIPLOMATES_LOG_FORMAT=json on a terminal gives JSON; =text off a terminal gives text."""
    monkeypatch.setenv("DIPLOMATES_LOG_FORMAT", "json")
    assert json.loads(emit(Terminal())[0])["msg"] == "before any run"
    monkeypatch.setenv("DIPLOMATES_LOG_FORMAT", "text")
    assert not emit(io.StringIO())[0].startswith("{")


def test_setup_twice_keeps_one_handler() -> None:
    """Calling setup again (each CLI call does) replaces our handler instead of doubling lines."""
    stream = io.StringIO()
    logs.setup(stream=stream)
    logs.setup(stream=stream)
    logging.getLogger("diplomates.test").info("once")
    assert stream.getvalue().count("once") == 1


def test_masking_keeps_the_quotes_around_an_address() -> None:
    """A quoted address is masked inside its quotes (`'<masked address>'`), o'brien@ whole."""
    assert logs.scrub("'sender': 'a.b@lyon.fr'") == "'sender': '<masked address>'"
    assert logs.scrub("to o'brien@lyon.fr.") == "to <masked address>."
