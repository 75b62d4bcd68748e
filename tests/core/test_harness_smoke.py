"""Smoke tests of the test harness itself (tests/harness/mailservers.py), with stdlib clients only.

They check that every server the other tests rely on is really there and behaves as documented:
each Dovecot port with plain, STARTTLS and implicit TLS, the authentication mechanisms, the bad
certificates, the SMTP sink, pop-before-smtp and the mailbox delivery helper.
"""

import base64
import email.utils
import imaplib
import json
import poplib
import random
import smtplib
import socket
import ssl
import time

import pytest
import scramp

TIMEOUT = 10
GOOD_INSTANCES = ("main", "plainonly")
BAD_CERT_INSTANCES = {
    "expired": "certificate has expired",
    "wronghost": "mismatch",
    "selfsigned": "self-signed certificate",
}


def ca_context(servers):
    return ssl.create_default_context(cafile=servers["ca_file"])


def insecure_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def plain_token(user):
    return b"\0" + user["login"].encode() + b"\0" + user["password"].encode()


def new_message(servers, sender, recipient, subject="harness smoke"):
    msgid = email.utils.make_msgid(domain="example.test")
    text = (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n"
        f"Date: {email.utils.formatdate()}\r\n\r\nHello from the harness smoke test.\r\n"
    )
    return msgid, text.encode()


def sink_entries(servers, msgid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        with open(servers["sink_file"], encoding="utf-8") as fh:
            found = [e for e in map(json.loads, fh) if msgid in e["data"]]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def random_loopback_ip():
    rnd = random.SystemRandom()
    return f"127.{rnd.randint(1, 254)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"


class POP3From(poplib.POP3):
    """POP3 client bound to a given local (loopback) address."""

    def __init__(self, host, port, source_ip):
        self.source_ip = source_ip
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source_ip, 0))


# --------------------------------------------------------------------------- IMAP / POP3 logins


def imap_connect(servers, instance, mode, context):
    ports = servers["dovecot"][instance]
    if mode == "imaps":
        return imaplib.IMAP4_SSL(servers["host"], ports["imaps"], ssl_context=context, timeout=TIMEOUT)
    conn = imaplib.IMAP4(servers["host"], ports["imap"], timeout=TIMEOUT)
    if mode == "starttls":
        conn.starttls(ssl_context=context)
    return conn


def pop3_connect(servers, instance, mode, context):
    ports = servers["dovecot"][instance]
    if mode == "pop3s":
        return poplib.POP3_SSL(servers["host"], ports["pop3s"], context=context, timeout=TIMEOUT)
    conn = poplib.POP3(servers["host"], ports["pop3"], timeout=TIMEOUT)
    if mode == "stls":
        conn.stls(context=context)
    return conn


@pytest.mark.parametrize("user_key", ["alice", "bob"])
@pytest.mark.parametrize("mode", ["plain", "starttls", "imaps"])
@pytest.mark.parametrize("instance", GOOD_INSTANCES)
def test_imap_login(servers, instance, mode, user_key):
    user = servers["users"][user_key]
    conn = imap_connect(servers, instance, mode, ca_context(servers))
    try:
        typ, _ = conn.authenticate("PLAIN", lambda _challenge: plain_token(user))
        assert typ == "OK"
        assert conn.select("INBOX")[0] == "OK"
    finally:
        conn.logout()


def test_imap_wrong_password_fails_fast(servers):
    conn = imap_connect(servers, "main", "plain", None)
    started = time.monotonic()
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            conn.login("bob", "not-the-password")
    finally:
        conn.logout()
    assert time.monotonic() - started < 1.5, "auth_failure_delay should be 0"


@pytest.mark.parametrize("user_key", ["alice", "bob"])
@pytest.mark.parametrize("mode", ["plain", "stls", "pop3s"])
@pytest.mark.parametrize("instance", GOOD_INSTANCES)
def test_pop3_login(servers, instance, mode, user_key):
    user = servers["users"][user_key]
    conn = pop3_connect(servers, instance, mode, ca_context(servers))
    try:
        conn.user(user["login"])
        assert conn.pass_(user["password"]).startswith(b"+OK")
        conn.stat()
    finally:
        conn.quit()


