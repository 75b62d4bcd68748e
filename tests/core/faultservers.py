"""Small real socket servers for faults no real mail server produces on demand.

Each is a listening TCP socket on loopback; a scripted handler talks to every client in its own
thread. They are servers, not patched client classes: the code under test opens real connections.
"""

import threading
import time

try:  # the Odoo tier imports this file as part of the addon's tests package, the pure tier as a top-level module
    from .loopback import TcpServer
except ImportError:
    from loopback import TcpServer

# What a deadline may overrun by in these tests: thread scheduling on a busy 2-core machine. The
# faults themselves would hold a check for a minute (tarpit) or 200 s (trickle), so the bound still bites.
SLACK = 1.0


class ScriptedServer(TcpServer):
    """Runs ``handler(conn, stopping)`` for every client; ``stopping`` is set when the server stops."""

    def __init__(self, handler):
        super().__init__()
        self.handler = handler
        self.stopping = threading.Event()

    def handle(self, conn):
        self.handler(conn, self.stopping)

    def _close(self):
        self.stopping.set()
        return super()._close()


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


def _serve_lines(conn, stopping, answer):
    """Reads command lines and writes ``answer(line)`` until it returns None or the client leaves."""
    while not stopping.is_set():
        line = read_line(conn)
        if not line:
            return
        reply = answer(line)
        if reply is None:
            return
        conn.sendall(reply)


def _pop3_empty_mailbox(conn, command, unknown):
    """The reply of a logged-in POP3 server with an empty mailbox; None (after +OK) once the client quits."""
    if command == b"STAT":
        return b"+OK 0 0\r\n"
    if command == b"QUIT":
        conn.sendall(b"+OK\r\n")
        return None
    return unknown


def mailutils_pop3(tls_context=None, received=None):
    """GNU Mailutils 3.15 pop3d without APOP secrets: a timestamp in the greeting, only USER in CAPA,
    and APOP refused. ``received`` collects the command names; ``tls_context`` serves implicit TLS."""

    def handler(conn, stopping):
        if tls_context is not None:
            conn = tls_context.wrap_socket(conn, server_side=True)
        conn.sendall(b"+OK POP3 Ready <31337.1733068800@fault.test>\r\n")

        def answer(line):
            command = line.split()[0].upper()
            if received is not None:
                received.append(command.decode())
            if command == b"CAPA":
                return (b"+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
                        b"AUTH-RESP-CODE\r\nIMPLEMENTATION GNU Mailutils 3.15\r\n.\r\n")
            if command == b"APOP":
                return b"-ERR [AUTH] Bad login\r\n"
            if command in (b"USER", b"PASS"):
                return b"+OK\r\n"
            return _pop3_empty_mailbox(conn, command, b"-ERR unknown command\r\n")

        _serve_lines(conn, stopping, answer)

    return handler


def mailutils_imap(conn, stopping):
    """GNU Mailutils 3.15 imap4d: its successful AUTHENTICATE reply ends with a bare LF."""
    conn.sendall(b"* OK IMAP4rev1 Debian GNU Mailutils 3.15\r\n")
    pending = []

    def answer(line):
        if pending:  # the client's SASL response: the login succeeds
            return pending.pop() + b" OK AUTHENTICATE PLAIN authentication successful\n"
        tag, command = line.split()[:2]
        command = command.upper()
        if command == b"CAPABILITY":
            return b"* CAPABILITY IMAP4rev1 NAMESPACE ID IDLE LITERAL+ UNSELECT AUTH=PLAIN\r\n" + tag + b" OK done\r\n"
        if command == b"AUTHENTICATE":
            pending.append(tag)
            return b"+ \r\n"
        if command == b"EXAMINE":
            return (b"* 0 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1733068800] UID validity status\r\n"
                    + tag + b" OK [READ-ONLY] EXAMINE Completed\r\n")
        if command == b"LOGOUT":
            conn.sendall(b"* BYE Session terminating.\r\n" + tag + b" OK LOGOUT Completed\r\n")
            return None
        return tag + b" BAD unknown command\r\n"

    _serve_lines(conn, stopping, answer)


def exim_smtp(rcpt_reply):
    """Exim 4.96 on a port whose ACL refuses RCPT TO for a client that did not log in."""

    def handler(conn, stopping):
        conn.sendall(b"220 fault.test ESMTP Exim 4.96 Sun, 01 Dec 2024 16:00:00 +0000\r\n")
        replies = {b"EHLO": b"250-fault.test Hello localhost [127.0.0.1]\r\n250-SIZE 52428800\r\n"
                            b"250-8BITMIME\r\n250-PIPELINING\r\n250 HELP\r\n",
                   b"MAIL": b"250 OK\r\n", b"RCPT": rcpt_reply, b"RSET": b"250 Reset OK\r\n"}

        def answer(line):
            command = line[:4].upper()
            if command == b"QUIT":
                conn.sendall(b"221 fault.test closing connection\r\n")
                return None
            return replies.get(command, b"500 unrecognized command\r\n")

        _serve_lines(conn, stopping, answer)

    return handler


