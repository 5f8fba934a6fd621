"""The processors' SQL, BigQuery dialect, one ``<table>.sql`` file per SQL processor.

Each file is one SELECT over ``dataset.table`` names with the DATE parameters ``@start_date``
and ``@end_date``; it returns exactly the columns of its output table, in order. Warehouse
adapters translate the dialect at their edge (sqlglot for DuckDB).
"""

from __future__ import annotations

import re
from importlib import resources

from backcourt.domain.errors import BadInput

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def available_sql() -> tuple[str, ...]:
    """Names (without ``.sql``) of every packaged SQL file, sorted."""
    files = resources.files(__name__).iterdir()
    return tuple(sorted(f.name[:-4] for f in files if f.name.endswith(".sql")))


def load_sql(name: str) -> str:
    """The text of ``<name>.sql`` (``name`` may carry the ``.sql`` suffix).

    Raises:
        BadInput: the name is not a packaged SQL file; the message lists the known ones.
    """
    stem = name[:-4] if name.endswith(".sql") else name
    resource = resources.files(__name__).joinpath(f"{stem}.sql")
    if not _NAME.match(stem) or not resource.is_file():
        known = ", ".join(available_sql()) or "none"
        raise BadInput(f"unknown SQL {name!r}: known SQL files are {known}")
    return resource.read_text(encoding="utf-8")
