"""A check spends no thread and no round trip it does not need: on loopback, where the server's own
work is most of the time, these are what separates a check from the bare protocol floor."""

import threading

import faultservers
from accounts import settings_for
from mailcore import ServerSettings, check_account, check_server, workers


def test_a_check_starts_no_thread_once_workers_are_there(servers, monkeypatch):
    outgoing, incoming = settings_for(servers, "smtp", "starttls"), settings_for(servers, "imap", "ssl")
    assert check_account(outgoing, incoming).ok  # starts the watchdog, if no check did before
    # A check uses three workers at once at most: the incoming side and the two name look-ups.
    gate = threading.Barrier(4)
    jobs = [workers.submit(gate.wait) for _worker in range(3)]
    gate.wait()
    for job in jobs:
        job.result()
    started = []
    start = threading.Thread.start

    def counting_start(thread):
        started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    assert check_account(outgoing, incoming).ok
    assert started == []


def pipelining_smtp(reject_sender=False):
    """Advertises PIPELINING, records what each read brought, and hangs up on QUIT without a reply."""
    reads = []

    def handler(conn, stopping):
        conn.sendall(b"220 fault.test ESMTP\r\n")
        pending = b""
        while not stopping.is_set():
            data = conn.recv(4096)
            if not data:
                return
            reads.append(data)
            pending += data
            while b"\r\n" in pending:
                line, pending = pending.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb == b"QUIT":
                    conn.close()
                    return
                if verb == b"EHLO":
                    conn.sendall(b"250-fault.test\r\n250 PIPELINING\r\n")
                elif verb == b"MAIL":
                    conn.sendall(b"553 5.7.1 Sender address rejected\r\n" if reject_sender else b"250 Ok\r\n")
                elif verb == b"RCPT":
                    conn.sendall(b"503 5.5.1 No sender\r\n" if reject_sender else b"250 Ok\r\n")
                else:
                    conn.sendall(b"502 5.5.2 not implemented\r\n")

    return handler, reads


def test_the_smtp_transaction_is_one_write_when_the_server_pipelines():
    handler, reads = pipelining_smtp()
    with faultservers.ScriptedServer(handler) as server:
        result = check_server(ServerSettings("smtp", "127.0.0.1", server.port, "none", sender="bob@example.test"))
    assert result.ok, result.message
    transaction = [read for read in reads if b"MAIL FROM" in read]
    assert transaction == [b"MAIL FROM:<bob@example.test>\r\nRCPT TO:<bob@example.test>\r\nQUIT\r\n"]


def test_a_refused_sender_is_named_in_a_pipelined_transaction():
    handler, _reads = pipelining_smtp(reject_sender=True)
    with faultservers.ScriptedServer(handler) as server:
        result = check_server(ServerSettings("smtp", "127.0.0.1", server.port, "none", sender="bob@example.test"))
    assert result.code == "sender_rejected"
    assert "553 5.7.1 Sender address rejected" in result.params["reason"]


def imap_announcing_capabilities(commands):
    """Announces its capabilities in the greeting and the login reply; asking for them is an error."""

    def handler(conn, stopping):
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n")
        while not stopping.is_set():
            line = faultservers.read_line(conn)
            if not line:
                return
            commands.append(line)
            tag, command = line.split()[:2]
            command = command.upper()
            if command == b"AUTHENTICATE":
                conn.sendall(tag + b" OK [CAPABILITY IMAP4rev1 UIDPLUS IDLE] Logged in\r\n")
            elif command == b"EXAMINE":
                conn.sendall(b"* 3 EXISTS\r\n" + tag + b" OK [READ-ONLY] done\r\n")
            elif command == b"LOGOUT":
                conn.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
                return
            else:
                conn.sendall(tag + b" BAD unexpected\r\n")

    return handler


def test_imap_capabilities_announced_are_not_asked_for():
    commands = []
    with faultservers.ScriptedServer(imap_announcing_capabilities(commands)) as server:
        result = check_server(ServerSettings("imap", "127.0.0.1", server.port, "none", login="bob", password="pw"))
    assert result.ok, result.message
    assert [line.split()[1] for line in commands] == [b"AUTHENTICATE", b"EXAMINE", b"LOGOUT"]
    # SASL-IR: the credentials ride on the command line, no continuation round trip.
    assert commands[0].split()[2:] == [b"PLAIN", b"AGJvYgBwdw=="]
    assert result.facts["capabilities"] == ["IMAP4REV1", "UIDPLUS", "IDLE"]
    assert result.facts["messages"] == 3


def test_pop_before_smtp_logs_in_while_smtp_connects_and_before_mail_from():
    """The POP3 server greets only once SMTP has been greeted and said EHLO (a check that logged in
    first and connected after would wait in vain); SMTP accepts MAIL FROM only after the POP3 login."""
    smtp_ehlo, pop_login = threading.Event(), threading.Event()

    def smtp(conn, stopping):
        conn.sendall(b"220 fault.test ESMTP\r\n")
        while not stopping.is_set():
            verb = faultservers.read_line(conn)[:4].upper()
            if verb in (b"", b"QUIT"):
                conn.sendall(b"221 bye\r\n")
                conn.close()
                return
            if verb == b"EHLO":
                smtp_ehlo.set()
                conn.sendall(b"250 fault.test\r\n")
            elif verb == b"MAIL":
                conn.sendall(b"250 Ok\r\n" if pop_login.is_set() else b"530 5.7.0 Log in to POP3 first\r\n")
            else:
                conn.sendall(b"250 Ok\r\n")

    def pop3(conn, stopping):
        if not smtp_ehlo.wait(5):
            return
        conn.sendall(b"+OK ready\r\n")
        while not stopping.is_set():
            verb = faultservers.read_line(conn)[:4].upper()
            if verb == b"":
                return
            if verb == b"CAPA":
                conn.sendall(b"+OK\r\nUSER\r\n.\r\n")
                continue
            if verb == b"PASS":
                pop_login.set()
            conn.sendall(b"+OK 0 0\r\n")
            if verb == b"QUIT":
                return

    with faultservers.ScriptedServer(smtp) as smtp_server, faultservers.ScriptedServer(pop3) as pop_server:
        outgoing = ServerSettings("smtp", "127.0.0.1", smtp_server.port, "none", sender="bob@example.test")
        incoming = ServerSettings("pop3", "127.0.0.1", pop_server.port, "none", login="bob", password="pw")
        result = check_server(outgoing, timeout=8, login_first=incoming)
    assert result.ok, result.message
