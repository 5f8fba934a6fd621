"""Strict access to decoded raw JSON for the phase-2 parsers.

Every accessor takes the place it reads (``where``, e.g. ``"data[3].home_team"``) so that a bad
file fails with a :class:`MalformedRawFile` that names the file and exactly what is wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NoReturn

import orjson

from backcourt.domain.dates import EASTERN
from backcourt.domain.errors import MalformedRawFile
from backcourt.domain.schema import Table
from backcourt.domain.teams import tricode_for
from backcourt.sources.limits import check_file, inflate

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"  # what "utf-8-sig" takes off the front
# orjson reads integers past 64 bits as floats where json keeps them exact: a file with a run of
# 19 digits goes to json. Found with bytes.translate (digits → "0", the rest → " "): a regex
# search over digit-dense files cost more than parsing them.
_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_RUN = b"0" * 19
_CLOCK = re.compile(r"^(\d+)(?:\.\d+)?:(\d{1,2})(?:\.\d+)?$")


def gunzip_if_needed(data: bytes, path: str) -> bytes:
    """The bytes themselves, or their decompression when they are gzip; either way within the
    size limits of the path's source (``sources.limits``: FileTooLarge names file and limit)."""
    check_file(len(data), path)
    if not data.startswith(_GZIP_MAGIC):
        return data
    return inflate(data, path)


