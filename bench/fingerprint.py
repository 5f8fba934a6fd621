"""Fingerprint of a finished home, for the bench's identity check: the same rows, exports and
models as a reference home.

``python bench/fingerprint.py HOME`` prints a home's fingerprint as JSON (``--write FILE`` saves
it, ``--compare FILE`` checks it against a saved one). ``bench/backfill.py`` fingerprints the
batched home it has just built and compares it with ``bench/reference/four-seasons.json``, the
fingerprint of the same backfill made by the code before the speed work.

What is fingerprinted:

* **rows** — every registry table (``backcourt.domain.registry.PROCESSORS``): its row count and
  the sha256 of its rows, normalised in DuckDB (``normal_select``: columns in name order, floats
  rounded to ``FLOAT_PLACES`` places and ``-0.0`` made ``0.0``, a schedule row's
  ``source_file`` without its ``#<generation>`` — the object version's write time, different in
  every home) and sorted (``ORDER BY ALL``), so neither the insertion order nor the column order
  counts; the sorted columns are hashed as plain bytes (``_column_digest``), not row by row in
  Python (three million rows: seconds, not minutes);
* **files** — every bucket file outside ``raw/`` (the input, copied in), by top-level folder
  (``exports``, ``models``, anything else, e.g. ``quarantine``, as ``other``): sha256 of the bytes
  on disk, except that a model's ``metadata.json`` is compared without ``run_id`` (the run that
  trained it: provenance, different in every run; ``VOLATILE_OBJECT_KEYS``);
* **quality** — per prediction system, MAE and hit rate over the whole range of the seasons
  (``backcourt.models.quality.system_quality``), recorded and printed, not compared: a change
  of how models are trained changes the model files, and then these say whether the models are
  as good as before.

Two runs of the same code on fresh homes give the same fingerprint (checked when the reference
was made: the exports hold no timestamps or run ids, and no table stores one either).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

FORMAT = 1
FLOAT_PLACES = 6
DIGEST_CHARS = 16  # of a file's sha256: 64 bits, plenty to tell two versions of a file apart
CATEGORIES = ("exports", "models")
"""Top-level bucket folders fingerprinted by name; files anywhere else but ``raw/`` count as
``other`` (there should be none: no quarantine in the sample data)."""
INPUT_PREFIX = "raw/"
GENERATION = re.compile(r"#\d+$")
"""The object generation a schedule row's ``source_file`` ends with (``<path>#<generation>``)."""
VOLATILE_OBJECT_KEYS = frozenset({"run_id"})
"""Top-level keys of a JSON bucket object left out: a model's ``metadata.json`` names the run
that trained it."""
QUALITY_SYSTEMS = ("gradient_boosting", "moving_average")
MODEL_PHASES = ("5A", "5B", "6")
"""Phases whose tables hold what the models predicted (predictions, grading, the export
manifest): they change with the models."""
QUALITY_TOLERANCE = 0.01
"""How far MAE and hit rate may move when the models were allowed to change (issue: within 0.01
of before)."""


def model_tables() -> set[str]:
    """The tables written from the models' predictions on (``MODEL_PHASES``)."""
    from backcourt.domain.registry import PROCESSORS

    return {p.table.fqn for p in PROCESSORS if p.phase.value in MODEL_PHASES}


def quality_within(reference: Fingerprint, got: Fingerprint,
                   tolerance: float = QUALITY_TOLERANCE) -> list[str]:
    """The systems (of ``QUALITY_SYSTEMS``) whose MAE or hit rate moved more than ``tolerance``
    from the reference, or is missing (empty: all within)."""
    out = []
    for system in QUALITY_SYSTEMS:
        now, ref = got.quality.get(system, {}), reference.quality.get(system, {})
        for key in ("mae", "hit_rate"):
            a, b = now.get(key), ref.get(key)
            if a is None or b is None or abs(float(a) - float(b)) > tolerance + 1e-12:
                out.append(f"{system} {key} {a} vs {b}")
    return out


def normal_select(table: str, columns: Sequence[tuple[str, str]]) -> str:
    """The DuckDB query of a table's normalised rows, sorted (module docstring): columns in
    name order; ``DOUBLE`` rounded to ``FLOAT_PLACES`` places (``+ 0.0``: -0.0 becomes 0.0);
    ``source_file`` without its ``#<generation>``; ``ORDER BY ALL``: a total order of the rows
    (ties are identical rows), so the insertion order does not count."""
    exprs = []
    for name, kind in sorted(columns):
        col = f'"{name}"'
        if kind == "DOUBLE":
            col = f"ROUND({col}, {FLOAT_PLACES}) + 0.0"
        elif name == "source_file":
            col = f"regexp_replace({col}, '{GENERATION.pattern}', '')"
        exprs.append(f'{col} AS "{name}"')
    return f"SELECT {', '.join(exprs)} FROM {table} ORDER BY ALL"


