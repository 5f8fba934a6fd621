"""What readiness needs to know: the status and gate verdict of every (input, date) that a
processor reads over some dates, read from the status store in one pass per input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    return input_docs_of(store, {proc: days}, reads)[proc.name]


def input_docs_of(store: StatusStore, work: Mapping[Processor, Sequence[date]],
                  reads: Reads) -> dict[str, dict[tuple[str, date], InputDoc]]:
    """:func:`input_docs` of several processors (by name), each input processor read once for
    all of them (the processors of a wave share most of their inputs)."""
    wanted = {proc.name: _wanted(proc, days, reads) for proc, days in work.items()}
    spans: dict[str, set[date]] = {}
    for needs in wanted.values():
        for name, needed in needs.items():
            spans.setdefault(name, set()).update(needed)
    found = {name: _read(store, name, min(needed), max(needed))
             for name, needed in spans.items() if needed}
    out: dict[str, dict[tuple[str, date], InputDoc]] = {}
    for proc_name, needs in wanted.items():
        docs = out[proc_name] = {}
        for name, needed in needs.items():
            have = found.get(name, {})
            for day in needed:
                if day in have:
                    docs[(name, day)] = have[day]
    return out


def _wanted(proc: Processor, days: Sequence[date], reads: Reads) -> dict[str, set[date]]:
    wanted: dict[str, set[date]] = {}
    for day in days:
        for inp, read in reads.needed(proc, day).items():
            wanted.setdefault(inp.processor, set()).update(read)
    return wanted


def _read(store: StatusStore, name: str, lo: date, hi: date) -> dict[date, InputDoc]:
    """The InputDoc of every date of ``name`` in [lo, hi] that has a status document."""
    newest: dict[date, GateVerdict] = {}
    for v in store.verdicts(name, lo, hi):
        newest[v.game_date] = v
    return {d.game_date: _input(d, newest.get(d.game_date)) for d in store.list([name], lo, hi)}


def _input(doc: PartitionStatus, verdict: GateVerdict | None) -> InputDoc:
    if verdict is None or _older(verdict, doc):
        return InputDoc(doc.state, reason=doc.reason)
    problem = verdict.reasons[0] if verdict.reasons else None
    return InputDoc(doc.state, verdict.verdict, problem, doc.reason)


def _older(verdict: GateVerdict, doc: PartitionStatus) -> bool:
    """Whether the verdict was measured before the document's last write."""
    return (verdict.decided_at is not None and doc.finished_at is not None
            and verdict.decided_at < doc.finished_at)
