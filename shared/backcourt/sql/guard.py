"""Which SQL text only reads: ``backcourt sql`` runs anything else only with ``--write``.

A statement reads when sqlglot parses it (BigQuery dialect, as the warehouse adapters read it)
as a SELECT, a WITH … SELECT or a set operation of SELECTs, with no data-changing expression
anywhere in its tree, or as ``EXPLAIN`` of such a statement (``EXPLAIN ANALYZE`` runs the
statement, so it counts as what it explains). Text sqlglot cannot parse, and text holding
several statements of which one does not read, is not read-only.
"""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp

from backcourt.domain.errors import BadInput

_READS = (exp.Select, exp.SetOperation, exp.Subquery)
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
           exp.Copy, exp.Command, exp.Set, exp.Pragma, exp.TruncateTable, exp.Use,
           exp.Transaction, exp.Commit, exp.Rollback, exp.LoadData)
_EXPLAIN = ("EXPLAIN", "ANALYZE")


def _explained(node: exp.Command) -> str | None:
    """The statement an ``EXPLAIN [ANALYZE]`` command explains, else None."""
    if str(node.this).upper() != "EXPLAIN":
        return None
    words = node.expression.name if isinstance(node.expression, exp.Literal) else ""
    rest = words.strip()
    if rest.upper().startswith(_EXPLAIN[1]):
        rest = rest[len(_EXPLAIN[1]):]
    return rest.strip() or None


def statement_kind(sql: str) -> str | None:
    """None when every statement of ``sql`` only reads, else the kind that does not
    (``Drop``, ``Insert``, ``unparseable`` …)."""
    previous = logging.getLogger("sqlglot").level
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to a Command"
    try:
        trees = sqlglot.parse(sql, read="bigquery")
    except sqlglot.errors.SqlglotError:
        return "unparseable"
    finally:
        logging.getLogger("sqlglot").setLevel(previous)
    statements = [t for t in trees if t is not None]
    if not statements:
        return "empty"
    for tree in statements:
        if isinstance(tree, exp.Command) and (inner := _explained(tree)) is not None:
            kind = statement_kind(inner)
            if kind is not None:
                return kind
            continue
        if not isinstance(tree, _READS):
            return type(tree).__name__
        write = next(iter(tree.find_all(*_WRITES)), None)
        if write is not None:
            return type(write).__name__
    return None


def require_read_only(sql: str) -> None:
    """Raise BadInput unless ``sql`` only reads (see the module docstring).

    Raises:
        BadInput: naming the statement kind and the ``--write`` flag.
    """
    kind = statement_kind(sql)
    if kind is not None:
        what = "SQL that does not parse" if kind == "unparseable" else (
            "no statement" if kind == "empty" else f"a {kind.upper()} statement")
        raise BadInput(f"refused {what}: `backcourt sql` only reads (SELECT, WITH … SELECT, "
                       "EXPLAIN) unless given --write")
