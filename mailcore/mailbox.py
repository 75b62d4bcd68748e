"""A server mailbox read one message at a time under stable keys, so a fetch never imports twice.

IMAP keys are UIDs, valid together with the mailbox's UIDVALIDITY; POP3 keys are UIDL strings,
stable on their own (their UIDVALIDITY is the constant "UIDL"). Only one message body is held at a
time: ``fetch`` returns one, the caller drops it before asking for the next. Each method is one
operation of the session, with its own deadline and byte limit (``Probe.operation``).
"""

import contextlib

from .errors import CheckFailure
from .limits import DIALOGUE_BYTES, LISTING_BYTES, MESSAGE_BYTES


class MailboxError(Exception):
    """The server refused a mailbox command; the text is the server's answer."""


@contextlib.contextmanager
def _operation(client, byte_limit=DIALOGUE_BYTES):
    """One operation of the session; whatever breaks the dialogue leaves as a classified
    ``CheckFailure`` (judged while the operation's deadline still stands), so the caller can tell
    the server's failures from its own bugs, which it must not report as the server's."""
    with client._probe.operation("mailbox", byte_limit):
        try:
            yield
        except (MailboxError, CheckFailure):
            raise
        except Exception as error:  # the server's doing: classified, never raised raw
            raise client._probe.failure(error) from error


class ImapMailbox:
    def __init__(self, client, folder="INBOX"):
        self.client = client
        with _operation(client):
            typ, data = client.select(folder)
        if typ != "OK":
            raise MailboxError(_text(data))
        typ, data = client.response("UIDVALIDITY")
        self.uidvalidity = data[0].decode() if data and data[0] else ""
        self._uidplus = "UIDPLUS" in client.capabilities

    def keys(self):
        with _operation(self.client, LISTING_BYTES):
            typ, data = self.client.uid("SEARCH", "ALL")
        if typ != "OK":
            raise MailboxError(_text(data))
        return [uid.decode() for uid in (data[0] or b"").split()]

    def fetch(self, key):
        # BODY.PEEK leaves the \Seen flag to the user's other mail programs.
        with _operation(self.client, MESSAGE_BYTES):
            typ, data = self.client.uid("FETCH", key, "(BODY.PEEK[])")
        if typ != "OK":
            raise MailboxError(_text(data))
        for item in data:
            if isinstance(item, tuple):
                return item[1]
        raise MailboxError(f"message {key} is no longer on the server")

    def delete(self, key):
        with _operation(self.client):
            typ, data = self.client.uid("STORE", key, "+FLAGS.SILENT", r"(\Deleted)")
            if typ != "OK":
                raise MailboxError(_text(data))
            if self._uidplus:
                # UID EXPUNGE removes only this message, not what another program flagged for deletion.
                self.client.uid("EXPUNGE", key)

    def close(self):
        """End the session; CLOSE expunges what ``delete`` flagged when the server has no UIDPLUS."""
        with _operation(self.client):
            try:
                self.client.close()
            finally:
                self.client.logout()


class Pop3Mailbox:
    uidvalidity = "UIDL"

    def __init__(self, client):
        self.client = client
        self._numbers = {}

    def keys(self):
        with _operation(self.client, LISTING_BYTES):
            _response, lines, _octets = self.client.uidl()
        self._numbers = {}
        for line in lines:
            number, _space, uidl = line.decode("ascii", "replace").partition(" ")
            self._numbers[uidl] = number
        return list(self._numbers)

    def fetch(self, key):
        with _operation(self.client, MESSAGE_BYTES):
            _response, lines, _octets = self.client.retr(self._numbers[key])
        return b"\r\n".join(lines) + b"\r\n"

    def delete(self, key):
        with _operation(self.client):
            self.client.dele(self._numbers[key])

    def close(self):
        """QUIT commits the deletions; a session that breaks off before it deletes nothing."""
        with _operation(self.client):
            self.client.quit()


def open_mailbox(client):
    """The mailbox over a logged-in ``imaplib.IMAP4`` or ``poplib.POP3`` client."""
    return Pop3Mailbox(client) if hasattr(client, "uidl") else ImapMailbox(client)


def _text(data):
    item = data[-1] if isinstance(data, list | tuple) and data else data
    if isinstance(item, bytes):
        item = item.decode("utf-8", "replace")
    return " ".join(str(item).split())[:200]
