"""Per-process state of the Cloud Functions (``functions/main.py``): adapters built once per
settings, and test overrides. The functions' logic is ``services.protocol``."""

from __future__ import annotations

import threading
from typing import Any

from backcourt.bootstrap import Services, build
from backcourt.config import Settings
from backcourt.domain.registry import PROCESSORS


class Runtime:
    """Per-process state of the functions: adapters built once per settings, and test
    overrides. Kept here (not in ``functions/main.py``) because functions-framework may load
    that file more than once in a process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cache: dict[Settings, Services] = {}
        self.overrides: dict[str, Any] = {}

    def services(self, settings: Settings) -> Services:
        """The override, or the adapters of these settings (built once; tables ensured)."""
        if "services" in self.overrides:
            found: Services = self.overrides["services"]
            return found
        with self.lock:
            if settings not in self.cache:
                services = build(settings)
                services.warehouse.ensure_tables([p.table for p in PROCESSORS])
                self.cache[settings] = services
            return self.cache[settings]

    def close_all(self) -> None:
        """Close every cached set of adapters."""
        with self.lock:
            for services in self.cache.values():
                services.close()
            self.cache.clear()


RUNTIME = Runtime()
"""The process's runtime state (empty until a function runs)."""
