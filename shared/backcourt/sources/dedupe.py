"""Duplicate natural keys across the files of one date, collapsed by rule and counted.

Two files of a date can hold the same rows: a second copy of an Odds API event file under another
name, the same injury report stored twice. Each row's natural key is its table's key
(DATA-MODEL.md; ``Table.key``). The rule: the row of the file with the latest snapshot wins
(the newest snapshot time of the file's rows: ``snapshot_timestamp`` for odds, ``report_time``
for injury reports), ties going to the later path in sort order. Only keys held by several
files are collapsed: rows sharing a key within one file are kept for the gate to judge. How many
rows were dropped is returned, so the caller can log it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Rows = list[dict[str, Any]]


def collapse(files: Sequence[tuple[str, Rows]], key: Sequence[str],
             snapshot: str | None) -> tuple[Rows, int]:
    """One row per natural key over ``files`` ((path, rows) pairs).

    Args:
        files: each file's path and rows.
        key: the natural key columns.
        snapshot: the column whose newest value orders the files (None: path order only).
    Returns:
        The kept rows (in the order of the files they came from) and how many were dropped.
    """
    def newest(rows: Rows) -> tuple[bool, Any]:
        values = [r[snapshot] for r in rows if snapshot and r.get(snapshot) is not None]
        return (bool(values), max(values) if values else 0)

    ranked = sorted(files, key=lambda f: (newest(f[1]), f[0]))
    kept: dict[tuple[Any, ...], Rows] = {}
    dropped = 0
    for _, rows in ranked:  # a later file replaces an earlier one's rows of the same key
        mine: dict[tuple[Any, ...], Rows] = {}
        for row in rows:  # rows sharing a key within one file are the gate's to judge
            mine.setdefault(tuple(row[k] for k in key), []).append(row)
        for k, held in mine.items():
            dropped += len(kept.get(k, ()))
            kept[k] = held
    return [r for held in kept.values() for r in held], dropped
