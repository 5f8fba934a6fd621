"""Table schemas, declared once in BigQuery types. The DuckDB adapter, the BigQuery adapter and
Terraform's table list are all generated from these declarations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

ColumnType = Literal["STRING", "INT64", "FLOAT64", "NUMERIC", "BOOL", "DATE", "TIMESTAMP", "JSON"]


@dataclass(frozen=True)
class Column:
    """One column: name, BigQuery type, whether it is REQUIRED, and what it means."""

    name: str
    type: ColumnType
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Table:
    """A warehouse table partitioned on ``game_date`` with a declared natural key."""

    dataset: str
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    cluster: tuple[str, ...] = ()
    description: str = ""

    @property
    def fqn(self) -> str:
        """``dataset.table`` (the adapter prefixes the project where it needs one)."""
        return f"{self.dataset}.{self.name}"

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        """Column names in declaration order."""
        return tuple(c.name for c in self.columns)

    @cached_property
    def column_set(self) -> frozenset[str]:
        """Column names, for membership tests."""
        return frozenset(self.column_names)

    def __post_init__(self) -> None:
        names = self.column_names
        missing = [k for k in (*self.key, "game_date") if k not in names]
        if missing:
            raise ValueError(f"{self.fqn}: key columns {missing} are not declared")
        if len(set(names)) != len(names):
            raise ValueError(f"{self.fqn}: duplicate column names")


def col(name: str, type_: ColumnType, description: str = "", required: bool = False) -> Column:
    """Shorthand for :class:`Column`."""
    return Column(name, type_, description, required)