def _column_digest(h: Any, name: str, arr: Any) -> None:
    """Feed one column (a pyarrow array) to ``h``: its name, null mask and values as plain
    bytes (strings: lengths and bytes; dates: days; timestamps: microseconds)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    h.update(f"\0{name}\0{len(arr)}\0".encode())
    h.update(np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=np.uint8).tobytes())
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
        arr = pc.fill_null(arr.cast(pa.large_binary()), b"")
        arr = pa.concat_arrays([arr])  # offset 0, one buffer
        _, offsets, data = arr.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int64)[: len(arr) + 1]
        h.update(np.diff(bounds).tobytes())
        if data is not None:
            h.update(memoryview(data)[int(bounds[0]): int(bounds[-1])])
        return
    if pa.types.is_date(t):
        arr = arr.cast(pa.int32() if pa.types.is_date32(t) else pa.int64())
    elif pa.types.is_timestamp(t):
        arr = arr.cast(pa.timestamp("us", tz=t.tz)).cast(pa.int64())
    elif pa.types.is_boolean(t):
        arr = arr.cast(pa.uint8())
    if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        h.update(repr(arr.to_pylist()).encode())  # anything else: its Python values
        return
    h.update(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).tobytes())


def object_bytes(path: Path) -> bytes:
    """A bucket file's bytes for the comparison: a JSON object's ``VOLATILE_OBJECT_KEYS`` left
    out (re-serialised with sorted keys), every other file as it is on disk."""
    data = path.read_bytes()
    if path.suffix != ".json":
        return data
    try:
        doc = json.loads(data)
    except ValueError:
        return data
    if not isinstance(doc, dict) or not VOLATILE_OBJECT_KEYS & doc.keys():
        return data
    kept = {k: v for k, v in doc.items() if k not in VOLATILE_OBJECT_KEYS}
    return json.dumps(kept, sort_keys=True).encode()


@dataclass
class Fingerprint:
    """What a home holds after a backfill (module docstring)."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # fqn → rows, sha256
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # category → path → digest
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)  # system → mae, hit_rate
    about: dict[str, Any] = field(default_factory=dict)  # seasons, versions: for people

    def to_json(self) -> str:
        """The fingerprint as stable, sorted JSON."""
        return json.dumps({"format": FORMAT, "about": self.about, "quality": self.quality,
                           "tables": self.tables, "files": self.files},
                          indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        """A fingerprint saved by ``to_json``."""
        doc = json.loads(text)
        if doc.get("format") != FORMAT:
            raise ValueError(f"fingerprint format {doc.get('format')}, expected {FORMAT}")
        return cls(doc["tables"], doc["files"], doc.get("quality", {}), doc.get("about", {}))

    @property
    def rows(self) -> int:
        """Rows over every table."""
        return sum(int(t["rows"]) for t in self.tables.values())


def table_fingerprints(warehouse_file: Path) -> dict[str, dict[str, Any]]:
    """Row count and digest of every registry table in a DuckDB warehouse file (a table that
    does not exist counts as absent: rows -1)."""
    import duckdb

    from backcourt.domain.registry import PROCESSORS

    tables = sorted({p.table.fqn: p.table for p in PROCESSORS}.values(), key=lambda t: t.fqn)
    out: dict[str, dict[str, Any]] = {}
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        for t in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE "
                "table_schema = ? AND table_name = ?", [t.dataset, t.name]).fetchall()
            if not columns:
                out[t.fqn] = {"rows": -1, "sha256": "absent"}
                continue
            rel = con.sql(normal_select(f'"{t.dataset}"."{t.name}"', columns))
            data = (rel.to_arrow_table() if hasattr(rel, "to_arrow_table")  # DuckDB ≥ 1.4
                    else rel.arrow())
            h = hashlib.sha256()
            for name in data.column_names:
                _column_digest(h, name, data.column(name).combine_chunks())
            out[t.fqn] = {"rows": data.num_rows, "sha256": h.hexdigest()}
    finally:
        con.close()
    return out


