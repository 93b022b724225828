"""Running one thing from many threads at once."""

from __future__ import annotations

import threading


def run_in_threads(count: int, target) -> list:
    """`target()` in `count` threads released together; → their results, or the test fails
    with every error a thread raised."""
    results, errors = [None] * count, []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = target()
        except BaseException as error:  # report it to the test, not to the thread's void
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results
