"""The order a phase level's units run in, on the runner's threads.

Units of one processor run one at a time and in date order (one writer per table, and a later
chunk may read an earlier one). Across processors any free thread takes the next unit of the
processor with the most units left, so a thread is never tied to one processor's whole chain
while other processors wait: with four threads and six phase-2 processors, the two longest
chains no longer run back to back on the same thread.
"""

from __future__ import annotations

import threading
from collections import deque

from backcourt.services.plan import Unit


class UnitQueue:
    """Hands out units under the rules above; thread-safe."""

    def __init__(self, units: list[Unit]) -> None:
        self._left: dict[str, deque[Unit]] = {}
        for unit in units:
            self._left.setdefault(unit.processor.name, deque()).append(unit)
        self._busy: set[str] = set()
        self._cond = threading.Condition()

    def lanes(self) -> int:
        """How many units could run at once: one per processor."""
        return len(self._left)

    def take(self) -> Unit | None:
        """The next unit to run (waiting while every processor with units left is busy), or
        None when none are left. Hand it back with :meth:`done`."""
        with self._cond:
            while True:
                ready = [n for n, q in self._left.items() if q and n not in self._busy]
                if ready:
                    name = max(ready, key=lambda n: len(self._left[n]))
                    self._busy.add(name)
                    return self._left[name].popleft()
                if not any(self._left.values()):
                    return None
                self._cond.wait()

    def done(self, unit: Unit) -> None:
        """``unit`` has finished: its processor may run its next unit."""
        with self._cond:
            self._busy.discard(unit.processor.name)
            self._cond.notify_all()

    def drain(self) -> list[Unit]:
        """Remove and return every unit not handed out yet."""
        with self._cond:
            out = [u for q in self._left.values() for u in q]
            for q in self._left.values():
                q.clear()
            self._cond.notify_all()
            return out
