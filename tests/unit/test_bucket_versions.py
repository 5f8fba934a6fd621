"""FolderBucket keeps the versions of raw files as the cloud bucket's Object Versioning does
(issue 14 #2: main's FolderBucket overwrote a schedule with no earlier copy kept).

Google's docs (https://cloud.google.com/storage/docs/object-versioning): "Cloud Storage retains
a noncurrent object version each time you replace or delete a live object version, as long as
you don't specify the generation number of the live version." and noncurrent versions "retain
the name of the object but are uniquely identified by their generation number".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backcourt.adapters.local.bucket import FolderBucket

RAW = "raw/nbacom_schedule/2024-25/scheduleLeagueV2.json"


def test_every_overwrite_of_a_raw_file_keeps_the_previous_version(tmp_path: Path) -> None:
    bucket = FolderBucket(tmp_path)
    for text in (b"one", b"two", b"three"):
        bucket.write(RAW, text)
    kept = bucket.versions(RAW)
    assert [v.live for v in kept] == [False, False, True]
    assert [bucket.read_version(RAW, v.generation) for v in kept] == [b"one", b"two", b"three"]
    gens = [v.generation for v in kept]
    assert gens == sorted(set(gens))  # strictly growing, one per write
    assert [v.size for v in kept] == [3, 3, 5]
    assert bucket.read(RAW) == b"three"
    assert bucket.list("") == [RAW] and bucket.list("raw/") == [RAW]  # history is not listed


def test_unversioned_paths_and_unknown_versions(tmp_path: Path) -> None:
    bucket = FolderBucket(tmp_path)
    assert bucket.versions(RAW) == []
    bucket.write("exports/latest.json", b"a")
    bucket.write("exports/latest.json", b"b")
    assert [v.live for v in bucket.versions("exports/latest.json")] == [True]
    bucket.write(RAW, b"x")
    with pytest.raises(FileNotFoundError):
        bucket.read_version(RAW, 1)
