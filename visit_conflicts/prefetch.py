"""Read ahead of a consumer: the next items of an iterator are produced in a second thread.

Detect and InService read pairs from Snowflake (network) and convert them (Arrow, native code that
releases the GIL) while the previous batch is being written to PostgreSQL (also waiting on a socket).
Overlapping the two keeps both sides busy. The queue is bounded, so memory stays at most `depth` items
ahead of the consumer.

The producer's exceptions reach the consumer at the point where the failed item would have arrived.
When the consumer stops early (an exception, a cancellation, `break`), the producer is told to stop and
is joined before `prefetch` returns, so no thread outlives the step that started it and the source is
never read by two threads at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterable[T], *, depth: int = 1) -> Generator[T, None, None]:
    """Yield the items of `items`, producing up to `depth` of them ahead in a second thread."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        # Waits for room, but gives up when the consumer has gone away.
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, which re-raises it
            put(_Failed(e))

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        # Unblock a producer waiting for room, then wait for it to notice `stop`.
        while worker.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.1)
