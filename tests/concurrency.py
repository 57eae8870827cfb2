"""Running the same call from several threads at once, each on its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(call: Callable[..., T], *argument_sets: tuple[object, ...], timeout: float = 30) -> list[T]:
    """Call `call(*arguments)` for each argument set in its own thread, released together.

    Returns the results (in the order the calls finished) and re-raises the first error a
    thread met, so a failure in a thread fails the test.
    """
    start = threading.Barrier(len(argument_sets))
    results: list[T] = []
    failures: list[BaseException] = []

    def run(arguments: tuple[object, ...]) -> None:
        try:
            start.wait(timeout=10)
            results.append(call(*arguments))
        except BaseException as error:  # Re-raised by the calling thread below.
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(arguments,)) for arguments in argument_sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if failures:
        raise failures[0]
    return results
