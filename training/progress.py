"""A tiny dependency-free progress bar: ``for x in progress(items, desc="label"): ...``.

On a terminal it redraws one line on stderr (count, percentage, rate, elapsed, ETA) at most
ten times a second. When stderr is not a terminal (logs, CI) it prints a plain line at every
10 % instead, so logs stay short but still show that work is moving.
"""
from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def _fmt_time(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # NaN or inf
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _fmt_rate(rate: float) -> str:
    if rate <= 0:
        return "? it/s"
    return f"{rate:.3g} it/s" if rate >= 1 else f"{1.0 / rate:.3g} s/it"


def progress(
    iterable: Iterable[T],
    total: int | None = None,
    desc: str = "",
    stream=None,
    width: int = 24,
    interactive: bool | None = None,
) -> Iterator[T]:
    """Yield the items of ``iterable`` while reporting progress on ``stream`` (stderr).

    ``total`` defaults to ``len(iterable)`` when it has one. ``interactive`` forces the
    terminal (True) or log (False) style; by default it follows ``stream.isatty()``.
    """
    stream = sys.stderr if stream is None else stream
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if interactive is None:
        try:
            interactive = stream.isatty()
        except (AttributeError, ValueError):
            interactive = False
    prefix = f"{desc}: " if desc else ""
    start = last_draw = time.perf_counter()
    next_mark = 1  # next tenth to report in log style

    def line(done: int, now: float) -> str:
        elapsed = now - start
        rate = done / elapsed if elapsed > 0 else 0.0
        if total:
            frac = min(done / total, 1.0)
            filled = int(frac * width)
            bar = "#" * filled + "-" * (width - filled)
            eta = (total - done) / rate if rate > 0 else float("inf")
            return (f"{prefix}{frac * 100:5.1f}% |{bar}| {done}/{total} "
                    f"[{_fmt_time(elapsed)}<{_fmt_time(eta)}, {_fmt_rate(rate)}]")
        return f"{prefix}{done} [{_fmt_time(elapsed)}, {_fmt_rate(rate)}]"

    done = 0
    try:
        for item in iterable:
            yield item
            done += 1
            now = time.perf_counter()
            if interactive:
                if now - last_draw >= 0.1 or (total and done == total):
                    stream.write("\r" + line(done, now))
                    stream.flush()
                    last_draw = now
            elif total and done * 10 >= next_mark * total:
                stream.write(line(done, now) + "\n")
                stream.flush()
                next_mark = done * 10 // total + 1
    finally:
        if interactive and done:
            stream.write("\r" + line(done, time.perf_counter()) + "\n")
            stream.flush()
        elif not interactive and not total and done:
            stream.write(line(done, time.perf_counter()) + "\n")
            stream.flush()
