"""Small real socket servers for faults no real mail server produces on demand.

Each is a listening TCP socket on loopback; a scripted handler talks to every client in its own
thread. They are servers, not patched client classes: the code under test opens real connections.
"""

import contextlib
import socket
import threading

# What a deadline may overrun by in these tests: thread scheduling on a busy 2-core machine. The
# faults themselves would hold a check for a minute (tarpit) or 200 s (trickle), so the bound still bites.
SLACK = 1.0


class ScriptedServer:
    def __init__(self, handler):
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.clients = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.listener.close()
        for conn in self.clients:
            with contextlib.suppress(OSError):
                conn.close()
        self.thread.join(5)

    def _serve(self):
        self.listener.settimeout(0.1)  # closing a socket does not wake a blocked accept()
        while not self.stopping.is_set():
            try:
                conn, _addr = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.clients.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        with contextlib.suppress(OSError):
            self.handler(conn, self.stopping)


def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def tarpit(conn, stopping):
    """Accepts and never says a word."""
    stopping.wait(60)


def trickle(greeting):
    """Sends its greeting one byte a second: every read succeeds, the line never ends in time."""

    def handler(conn, stopping):
        for byte in greeting:
            if stopping.wait(1):
                return
            conn.sendall(bytes([byte]))
        stopping.wait(60)

    return handler


def say_and_close(text):
    """Greets (or refuses) and hangs up."""

    def handler(conn, stopping):
        conn.sendall(text)
        conn.close()

    return handler


def greet_then_drop(greeting):
    """Greets, reads the client's first command, and drops the connection without a reply."""

    def handler(conn, stopping):
        conn.sendall(greeting)
        read_line(conn)
        conn.close()

    return handler


def say_and_wait(text):
    def handler(conn, stopping):
        conn.sendall(text)
        while read_line(conn) and not stopping.is_set():
            pass

    return handler


def smtp_starttls_refused(conn, stopping):
    """Advertises STARTTLS in EHLO, then refuses it."""
    conn.sendall(b"220 fault.test ESMTP\r\n")
    while not stopping.is_set():
        line = read_line(conn).upper()
        if not line:
            return
        if line.startswith((b"EHLO", b"HELO")):
            conn.sendall(b"250-fault.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
        elif line.startswith(b"STARTTLS"):
            conn.sendall(b"454 4.7.0 TLS not available due to local problem\r\n")
        elif line.startswith(b"QUIT"):
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"502 5.5.2 not implemented\r\n")


def smtp_recipient_unknown(conn, stopping):
    """An SMTP server that knows no mailbox: RCPT TO is refused as an unknown user."""
    conn.sendall(b"220 fault.test ESMTP\r\n")
    replies = {b"EHLO": b"250 fault.test\r\n", b"MAIL": b"250 2.1.0 Ok\r\n", b"RSET": b"250 Ok\r\n",
               b"RCPT": b"550 5.1.1 <alice@example.test>: Recipient address rejected: User unknown\r\n"}
    while not stopping.is_set():
        line = read_line(conn)
        if not line or line.upper().startswith(b"QUIT"):
            return
        conn.sendall(replies.get(line[:4].upper(), b"502 5.5.2 not implemented\r\n"))


def pop3_mailbox_in_use(conn, stopping):
    """A POP3 server whose mailbox another client holds: login succeeds, then STAT is refused."""
    conn.sendall(b"+OK ready\r\n")
    while not stopping.is_set():
        line = read_line(conn)
        if not line:
            return
        command = line.split()[0].upper()
        if command == b"CAPA":
            conn.sendall(b"+OK\r\nUSER\r\nRESP-CODES\r\n.\r\n")
        elif command in (b"USER", b"PASS"):
            conn.sendall(b"+OK\r\n")
        elif command == b"STAT":
            conn.sendall(b"-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n")
        else:
            conn.sendall(b"+OK bye\r\n")
            return
