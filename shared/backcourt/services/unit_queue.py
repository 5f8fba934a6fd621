"""The order a phase level's units run in, on the runner's threads.

Units of one processor run one at a time and in date order (one writer per table, and a later
chunk may read an earlier one). Across processors any free thread takes the next unit of the
processor with the most work left: its units left times the mean time of its units so far
(processors without a finished unit yet count at the mean of those with one; before any unit
finished, the most units left goes first). The longest chain starts early, so a level does not
end with one slow processor running alone: in phase 2 the shot charts, the largest raw source,
were the last chain to finish while the other cores waited.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from backcourt.services.plan import Unit


class UnitQueue:
    """Hands out units under the rules above; thread-safe."""

    def __init__(self, units: list[Unit], clock: Callable[[], float] = time.monotonic) -> None:
        self._left: dict[str, deque[Unit]] = {}
        for unit in units:
            self._left.setdefault(unit.processor.name, deque()).append(unit)
        self._busy: dict[str, float] = {}  # processor → when its unit out was taken
        self._spent: dict[str, tuple[float, int]] = {}  # processor → (seconds, units) finished
        self._not_before: dict[str, float] = {}  # processor → when its retried unit may go
        self._clock = clock
        self._cond = threading.Condition()

    def lanes(self) -> int:
        """How many units could run at once: one per processor."""
        return len(self._left)

    def take(self) -> Unit | None:
        """The next unit to run (waiting while every processor with units left is busy), or
        None when none are left. Hand it back with :meth:`done`."""
        with self._cond:
            while True:
                now = self._clock()
                ready = [n for n, q in self._left.items() if q and n not in self._busy
                         and self._not_before.get(n, 0.0) <= now]
                if ready:
                    name = max(ready, key=self._work_left)
                    self._busy[name] = now
                    return self._left[name].popleft()
                if not any(self._left.values()):
                    return None
                backoffs = [t for n, t in self._not_before.items()
                            if self._left.get(n) and n not in self._busy and t > now]
                self._cond.wait(min(backoffs) - now if backoffs else None)

    def done(self, unit: Unit) -> None:
        """``unit`` has finished: its processor may run its next unit."""
        with self._cond:
            name = unit.processor.name
            taken = self._busy.pop(name, None)
            if taken is not None:
                seconds, count = self._spent.get(name, (0.0, 0))
                self._spent[name] = (seconds + self._clock() - taken, count + 1)
            self._cond.notify_all()

    def retry(self, unit: Unit, delay_s: float) -> None:
        """Hand ``unit`` back to be run again, first of its processor, after ``delay_s``
        seconds (a redelivery with backoff); call :meth:`done` for it as for any unit."""
        with self._cond:
            name = unit.processor.name
            self._left[name].appendleft(unit)
            self._not_before[name] = self._clock() + delay_s
            self._cond.notify_all()

    def _work_left(self, name: str) -> tuple[float, int]:
        """(estimated seconds left, units left) of a processor (module docstring)."""
        left = len(self._left[name])
        means = {n: sec / count for n, (sec, count) in self._spent.items() if count}
        if not means:
            return 0.0, left
        mean = means.get(name, sum(means.values()) / len(means))
        return left * mean, left

    def drain(self) -> list[Unit]:
        """Remove and return every unit not handed out yet."""
        with self._cond:
            out = [u for q in self._left.values() for u in q]
            for q in self._left.values():
                q.clear()
            self._cond.notify_all()
            return out
