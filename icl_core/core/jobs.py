"""Jobs side by side: the one scheduler behind the training sweep and the book pipeline.

On a CPU, small models train (and chapters run) faster as several one-thread jobs side
by side than one after another with every core each (`make bench` measures it), so
the cores are split evenly among the jobs running; a GPU takes one job at a time. A
job starts once the jobs it comes `after` have finished."""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable

from .config import check


@dataclass(frozen=True)
class Job:
    name: str
    # called with the device it runs on and the number of CPU threads it may use
    run: Callable[[str, int], Any]
    after: tuple[str, ...] = field(default=())


def run_side_by_side(jobs: list[Job], slots: list[str]) -> dict[str, Any]:
    """Run `jobs`, one per slot at a time (a slot is a device name; "cpu" may repeat),
    each once the jobs it comes after have finished; return each job's result by
    name, in the order of `jobs`. A job that raises stops the run with its error."""
    check(len(slots) > 0, "slots", slots, "at least one device")
    names = {job.name for job in jobs}
    unknown = {a for job in jobs for a in job.after} - names
    check(not unknown, "after", sorted(unknown), "names of jobs in this run")
    cores = os.cpu_count() or 1
    cpu_slots = slots.count("cpu")
    done: dict[str, Any] = {}
    pending, running = list(jobs), {}
    with ThreadPoolExecutor(len(slots)) as pool:
        while pending or running:
            taken = {slot for slot, _ in running.values()}
            free = [s for s in range(len(slots)) if s not in taken]
            ready = [j for j in pending if set(j.after) <= set(done)]
            side_by_side = min(cpu_slots, len(ready) + len(running)) or 1
            threads = max(1, cores // side_by_side)
            for slot, job in zip(free, ready):
                pending.remove(job)
                running[pool.submit(job.run, slots[slot], threads)] = (slot, job)
            if not running:
                waiting = [j.name for j in pending]
                raise ValueError(f"jobs wait on each other: {waiting}")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                _, job = running.pop(future)
                done[job.name] = future.result()
    return {job.name: done[job.name] for job in jobs}
