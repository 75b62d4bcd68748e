"""What a hostile server can send, and that none of it hurts: odd bytes, floods, unreadable
certificates and SASL messages, echoed passwords, trickled replies after login (issue #13).

Each server is scripted (``faultservers``): no real server produces these faults on demand.
"""

import base64
import hashlib
import re
import smtplib
import ssl
import time
import tracemalloc

import pytest

import faultservers
from faultservers import SLACK, dialogue, flood, imap_login, smtp_data, trickled
from mailcore import ServerSettings, check_server, open_mailbox, open_session
from mailcore.limits import DIALOGUE_BYTES, LISTING_BYTES, MESSAGE_BYTES
from mailcore.sanitize import sanitize

PASSWORD = "correct  horse   battery-42"  # runs of spaces: what shortening a reply collapses
LOGIN = "alice@example.test"
SECRET = PASSWORD.encode()
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

SMTP_GREETING = b"220 fault.test ESMTP\r\n"
SMTP_BASICS = {b"MAIL": b"250 ok\r\n", b"RCPT": b"250 ok\r\n", b"QUIT": b"221 bye\r\n", b"RSET": b"250 ok\r\n"}
POP3_BASICS = {b"CAPA": b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", b"USER": b"+OK\r\n", b"PASS": b"+OK\r\n", b"QUIT": b"+OK\r\n"}
IMAP_GREETING = b"* OK [CAPABILITY IMAP4rev1 UIDPLUS] ready\r\n"
IMAP_SELECT = b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-WRITE] done\r\n"


def smtp(replies, **kwargs):
    return dialogue(
        SMTP_GREETING, {b"EHLO": b"250-fault.test\r\n250 AUTH PLAIN\r\n", **SMTP_BASICS, **replies}, **kwargs
    )


def settings(protocol, port, security="none", **changes):
    return ServerSettings(protocol, "127.0.0.1", port, security, LOGIN, PASSWORD, sender=LOGIN, **changes)


