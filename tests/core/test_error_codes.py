"""Each documented error code, produced for real: by Dovecot/aiosmtpd, or by a fault server where no
real server fails that way on demand."""

import contextlib
import os
import socket
import time

import pytest

import faultservers
from accounts import GMAIL_SCOPE, harness_client, settings_for, with_token
from mailcore import ERROR_CODES, ServerSettings, check_server
from mailcore.deadline import Deadline
from mailcore.discovery.dns import Resolver
from mailcore.discovery.verify import check_side
from mailcore.progress import Progress

# Reachable only by leaving this machine, which tests may not do.
NOT_PRODUCIBLE_HERE = {"network_unreachable"}


def fault(handler, protocol="smtp", security="none", **changes):
    """Check against a scripted real socket server; returns the result."""
    with faultservers.ScriptedServer(handler) as server:
        values = {"login": "alice@example.test", "password": "secret-pw", "sender": "alice@example.test"}
        values.update(changes)
        timeout = values.pop("timeout", 3)
        settings = ServerSettings(protocol, "127.0.0.1", server.port, security, **values)
        return check_server(settings, timeout=timeout)


def closed_port(kind=socket.SOCK_STREAM):
    with contextlib.closing(socket.socket(socket.AF_INET, kind)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def handshake_alert(conn, stopping):
    """Reads the ClientHello and answers with a fatal TLS handshake_failure alert."""
    conn.recv(4096)
    conn.sendall(b"\x15\x03\x03\x00\x02\x02\x28")


def signed_in(servers, scope=GMAIL_SCOPE, expire=False, **changes):
    """An IMAP check with a token from the harness OAuth server (expired there first when asked)."""
    harness = harness_client(servers)
    token = harness.oauth_sign_in(servers, scope=scope)
    if expire:
        harness.oauth_expire(servers, token["access_token"])
        changes["token_expires_at"] = time.time() - 1
    return check_server(with_token(servers, "imap", "ssl", token, **changes))


def cancelled_check():
    """A check of a silent server whose user has cancelled it."""
    progress = Progress()
    progress.cancel()
    with faultservers.ScriptedServer(faultservers.tarpit) as server:
        return check_server(ServerSettings("smtp", "127.0.0.1", server.port, "none"), timeout=5, progress=progress)


def logged_in_a_moment_ago():
    cyrus = faultservers.CyrusPop3()
    cyrus.logins.append(time.monotonic())
    return cyrus


SCENARIOS = {
    "host_not_found": lambda servers: check_server(
        ServerSettings("smtp", "no-such-host.invalid", 587, "starttls"), timeout=5
    ),
    # A DNS server that is not there (nothing listens on its port): nobody answers the question.
    "dns_unavailable": lambda servers: check_side(
        [ServerSettings("imap", "imap.example.test", 993, "ssl")],
        "secret-pw",
        "example.test",
        Resolver(("127.0.0.1",), closed_port(socket.SOCK_DGRAM)),
        lambda: Deadline(1.5),
    )[0],
    # The user gave up: the check of a silent server ends at once instead of at its timeout.
    "check_cancelled": lambda servers: cancelled_check(),
    "internal_address": lambda servers: check_server(
        settings_for(servers, "imap", "ssl", allow_internal=False)
    ),
    "connection_refused": lambda servers: check_server(ServerSettings("imap", "127.0.0.1", closed_port(), "ssl")),
    "timeout": lambda servers: fault(faultservers.tarpit, timeout=1.5),
    "tls_on_plain_port": lambda servers: check_server(
        settings_for(servers, "imap", "ssl", port_key="imap")
    ),
    "plain_on_tls_port": lambda servers: check_server(
        settings_for(servers, "pop3", "starttls", port_key="pop3s")
    ),
    "tls_handshake_failed": lambda servers: fault(handshake_alert, "imap", "ssl"),
    "certificate_untrusted": lambda servers: check_server(
        settings_for(servers, "smtp", "ssl", instance="selfsigned")
    ),
    "certificate_hostname_mismatch": lambda servers: check_server(
        settings_for(servers, "smtp", "starttls", instance="wronghost", port_key="submission")
    ),
    "certificate_expired": lambda servers: check_server(settings_for(servers, "pop3", "ssl", instance="expired")),
    "certificate_pin_mismatch": lambda servers: check_server(
        settings_for(servers, "imap", "ssl", tls_policy="pin", pinned_fingerprint="00" * 32)
    ),
    "starttls_unsupported": lambda servers: fault(faultservers.smtp_starttls_refused, security="starttls"),
    "auth_failed": lambda servers: check_server(settings_for(servers, "smtp", "starttls", password="wrong")),
    "auth_mechanism_unavailable": lambda servers: check_server(
        settings_for(servers, "imap", "starttls", instance="plainonly", safe_logon=True)
    ),
    "apop_refused": lambda servers: fault(faultservers.mailutils_pop3(), "pop3", safe_logon=True),
    "login_delay": lambda servers: fault(logged_in_a_moment_ago(), "pop3"),
    "oauth_unavailable": lambda servers: check_server(
        settings_for(servers, "imap", "ssl", auth="oauth2", password="a-token")
    ),
    "oauth_token_expired": lambda servers: signed_in(servers, expire=True),
    "oauth_token_revoked": lambda servers: check_server(
        settings_for(servers, "imap", "ssl", instance="oauth", auth="oauth2", password="never-issued")
    ),
    "oauth_scope_missing": lambda servers: signed_in(servers, scope="openid email"),
    "auth_required_before_send": lambda servers: check_server(
        ServerSettings("smtp", "127.0.0.1", servers["smtp"]["popbeforesmtp"], "none", sender="nobody@example.test")
    ),
    "sender_rejected": lambda servers: check_server(
        ServerSettings("smtp", "127.0.0.1", servers["smtp"]["sink"], "none", sender="someone@rejected.test")
    ),
    "recipient_rejected": lambda servers: fault(faultservers.smtp_recipient_unknown, login=""),
    "mailbox_unavailable": lambda servers: fault(faultservers.pop3_mailbox_in_use, "pop3"),
    "server_busy": lambda servers: fault(faultservers.say_and_close(b"421 4.3.2 Too many connections\r\n")),
    "connection_closed": lambda servers: fault(faultservers.greet_then_drop(b"* OK IMAP ready\r\n"), "imap"),
    "protocol_error": lambda servers: fault(faultservers.say_and_wait(b"SSH-2.0-OpenSSH_9.2\r\n"), "pop3"),
}


def test_every_documented_code_has_a_scenario():
    assert set(SCENARIOS) == set(ERROR_CODES) - NOT_PRODUCIBLE_HERE


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_code_is_produced(servers, forget_pop_logins, code):
    result = SCENARIOS[code](servers)
    assert not result.ok
    assert result.code == code, result.message
    assert result.message.count("Likely cause:") == 1
    assert "?" not in result.message.split("Likely cause:")[0], result.message


@pytest.mark.parametrize(
    ("handler", "protocol"),
    [
        (faultservers.tarpit, "smtp"),
        (faultservers.trickle(b"220 " + b"x" * 200 + b"\r\n"), "smtp"),
        (faultservers.trickle(b"* OK " + b"x" * 200 + b"\r\n"), "imap"),
        (faultservers.trickle(b"+OK " + b"x" * 200 + b"\r\n"), "pop3"),
    ],
)
def test_deadline_holds_against_silent_and_trickling_servers(handler, protocol):
    started = time.monotonic()
    result = fault(handler, protocol, timeout=2)
    elapsed = time.monotonic() - started
    assert result.code == "timeout"
    assert elapsed < 2 + faultservers.SLACK


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_deadline_holds_against_a_silent_tls_server(protocol):
    """Implicit SSL to a server that never answers the ClientHello: the handshake is bounded too."""
    started = time.monotonic()
    result = fault(faultservers.tarpit, protocol, "ssl", timeout=2)
    elapsed = time.monotonic() - started
    assert (result.code, result.stage) == ("timeout", "tls")
    assert elapsed < 2 + faultservers.SLACK


@pytest.mark.parametrize(
    ("greeting", "protocol"),
    [(b"421 4.7.0 Try again later\r\n", "smtp"), (b"* BYE Too many connections\r\n", "imap"),
     (b"-ERR [SYS/TEMP] Server busy\r\n", "pop3")],
)
def test_busy_greetings(greeting, protocol):
    assert fault(faultservers.say_and_close(greeting), protocol).code == "server_busy"


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_garbage_banner(protocol):
    result = fault(faultservers.say_and_wait(b"HTTP/1.1 400 Bad Request\r\n"), protocol)
    assert result.code == "protocol_error"


def test_starttls_not_offered(servers):
    settings = ServerSettings("smtp", "127.0.0.1", servers["smtp"]["sink"], "starttls", sender="a@example.test")
    result = check_server(settings)
    assert (result.code, result.stage) == ("starttls_unsupported", "capabilities")


def open_sockets():
    """This process's open sockets (``socket:[inode]``; an inode is never reused while the socket lives)."""
    sockets = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the directory's own descriptor, gone once listed
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:"):
                sockets.add(target)
    return sockets


def test_every_socket_is_closed_on_every_path(servers):
    """No socket a check opened is still open when it returns: the fault servers close their side
    before ``fault`` returns, so any socket left is the check's own."""
    before = open_sockets()
    for code in ("auth_failed", "certificate_untrusted", "connection_closed", "tls_on_plain_port",
                 "plain_on_tls_port", "tls_handshake_failed", "timeout"):
        SCENARIOS[code](servers)
    check_server(settings_for(servers, "imap", "ssl"))
    assert open_sockets() - before == set()
