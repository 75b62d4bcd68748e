"""Downloading a mailbox: the next message travels while the current one is imported, one at a time."""

import pytest

import faultservers
from mailcore import ServerSettings, open_mailbox, open_session
from test_session_mailbox import _open, fill_inbox


@pytest.fixture
def three_messages(servers, deliver, harness):
    """Bob's INBOX on the plain-only instance, holding three fresh messages, oldest first."""
    return fill_inbox(servers, deliver, 3)


@pytest.mark.parametrize(("protocol", "security"), [("imap", "ssl"), ("pop3", "ssl"), ("pop3", "starttls")])
def test_download_hands_over_every_message_in_order_while_deleting(servers, three_messages, protocol, security):
    mailbox = _open(servers, protocol, security)
    keys = mailbox.keys()
    seen = []
    for key, raw in mailbox.download(keys):
        seen.append(key)
        assert f"Subject: {three_messages[len(seen) - 1]}".encode() in raw
        mailbox.delete(key)  # sent while the next message's request is still unanswered
    mailbox.close()
    assert seen == keys
    mailbox = _open(servers, protocol, security)
    assert mailbox.keys() == [], "every delete was sent and committed"
    mailbox.close()


def test_download_deletes_that_the_keys_make_on_the_way_are_kept_in_order(servers, three_messages):
    mailbox = _open(servers, "pop3", "ssl")
    keys = mailbox.keys()

    def keys_deleting_the_first():
        mailbox.delete(keys[0])  # as the fetch does for an imported copy that is due
        yield from keys[1:]

    assert [key for key, _raw in mailbox.download(keys_deleting_the_first())] == keys[1:]
    mailbox.close()
    mailbox = _open(servers, "pop3", "ssl")
    assert mailbox.keys() == keys[1:]
    mailbox.close()


def scripted_pop3(pipelining, commands):
    """Three 1-line messages; announces PIPELINING or not, records every command line in order."""

    def handler(conn, stopping):
        conn.sendall(b"+OK ready\r\n")
        while not stopping.is_set():
            line = faultservers.read_line(conn).strip()
            if not line:
                return
            commands.append(line.decode())
            verb, _space, argument = line.partition(b" ")
            if verb == b"CAPA":
                conn.sendall(b"+OK\r\nUSER\r\nUIDL\r\n" + (b"PIPELINING\r\n" if pipelining else b"") + b".\r\n")
            elif verb in (b"USER", b"PASS"):
                conn.sendall(b"+OK\r\n")
            elif verb == b"UIDL":
                conn.sendall(b"+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n")
            elif verb == b"RETR":
                conn.sendall(b"+OK\r\nSubject: " + argument + b"\r\n\r\nHello\r\n.\r\n")
            elif verb == b"DELE":
                conn.sendall(b"+OK deleted\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"+OK bye\r\n")
                return
            else:
                conn.sendall(b"-ERR unknown\r\n")

    return handler


def _download_deleting(port):
    settings = ServerSettings("pop3", "127.0.0.1", port, "none", login="bob", password="pw")
    mailbox = open_mailbox(open_session(settings, timeout=5))
    subjects = []
    for key, raw in mailbox.download(mailbox.keys()):
        subjects.append(raw.split(b"\r\n")[0])
        mailbox.delete(key)
    mailbox.close()
    return subjects


@pytest.mark.parametrize(
    ("pipelining", "commands_sent"),
    [
        # RETR 2 goes out before the caller deletes message 1, i.e. while message 1 is being imported.
        (True, ["RETR 1", "RETR 2", "DELE 1", "RETR 3", "DELE 2", "DELE 3", "QUIT"]),
        (False, ["RETR 1", "DELE 1", "RETR 2", "DELE 2", "RETR 3", "DELE 3", "QUIT"]),
    ],
)
def test_the_next_message_is_asked_for_early_only_when_the_server_pipelines(pipelining, commands_sent):
    commands = []
    with faultservers.ScriptedServer(scripted_pop3(pipelining, commands)) as server:
        subjects = _download_deleting(server.port)
    assert subjects == [b"Subject: 1", b"Subject: 2", b"Subject: 3"]
    assert commands[commands.index("UIDL") + 1 :] == commands_sent
