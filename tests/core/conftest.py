"""Fixtures shared by the pure-Python tier (``tests/core``).

The mail servers are started outside pytest, by ``make test`` (tests/harness/run_tests.sh)
or by hand with ``make servers``; their description (ports, users, CA, logs) is the JSON
file named by the ``EMAIL_ACCOUNT_TEST_SERVERS`` environment variable.
"""

import json
import os

import pytest

from accounts import harness_client

SERVERS_ENV = "EMAIL_ACCOUNT_TEST_SERVERS"


@pytest.fixture(scope="session")
def servers():
    """The harness's servers.json as a dict (see tests/harness/mailharness/start.py)."""
    path = os.environ.get(SERVERS_ENV)
    if not path:
        pytest.fail(
            f"{SERVERS_ENV} is not set. Run `make test`, or start the servers with `make servers` "
            f"and export {SERVERS_ENV}=<the servers.json path it prints>.",
            pytrace=False,
        )
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        pytest.fail(f"cannot read {SERVERS_ENV}={path}: {exc} (are the harness servers running?)", pytrace=False)


@pytest.fixture(scope="session")
def harness(servers):
    """The harness client (tests/harness/mailharness/client.py, standard library only) as a module."""
    return harness_client(servers)


@pytest.fixture(scope="session")
def deliver(servers, harness):
    """``deliver(user, message_bytes, instance="main", mailbox="INBOX")`` stores a message via doveadm."""

    def _deliver(user, message, instance="main", mailbox="INBOX"):
        harness.deliver(servers, user, message, instance=instance, mailbox=mailbox)

    return _deliver


@pytest.fixture
def forget_pop_logins(servers, harness):
    """The popbeforesmtp server forgets earlier POP3 logins: relaying is denied until the next one."""
    harness.forget_pop_logins(servers)
