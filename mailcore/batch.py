"""Checks of many accounts at once: bounded concurrency under one overall time budget.

An administrator checks hundreds of accounts in one click or one scheduled run; running them one by
one would take minutes, running all at once would open hundreds of sockets. So at most
``concurrency`` accounts are checked at a time, and each check gets the smaller of its own timeout
and what is left of the budget: when the budget is spent, the accounts not yet started are reported
as not checked (``None``) instead of being started late.
"""

import threading
import time

from . import workers
from .check import check_account

DEFAULT_CONCURRENCY = 8


def check_many(jobs, concurrency=DEFAULT_CONCURRENCY, budget=None, progress=None):
    """Check each ``(key, kwargs)`` of ``jobs`` with ``check_account(**kwargs)``; ``progress``: see
    mailcore.progress (once cancelled, the accounts not started yet are not checked).

    Returns ``{key: AccountResult or None}``; ``None`` means the budget ran out before the check started.
    """
    jobs = list(jobs)
    end = None if budget is None else time.monotonic() + float(budget)
    results = dict.fromkeys(key for key, _kwargs in jobs)

    def run(kwargs):
        remaining = None if end is None else end - time.monotonic()
        if (remaining is not None and remaining <= 0) or (progress is not None and progress.cancelled):
            return None
        timeout = float(kwargs.get("timeout", 10))
        if remaining is not None:
            timeout = min(timeout, remaining)
        return check_account(**{**kwargs, "timeout": timeout, "progress": progress})

    pending, taking = iter(jobs), threading.Lock()

    def lane():
        while True:
            with taking:
                job = next(pending, None)
            if job is None:
                return
            key, kwargs = job
            results[key] = run(kwargs)

    # ``concurrency`` lanes: this thread is one, the shared workers run the others.
    helpers = [workers.submit(lane) for _lane in range(min(int(concurrency), len(jobs)) - 1)]
    lane()
    for helper in helpers:
        helper.result()
    return results
