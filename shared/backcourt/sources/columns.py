"""Rows built column by column: one list per column of the output table, filled file by file,
then one Arrow table per date (``ports.ArrowRows``).

Per-row dicts cost more than the parsing itself on the large sources (a season is ~240,000 shot
rows): a fast parser hands over its columns (a constant repeated, a distinct value checked once
and mapped), and a file read by the exact row-by-row parser (the fallback) is added as rows.
The Arrow types are those of the warehouse columns (``ARROW_TYPES``), so the table goes to the
warehouse as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from backcourt.domain.schema import ColumnType, Table
from backcourt.ports import ArrowRows

ARROW_TYPES: Mapping[ColumnType, pa.DataType] = {
    "STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(),
    "NUMERIC": pa.float64(), "BOOL": pa.bool_(), "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"), "JSON": pa.string(),
}

_schemas: dict[Table, pa.Schema] = {}


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a table declaration (cached per table)."""
    schema = _schemas.get(table)
    if schema is None:
        schema = _schemas[table] = pa.schema(
            [pa.field(c.name, ARROW_TYPES[c.type]) for c in table.columns])
    return schema


class Columns:
    """One list per column of ``table``, in declaration order."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.data: dict[str, list[Any]] = {c: [] for c in table.column_names}

    def __len__(self) -> int:
        return len(next(iter(self.data.values()), ()))

    def add(self, columns: Mapping[str, Sequence[Any]]) -> None:
        """Append a file's columns (every column of the table, of one length)."""
        for name, values in self.data.items():
            values.extend(columns[name])

    def add_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append row dicts (a missing key is NULL, as the warehouse reads a row)."""
        names = self.table.column_names
        if not rows:
            return
        if all(tuple(r) == names for r in rows):  # ``table_row``'s rows: transposed at once
            for given, column in zip(zip(*(r.values() for r in rows), strict=True),
                                     self.data.values(), strict=True):
                column.extend(given)
            return
        for name, values in self.data.items():
            values.extend([r.get(name) for r in rows])

    def rows(self) -> ArrowRows:
        """The columns as one Arrow table."""
        return ArrowRows(pa.Table.from_pydict(self.data, schema=arrow_schema(self.table)))
