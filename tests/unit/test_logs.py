"""Structured logs: JSON lines in the Cloud Logging shape in the cloud, text elsewhere."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from backcourt.logs import LABELS, SOURCE, choose_format, configure_logging


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_has_cloud_logging_fields_and_the_extra_correlation_fields(
        restore_root: None) -> None:
    out = io.StringIO()
    assert configure_logging(logging.INFO, stream=out, env={"K_SERVICE": "process"}) == "json"
    before = datetime.now(UTC)
    logging.getLogger("backcourt.test").warning(
        "unit %s failed", "u1",
        extra={"run_id": "run-7", "processor": "player_game_summary",
               "game_date": date(2025, 1, 15), "phase": "3"})
    logging.getLogger("backcourt.test").debug("below the level: not written")
    (entry,) = _lines(out)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "unit u1 failed"
    assert (entry["run_id"], entry["processor"], entry["game_date"], entry["phase"]) == (
        "run-7", "player_game_summary", "2025-01-15", "3")
    assert entry[LABELS] == {"run_id": "run-7", "processor": "player_game_summary",
                             "game_date": "2025-01-15", "phase": "3"}
    stamp = str(entry["time"])
    assert stamp.endswith("Z")
    assert abs((datetime.fromisoformat(stamp[:-1] + "+00:00") - before).total_seconds()) < 60
    source = entry[SOURCE]
    assert isinstance(source, dict) and source["function"] == (
        "test_json_line_has_cloud_logging_fields_and_the_extra_correlation_fields")
    assert entry["logger"] == "backcourt.test"


def test_json_without_extra_has_no_labels_and_an_exception_keeps_its_traceback(
        restore_root: None) -> None:
    out = io.StringIO()
    configure_logging(logging.INFO, stream=out, env={"BACKCOURT_LOG_FORMAT": "json"})
    log = logging.getLogger("backcourt.test")
    log.info("plain")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it broke", extra={"run_id": "r"})
    plain, broken = _lines(out)
    assert plain["severity"] == "INFO" and LABELS not in plain and "run_id" not in plain
    assert broken["severity"] == "ERROR"
    message = str(broken["message"])
    assert message.startswith("it broke\n") and "ValueError: boom" in message


@pytest.mark.parametrize(("env", "stream", "expected"), [
    ({"K_SERVICE": "plan"}, io.StringIO(), "json"),
    ({"BACKCOURT_LOG_FORMAT": "json"}, _Tty(), "json"),
    ({"K_SERVICE": "plan", "BACKCOURT_LOG_FORMAT": "text"}, io.StringIO(), "text"),
    ({}, _Tty(), "rich"),
    ({}, io.StringIO(), "text"),
])
def test_format_is_json_in_the_cloud_rich_on_a_terminal_text_in_a_pipe(
        env: dict[str, str], stream: io.StringIO, expected: str) -> None:
    assert choose_format(env, stream) == expected


def test_human_output_on_a_terminal_is_not_json(restore_root: None) -> None:
    out = _Tty()
    assert configure_logging(logging.INFO, stream=out, env={}) == "rich"
    logging.getLogger("backcourt.test").warning("lease lost on %s", "2025-01-15")
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    assert "lease lost on 2025-01-15" in text and "WARNING" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_configuring_twice_keeps_one_own_handler_and_foreign_handlers(
        restore_root: None) -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()
    configure_logging(logging.INFO, stream=first, env={"BACKCOURT_LOG_FORMAT": "json"})
    configure_logging(logging.INFO, stream=second, env={"BACKCOURT_LOG_FORMAT": "json",
                                                         "BACKCOURT_LOG_LEVEL": "error"})
    assert foreign in root.handlers
    log = logging.getLogger("backcourt.test")
    log.warning("dropped: the level is ERROR now")
    log.error("kept")
    assert first.getvalue() == ""
    assert [e["message"] for e in _lines(second)] == ["kept"]
