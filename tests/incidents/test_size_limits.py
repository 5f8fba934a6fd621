"""Incident (issue 14 #6): no size limits. "A 200 MB box score was ingested (1.15 GB peak
memory); a 300 KB gzip became a 314 MB object. In a 1 GiB function that is an out-of-memory kill
that names no file."

Guarded here: every source has a largest file and a largest decompressed size
(``backcourt.sources.limits``, set by ``BACKCOURT_MAX_FILE_MB`` / ``BACKCOURT_MAX_INFLATED_MB``
and their ``__<SOURCE>`` forms); gzip is inflated as a stream that stops one chunk past the cap.
``ingest`` refuses an oversize file (before reading it) or a gzip bomb (having inflated little of
it), naming the file and the limit, and stores nothing; phase 2 quarantines such a file found in
the bucket, failing only the (processor, date) that reads it, terminally, with the same error.
"""

from __future__ import annotations

import gzip
import json
import os
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from faults import FIXTURES_NBA, services_on
from typer.testing import CliRunner

from backcourt import cli
from backcourt.config import load_settings
from backcourt.domain.errors import MalformedRawFile
from backcourt.domain.registry import Phase
from backcourt.domain.status import State
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window
from backcourt.sources import limits
from backcourt.sources.layout import quarantine_path, raw_path, raw_prefix
from backcourt.sources.parsing import decode

pytestmark = pytest.mark.local

