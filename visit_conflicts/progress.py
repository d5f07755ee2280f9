"""Progress bars for long work on a terminal (generate, detect chunks, staging phases), and nothing
anywhere else.

Code that does long work announces it through `task(...)`; whether anything is drawn is decided once, by
the command line, with `showing(enabled)`. Without it (AWS, tests, a redirected stderr) every task is a
no-op, so steps never need to know where they run. Bars go to stderr: stdout carries reports and JSON.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from visit_conflicts.environment import running_in_aws

_lock = threading.Lock()
_enabled = False


def wanted(*, force: bool = False, off: bool = False) -> bool:
    """Whether a command shows bars: never in AWS (CloudWatch would keep every redraw); with `--progress`
    always; with `--no-progress` never; else only when stderr is a terminal."""
    if running_in_aws() or off:
        return False
    return force or sys.stderr.isatty()


@contextmanager
def showing(enabled: bool) -> Iterator[None]:
    """Draw the bars of the tasks started inside this block when `enabled`."""
    global _enabled
    with _lock:
        previous, _enabled = _enabled, enabled
    try:
        yield
    finally:
        with _lock:
            _enabled = previous


class Task:
    """One bar: `advance()` per unit of work, `phase(text)` to say what runs now; `close()` at the end
    (or use it as a context manager). Silent when bars are off."""

    def __init__(self, desc: str, total: int | None, unit: str) -> None:
        self._bar: Any = None
        if _enabled:
            try:
                # A development package (requirements-dev.txt): the images do not carry it, and there
                # bars are never wanted anyway.
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=True, file=sys.stderr)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def phase(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Task:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def task(desc: str, total: int | None = None, unit: str = "it") -> Task:
    """A bar for `total` units of `desc` (drawn only inside `showing(True)`)."""
    return Task(desc, total, unit)
