"""Timing helpers: percentiles and a small result record."""
import math
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field


def percentile(samples, pct):
    """Nearest-rank percentile of SAMPLES (pct in 0..100)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds):
    return seconds * 1000.0


class Timer:
    """with Timer() as t: ...; t.seconds (wall clock) and t.cpu (this process's CPU time)."""

    def __enter__(self):
        self._start = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        self.cpu = time.process_time() - self._cpu


class Median:
    """A step timed RUNS times in turn (one that can be repeated without changing what the next
    run does, such as a report's preview): .seconds and .cpu are the medians of the runs, .runs
    their wall-clock seconds, .result what the last run returned. A ratio of two single runs is
    the figure this shared machine moves most; the medians of three hold steady."""

    def __init__(self, fn, *args, runs=3):
        timers = []
        for _ in range(runs):
            with Timer() as timer:
                self.result = fn(*args)
            timers.append(timer)
        self.runs = [t.seconds for t in timers]
        self.seconds = sorted(self.runs)[runs // 2]
        self.cpu = sorted(t.cpu for t in timers)[runs // 2]


@dataclass
class Figure:
    """One line of the table: what was measured, beside its floor and its target."""

    name: str
    measured: str = ""
    floor: str = ""
    target: str = ""
    met: bool = None
    values: dict = field(default_factory=dict)
    note: str = ""
    error: str = ""
    # Set when wall-clock time missed the target only because the machine was busy.
    cpu_met: bool = None

    def as_dict(self):
        return asdict(self)

    @property
    def status(self):
        if self.error:
            return "not measured"
        if self.met is None:
            return "-"
        if not self.met and self.cpu_met:
            return "NOT MET (wall); met in CPU time"
        return "met" if self.met else "NOT MET"


def table(figures):
    """The figures as a Markdown table."""
    head = ["what", "measured", "floor (same run)", "target", "met"]
    rows = [[f.name, f.measured or ("-" if not f.error else f"not measured: {f.error}"),
             f.floor or "-", f.target or "-", f.status] for f in figures]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(out)
