"""A server mailbox read one message at a time under stable keys, so a fetch never imports twice.

IMAP keys are UIDs, valid together with the mailbox's UIDVALIDITY; POP3 keys are UIDL strings,
stable on their own (their UIDVALIDITY is the constant "UIDL"). Only one message body is held at a
time: ``fetch`` returns one, the caller drops it before asking for the next. Each command sent and
each reply read is one operation of the session, with its own deadline and byte limit
(``Probe.operation``).

``download`` asks for the next message before handing over the current one, so the next one travels
while the caller imports (a round trip per message is most of a fetch on a distant server). Commands
sent that way are answered in order; their replies are read back in order (a queue of pending
commands), never two bodies in memory: the next one waits in the socket until it is read. IMAP
always allows this (RFC 3501 5.5); POP3 only when the server announces PIPELINING (RFC 2449),
otherwise each command waits for its reply, as before.
"""

import collections
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


class _Mailbox:
    pipelining = True

    def __init__(self, client):
        self.client = client
        self._pending = collections.deque()  # [read reply, result] of each command sent, oldest first

    def download(self, keys):
        """Yield ``(key, message bytes)`` for each of ``keys``, asking for the next message before
        handing over the current one when the server allows it. ``keys`` may be lazy, and may
        ``delete`` as it goes: those commands join the queue too."""
        keys = iter(keys)
        key = next(keys, None)
        pending = self._request(key) if key is not None else None
        while key is not None:
            raw = self._reply(pending)
            following = next(keys, None)
            pending = self._request(following) if following is not None and self.pipelining else None
            yield key, raw
            if following is not None and pending is None:
                pending = self._request(following)
            key = following
        self._settle()

    def fetch(self, key):
        return self._reply(self._request(key))

    def _send(self, write, read, byte_limit=DIALOGUE_BYTES):
        """Send one command now (``write()``), read its reply later (``read(what write returned)``,
        within ``byte_limit``): the queue entry whose result ``_reply`` returns."""
        if not self.pipelining:
            self._settle()
        with _operation(self.client):
            sent = write()

        def reply():
            with _operation(self.client, byte_limit):
                return read(sent)

        entry = [reply, None]
        self._pending.append(entry)
        return entry

    def _reply(self, entry):
        """Read replies in the order the commands went out, up to and including ``entry``'s."""
        while self._pending:
            oldest = self._pending.popleft()
            oldest[1] = oldest[0]()
            if oldest is entry:
                break
        return entry[1]

    def _settle(self):
        """Read every reply still due (a refused delete surfaces here, as a MailboxError)."""
        while self._pending:
            oldest = self._pending.popleft()
            oldest[0]()


class ImapMailbox(_Mailbox):
    def __init__(self, client, folder="INBOX"):
        super().__init__(client)
        with _operation(client):
            typ, data = client.select(folder)
        if typ != "OK":
            raise MailboxError(_text(data))
        typ, data = client.response("UIDVALIDITY")
        self.uidvalidity = data[0].decode() if data and data[0] else ""
        self._uidplus = "UIDPLUS" in client.capabilities

    def keys(self):
        self._settle()
        with _operation(self.client, LISTING_BYTES):
            typ, data = self.client.uid("SEARCH", "ALL")
        if typ != "OK":
            raise MailboxError(_text(data))
        return [uid.decode() for uid in (data[0] or b"").split()]

    def _uid(self, *arguments, parse=None, byte_limit=DIALOGUE_BYTES):
        """Send ``UID <arguments>``; its queue entry. ``parse`` turns a FETCH's untagged data into the result."""
        client = self.client

        def read(tag):
            typ, data = client._command_complete("UID", tag)
            if typ != "OK":
                raise MailboxError(_text(data))
            # The untagged data of this command only: the replies are read in order.
            return parse(client._untagged_response(typ, data, "FETCH")[1]) if parse else data

        return self._send(lambda: client._command("UID", *arguments), read, byte_limit)

    def _request(self, key):
        def body(data):
            for item in data:
                if isinstance(item, tuple):
                    return item[1]
            raise MailboxError(f"message {key} is no longer on the server")

        # BODY.PEEK leaves the \Seen flag to the user's other mail programs.
        return self._uid("FETCH", key, "(BODY.PEEK[])", parse=body, byte_limit=MESSAGE_BYTES)

    def delete(self, key):
        self._uid("STORE", key, "+FLAGS.SILENT", r"(\Deleted)")
        if self._uidplus:
            # UID EXPUNGE removes only this message, not what another program flagged for deletion.
            self._uid("EXPUNGE", key)

    def close(self):
        """End the session; CLOSE expunges what ``delete`` flagged when the server has no UIDPLUS."""
        self._settle()
        with _operation(self.client):
            try:
                self.client.close()
            finally:
                self.client.logout()


class Pop3Mailbox(_Mailbox):
    uidvalidity = "UIDL"

    def __init__(self, client):
        super().__init__(client)
        self._numbers = {}
        self.pipelining = "PIPELINING" in (getattr(client, "capabilities", None) or {})

    def keys(self):
        self._settle()
        with _operation(self.client, LISTING_BYTES):
            _response, lines, _octets = self.client.uidl()
        self._numbers = {}
        for line in lines:
            number, _space, uidl = line.decode("ascii", "replace").partition(" ")
            self._numbers[uidl] = number
        return list(self._numbers)

    def _request(self, key):
        client = self.client

        def read(_sent):
            _response, lines, _octets = client._getlongresp()
            return b"\r\n".join(lines) + b"\r\n"

        return self._send(lambda: client._putcmd(f"RETR {self._numbers[key]}"), read, MESSAGE_BYTES)

    def delete(self, key):
        client = self.client
        self._send(lambda: client._putcmd(f"DELE {self._numbers[key]}"), lambda _sent: client._getresp())

    def close(self):
        """QUIT commits the deletions; a session that breaks off before it deletes nothing."""
        self._settle()
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
