"""Checks and sessions with an access token (``auth="oauth2"``): XOAUTH2 and OAUTHBEARER against the
harness's Dovecot "oauth" instance, whose tokens come from the harness's OAuth 2 server; the providers'
own refusals (Google's, Microsoft's) and hostile challenges from scripted servers."""

import base64
import email.message
import json
import time

import pytest

import faultservers
from accounts import GMAIL_SCOPE, settings_for, with_token
from mailcore import CheckFailure, ServerSettings, check_server, open_mailbox, open_session

SERVERS = [("smtp", "starttls"), ("smtp", "ssl"), ("imap", "ssl"), ("imap", "starttls"), ("pop3", "ssl")]


@pytest.fixture
def sign_in(servers, harness):
    """``sign_in(**settings)``: a fresh token response from the harness OAuth server (settings as
    ``harness.oauth_settings`` takes them, reset afterwards)."""

    def _sign_in(scope=GMAIL_SCOPE, **values):
        harness.oauth_settings(servers, **values)
        return harness.oauth_sign_in(servers, scope=scope)

    yield _sign_in
    harness.oauth_settings(servers)


def assert_token_hidden(result, token):
    text = json.dumps(result.to_dict(), default=str)
    blob = base64.b64encode(f"user=alice@example.test\1auth=Bearer {token['access_token']}\1\1".encode()).decode()
    assert token["access_token"] not in text and blob not in text


@pytest.mark.parametrize(("protocol", "security"), SERVERS)
def test_a_signed_in_mailbox_passes_the_check_with_oauthbearer_first(servers, sign_in, protocol, security):
    token = sign_in()
    result = check_server(with_token(servers, protocol, security, token))
    assert result.ok, result.message
    assert result.facts["login_method"] == "OAUTHBEARER"
    assert {"OAUTHBEARER", "XOAUTH2"} <= set(result.facts["auth_mechanisms"])
    assert_token_hidden(result, token)


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_xoauth2_where_the_server_offers_nothing_better(servers, sign_in, protocol):
    result = check_server(with_token(servers, protocol, "ssl", sign_in(), auth_mechanism="XOAUTH2"))
    assert result.ok and result.facts["login_method"] == "XOAUTH2", result.message


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "XOAUTH2"])
@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_an_expired_token_says_sign_in_again(servers, harness, sign_in, protocol, mechanism):
    token = sign_in()
    harness.oauth_expire(servers, token["access_token"])
    settings = with_token(servers, protocol, "ssl", token, auth_mechanism=mechanism, token_expires_at=time.time() - 1)
    result = check_server(settings)
    assert (result.ok, result.stage, result.code) == (False, "auth", "oauth_token_expired")
    assert "has expired" in result.message and "Sign in again" in result.message
    assert_token_hidden(result, token)


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "XOAUTH2"])
@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_a_revoked_token_says_sign_in_again(servers, harness, sign_in, protocol, mechanism):
    token = sign_in()
    harness.oauth_revoke(servers, token["refresh_token"])
    result = check_server(with_token(servers, protocol, "ssl", token, auth_mechanism=mechanism))
    assert (result.ok, result.code) == (False, "oauth_token_revoked")
    assert "Sign in again" in result.message
    assert_token_hidden(result, token)


def test_a_token_for_another_mailbox_is_refused_as_revoked(servers, sign_in):
    token = sign_in(user=servers["users"]["bob"]["login"])
    result = check_server(with_token(servers, "imap", "ssl", token))
    assert result.code == "oauth_token_revoked"


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_a_token_without_mail_access_says_grant_it(servers, sign_in, protocol):
    token = sign_in(scope="openid email")
    result = check_server(with_token(servers, protocol, "ssl", token))
    assert (result.ok, result.code) == (False, "oauth_scope_missing")
    assert "grant access to mail" in result.message


def test_a_server_without_sign_in_says_so_and_gets_no_token(servers, sign_in):
    token = sign_in()
    result = check_server(with_token(servers, "imap", "ssl", token, port=servers["dovecot"]["main"]["imaps"]))
    assert (result.ok, result.code) == (False, "oauth_unavailable")
    assert "XOAUTH2" in result.message and "SCRAM-SHA-256" in result.params["offered"]


def test_a_password_never_goes_as_a_token_nor_a_token_as_a_password(servers):
    with pytest.raises(ValueError, match="RFC 6750"):
        settings_for(servers, "imap", "ssl", instance="oauth", auth="oauth2")  # alice's password: not a b64token
    # The password path is unchanged on the same server: PLAIN, never a sign-in mechanism.
    result = check_server(settings_for(servers, "imap", "ssl", instance="oauth"))
    assert result.ok and result.facts["login_method"] == "PLAIN"


