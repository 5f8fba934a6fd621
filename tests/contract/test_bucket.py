"""The Bucket contract: one suite, run on a folder (tmp_path) and on GCS (the emulator).

Both adapters must give the same answers for what the port promises and phase 2 relies on:
bytes round-trip exactly, writes overwrite, a missing object reads as FileNotFoundError,
``list`` of a "folder" prefix (callers always end it with ``/``) is sorted and stays under it,
``move`` quarantines (source gone, destination holds the bytes), and object paths that climb out
with ``..`` are refused. The GCS parameter starts ``gcp-storage-emulator``
(``tests/gcs_fixtures.py``) and gets a fresh bucket per test.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.errors import TerminalError
from backcourt.ports import Bucket
from backcourt.sources.layout import quarantine_path, raw_path, raw_prefix

BOX = "nbacom_boxscore"
DAY = date(2025, 1, 15)
RAW_FILE = "raw/nbacom_boxscore/2025-01-15/0022400555.json"
BINARY = bytes(range(256)) + b"\x00\xff\r\n\x1f\x8b"  # every byte value, NULs, a gzip magic
BAD_PATH = TerminalError  # both adapters refuse a bad path with a terminal error


@pytest.fixture(params=[pytest.param("folder"),
                        pytest.param("gcs", marks=pytest.mark.emulator)])
def bucket(request: pytest.FixtureRequest, tmp_path: Path) -> Bucket:
    if request.param == "folder":
        return FolderBucket(tmp_path / "bucket")
    gcs: Bucket = request.getfixturevalue("gcs_bucket")
    return gcs


# -- write / read ----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b'{"resultSets": []}', BINARY, b""],
                         ids=["json", "binary", "empty"])
def test_write_read_round_trip_is_byte_exact(bucket: Bucket, data: bytes) -> None:
    bucket.write(RAW_FILE, data)
    got = bucket.read(RAW_FILE)
    assert type(got) is bytes
    assert got == data


def test_write_overwrites_and_keeps_one_object(bucket: Bucket) -> None:
    bucket.write(RAW_FILE, b"first version, longer than the second")
    bucket.write(RAW_FILE, b"second")
    assert bucket.read(RAW_FILE) == b"second"
    assert bucket.list("raw/") == [RAW_FILE]


def test_names_with_spaces_and_unicode_round_trip(bucket: Bucket) -> None:
    path = "exports/2025-01-15/Nikola Jokić props.json"
    bucket.write(path, "Jokić".encode())
    assert bucket.read(path).decode() == "Jokić"
    assert bucket.list("exports/") == [path]


def test_read_missing_object_raises_file_not_found(bucket: Bucket) -> None:
    with pytest.raises(FileNotFoundError):
        bucket.read(RAW_FILE)
    bucket.write("raw/nbacom_boxscore/2025-01-15/other.json", b"{}")
    with pytest.raises(FileNotFoundError):
        bucket.read(RAW_FILE)


# -- exists ------------------------------------------------------------------------------------


def test_exists_is_true_only_for_objects(bucket: Bucket) -> None:
    assert not bucket.exists(RAW_FILE)
    bucket.write(RAW_FILE, b"{}")
    assert bucket.exists(RAW_FILE)
    assert not bucket.exists("raw/nbacom_boxscore/2025-01-15")  # a "folder" is not an object
    assert not bucket.exists("raw/nbacom_boxscore/2025-01-15/0022400556.json")


# -- list --------------------------------------------------------------------------------------


def test_list_is_sorted_and_only_under_the_prefix(bucket: Bucket) -> None:
    day = raw_prefix(BOX, DAY)
    inside = [day + "0022400555.json", day + "0022400101.json", day + "sub/deep/z.json"]
    outside = [
        "raw/nbacom_boxscore/2025-01-16/0022400600.json",    # the next day
        "raw/nbacom_boxscore/2025-01-15-old/0022400555.json",  # sibling sharing a name prefix
        "raw/balldontlie_boxscores/2025-01-15/box_scores.json",
        "quarantine/nbacom_boxscore/2025-01-15/0022400555.json",
    ]
    for i, path in enumerate(inside + outside):
        bucket.write(path, str(i).encode())
    # Full-path string order: "0022400101" < "0022400555" < "sub/" ('0' < 's').
    assert bucket.list(day) == [
        "raw/nbacom_boxscore/2025-01-15/0022400101.json",
        "raw/nbacom_boxscore/2025-01-15/0022400555.json",
        "raw/nbacom_boxscore/2025-01-15/sub/deep/z.json",
    ]


def test_list_orders_whole_paths_not_folder_by_folder(bucket: Bucket) -> None:
    # '-' (0x2d) sorts before '/' (0x2f), so "b-c/…" comes before "b/…" as whole strings, while
    # a folder-by-folder walk would put the "b" folder first.
    for path in ["models/b/z.bin", "models/b-c/a.bin", "models/a.bin"]:
        bucket.write(path, b"m")
    assert bucket.list("models/") == ["models/a.bin", "models/b-c/a.bin", "models/b/z.bin"]


def test_list_of_a_prefix_with_nothing_under_it_is_empty(bucket: Bucket) -> None:
    assert bucket.list("raw/") == []
    bucket.write(RAW_FILE, b"{}")
    assert bucket.list("raw/nbacom_shotchart/") == []
    assert bucket.list("raw/nbacom_boxscore/2025-01-16/") == []


def test_list_of_the_empty_prefix_lists_every_object(bucket: Bucket) -> None:
    paths = ["a.json", "raw/x/1.json", "quarantine/x/1.json"]
    for path in paths:
        bucket.write(path, b"1")
    assert bucket.list("") == sorted(paths)


# -- move --------------------------------------------------------------------------------------


def test_move_to_quarantine_removes_source_and_keeps_bytes(bucket: Bucket) -> None:
    src = raw_path(BOX, DAY, "0022400555.json")
    dst = quarantine_path(src)
    assert dst == "quarantine/nbacom_boxscore/2025-01-15/0022400555.json"
    bucket.write(src, BINARY)
    bucket.write(raw_path(BOX, DAY, "keep.json"), b"{}")
    bucket.move(src, dst)
    assert not bucket.exists(src)
    assert bucket.read(dst) == BINARY
    assert bucket.list("raw/") == ["raw/nbacom_boxscore/2025-01-15/keep.json"]
    assert bucket.list("quarantine/") == [dst]
    with pytest.raises(FileNotFoundError):
        bucket.read(src)


def test_move_replaces_an_existing_destination(bucket: Bucket) -> None:
    dst = quarantine_path(RAW_FILE)
    bucket.write(dst, b"quarantined earlier")
    bucket.write(RAW_FILE, b"quarantined now")
    bucket.move(RAW_FILE, dst)
    assert bucket.read(dst) == b"quarantined now"
    assert bucket.list("") == [dst]


def test_move_of_a_missing_object_raises_file_not_found(bucket: Bucket) -> None:
    with pytest.raises(FileNotFoundError):
        bucket.move(RAW_FILE, quarantine_path(RAW_FILE))
    assert bucket.list("") == []


# -- path validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../escape.json", "raw/../../escape.json", "raw/a/../b.json"])
def test_paths_climbing_with_dotdot_are_refused(bucket: Bucket, tmp_path: Path,
                                                path: str) -> None:
    with pytest.raises(BAD_PATH, match="bad object path"):
        bucket.write(path, b"x")
    with pytest.raises(BAD_PATH, match="bad object path"):
        bucket.read(path)
    with pytest.raises(BAD_PATH, match="bad object path"):
        bucket.exists(path)
    bucket.write(RAW_FILE, b"{}")
    with pytest.raises(BAD_PATH, match="bad object path"):
        bucket.move(RAW_FILE, path)
    assert bucket.read(RAW_FILE) == b"{}"  # a refused move leaves the source in place
    assert not (tmp_path / "escape.json").exists()
    assert bucket.list("") == [RAW_FILE]


# -- versions --------------------------------------------------------------------------------


def test_the_live_version_is_listed_and_read_by_its_generation(bucket: Bucket) -> None:
    """What the schedule loader relies on (``Bucket.versions``): the live version is last,
    marked live, and reading it by its generation gives its bytes. (Noncurrent versions are
    checked on the folder in tests/unit/test_bucket_versions.py: the emulator keeps none.)"""
    assert bucket.versions(RAW_FILE) == []
    bucket.write(RAW_FILE, b"first")
    bucket.write(RAW_FILE, b"second")
    live = bucket.versions(RAW_FILE)[-1]
    assert live.live and live.path == RAW_FILE and live.size == len(b"second")
    assert bucket.read_version(RAW_FILE, live.generation) == b"second"
