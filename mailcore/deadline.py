"""One deadline for a whole check, enforced even against servers that trickle one byte at a time.

Socket timeouts bound a single read, not a dialogue: a server sending a byte a second never trips
them. So a watchdog shuts the guarded socket down when the deadline passes (or when a parallel
probe has already found the answer), which makes any blocked read return at once. One watchdog
thread serves every deadline of the process: arming a deadline starts no thread.
"""

import contextlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time

_logger = logging.getLogger(__name__)


class _Watchdog:
    """Calls each scheduled callback at its time, on one long-lived thread; callbacks must be quick."""

    def __init__(self):
        self._reset()
        # Threads do not survive fork (Odoo's prefork workers): the child starts its own.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._wakeup = threading.Condition()
        self._queue = []
        self._order = itertools.count()
        self._thread = None

    def call_at(self, when, callback):
        """Schedule ``callback`` at ``time.monotonic()`` value ``when``; returns a handle for cancel()."""
        entry = [when, next(self._order), callback]
        with self._wakeup:
            heapq.heappush(self._queue, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mailcore-watchdog", daemon=True)
                self._thread.start()
            elif self._queue[0] is entry:
                self._wakeup.notify()
        return entry

    def cancel(self, entry):
        with self._wakeup:
            entry[2] = None  # left in the queue, skipped when its time comes

    def _run(self):
        with self._wakeup:
            while True:
                while self._queue and self._queue[0][2] is None:
                    heapq.heappop(self._queue)
                if not self._queue:
                    self._wakeup.wait()
                    continue
                delay = self._queue[0][0] - time.monotonic()
                if delay > 0:
                    self._wakeup.wait(delay)
                    continue
                callback = heapq.heappop(self._queue)[2]
                self._wakeup.release()
                try:
                    callback()
                except Exception:  # one bad callback must not leave every later deadline unwatched
                    _logger.exception("watchdog callback failed")
                finally:
                    self._wakeup.acquire()


watchdog = _Watchdog()


class Deadline:
    def __init__(self, seconds, progress=None):
        """``progress``: the run's mailcore.progress.Progress, whose cancel aborts this deadline."""
        self.seconds = float(seconds)
        self.end = time.monotonic() + self.seconds
        self._lock = threading.Lock()
        self._sock = None
        self._alarm = None
        self.expired = False
        self.abort_reason = None
        self.handed_over = False
        self.progress = progress
        if progress is not None:
            progress.watch(self)

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    @property
    def passed(self):
        """True once the deadline is over, whether or not the watchdog has fired yet; never for a
        connection it was handed over from, unless it expired before."""
        return self.expired or (not self.handed_over and time.monotonic() >= self.end)

    def guard(self, sock):
        """Watch ``sock`` (replacing any earlier one, e.g. the plain socket under a TLS one); a socket
        guarded by a deadline already over or aborted is shut down at once."""
        with self._lock:
            self._sock = sock
            if self._alarm is None and not self.expired:
                self._alarm = watchdog.call_at(self.end, self._expire)
            if self.expired or self.abort_reason is not None:
                self._shutdown()
        if sock is not None:
            # A little longer than the deadline: the watchdog, not a socket timeout, ends the dialogue.
            sock.settimeout(self.remaining() + 1.0)

    def release(self, handed_over=False):
        """Stop watching: the dialogue is over, or (``handed_over``) a long-lived connection takes over,
        whose reads are bounded one by one: from then on its failures are not this deadline's."""
        with self._lock:
            self._sock = None
            self.handed_over = self.handed_over or handed_over
            if self._alarm is not None:
                watchdog.cancel(self._alarm)
                self._alarm = None

    def abort(self, reason):
        """End the current dialogue early because ``reason`` is already known."""
        with self._lock:
            if self.abort_reason is None:
                self.abort_reason = reason
            self._shutdown()

    def _expire(self):
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self):
        if self._sock is not None:
            # socket.socket.shutdown, not SSLSocket's: it acts on the file descriptor directly.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
