"""The paper-work processes survive a job that runs away (memory or time)."""

from __future__ import annotations

import time

import pytest

from agenda.workers import PaperFailed, PaperWorkers


def square(n: int) -> int:
    return n * n


def hog_memory(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


async def test_a_job_over_the_memory_limit_fails_and_the_next_job_runs() -> None:
    workers = PaperWorkers(processes=1, memory_mb=600)
    try:
        assert await workers.run(square, 7) == 49
        with pytest.raises(PaperFailed):
            await workers.run(hog_memory, 2000)
        assert await workers.run(square, 8) == 64
    finally:
        workers.close()


async def test_a_job_past_its_deadline_is_killed_and_the_next_job_runs() -> None:
    workers = PaperWorkers(processes=1, seconds=1)
    try:
        started = time.monotonic()
        with pytest.raises(PaperFailed, match="longer than 1 seconds"):
            await workers.run(sleep, 30)
        assert time.monotonic() - started < 10
        assert await workers.run(square, 3) == 9
    finally:
        workers.close()
