"""Being polite to mail providers when many workers fetch at once: connection slots and retry delays.

Job runners spread a round of thousands of mailboxes over many processes and machines sharing one
PostgreSQL. Nothing there knows that a thousand of those mailboxes live on one provider's host, which
would see a thousand connections from one client at once and throttle or block it. So a job takes one
of a few *slots* of its mail host before it connects (a PostgreSQL advisory lock whose key this
module computes; the lock ends with the job's database connection, so a killed worker frees its slot),
and one lock of its account (a mailbox is never fetched by two workers at once). A job that finds
the host full waits a little for a slot, then, like one that meets a busy or slow server, tries again
later after an exponential delay with jitter, so retries do not arrive in step.
"""

import hashlib
import random

# Connections at once to one mail host from all workers together, unless the administrator sets
# another (system parameter, README "Thousands of mailboxes"). Providers allow about this many per
# account or client (Gmail: 15 IMAP connections per account; Microsoft 365: 20), and far fewer
# from one client address before they slow it down.
HOST_CONNECTIONS = 8
HOST_CONNECTIONS_MAX = 100
# Seconds a job waits for a slot of a full host before it steps back for later: slots come free
# every second or so when many mailboxes of one host are fetched, and a job that stepped back at once
# would leave its runner idle while every job still queued for that host bounces the same way.
SLOT_WAIT = 15
# Failures that say "not now" rather than "wrong": worth a retry within the same round.
RETRYABLE_CODES = frozenset({"server_busy", "timeout", "connection_closed", "login_delay"})
# The first retry waits about RETRY_BASE seconds, each next one twice as long, never over RETRY_CAP.
RETRY_BASE = 30
RETRY_CAP = 3600
# The first half of the advisory lock's two keys, for account locks ("email_account" in hex speak).
ACCOUNT_LOCK_SPACE = 0x0E4A11
_INT32 = 1 << 31


def retry_delay(attempt, base=RETRY_BASE, cap=RETRY_CAP, rand=random.random):
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): half the exponential delay, plus
    up to as much again at random ("equal jitter": never zero, never in step with other workers)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return max(1, round(ceiling / 2 + rand() * ceiling / 2))


def poll_delay(rand=random.random):
    """Seconds between two looks for a free slot: 0.1 to 0.4, so waiting jobs do not look in step."""
    return 0.1 + 0.3 * rand()


def host_connections(value):
    """The per-host limit from a setting's text; the default when it is empty or not a number, and
    never below 1 nor above HOST_CONNECTIONS_MAX."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return HOST_CONNECTIONS
    return min(HOST_CONNECTIONS_MAX, max(1, number))


def _key(text):
    """A signed 32-bit number from ``text``, the same in every process (unlike Python's hash())."""
    number = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")
    return number - (1 << 32) if number >= _INT32 else number


def host_slot_keys(host, port, limit):
    """The advisory-lock key pairs of the ``limit`` connection slots of one mail server, in the order
    to try them. The order starts at a random slot, so workers do not all queue on the first one."""
    space = _key(f"email_account.host:{host.lower()}:{port}")
    if space == ACCOUNT_LOCK_SPACE:  # a name cannot borrow the accounts' space
        space += 1
    first = random.randrange(limit)
    return [(space, (first + offset) % limit) for offset in range(limit)]


def account_lock_key(account_id):
    """The advisory-lock key pair held while one account's mailbox is fetched or checked."""
    return (ACCOUNT_LOCK_SPACE, account_id)
