"""Where a running check or discovery is, for whoever shows it, and the way to stop it early.

A check against a silent server takes its whole budget. ``Progress`` lets the caller show which
servers are being talked to, at which stage, with how much time left, and ``cancel()`` aborts every
deadline of the run at once, so the run ends within moments with the code ``check_cancelled``
instead of at its budget. ``run_aside`` runs the work on a kept worker while the calling thread
reports progress (and learns about a cancel) at a steady pace: the caller's thread keeps its own
resources (a database cursor, say), and the worker ends with the work, inside the caller's request.
"""

import concurrent.futures
import threading
import time

from . import workers

CANCELLED = "check_cancelled"
# How often run_aside reports while the work runs.
REPORT_EVERY = 0.5


class Progress:
    def __init__(self):
        self._lock = threading.Lock()
        self._deadlines = []
        self._callbacks = []
        self._active = {}  # (protocol, host, port) -> stage, the latest entered last
        self.cancelled = False

    def watch(self, deadline):
        """Called by each Deadline made for this run: a cancel aborts it, even one made afterwards."""
        with self._lock:
            self._deadlines.append(deadline)
            cancelled = self.cancelled
        if cancelled:
            deadline.abort(CANCELLED)

    def on_cancel(self, callback):
        """``callback()`` runs once the run is cancelled (e.g. to wake a waiting loop)."""
        with self._lock:
            self._callbacks.append(callback)

    def entered(self, settings, stage):
        key = (settings.protocol, settings.host, settings.port)
        with self._lock:
            self._active.pop(key, None)
            self._active[key] = stage

    def left(self, settings):
        with self._lock:
            self._active.pop((settings.protocol, settings.host, settings.port), None)

    def cancel(self):
        """Abort every deadline of the run: each dialogue ends at once, as ``check_cancelled``."""
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            deadlines, callbacks = list(self._deadlines), list(self._callbacks)
        for deadline in deadlines:
            deadline.abort(CANCELLED)
        for callback in callbacks:
            callback()

    def snapshot(self):
        """{"servers": [{protocol, host, port, stage}, ...] latest last, "remaining": seconds or None,
        "cancelled": bool}: plain data, to store or send as it is."""
        with self._lock:
            servers = [
                {"protocol": protocol, "host": host, "port": port, "stage": stage}
                for (protocol, host, port), stage in self._active.items()
            ]
            ends = [deadline.end for deadline in self._deadlines if deadline.abort_reason is None]
        remaining = round(max(0.0, max(ends) - time.monotonic()), 1) if ends else None
        return {"servers": servers, "remaining": remaining, "cancelled": self.cancelled}


def run_aside(work, progress, report, every=REPORT_EVERY):
    """``work()`` on a worker thread; meanwhile ``report(progress.snapshot())`` on this thread, every
    ``every`` seconds, and a cancel when it returns True. Returns (or raises) what ``work`` does,
    once it has ended."""
    future = workers.submit(work)
    while True:
        try:
            return future.result(timeout=every)
        except concurrent.futures.TimeoutError:
            if future.done():  # the work's own TimeoutError
                raise
            if report(progress.snapshot()):
                progress.cancel()