def decode(data: bytes, path: str) -> Any:
    """Decode a raw file's bytes (gzip accepted) as JSON, naming empty or truncated files."""
    raw = gunzip_if_needed(data, path)
    if not raw[:64].strip() and not raw.strip():  # the head first: no copy of a large file
        raise MalformedRawFile(path, "empty file")
    if _LONG_RUN not in raw.translate(_DIGITS):  # orjson reads the bytes: it refuses what
        # is not UTF-8 as the decode below does, which then names the error
        try:
            return orjson.loads(raw[len(_BOM):] if raw.startswith(_BOM) else raw)
        except orjson.JSONDecodeError:
            pass  # the standard library decides (it also accepts NaN) and words the error
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedRawFile(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        ends = exc.pos >= len(text.rstrip())
        what = "truncated JSON" if ends else "not valid JSON"
        raise MalformedRawFile(
            path, f"{what}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


@lru_cache(maxsize=4096)  # a report repeats its few dates on every record
def _us_or_iso_date(text: str) -> date:
    if "/" in text:
        return datetime.strptime(text, "%m/%d/%Y").date()
    return date.fromisoformat(text)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


class Raw:
    """Accessors bound to one raw file; each failure raises MalformedRawFile for that file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, problem: str) -> NoReturn:
        """Raise MalformedRawFile(path, problem)."""
        raise MalformedRawFile(self.path, problem)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        """``value`` as a JSON object."""
        if not isinstance(value, dict):
            self.fail(f"{where}: expected an object, got {_kind(value)}")
        return value

    def arr(self, value: Any, where: str) -> list[Any]:
        """``value`` as a JSON array."""
        if not isinstance(value, list):
            self.fail(f"{where}: expected an array, got {_kind(value)}")
        return value

    def key(self, obj: dict[str, Any], key: str, where: str) -> Any:
        """``obj[key]``; a missing key is named."""
        if key not in obj:
            self.fail(f"{where} missing field {key}")
        return obj[key]

    def text(self, value: Any, where: str) -> str:
        """``value`` as a non-empty string."""
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}: expected a non-empty string, got {value!r}")
        return value.strip()

    def opt_text(self, value: Any, where: str) -> str | None:
        """``value`` as a string, None for null or blank."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(f"{where}: expected a string, got {_kind(value)} {value!r}")
        return value.strip() or None

    def integer(self, value: Any, where: str) -> int:
        """``value`` as an integer (a float with an integral value is accepted)."""
        if type(value) is int:  # the common case, first (bool is a subclass, not this type)
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"{where}: expected an integer, got {_kind(value)} {value!r}")
        if isinstance(value, float) and not value.is_integer():
            self.fail(f"{where}: expected an integer, got {value!r}")
        return int(value)

    def opt_int(self, value: Any, where: str) -> int | None:
        """``value`` as an integer or None."""
        return None if value is None else self.integer(value, where)

    def number(self, value: Any, where: str) -> float:
        """``value`` as a finite number."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"{where}: expected a number, got {_kind(value)} {value!r}")
        if not math.isfinite(value):
            self.fail(f"{where}: expected a finite number, got {value!r}")
        return float(value)

    def opt_num(self, value: Any, where: str) -> float | None:
        """``value`` as a number or None."""
        return None if value is None else self.number(value, where)

    def boolean(self, value: Any, where: str) -> bool:
        """``value`` as a JSON boolean."""
        if not isinstance(value, bool):
            self.fail(f"{where}: expected true/false, got {_kind(value)} {value!r}")
        return value

    def team(self, value: Any, where: str) -> str:
        """The NBA.com tricode of a tricode, variant or full name; unknown teams are named."""
        name = self.text(value, where)
        tricode = tricode_for(name)
        if tricode is None:
            self.fail(f"{where}: unknown team {name!r}")
        return tricode

    def iso_date(self, value: Any, where: str) -> date:
        """A ``YYYY-MM-DD`` date (a longer ISO timestamp is cut to its date part)."""
        text = self.text(value, where)
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            self.fail(f"{where}: expected a YYYY-MM-DD date, got {text!r}")

    def us_or_iso_date(self, value: Any, where: str) -> date:
        """A ``MM/DD/YYYY`` or ``YYYY-MM-DD`` date."""
        text = self.text(value, where)
        try:
            return _us_or_iso_date(text[:10])
        except ValueError:
            self.fail(f"{where}: expected MM/DD/YYYY or YYYY-MM-DD, got {text!r}")

    def instant(self, value: Any, where: str) -> datetime:
        """An ISO timestamp with a zone ("2024-01-25T03:20:30Z") as an aware UTC datetime."""
        text = self.text(value, where)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{where}: expected an ISO timestamp, got {text!r}")
        if moment.tzinfo is None:
            self.fail(f"{where}: timestamp {text!r} has no time zone")
        return moment.astimezone(UTC)

    def eastern_wall(self, value: Any, where: str) -> datetime:
        """An ISO timestamp whose clock reading is America/New_York wall time (NBA.com "Est"
        fields are tagged Z but are Eastern), as an aware UTC datetime."""
        text = self.text(value, where)
        try:
            naive = datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=None)
        except ValueError:
            self.fail(f"{where}: expected an ISO timestamp, got {text!r}")
        return naive.replace(tzinfo=EASTERN).astimezone(UTC)

    def clock_minutes(self, value: Any, where: str) -> float:
        """Minutes from "MM:SS" (NBA.com, also "34.000000:21"), "28" or an integer."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value < 0 or not math.isfinite(value):
                self.fail(f"{where}: expected minutes, got {value!r}")
            return float(value)
        text = self.text(value, where)
        if text.isdigit():
            return float(text)
        match = _CLOCK.match(text)
        if not match or int(match.group(2)) >= 60:
            self.fail(f"{where}: expected minutes as MM:SS, got {text!r}")
        return int(match.group(1)) + int(match.group(2)) / 60


def result_set(raw: Raw, doc: Any, name: str, headers: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of the NBA.com ``resultSets`` entry ``name`` as dicts keyed by header.

    Checks that the set exists, that every header in ``headers`` is present, and that every row
    has one value per header.
    """
    sets = raw.arr(raw.key(raw.obj(doc, "file"), "resultSets", "file"), "resultSets")
    found = [s for s in sets if isinstance(s, dict) and s.get("name") == name]
    if not found:
        raw.fail(f"resultSets[{name}] missing")
    where = f"resultSets[{name}]"
    names = raw.arr(raw.key(found[0], "headers", where), f"{where}.headers")
    for header in headers:
        if header not in names:
            raw.fail(f"{where} missing header {header}")
    rows = raw.arr(raw.key(found[0], "rowSet", where), f"{where}.rowSet")
    width = len(names)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            values = raw.arr(row, f"{where}.rowSet[{i}]")
            raw.fail(f"{where}.rowSet[{i}] has {len(values)} values for {width} headers")
    return [dict(zip(names, row, strict=True)) for row in rows]


def table_row(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """A row with exactly ``table``'s columns, in order: ``values`` plus NULL for the rest."""
    if not values.keys() <= table.column_set:
        unknown = set(values) - table.column_set
        raise KeyError(f"{table.fqn} has no columns {sorted(unknown)}")
    row = dict.fromkeys(table.column_names)  # every column, in order, NULL …
    row.update(values)  # … then the values given (no new keys: checked above)
    return row
