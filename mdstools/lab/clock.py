"""Scaled time and a scheduler of timed events for the lab.

Durations in the lab are realistic seconds multiplied by ``scale``: a 25-minute upgrade at
scale 0.01 takes 15 seconds. State that changes with time (a DMS going from ``pnd`` to
``up``) is computed from timestamps when asked; events that must happen at a moment (a
reboot dropping connections) are run by the scheduler.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Clock:
    """Monotonic lab time; ``manual=True`` makes it advance only when told (unit tests)."""

    def __init__(self, scale: float = 0.01, manual: bool = False) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self.manual = manual
        self._offset = 0.0

    def now(self) -> float:
        return self._offset if self.manual else time.monotonic() + self._offset

    def wall(self) -> float:
        """Epoch seconds for timestamps shown to users."""
        return time.time() + (self._offset if self.manual else 0.0)

    def dur(self, realistic_seconds: float) -> float:
        """Lab seconds that stand for ``realistic_seconds`` of a real MDS."""
        return realistic_seconds * self.scale

    def advance(self, seconds: float) -> None:
        if not self.manual:
            raise RuntimeError("only a manual clock can be advanced")
        self._offset += seconds


class Scheduler:
    """Runs callbacks at lab times, on one background thread (or on ``run_due``)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.errors: list[BaseException] = []

    def at(self, when: float, fn: Callable[[], None]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (when, next(self._seq), fn))
            self._cv.notify()

    def after(self, delay: float, fn: Callable[[], None]) -> None:
        self.at(self.clock.now() + delay, fn)

    def run_due(self) -> int:
        """Run every event whose time has come; returns how many ran."""
        ran = 0
        while True:
            with self._cv:
                if not self._heap or self._heap[0][0] > self.clock.now():
                    return ran
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception as exc:  # an event must not kill the lab
                self.errors.append(exc)
            ran += 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="lab-scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    def _loop(self) -> None:
        while True:
            with self._cv:
                if self._stopped:
                    return
                wait = 0.5 if not self._heap else max(0.0, self._heap[0][0] - self.clock.now())
                if wait > 0:
                    self._cv.wait(min(wait, 0.5))
            self.run_due()
