"""The password never appears in a result, an exception, a log line or a repr."""

import base64
import logging
import pickle

import pytest

import faultservers
from accounts import settings_for
from mailcore import CheckFailure, Secret, ServerSettings, check_server

PASSWORD = "Top-Secret-pässword-42"


def test_settings_repr_hides_the_password():
    settings = ServerSettings("smtp", "mail.example.test", 465, "ssl", "alice", PASSWORD)
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.password)
    assert settings.password.reveal() == PASSWORD
    with pytest.raises(TypeError):
        pickle.dumps(settings.password)


def test_cr_lf_cannot_reach_a_protocol_line():
    for field in ("host", "login", "sender", "password"):
        values = {"host": "mail.example.test", "login": "alice", "sender": "a@example.test", "password": "pw"}
        values[field] += "\r\nRCPT TO:<victim@example.test>"
        with pytest.raises(ValueError):
            ServerSettings("smtp", port=587, security="starttls", **values)


def echo_credentials(conn, stopping):
    """A careless server that quotes the decoded AUTH PLAIN payload back in its refusal."""
    conn.sendall(b"220 echo.test ESMTP\r\n")
    while not stopping.is_set():
        line = faultservers.read_line(conn)
        if not line:
            return
        if line.upper().startswith(b"EHLO"):
            conn.sendall(b"250-echo.test\r\n250 AUTH PLAIN\r\n")
        elif line.upper().startswith(b"AUTH PLAIN "):
            decoded = base64.b64decode(line.split()[2]).replace(b"\0", b" ")
            conn.sendall(b"535 5.7.8 bad credentials:" + decoded + b"\r\n")
        else:
            conn.sendall(b"221 bye\r\n")
            return


def test_a_server_echoing_the_password_does_not_leak_it(caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with faultservers.ScriptedServer(echo_credentials) as server:
        settings = ServerSettings("smtp", "127.0.0.1", server.port, "none", "alice@example.test", PASSWORD)
        result = check_server(settings, timeout=3)
    assert result.code == "auth_failed"
    assert "bad credentials" in result.message
    everything = repr(result.to_dict()) + caplog.text + "".join(capfd.readouterr())
    assert PASSWORD not in everything
    assert "***" in result.message


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_failed_real_logins_do_not_leak(servers, caplog, protocol):
    caplog.set_level(logging.DEBUG)
    result = check_server(settings_for(servers, protocol, "ssl", password=PASSWORD, auth_mechanism="PLAIN"))
    assert result.code == "auth_failed"
    assert PASSWORD not in repr(result.to_dict()) + caplog.text


def test_exceptions_carry_no_password():
    failure = CheckFailure("auth_failed", "auth", host="h", login="alice", reason="535 nope")
    assert "alice" in str(failure)
    assert repr(Secret(PASSWORD)) == "Secret('***')"


def test_a_short_password_does_not_mangle_what_the_user_typed():
    settings = ServerSettings("smtp", "127.0.0.1", 1, "none", "x-man@example.test", "x")
    result = check_server(settings, timeout=2)
    assert result.code == "connection_refused"
    assert result.params["login"] == "x-man@example.test"