class CyrusPop3:
    """Cyrus IMAP 3.6 pop3d as Debian configures it (``popminpoll: 1``): one login a minute per
    mailbox, the next one refused with [LOGIN-DELAY]. Shared by every connection to one server."""

    def __init__(self, delay=60):
        self.delay = delay
        self.logins = []  # time.monotonic() of each accepted login
        self.refused = 0
        self._lock = threading.Lock()

    def __call__(self, conn, stopping):
        conn.sendall(b"+OK fault.test Cyrus POP3 3.6.1-Debian server ready\r\n")

        def answer(line):
            command = line.split()[0].upper()
            if command == b"CAPA":
                return (b"+OK List of capabilities follows\r\nEXPIRE NEVER\r\nLOGIN-DELAY %d\r\nTOP\r\nUIDL\r\n"
                        b"PIPELINING\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nUSER\r\n"
                        b"IMPLEMENTATION Cyrus POP3 3.6.1-Debian\r\n.\r\n" % self.delay)
            if command == b"USER":
                return b"+OK Name is a valid mailbox\r\n"
            if command == b"PASS":
                return self._login()
            return _pop3_empty_mailbox(conn, command, b"-ERR Unrecognized command\r\n")

        _serve_lines(conn, stopping, answer)

    def _login(self):
        with self._lock:
            now = time.monotonic()
            if self.logins and now - self.logins[-1] < self.delay:
                self.refused += 1
                return b"-ERR [LOGIN-DELAY] Minimum time between mailbox checks not reached\r\n"
            self.logins.append(now)
            return b"+OK Mailbox locked and ready\r\n"

# -- hostile servers (issue #13): scripted dialogues, floods, odd bytes --------------------------------

# Past the 1 MiB a check or a session's dialogue may read (mailcore.limits.DIALOGUE_BYTES).
FLOOD_BYTES = 8 << 20


def dialogue(greeting, replies, tagged=False, default=b"", heard=None):
    """A line-based server: greets, then answers each command by its first two words, else its first
    (after the tag when ``tagged``, as IMAP). An answer is bytes, with ``{tag}`` replaced by the
    command's tag, or ``answer(conn, stopping, line)``, which sends and returns False to hang up.
    Every command line is appended to ``heard``."""

    def handler(conn, stopping):
        conn.sendall(greeting)
        while not stopping.is_set():
            line = read_line(conn)
            if not line:
                return
            if heard is not None:
                heard.append(line)
            words = line.split()
            tag, words = (words[0], words[1:]) if tagged and words else (b"", words)
            verbs = [w.upper() for w in words[:2]]
            answer = replies.get(b" ".join(verbs), replies.get(verbs[0] if verbs else b"", default))
            if callable(answer):
                if answer(conn, stopping, line) is False:
                    return
            else:
                conn.sendall(answer.replace(b"{tag}", tag))

    return handler


def flood(first, line, total=FLOOD_BYTES):
    """An answer that starts with ``first`` and repeats ``line`` past ``total`` bytes, then never ends."""

    def answer(conn, stopping, _command):
        conn.sendall(first)
        chunk, sent = line * max(1, 65536 // len(line)), 0
        while sent < total and not stopping.is_set():
            conn.sendall(chunk)
            sent += len(chunk)
        stopping.wait(60)
        return False

    return answer


def trickled(first, text):
    """An answer that sends ``first``, then ``text`` one byte a second."""

    def answer(conn, stopping, _command):
        conn.sendall(first)
        for byte in text:
            if stopping.wait(1):
                return False
            conn.sendall(bytes([byte]))
        return None

    return answer


def smtp_data(reply):
    """The answer to DATA: take the whole message, then ``reply`` (bytes, or an answer as in dialogue)."""

    def answer(conn, stopping, line):
        conn.sendall(b"354 go ahead\r\n")
        while read_line(conn) not in (b".\r\n", b""):
            pass
        return reply(conn, stopping, line) if callable(reply) else conn.sendall(reply)

    return answer


def imap_login(reply):
    """The answer to IMAP LOGIN with the password as a literal: take it, then ``reply`` (``{tag}`` replaced)."""

    def answer(conn, stopping, line):
        size = int(line.rstrip()[line.rindex(b"{") + 1 : -1])
        conn.sendall(b"+ go ahead\r\n")
        received = b""
        while len(received) < size + 2:
            received += conn.recv(size + 2 - len(received))
        conn.sendall(reply.replace(b"{tag}", line.split()[0]))

    return answer


def over_tls(context, handler):
    """``handler`` behind implicit TLS with the server ``context``."""

    def wrapped(conn, stopping):
        with context.wrap_socket(conn, server_side=True) as tls:
            handler(tls, stopping)

    return wrapped


def unreadable_certificate(directory):
    """(certfile, keyfile) of a self-signed certificate OpenSSL uses but ``cryptography`` cannot read
    all of: its subjectAltName holds an x400Address."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtensionOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fault.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    # SEQUENCE { [3] x400Address (an empty ORAddress) }, as raw DER: cryptography cannot build one.
    x400 = x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, bytes.fromhex("3004a3023000"))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x400, critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "x400.pem", directory / "x400.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(certfile), str(keyfile)