def file_fingerprints(bucket: Path) -> dict[str, dict[str, str]]:
    """Digest of every bucket file outside ``raw/``, by category (``CATEGORIES`` or
    ``other``); hidden version folders (``.versions``) left out."""
    out: dict[str, dict[str, str]] = {c: {} for c in (*CATEGORIES, "other")}
    for p in sorted(bucket.rglob("*")):
        rel = p.relative_to(bucket).as_posix()
        if not p.is_file() or rel.startswith(INPUT_PREFIX) or any(
                part.startswith(".") for part in p.relative_to(bucket).parts[:-1]):
            continue
        top = rel.split("/", 1)[0]
        category = top if top in CATEGORIES else "other"
        out[category][rel] = hashlib.sha256(object_bytes(p)).hexdigest()[:DIGEST_CHARS]
    return out


class ReadOnlyWarehouse:
    """The warehouse port's ``query`` on a read-only DuckDB connection: enough for
    ``system_quality`` and ``walkforward.labelled_rows``, and usable while another process has
    the file open (a reference home being read elsewhere)."""

    def __init__(self, path: Path) -> None:
        import duckdb

        self.con = duckdb.connect(str(path), read_only=True)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a BigQuery-dialect query, as dicts (the adapter's translation)."""
        from backcourt.adapters.local.duckdb_warehouse import to_duckdb

        translated = to_duckdb(sql)
        used = {k: v for k, v in (params or {}).items() if f"${k}" in translated}
        cur = self.con.execute(translated, used or None)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """``query``'s rows as one ``pyarrow.Table``."""
        from backcourt.adapters.local.duckdb_warehouse import to_duckdb

        translated = to_duckdb(sql)
        used = {k: v for k, v in (params or {}).items() if f"${k}" in translated}
        rel = self.con.sql(translated, params=used or None)
        return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()


def quality(home: Path, seasons: Sequence[str]) -> dict[str, dict[str, Any]]:
    """MAE, hit rate and graded rows per prediction system over the seasons' whole range."""
    from backcourt.config import load_settings
    from backcourt.domain.ids import season_bounds
    from backcourt.models.quality import system_quality

    bounds = [season_bounds(s) for s in seasons]
    start: date = min(b[0] for b in bounds)
    end: date = max(b[1] for b in bounds)
    warehouse = ReadOnlyWarehouse(load_settings(home, env={}).local.warehouse_path)
    try:
        systems = system_quality(warehouse, start, end)  # type: ignore[arg-type]
    finally:
        warehouse.close()
    return {q.system_id: {"mae": q.mae, "hit_rate": q.hit_rate, "graded_rows": q.graded_rows,
                          "picks": q.picks} for q in systems}


def fingerprint(home: Path, seasons: Sequence[str]) -> Fingerprint:
    """The fingerprint of a home (its warehouse, bucket and prediction quality)."""
    from backcourt.config import load_settings

    local = load_settings(home, env={}).local
    fp = Fingerprint(table_fingerprints(local.warehouse_path),
                     file_fingerprints(local.bucket_path), quality(home, seasons))
    fp.about = {"seasons": list(seasons), "versions": _versions()}
    return fp


def _versions() -> dict[str, str]:
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for p in ("duckdb", "lightgbm", "numpy"):
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "?"
    return out


@dataclass
class Identity:
    """The comparison of a fingerprint with the reference, per part."""

    tables_differ: list[str]
    files_differ: dict[str, list[str]]  # category → paths missing, extra or different
    notes: list[str]
    tables: int
    rows: int
    files: dict[str, int]

    @property
    def rows_ok(self) -> bool:
        """Every table has the reference's rows."""
        return not self.tables_differ

    def ok(self, category: str) -> bool:
        """Every file of a category is the reference's."""
        return not self.files_differ.get(category)

    @property
    def all_ok(self) -> bool:
        """Rows and every file category identical."""
        return self.rows_ok and not any(self.files_differ.values())

    def models_changed_ok(self, quality_moves: Sequence[str]) -> bool:
        """With the models allowed to change: the tables before the models identical
        (``model_tables`` and every file may differ) and ``quality_moves`` empty."""
        return not set(self.tables_differ) - model_tables() and not quality_moves \
            and not self.files_differ.get("other")

    def line(self) -> str:
        """``identity: rows OK (N tables, M rows), exports OK (K files), models OK (J files)``,
        or what differs."""
        parts = [f"rows OK ({self.tables} tables, {self.rows} rows)" if self.rows_ok else
                 f"rows DIFFER in {len(self.tables_differ)} of {self.tables} tables "
                 f"({', '.join(self.tables_differ[:4])}"
                 f"{', …' if len(self.tables_differ) > 4 else ''})"]
        for c in (*CATEGORIES, "other"):
            bad = self.files_differ.get(c, [])
            if c == "other" and not bad and not self.files.get(c):
                continue
            parts.append(f"{c} OK ({self.files.get(c, 0)} files)" if not bad else
                         f"{c} DIFFER ({len(bad)} of {self.files.get(c, 0)} files: "
                         f"{', '.join(bad[:3])}{', …' if len(bad) > 3 else ''})")
        return "identity: " + ", ".join(parts)


def compare(reference: Fingerprint, got: Fingerprint) -> Identity:
    """How ``got`` differs from ``reference``: tables whose count or digest differ, files
    missing, extra or different, per category; notes say how (first few)."""
    notes: list[str] = []
    tables_differ = []
    for fqn in sorted(reference.tables.keys() | got.tables.keys()):
        want, have = reference.tables.get(fqn), got.tables.get(fqn)
        if want != have:
            tables_differ.append(fqn)
            notes.append(f"table {fqn}: reference {_rows(want)}, now {_rows(have)}")
    files_differ: dict[str, list[str]] = {}
    for c in sorted(reference.files.keys() | got.files.keys()):
        want_f, have_f = reference.files.get(c, {}), got.files.get(c, {})
        bad = sorted(k for k in want_f.keys() | have_f.keys() if want_f.get(k) != have_f.get(k))
        files_differ[c] = bad
        for k in bad[:5]:
            notes.append(f"{c} {k}: "
                         + ("missing" if k not in have_f else "extra" if k not in want_f
                            else f"reference {want_f[k]}, now {have_f[k]}"))
    return Identity(tables_differ, files_differ, notes, len(got.tables), got.rows,
                    {c: len(v) for c, v in got.files.items()})


def _rows(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "no such table"
    if entry["rows"] < 0:
        return "table absent"
    return f"{entry['rows']} rows, sha256 {str(entry['sha256'])[:12]}"


def quality_lines(reference: Fingerprint, got: Fingerprint) -> list[str]:
    """MAE and hit rate of ``QUALITY_SYSTEMS`` (and any other system), now and in the
    reference, with the differences."""
    out = []
    for system in sorted(set(QUALITY_SYSTEMS) | got.quality.keys() | reference.quality.keys()):
        now, ref = got.quality.get(system, {}), reference.quality.get(system, {})
        out.append(f"{system}: MAE {_num(now.get('mae'), 3)} (reference "
                   f"{_num(ref.get('mae'), 3)}, Δ {_delta(now.get('mae'), ref.get('mae'), 3)}), "
                   f"hit rate {_num(now.get('hit_rate'), 4)} (reference "
                   f"{_num(ref.get('hit_rate'), 4)}, "
                   f"Δ {_delta(now.get('hit_rate'), ref.get('hit_rate'), 4)}), "
                   f"{now.get('graded_rows', 0)} graded rows")
    return out


def _num(v: Any, places: int) -> str:
    return "—" if v is None else f"{float(v):.{places}f}"


def _delta(now: Any, ref: Any, places: int) -> str:
    return "—" if now is None or ref is None else f"{float(now) - float(ref):+.{places}f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Print, save or compare a home's fingerprint."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("home", type=Path, help="a home after a backfill (warehouse.duckdb, bucket/)")
    ap.add_argument("--seasons", nargs="+", default=["2021-22", "2022-23", "2023-24",
                                                     "2024-25"], help="for the quality range")
    ap.add_argument("--write", type=Path, help="save the fingerprint here")
    ap.add_argument("--compare", type=Path, help="compare with this saved fingerprint")
    args = ap.parse_args(argv)
    fp = fingerprint(args.home, args.seasons)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(fp.to_json())
        print(f"wrote {args.write}: {len(fp.tables)} tables, {fp.rows} rows, "
              + ", ".join(f"{c} {len(v)} files" for c, v in fp.files.items()))
    if args.compare:
        ref = Fingerprint.from_json(args.compare.read_text())
        ident = compare(ref, fp)
        print(ident.line())
        for note in ident.notes[:10]:
            print(f"  {note}")
        for line in quality_lines(ref, fp):
            print(f"  {line}")
        return 0 if ident.all_ok else 1
    if not args.write:
        sys.stdout.write(fp.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