SEASON = "2024-25"
DAY = date(2025, 1, 16)
BOMB_MB = 300
"""What the bomb inflates to (MiB of zeros; about 300 KB as gzip)."""


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``limited(**env)``: set size-limit variables in the environment (the CLI's settings and
    spawned parse workers read them) and make them the active limits; restored after."""

    def set_env(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        limits.configure(limits.SourceLimits.from_env(os.environ))

    yield set_env
    limits.reset()  # back to the defaults of the (restored) environment


def _bomb() -> bytes:
    """A gzip of about 300 KB that inflates to 300 MiB: a JSON document padded with spaces."""
    body = b'{"resultSets": []' + b" " * (BOMB_MB * 1024 * 1024) + b"}"
    return gzip.compress(body, compresslevel=9)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _bomb()


def test_a_gzip_bomb_is_refused_having_inflated_only_up_to_the_cap(
        tmp_path: Path, limited: Callable[..., None], bomb: bytes) -> None:
    """Before: ``gzip.decompress`` inflated all 300 MiB (then stored them). Now: refused at the
    8 MiB cap, the peak memory of the attempt a small multiple of the cap."""
    limited(BACKCOURT_MAX_INFLATED_MB="8")
    assert len(bomb) < 400_000
    path = tmp_path / "boxscore.json.gz"
    path.write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(limits.FileTooLarge) as info:
            decode(bomb, str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"peak {peak:,} bytes: the bomb was inflated"
    text = str(info.value)
    assert str(path) in text and "8,388,608-byte limit" in text
    assert "BACKCOURT_MAX_INFLATED_MB" in text


def test_ingest_refuses_a_gzip_bomb_and_an_oversize_file_and_stores_neither(
        tmp_path: Path, limited: Callable[..., None], bomb: bytes) -> None:
    limited(BACKCOURT_MAX_INFLATED_MB="8", BACKCOURT_MAX_FILE_MB__NBACOM_BOXSCORE="0.05")
    gz = tmp_path / "bomb.json.gz"
    gz.write_bytes(bomb)
    box = json.loads((FIXTURES_NBA / "nbacom-boxscore-0022400561.json").read_text())
    big = tmp_path / "big-boxscore.json"  # a real box score padded past 0.05 MiB
    big.write_text(json.dumps(box) + " " * 60_000)
    home = tmp_path / "home"
    out = CliRunner().invoke(cli.app, ["--home", str(home), "ingest", str(gz), str(big)])
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())
    assert text.count("✗") == 2 and "✓" not in text, text
    assert "decompresses past the 8,388,608-byte limit" in text and "bomb.json.gz" in text
    assert "52,428-byte limit of nbacom_boxscore" in text and "big-boxscore.json" in text
    assert "BACKCOURT_MAX_FILE_MB__NBACOM_BOXSCORE" in text
    s = services_on(home)
    try:
        assert s.bucket.list("raw/") == []
    finally:
        s.close()


def test_ingest_checks_the_size_before_reading_the_file(
        tmp_path: Path, limited: Callable[..., None]) -> None:
    """A file over every source's limit is refused from its size alone (a sparse 1 GiB file:
    reading it would take the memory the limit is there to save)."""
    limited(BACKCOURT_MAX_FILE_MB="1")
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:
        f.truncate(1024**3)
    from backcourt.services.ingest import ingest_file

    s = services_on(tmp_path / "home")
    try:
        tracemalloc.start()
        with pytest.raises(limits.FileTooLarge, match="1,073,741,824 bytes is over the "
                                                      "1,048,576-byte limit of any source"):
            ingest_file(s.bucket, huge)
        assert tracemalloc.get_traced_memory()[1] < 50 * 1024 * 1024
    finally:
        tracemalloc.stop()
        s.close()


def test_phase_2_quarantines_an_oversize_file_naming_the_limit(
        make_home: Callable[..., Path], limited: Callable[..., None]) -> None:
    """A box score over its limit already in the bucket: both box processors of its date fail
    terminally (or find the game missing), the file moves to quarantine/ intact, the other
    processors and dates are untouched."""
    limited(BACKCOURT_MAX_FILE_MB__NBACOM_BOXSCORE="0.05")
    home = make_home([DAY])
    s = services_on(home, env={"BACKCOURT_MAX_FILE_MB__NBACOM_BOXSCORE": "0.05"})
    try:
        path = s.bucket.list(raw_prefix("nbacom_boxscore", DAY))[0]
        padded = s.bucket.read(path) + b" " * 60_000
        s.bucket.write(path, padded)
        Runner(s).backfill([SEASON], [Phase.RAW], Window(DAY, DAY))
        states = {p: s.status.get(p, DAY) for p in ("player_boxscores", "team_boxscores")}
        failed = [st for st in states.values() if st is not None and st.state is State.FAILED]
        assert failed, states
        for st in failed:
            assert st.error_kind == "terminal" and st.error and path in st.error, st
            assert "byte limit of nbacom_boxscore" in st.error, st
        assert not s.bucket.exists(path)
        assert s.bucket.read(quarantine_path(path)) == padded
        props = s.status.get("player_props", DAY)
        assert props is not None and props.state is State.SUCCEEDED, props
    finally:
        s.close()


def test_limits_come_from_the_settings_and_bad_values_are_named() -> None:
    settings = load_settings(Path("unused"), env={"BACKCOURT_MAX_FILE_MB": "2",
                                                  "BACKCOURT_MAX_INFLATED_MB__NBACOM_SCHEDULE":
                                                  "100"})
    assert settings.limits.max_file("oddsapi_player_props") == 2 * 1024 * 1024
    assert settings.limits.max_inflated("nbacom_schedule") == 100 * 1024 * 1024
    assert settings.limits.max_inflated("nbacom_boxscore") == 16 * 1024 * 1024
    from backcourt.domain.errors import BadInput

    with pytest.raises(BadInput, match="BACKCOURT_MAX_FILE_MB"):
        load_settings(Path("unused"), env={"BACKCOURT_MAX_FILE_MB": "-1"})


def test_multi_member_and_truncated_gzip_still_read_as_before() -> None:
    doc = {"a": list(range(1000))}
    one = gzip.compress(json.dumps(doc).encode())
    assert decode(one, raw_path("nbacom_boxscore", DAY, "x.json")) == doc
    two = gzip.compress(b'{"a": ') + gzip.compress(b"1}")
    assert decode(two, "x.json.gz") == {"a": 1}
    with pytest.raises(MalformedRawFile, match="truncated or corrupt gzip"):
        decode(one[:40], "x.json.gz")