def test_sessions_send_and_fetch_with_a_token(servers, harness, sign_in, deliver):
    token = sign_in()
    marker = f"oauth-session-{time.time_ns()}"
    deliver("alice@example.test", f"Subject: {marker}\r\n\r\nfetched with a token\r\n".encode(), instance="oauth")
    client = open_session(with_token(servers, "imap", "ssl", token), timeout=10)
    mailbox = open_mailbox(client)
    bodies = [raw for _key, raw in mailbox.download(mailbox.keys())]
    mailbox.close()
    assert any(marker.encode() in body for body in bodies)

    client = open_session(with_token(servers, "pop3", "ssl", token), timeout=10)
    mailbox = open_mailbox(client)
    assert len(mailbox.keys()) == len(bodies)
    mailbox.close()

    message = email.message.EmailMessage()
    message["From"] = message["To"] = "alice@example.test"
    message["Subject"] = marker + "-sent"
    message.set_content("sent with a token")
    client = open_session(with_token(servers, "smtp", "starttls", token), timeout=10)
    assert client.send_message(message) == {}
    client.quit()
    with open(servers["sink_file"], encoding="utf-8") as sink:
        assert any(marker + "-sent" in entry["data"] for entry in map(json.loads, sink))


def test_a_session_with_a_revoked_token_fails_with_the_revoked_code(servers, harness, sign_in):
    token = sign_in()
    harness.oauth_revoke(servers, token["access_token"])
    with pytest.raises(CheckFailure) as failure:
        open_session(with_token(servers, "smtp", "ssl", token), timeout=10)
    assert failure.value.code == "oauth_token_revoked"
    assert token["access_token"] not in str(failure.value.params)


# -- the providers' own refusals and hostile challenges, replayed ------------------------------------------


def _b64(value):
    return base64.b64encode(value if isinstance(value, bytes) else json.dumps(value).encode())


GOOGLE_401 = {"status": "401", "schemes": "bearer", "scope": GMAIL_SCOPE}


def imap_refusing(challenge, final=b"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n", heard=None):
    """An IMAP server offering XOAUTH2 that answers AUTHENTICATE with ``challenge`` (None: none), then ``final``."""

    def authenticate(conn, stopping, line):
        tag = line.split()[0]
        if challenge is not None:
            conn.sendall(b"+ " + challenge + b"\r\n")
            answer = faultservers.read_line(conn)
            if heard is not None:
                heard.append(answer)
        conn.sendall(final.replace(b"{tag}", tag))

    return faultservers.dialogue(
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=PLAIN] Gimap ready\r\n",
        {b"AUTHENTICATE": authenticate, b"LOGOUT": b"* BYE\r\n{tag} OK\r\n"},
        tagged=True,
    )


def smtp_refusing(challenge, final=b"535-5.7.8 Username and Password not accepted.\r\n535 5.7.8 gsmtp\r\n"):
    def authenticate(conn, stopping, line):
        if challenge is not None:
            conn.sendall(b"334 " + challenge + b"\r\n")
            faultservers.read_line(conn)
        conn.sendall(final)

    return faultservers.dialogue(
        b"220 smtp.gmail.com ESMTP\r\n",
        {b"EHLO": b"250-smtp.gmail.com\r\n250 AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER\r\n", b"AUTH": authenticate},
    )


def replayed(handler, protocol="imap", **changes):
    with faultservers.ScriptedServer(handler) as server:
        values = {"login": "alice@example.test", "password": "ya29.a0-token_x", "auth": "oauth2"}
        values.update(changes)
        return check_server(ServerSettings(protocol, "127.0.0.1", server.port, "none", **values), timeout=3)


def test_googles_refusal_of_a_token_past_its_known_expiry_says_expired():
    result = replayed(imap_refusing(_b64(GOOGLE_401)), token_expires_at=time.time() - 60)
    assert result.code == "oauth_token_expired" and result.params["status"] == "401"
    assert "ya29" not in json.dumps(result.to_dict())


def test_googles_refusal_of_a_token_for_imap_without_mail_scope_says_grant_it():
    result = replayed(imap_refusing(_b64(GOOGLE_401)), token_scope="openid https://www.googleapis.com/auth/gmail.send")
    assert (result.code, result.params["scope"]) == ("oauth_scope_missing", GMAIL_SCOPE)


def test_an_insufficient_scope_status_says_grant_it_whatever_is_known_of_the_token():
    challenge = _b64({"status": "insufficient_scope", "scope": GMAIL_SCOPE})
    assert replayed(smtp_refusing(challenge), "smtp").code == "oauth_scope_missing"


def test_microsofts_bare_refusal_without_a_challenge():
    result = replayed(imap_refusing(None, final=b"{tag} NO AUTHENTICATE failed.\r\n"))
    assert (result.code, result.params["reason"]) == ("oauth_token_revoked", "AUTHENTICATE failed.")
    smtp = smtp_refusing(None, final=b"535 5.7.3 Authentication unsuccessful [AM0PR02CA0001.outlook.com]\r\n")
    assert replayed(smtp, "smtp", token_expires_at=time.time() - 1).code == "oauth_token_expired"


