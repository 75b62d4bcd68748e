"""Long-lived logged-in clients for Odoo's own sending and fetching, with every account setting applied.

A check opens, tests and closes; sending and fetching keep the client. The same Probe connects it, so
STARTTLS, safe logon, certificate policy and one deadline for the whole connection apply alike; once
logged in, each operation (a message sent, the mailbox listed, a message fetched or deleted) has a
deadline and a byte limit of its own (``Probe.operation``): long enough for a large message, short
enough that a server trickling bytes cannot hold a send or a fetch for ever.
"""

from .check import check_server, connect, logged_in_first
from .deadline import Deadline
from .errors import CheckFailure
from .probe import Probe

# An operation may take this many times the login's timeout (60 s for the default 10 s, the socket
# timeout stock Odoo gives a whole SMTP session).
OPERATION_FACTOR = 6


def open_session(settings, timeout, login_first=None, operation_timeout=None):
    """A logged-in ``smtplib.SMTP``, ``imaplib.IMAP4`` or ``poplib.POP3`` for ``settings``.

    ``login_first``: incoming settings to log in to before SMTP (POP-before-SMTP). ``operation_timeout``:
    seconds per operation once logged in (default ``OPERATION_FACTOR`` × ``timeout``). Raises CheckFailure.
    """
    deadline = Deadline(timeout)
    if login_first is not None:
        first = check_server(login_first, deadline=deadline)
        if not logged_in_first(first):
            raise CheckFailure(first.code, first.stage, first.params)
    probe = Probe(settings, deadline)
    if login_first is not None:
        probe.facts["login_before_send"] = first.protocol
    try:
        client = connect(probe)
    except Exception as error:  # noqa: BLE001 - triaged by Probe.failure, which logs our own bugs
        failure = probe.failure(error)
        probe.close()
        raise failure from None
    deadline.release(handed_over=True)
    client.sock.settimeout(float(timeout))
    probe.operation_seconds = float(operation_timeout or OPERATION_FACTOR * float(timeout))
    return client