def strings(value):
    """Every string inside a result's dict."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def check(handler, protocol="smtp", timeout=5, **changes):
    with faultservers.ScriptedServer(handler) as server:
        return check_server(settings(protocol, server.port, **changes), timeout=timeout)


# -- finding 5: NUL and control characters -----------------------------------------------------------


def test_nul_and_control_characters_never_reach_a_result():
    handler = dialogue(
        b"220 fault\x00.test ESMTP\x07\x1b[31m\r\n",
        {b"EHLO": b"250-fault.test\r\n250 AUTH PLAIN\r\n", b"AUTH": b"535 5.7.8 bad\x00credentials\r\n"},
    )
    result = check(handler)
    assert result.code == "auth_failed"
    assert "bad credentials" in result.message
    assert not [text for text in strings(result.to_dict()) if CONTROL.search(text)]


def test_sanitize_cleans_any_shape_and_keeps_bytes_bytes():
    assert sanitize({"a": ["x\x00y", ("\udc80z",)], "n": 3}) == {"a": ["x y", ("z",)], "n": 3}
    assert sanitize(b"535 bad\x00pw", "pw") == b"535 bad ***"


# -- finding 6: every read bounded in bytes ---------------------------------------------------------

LINE = b"x" * 1000


@pytest.mark.parametrize(
    ("protocol", "handler"),
    [
        ("smtp", dialogue(SMTP_GREETING, {b"EHLO": flood(b"", b"250-" + LINE + b"\r\n")})),
        ("imap", dialogue(b"* OK ready\r\n", {b"CAPABILITY": flood(b"", b"* OK " + LINE + b"\r\n")}, tagged=True)),
        ("pop3", dialogue(b"+OK ready\r\n", {b"CAPA": flood(b"+OK\r\n", b"X-" + LINE + b"\r\n")})),
        ("imap", faultservers.say_and_wait(b"* OK {999999999}\r\n")),
        ("imap", faultservers.say_and_wait(b"* OK {99999999999999}\r\n")),
    ],
    ids=["endless-ehlo", "endless-imap-untagged", "endless-pop3-capa", "imap-literal-1g", "imap-literal-huge"],
)
def test_a_flood_ends_the_check_at_the_byte_limit(protocol, handler):
    tracemalloc.start()
    try:
        result = check(handler, protocol, timeout=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (result.code, result.params.get("reason")) == (
        "protocol_error",
        f"the server sent more than {DIALOGUE_BYTES} bytes in one step",
    )
    assert peak < 8 * DIALOGUE_BYTES


def imap_mailbox_server(fetch_answer, **kwargs):
    return dialogue(
        IMAP_GREETING,
        {
            b"LOGIN": imap_login(b"{tag} OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in\r\n"),
            b"SELECT": IMAP_SELECT,
            b"UID SEARCH": b"* SEARCH 1\r\n{tag} OK done\r\n",
            b"UID FETCH": fetch_answer,
            b"LOGOUT": b"* BYE\r\n{tag} OK bye\r\n",
        },
        tagged=True,
        **kwargs,
    )


def session_failure(handler, protocol, action, operation_timeout=5):
    """The failure (as the session's probe triages it) of ``action(mailbox)`` in a logged-in session,
    and the seconds the action took."""
    with faultservers.ScriptedServer(handler) as server:
        client = open_session(settings(protocol, server.port), 5, operation_timeout=operation_timeout)
        mailbox = open_mailbox(client)
        started = time.monotonic()
        try:
            action(mailbox)
        except Exception as error:  # noqa: BLE001 - what the fetch glue does with any error
            return client._probe.failure(error), time.monotonic() - started
        finally:
            client._probe.close()
    raise AssertionError("the operation did not fail")


def test_an_announced_message_beyond_the_limit_is_refused_before_it_is_read():
    size = MESSAGE_BYTES + 1
    handler = imap_mailbox_server(flood(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % size, b"x", total=0))
    failure, _seconds = session_failure(handler, "imap", lambda mailbox: mailbox.fetch(mailbox.keys()[0]))
    assert (failure.code, failure.params["reason"]) == (
        "protocol_error",
        f"the server sent more than {MESSAGE_BYTES} bytes in one step",
    )


def test_an_endless_uidl_listing_ends_at_the_listing_limit():
    handler = dialogue(
        b"+OK ready\r\n", {**POP3_BASICS, b"UIDL": flood(b"+OK\r\n", b"1 " + LINE + b"\r\n", LISTING_BYTES + (4 << 20))}
    )
    failure, _seconds = session_failure(handler, "pop3", lambda mailbox: mailbox.keys())
    assert failure.params["reason"] == f"the server sent more than {LISTING_BYTES} bytes in one step"


# -- finding 7: what parsers refuse never escapes a check ---------------------------------------------


@pytest.mark.parametrize("policy", ["any", "pin"])
def test_a_certificate_cryptography_cannot_read_still_works_under_any_and_pin(tmp_path, policy):
    certfile, keyfile = faultservers.unreadable_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    with open(certfile, encoding="ascii") as pem:
        fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.read())).hexdigest()
    handler = faultservers.over_tls(context, dialogue(SMTP_GREETING, {b"EHLO": b"250 fault.test\r\n", **SMTP_BASICS}))
    result = check(handler, security="ssl", tls_policy=policy, pinned_fingerprint=fingerprint)
    assert result.ok, result.message
    assert result.facts["certificate"]["sha256"] == fingerprint


def scram_first(salt, iterations):
    """An AUTH answer with a SCRAM server-first message built on the client's nonce."""

    def answer(conn, _stopping, line):
        client_first = base64.b64decode(line.split()[2]).decode()
        nonce = client_first.partition("r=")[2]
        server_first = f"r={nonce}srv,s={base64.b64encode(salt).decode()},i={iterations}"
        conn.sendall(b"334 " + base64.b64encode(server_first.encode()) + b"\r\n")

    return answer


@pytest.mark.parametrize(("salt", "iterations"), [(b"a", 4096), (b"0123456789abcdef", 999999999)])
def test_a_scram_challenge_scramp_refuses_is_a_protocol_error(salt, iterations):
    handler = smtp({b"EHLO": b"250-fault.test\r\n250 AUTH SCRAM-SHA-256\r\n", b"AUTH": scram_first(salt, iterations)})
    result = check(handler)
    assert result.code == "protocol_error"
    assert "invalid SCRAM challenge" in result.message


# -- finding 8: an echoed password is masked in every form ----------------------------------------------


def echo_plain_blob(conn, _stopping, line):
    conn.sendall(b"535 5.7.8 rejected " + line.split()[2] + b"\r\n")


def echo_decoded(conn, _stopping, line):
    conn.sendall(b"535 5.7.8 bad password " + base64.b64decode(line.split()[2]).split(b"\0")[2] + b"\r\n")


@pytest.mark.parametrize(
    ("protocol", "handler"),
    [
        ("smtp", smtp({b"AUTH": echo_plain_blob})),
        ("smtp", smtp({b"AUTH": echo_decoded})),  # whitespace collapsed on the way
        # Cut short at 200 characters in the middle of the password.
        (
            "imap",
            dialogue(IMAP_GREETING, {b"LOGIN": imap_login(b"{tag} NO " + b"y" * 180 + SECRET + b"\r\n")}, tagged=True),
        ),
    ],
    ids=["plain-blob", "collapsed", "truncated"],
)
def test_an_echoed_password_is_masked_in_every_form(protocol, handler):
    result = check(handler, protocol)
    assert result.code == "auth_failed"
    shown = repr(result.to_dict())
    assert "***" in result.message
    blob = base64.b64encode(f"\0{LOGIN}\0{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, " ".join(PASSWORD.split()), blob, PASSWORD[:6], blob[:12]):
        assert secret not in shown


def test_a_refused_send_carries_no_password():
    handler = smtp({b"AUTH": b"235 ok\r\n", b"DATA": smtp_data(b"554 5.7.1 spam from " + PASSWORD.encode() + b"\r\n")})
    with faultservers.ScriptedServer(handler) as server:
        client = open_session(settings("smtp", server.port), 5)
        try:
            with pytest.raises(smtplib.SMTPDataError) as raised:
                client.sendmail(LOGIN, [LOGIN], b"Subject: hi\r\n\r\nhello\r\n")
        finally:
            client._probe.close()
    assert "spam from ***" in str(raised.value)
    assert " ".join(PASSWORD.split()) not in str(raised.value)


# -- finding 10: each operation of a session has a deadline ---------------------------------------------

OPERATION = 2.0


def test_a_trickled_reply_cannot_hold_a_send():
    reply = trickled(b"", b"250 2.0.0 queued as " + b"1" * 60 + b"\r\n")
    handler = smtp({b"AUTH": b"235 ok\r\n", b"DATA": smtp_data(reply)})
    with faultservers.ScriptedServer(handler) as server:
        client = open_session(settings("smtp", server.port), 5, operation_timeout=OPERATION)
        started = time.monotonic()
        try:
            with pytest.raises(smtplib.SMTPException) as raised:  # a reply cut short, or none at all
                client.sendmail(LOGIN, [LOGIN], b"Subject: hi\r\n\r\nhello\r\n")
            elapsed = time.monotonic() - started
            failure = client._probe.failure(raised.value)
        finally:
            client._probe.close()
    assert elapsed < OPERATION + SLACK
    assert (failure.code, failure.stage) == ("timeout", "sender")


def test_a_trickled_message_cannot_hold_a_fetch():
    handler = imap_mailbox_server(trickled(b"* 1 FETCH (UID 1 BODY[] {80}\r\n", b"x" * 80 + b")\r\n{tag} OK\r\n"))
    failure, seconds = session_failure(handler, "imap", lambda mailbox: mailbox.fetch("1"), OPERATION)
    assert seconds < OPERATION + SLACK
    assert (failure.code, failure.stage) == ("timeout", "mailbox")