def test_the_client_ends_a_refused_xoauth2_with_an_empty_line():
    heard = []
    replayed(imap_refusing(_b64(GOOGLE_401), heard=heard))
    assert heard == [b"\r\n"]


@pytest.mark.parametrize(
    "challenge",
    [
        _b64(b"x" * 3000 + b"{"),  # not JSON
        _b64(json.dumps(["status", "401"]).encode()),  # JSON, not an object
        _b64(b"{" * 100000),  # deeper than any parser goes
        b"%%%not base64%%%",
        b"A" * 900_000,  # a giant challenge in one line
    ],
)
@pytest.mark.parametrize("protocol", ["imap", "smtp"])
def test_a_hostile_challenge_is_a_bounded_failure_not_a_crash(challenge, protocol):
    handler = imap_refusing(challenge) if protocol == "imap" else smtp_refusing(challenge)
    started = time.monotonic()
    result = replayed(handler, protocol)
    assert not result.ok and result.stage == "auth"
    assert result.code in {"oauth_token_revoked", "protocol_error"}
    assert len(result.message) < 2000 and "ya29" not in result.message
    assert time.monotonic() - started < 3 + faultservers.SLACK


def test_endless_challenges_end_at_the_second():
    def authenticate(conn, stopping, line):
        while not stopping.is_set():
            conn.sendall(b"334 " + _b64(GOOGLE_401) + b"\r\n")
            if not faultservers.read_line(conn):
                return False
        return False

    handler = faultservers.dialogue(
        b"220 hi\r\n", {b"EHLO": b"250-hi\r\n250 AUTH XOAUTH2\r\n", b"AUTH": authenticate}
    )
    result = replayed(handler, "smtp")
    assert (result.code, result.stage) == ("protocol_error", "auth")


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_a_server_echoing_the_token_has_it_masked(mechanism):
    """The refusal quotes the token as sent, and the whole base64 SASL message: neither reaches the result."""
    heard = []

    def authenticate(conn, stopping, line):
        heard.append(line)
        sent = line.split()[-1].decode()
        token = base64.b64decode(sent).split(b"Bearer ")[1].split(b"\1")[0].decode()
        conn.sendall(f"{line.split()[0].decode()} NO [AUTHENTICATIONFAILED] bad {sent} / {token}\r\n".encode())

    handler = faultservers.dialogue(
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER] ready\r\n",
        {b"AUTHENTICATE": authenticate, b"LOGOUT": b"* BYE\r\n{tag} OK\r\n"},
        tagged=True,
    )
    result = replayed(handler, auth_mechanism=mechanism, login="alice,x=y@example.test")
    assert heard and mechanism.encode() in heard[0]
    text = json.dumps(result.to_dict())
    assert result.code == "oauth_token_revoked" and "ya29" not in text and "bad *** / ***" in text
    assert base64.b64encode(b"ya29.a0-token_x").decode() not in text


@pytest.mark.parametrize(("protocol", "security"), [("smtp", "starttls"), ("imap", "ssl"), ("pop3", "ssl")])
def test_a_token_as_long_as_microsofts_passes(servers, sign_in, protocol, security):
    token = sign_in(token_size=2500)
    assert len(token["access_token"]) == 2500
    result = check_server(with_token(servers, protocol, security, token))
    assert result.ok, result.message


def test_pop3_sends_a_long_first_message_after_an_empty_challenge_not_on_the_command_line():
    heard, responses = [], []

    def authenticate(conn, stopping, line):
        if len(line.split()) == 2:  # no initial response: ask for it
            conn.sendall(b"+ \r\n")
            responses.append(faultservers.read_line(conn))
        conn.sendall(b"-ERR [AUTH] Authentication failed.\r\n")

    handler = faultservers.dialogue(
        b"+OK POP3 ready\r\n",
        {b"CAPA": b"+OK\r\nSASL XOAUTH2\r\n.\r\n", b"AUTH": authenticate, b"QUIT": b"+OK\r\n"},
        heard=heard,
    )
    long_token = "eyJ0eXAiOiJKV1Qi." + "x" * 2000
    result = replayed(handler, "pop3", password=long_token)
    auth = [line for line in heard if line.startswith(b"AUTH")]
    assert auth == [b"AUTH XOAUTH2\r\n"]
    assert base64.b64decode(responses[0]) == f"user=alice@example.test\1auth=Bearer {long_token}\1\1".encode()
    assert result.code == "oauth_token_revoked"
    short = replayed(handler, "pop3", password="short")
    assert short.code == "oauth_token_revoked" and len(heard[-1]) < 255 and heard[-1].startswith(b"AUTH XOAUTH2 ")
