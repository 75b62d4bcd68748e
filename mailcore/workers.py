"""Threads kept between checks, so that a check starts none of its own.

A check needs work beside its dialogue: a name lookup that cannot be interrupted, the second server
of an account, a TLS sniff. Starting a thread for each costs about half a millisecond on a busy
two-core machine, which was a tenth of a whole account check. Workers are daemon threads (a lookup
stuck in ``getaddrinfo`` must not hold the process at exit), a new one starts only when none is
idle (a stuck lookup never queues a check behind it), and an idle one ends after a minute.
"""

import concurrent.futures
import os
import queue
import threading

_IDLE_SECONDS = 60.0


class _Workers:
    def __init__(self):
        self._reset()
        # Threads do not survive fork (Odoo's prefork workers): the child starts with none.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._lock = threading.Lock()
        self._jobs = queue.SimpleQueue()
        self._idle = 0

    def submit(self, function, *args, **kwargs):
        future = concurrent.futures.Future()
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1  # that idle worker is now promised to this job
        self._jobs.put((future, function, args, kwargs))
        if start:
            threading.Thread(target=self._work, name="mailcore-worker", daemon=True).start()
        return future

    def _work(self):
        while True:
            try:
                future, function, args, kwargs = self._jobs.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle:  # not promised to a job meanwhile: leave
                        self._idle -= 1
                        return
                continue
            outcome = error = None
            if future.set_running_or_notify_cancel():
                try:
                    outcome = function(*args, **kwargs)
                except BaseException as failure:  # noqa: BLE001 - handed to whoever waits on the future
                    error = failure
            # Idle before the waiter hears the outcome: its next job then finds this worker free.
            with self._lock:
                self._idle += 1
            if error is not None:
                future.set_exception(error)
            elif future.running():
                future.set_result(outcome)
            del future, function, args, kwargs, outcome, error  # nothing of a finished job outlives it


submit = _Workers().submit