def test_imap_mechanisms_advertised(servers):
    def auth_caps(instance):
        conn = imap_connect(servers, instance, "plain", None)
        try:
            return {c[5:] for c in conn.capabilities if c.startswith("AUTH=")}
        finally:
            conn.logout()

    assert {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"} <= auth_caps("main")
    assert auth_caps("plainonly") == {"PLAIN", "LOGIN"}


@pytest.mark.parametrize("user_key", ["alice", "bob"])
def test_imap_cram_md5(servers, user_key):
    user = servers["users"][user_key]
    conn = imap_connect(servers, "main", "plain", None)
    try:
        assert conn.login_cram_md5(user["login"], user["password"])[0] == "OK"
    finally:
        conn.logout()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
@pytest.mark.parametrize("user_key", ["alice", "bob"])
def test_imap_scram(servers, user_key, mechanism):
    user = servers["users"][user_key]
    client = scramp.ScramClient([mechanism], user["login"], user["password"])
    steps = iter(
        [
            lambda _c: client.get_client_first().encode(),
            lambda c: (client.set_server_first(c.decode()), client.get_client_final().encode())[1],
            lambda c: (client.set_server_final(c.decode()), b"")[1],
        ]
    )
    conn = imap_connect(servers, "main", "starttls", ca_context(servers))
    try:
        assert conn.authenticate(mechanism, lambda challenge: next(steps)(challenge))[0] == "OK"
    finally:
        conn.logout()


@pytest.mark.parametrize("user_key", ["alice", "bob"])
def test_pop3_apop(servers, user_key):
    user = servers["users"][user_key]
    conn = pop3_connect(servers, "main", "plain", None)
    try:
        assert conn.apop(user["login"], user["password"]).startswith(b"+OK")
    finally:
        conn.quit()
    conn = pop3_connect(servers, "plainonly", "plain", None)
    try:
        with pytest.raises(poplib.error_proto, match="APOP not supported"):
            conn.apop(user["login"], user["password"])
    finally:
        conn.close()


# --------------------------------------------------------------------------- submission and SMTP


def smtp_auth_plain(conn, user):
    code, reply = conn.docmd("AUTH", "PLAIN " + base64.b64encode(plain_token(user)).decode())
    assert code == 235, reply


@pytest.mark.parametrize("mode", ["starttls", "submissions", "plain"])
@pytest.mark.parametrize("instance", GOOD_INSTANCES)
def test_submission_relays_to_sink(servers, instance, mode):
    ports = servers["dovecot"][instance]
    alice, bob = servers["users"]["alice"], servers["users"]["bob"]
    if mode == "submissions":
        conn = smtplib.SMTP_SSL(servers["host"], ports["submissions"], context=ca_context(servers), timeout=TIMEOUT)
    else:
        conn = smtplib.SMTP(servers["host"], ports["submission"], timeout=TIMEOUT)
    try:
        conn.ehlo("client.example.test")
        if mode == "starttls":
            conn.starttls(context=ca_context(servers))
            conn.ehlo("client.example.test")
        assert conn.has_extn("auth")
        code, _ = conn.docmd("MAIL", "FROM:<nobody@example.test>")
        assert code == 530, "Dovecot submission must require AUTH"
        smtp_auth_plain(conn, alice)
        msgid, data = new_message(servers, alice["email"], bob["email"])
        assert conn.sendmail(alice["email"], [bob["email"]], data) == {}
    finally:
        conn.quit()
    (entry,) = sink_entries(servers, msgid)
    assert entry["server"] == "sink"
    assert entry["mail_from"] == alice["email"]
    assert entry["rcpt_tos"] == [bob["email"]]


def test_sink_rejects_sender_domain(servers):
    with smtplib.SMTP(servers["host"], servers["smtp"]["sink"], timeout=TIMEOUT) as conn:
        conn.ehlo("client.example.test")
        code, reply = conn.docmd("MAIL", "FROM:<someone@rejected.test>")
        assert code == 550
        assert reply == b"5.1.0 <someone@rejected.test>: Sender address rejected: Domain not found"
        assert conn.docmd("MAIL", "FROM:<someone@example.test>")[0] == 250


def test_submission_passes_relay_rejection(servers):
    with smtplib.SMTP(servers["host"], servers["dovecot"]["main"]["submission"], timeout=TIMEOUT) as conn:
        conn.ehlo("client.example.test")
        smtp_auth_plain(conn, servers["users"]["bob"])
        code, reply = conn.docmd("MAIL", "FROM:<bob@rejected.test>")
        assert code == 550, reply
        assert b"Domain not found" in reply


def test_pop_before_smtp(servers):
    ip = random_loopback_ip()
    bob = servers["users"]["bob"]
    msgid, data = new_message(servers, bob["email"], "carol@elsewhere.test")

    def try_send():
        with smtplib.SMTP(
            servers["host"], servers["smtp"]["popbeforesmtp"], timeout=TIMEOUT, source_address=(ip, 0)
        ) as conn:
            conn.ehlo("client.example.test")
            assert not conn.has_extn("auth")
            assert conn.docmd("MAIL", f"FROM:<{bob['email']}>")[0] == 250
            code, reply = conn.docmd("RCPT", "TO:<carol@elsewhere.test>")
            if code == 250:
                assert conn.docmd("DATA")[0] == 354
                conn.send(data + b".\r\n")
                assert conn.getreply()[0] == 250
            return code, reply

    assert try_send() == (554, b"5.7.1 <carol@elsewhere.test>: Relay access denied")

    pop = POP3From(servers["host"], servers["dovecot"]["main"]["pop3"], ip)
    try:
        pop.user(bob["login"])
        pop.pass_(bob["password"])
    finally:
        pop.quit()

    assert try_send()[0] == 250
    (entry,) = sink_entries(servers, msgid)
    assert entry["server"] == "popbeforesmtp"
    assert entry["peer"][0] == ip


def test_pop_before_smtp_forget(servers, harness, forget_pop_logins):
    """From 127.0.0.1 (as the code under test connects): denied, POP3 login, accepted, forgotten."""
    bob = servers["users"]["bob"]

    def rcpt():
        with smtplib.SMTP(servers["host"], servers["smtp"]["popbeforesmtp"], timeout=TIMEOUT) as conn:
            conn.ehlo("client.example.test")
            conn.docmd("MAIL", f"FROM:<{bob['email']}>")
            return conn.docmd("RCPT", "TO:<carol@elsewhere.test>")[0]

    assert rcpt() == 554
    pop = pop3_connect(servers, "main", "pop3s", ca_context(servers))
    try:
        pop.user(bob["login"])
        pop.pass_(bob["password"])
    finally:
        pop.quit()
    assert rcpt() == 250
    harness.forget_pop_logins(servers)
    assert rcpt() == 554


def test_smtps_aiosmtpd(servers):
    port = servers["smtp"]["smtps_aiosmtpd"]
    alice = servers["users"]["alice"]
    with smtplib.SMTP_SSL(servers["host"], port, context=ca_context(servers), timeout=TIMEOUT) as conn:
        conn.ehlo("client.example.test")
        assert conn.has_extn("auth")
        assert conn.docmd("MAIL", f"FROM:<{alice['email']}>")[0] == 530
        bad = base64.b64encode(b"\0" + alice["login"].encode() + b"\0wrong").decode()
        assert conn.docmd("AUTH", "PLAIN " + bad)[0] == 535
        smtp_auth_plain(conn, alice)
        msgid, data = new_message(servers, alice["email"], "dave@elsewhere.test")
        assert conn.sendmail(alice["email"], ["dave@elsewhere.test"], data) == {}
    (entry,) = sink_entries(servers, msgid)
    assert entry["server"] == "smtps_aiosmtpd"
    assert entry["auth_login"] == alice["login"]


# --------------------------------------------------------------------------- bad certificates


def _tls_connect(servers, instance, proto, context):
    ports = servers["dovecot"][instance]
    host = servers["host"]
    if proto == "imap-starttls":
        imap_connect(servers, instance, "starttls", context).logout()
    elif proto == "imaps":
        imap_connect(servers, instance, "imaps", context).logout()
    elif proto == "pop3s":
        pop3_connect(servers, instance, "pop3s", context).quit()
    elif proto == "submissions":
        smtplib.SMTP_SSL(host, ports["submissions"], context=context, timeout=TIMEOUT).quit()


@pytest.mark.parametrize("proto", ["imaps", "imap-starttls", "pop3s", "submissions"])
@pytest.mark.parametrize("instance", sorted(BAD_CERT_INSTANCES))
def test_bad_certificates(servers, instance, proto):
    with pytest.raises(ssl.SSLCertVerificationError, match=BAD_CERT_INSTANCES[instance]):
        _tls_connect(servers, instance, proto, ca_context(servers))
    _tls_connect(servers, instance, proto, insecure_context())


def test_wronghost_cert_names(servers):
    ctx = ca_context(servers)
    port = servers["dovecot"]["wronghost"]["imaps"]
    with socket.create_connection((servers["host"], port), timeout=TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname=servers["wrong_hostname"]) as tls:
            assert tls.version()


# --------------------------------------------------------------------------- delivery helper


@pytest.mark.parametrize("user_key", ["alice", "bob"])
def test_deliver_then_read(servers, deliver, user_key):
    user = servers["users"][user_key]
    msgid, data = new_message(servers, "sender@elsewhere.test", user["email"], subject="delivered")
    deliver(user["login"], data)

    conn = imap_connect(servers, "main", "plain", None)
    try:
        conn.authenticate("PLAIN", lambda _challenge: plain_token(user))
        conn.select("INBOX", readonly=True)
        typ, found = conn.search(None, "HEADER", "Message-ID", msgid)
        assert typ == "OK" and found[0].split()
    finally:
        conn.logout()

    pop = pop3_connect(servers, "main", "stls", ca_context(servers))
    try:
        pop.user(user["login"])
        pop.pass_(user["password"])
        count, _size = pop.stat()
        assert count >= 1
        uidls = pop.uidl()[1]
        assert all(len(line.split()[1]) == 16 for line in uidls), "pop3_uidl_format = %08Xu%08Xv"
        assert any(msgid.encode() in b"\r\n".join(pop.top(i, 0)[1]) for i in range(1, count + 1))
    finally:
        pop.quit()


def _xoauth2(user, token):
    return f"user={user}\1auth=Bearer {token}\1\1".encode()


def _imap_token_login(servers, token, mechanism="XOAUTH2"):
    user = servers["users"][servers["oauth"]["user"]]["login"]
    blob = _xoauth2(user, token) if mechanism == "XOAUTH2" else f"n,a={user},\1auth=Bearer {token}\1\1".encode()
    port = servers["dovecot"][servers["oauth"]["instance"]]["imaps"]
    with imaplib.IMAP4_SSL(servers["hostname"], port, ssl_context=ca_context(servers), timeout=TIMEOUT) as client:
        try:
            return client.authenticate(mechanism, lambda challenge: b"" if challenge else blob)[0]
        except imaplib.IMAP4.error:
            return "NO"


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_oauth_server_tokens_open_the_oauth_dovecot(servers, harness, mechanism):
    """A signed-in token logs in; after expiry it does not, a refreshed one does, a revoked grant never."""
    harness.oauth_settings(servers)
    token = harness.oauth_sign_in(servers)
    assert _imap_token_login(servers, token["access_token"], mechanism) == "OK"
    harness.oauth_expire(servers, token["access_token"])
    assert _imap_token_login(servers, token["access_token"], mechanism) == "NO"
    fresh = harness.oauth_token(servers, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert _imap_token_login(servers, fresh["access_token"], mechanism) == "OK"
    harness.oauth_revoke(servers, fresh["refresh_token"])
    assert _imap_token_login(servers, fresh["access_token"], mechanism) == "NO"
    with pytest.raises(OSError, match="400"):
        harness.oauth_token(servers, grant_type="refresh_token", refresh_token=token["refresh_token"])


@pytest.fixture
def oauth_defaults(servers, harness):
    """The OAuth server's settings back to their defaults after the test, whatever it changed."""
    yield
    harness.oauth_settings(servers)


def test_oauth_dovecot_wants_the_mail_scope_and_the_right_user(servers, harness, oauth_defaults):
    harness.oauth_settings(servers, scope="openid profile")
    assert _imap_token_login(servers, harness.oauth_sign_in(servers)["access_token"]) == "NO"
    harness.oauth_settings(servers, user=servers["users"]["bob"]["login"])
    assert _imap_token_login(servers, harness.oauth_sign_in(servers)["access_token"]) == "NO"
    harness.oauth_settings(servers, consent="deny")
    with pytest.raises(harness.HarnessError, match="access_denied"):
        harness.oauth_sign_in(servers)
    harness.oauth_settings(servers)
    # The provider's names for mail access count as the mail scope.
    token = harness.oauth_sign_in(servers, scope="offline_access https://outlook.office.com/IMAP.AccessAsUser.All")
    assert _imap_token_login(servers, token["access_token"]) == "OK"


def test_oauth_dovecot_refuses_a_password_as_token(servers):
    assert _imap_token_login(servers, servers["users"]["alice"]["password"]) == "NO"


def test_oauth_server_answers_a_browser_over_plain_http_with_the_same_grants(servers, harness):
    """A code from the HTTP port (Microsoft's path, as stock microsoft_outlook builds it) is redeemed at
    the HTTPS token endpoint, and its token opens the oauth Dovecot."""
    import urllib.parse

    oauth = servers["oauth"]
    query = urllib.parse.urlencode(
        {
            "client_id": oauth["client_id"],
            "redirect_uri": "http://localhost/confirm",
            "scope": "offline_access https://outlook.office.com/IMAP.AccessAsUser.All",
            "response_type": "code",
            "state": "{}",
        }
    )
    with socket.create_connection(("127.0.0.1", int(oauth["http_url"].rsplit(":", 1)[1])), timeout=TIMEOUT) as conn:
        path = urllib.parse.urlsplit(oauth["microsoft_endpoint_http"]).path
        conn.sendall(f"GET {path}authorize?{query} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        reply = conn.makefile("rb").read().decode()
    location = next(line.split(" ", 1)[1] for line in reply.splitlines() if line.startswith("Location:"))
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    token = harness.oauth_token(
        servers, grant_type="authorization_code", code=code, redirect_uri="http://localhost/confirm"
    )
    assert _imap_token_login(servers, token["access_token"]) == "OK"


def test_a_harness_started_on_another_base_port_puts_every_server_there(servers):
    """`make run` starts its servers with ``start --base-port`` while the environment names the tests'
    base port: every process, the OAuth server's too, must listen where servers.json says."""
    import os
    import pathlib
    import shutil
    import subprocess
    import sys
    import tempfile

    cli = pathlib.Path(__file__).resolve().parents[1] / "harness" / "mailservers.py"
    running_base = servers["dovecot"]["main"]["imap"]
    env = {**os.environ, "HARNESS_BASE_PORT": str(running_base)}
    state_dir = tempfile.mkdtemp(prefix="harness-")  # short: Dovecot's socket paths have a length limit

    def harness_cli(*args):
        return subprocess.run(
            [sys.executable, str(cli), *args, "--state-dir", state_dir],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    started = harness_cli("start", "--base-port", str(running_base + 250))
    try:
        assert started.returncode == 0, started.stderr
        other = json.loads(pathlib.Path(started.stdout.strip()).read_text())
        for url in (other["oauth"]["url"], other["oauth"]["http_url"]):
            port = int(url.rsplit(":", 1)[1])
            assert port >= running_base + 250
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
    finally:
        harness_cli("stop")
        shutil.rmtree(state_dir, ignore_errors=True)
