"""What readiness needs to know: the status and gate verdict of every (input, date) that a
processor reads over some dates, read from the status store in one pass per input."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from backcourt.domain.readiness import InputDoc, Reads
from backcourt.domain.registry import Processor
from backcourt.domain.status import GateVerdict, PartitionStatus
from backcourt.ports import StatusStore


def input_docs(store: StatusStore, proc: Processor, days: Sequence[date],
               reads: Reads) -> dict[tuple[str, date], InputDoc]:
    """``{(input processor, date): InputDoc}`` for every date ``proc`` reads on ``days``.

    The verdict is the newest per-processor verdict of that date, and only when it was
    measured after the input's last write (a verdict older than the write says nothing of it).
    """
    wanted: dict[str, set[date]] = {}
    for day in days:
        for inp, read in reads.needed(proc, day).items():
            wanted.setdefault(inp.processor, set()).update(read)
    out: dict[tuple[str, date], InputDoc] = {}
    for name, needed in wanted.items():
        if not needed:
            continue
        lo, hi = min(needed), max(needed)
        docs = {d.game_date: d for d in store.list([name], lo, hi)}
        newest: dict[date, GateVerdict] = {}
        for v in store.verdicts(name, lo, hi):
            newest[v.game_date] = v
        for day in needed:
            doc = docs.get(day)
            if doc is not None:
                out[(name, day)] = _input(doc, newest.get(day))
    return out


def _input(doc: PartitionStatus, verdict: GateVerdict | None) -> InputDoc:
    if verdict is None or _older(verdict, doc):
        return InputDoc(doc.state, reason=doc.reason)
    problem = verdict.reasons[0] if verdict.reasons else None
    return InputDoc(doc.state, verdict.verdict, problem, doc.reason)


def _older(verdict: GateVerdict, doc: PartitionStatus) -> bool:
    """Whether the verdict was measured before the document's last write."""
    return (verdict.decided_at is not None and doc.finished_at is not None
            and verdict.decided_at < doc.finished_at)
