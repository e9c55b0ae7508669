"""Progress of a long run: a bar with rate and ETA on a terminal (rich),
plain log lines (at most one every 10 s, and at the end) otherwise, so a
run under cron or systemd leaves a readable log instead of control codes.
"""

import logging
import sys
import time

LOG = logging.getLogger("migrate_from_glance")
LOG_EVERY = 10.0


class _Lines:
    def __init__(self, total, what):
        self.total, self.what, self.done = total, what, 0
        self.start = self.last = time.monotonic()

    def advance(self, n):
        self.done += n
        now = time.monotonic()
        if now - self.last >= LOG_EVERY:
            self.last = now
            self._line(now)

    def _line(self, now):
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0
        LOG.info("%d/%d %s (%.0f/s, %.0f s left)", self.done, self.total,
                 self.what, rate, max(left, 0))

    def close(self):
        self._line(time.monotonic())


class _Bar:
    def __init__(self, total, what, out):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                                   TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        class Rate(TextColumn):
            def render(self, task):
                speed = task.finished_speed or task.speed
                return self.text_format.format(
                    "%.0f/s" % speed if speed else "-/s")
        self.progress = Progress(
            TextColumn(what), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(), Rate("{}"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(file=out), transient=False)
        self.progress.start()
        self.task = self.progress.add_task(what, total=total)

    def advance(self, n):
        self.progress.advance(self.task, n)

    def close(self):
        self.progress.stop()


def start(total, what, show=None, out=None):
    """A progress sink with ``advance(n)`` and ``close()``; ``show`` None:
    a bar when ``out`` (default stderr) is a terminal."""
    out = out or sys.stderr
    if show is None:
        show = hasattr(out, "isatty") and out.isatty()
    return _Bar(total, what, out) if show else _Lines(total, what)
