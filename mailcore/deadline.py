"""One deadline for a whole check, enforced even against servers that trickle one byte at a time.

Socket timeouts bound a single read, not a dialogue: a server sending a byte a second never trips
them. So a watchdog shuts the guarded socket down when the deadline passes (or when a parallel
probe has already found the answer), which makes any blocked read return at once.
"""

import contextlib
import socket
import threading
import time


class Deadline:
    def __init__(self, seconds):
        self.seconds = float(seconds)
        self.end = time.monotonic() + self.seconds
        self._lock = threading.Lock()
        self._sock = None
        self._timer = None
        self.expired = False
        self.abort_reason = None

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    @property
    def passed(self):
        """True once the deadline is over, whether or not the watchdog has fired yet."""
        return self.expired or time.monotonic() >= self.end

    def guard(self, sock):
        """Watch ``sock`` (replacing any earlier one, e.g. the plain socket under a TLS one)."""
        with self._lock:
            self._sock = sock
            if self._timer is None and not self.expired:
                self._timer = threading.Timer(self.remaining(), self._expire)
                self._timer.daemon = True
                self._timer.start()
        if sock is not None:
            # A little longer than the deadline: the watchdog, not a socket timeout, ends the dialogue.
            sock.settimeout(self.remaining() + 1.0)

    def release(self):
        """Stop watching: the dialogue is over, or a long-lived connection takes over."""
        with self._lock:
            self._sock = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

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
