"""The read-ahead of detect and InService batches (visit_conflicts/prefetch.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from visit_conflicts.prefetch import prefetch


def test_items_arrive_in_order_and_complete() -> None:
    assert list(prefetch(iter(range(50)), depth=2)) == list(range(50))


def test_producer_error_reaches_the_consumer_after_the_good_items() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("source failed")

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="source failed"):
        for item in prefetch(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_read_ahead_is_bounded_by_depth() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(100):
            produced.append(i)
            yield i

    stream = prefetch(items(), depth=1)
    for expected in range(10):
        assert next(stream) == expected
        # Handed out so far, plus one waiting in the queue and one held by the blocked producer.
        assert len(produced) <= expected + 3
    stream.close()


def test_consumer_stopping_early_stops_and_joins_the_producer() -> None:
    def items() -> Iterator[int]:
        i = 0
        while True:  # endless: only the stop signal ends the producer
            yield i
            i += 1

    before = threading.active_count()
    with pytest.raises(KeyError):
        for item in prefetch(items()):
            if item == 3:
                raise KeyError("consumer failed")
    assert threading.active_count() == before
    assert not any(t.name == "prefetch" for t in threading.enumerate())


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError):
        list(prefetch([1], depth=0))
