"""SMTP: open (greeting, EHLO, STARTTLS), log in, and check the account may send as itself."""

import base64
import contextlib
import re
import smtplib
import socket

from . import limits, sasl
from .probe import SessionClient

_BUSY = {421, 450, 451, 452, 454}
MAX_COMMAND = 512
# RFC 3463 enhanced status codes: X.7.0 (and Microsoft's X.7.57) say "authenticate first";
# X.1.7 / X.1.8 blame the sender's address.
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_AUTH_STATUSES = {("5", "7", "0"), ("5", "7", "57")}
_SENDER_STATUSES = {("5", "1", "7"), ("5", "1", "8")}
# What servers say when a client that did not log in may not send: Postfix's restrictions ("Access
# denied", "not logged in", "Client host rejected"), Exim's ACLs ("Administrative prohibition").
_LOGIN_NEEDED = ("access denied", "not logged in", "client host rejected", "administrative prohibition")


class _SMTP(SessionClient, smtplib.SMTP):
    """smtplib over the Probe's socket, so the deadline, TLS policy and error triage apply."""

    def __init__(self, probe):
        self._probe = probe
        super().__init__(local_hostname=socket.gethostname(), timeout=max(probe.deadline.remaining(), 0.01))

    def _get_socket(self, host, port, timeout):
        self._probe.adopt(self.close)
        return self._probe.open_socket()

    def getreply(self):
        if self.file is None:  # smtplib makes its file here; ours counts the bytes read
            self.file = self._probe.reader(self.sock)
        return super().getreply()

    def sendmail(self, *args, **kwargs):
        """One message sent, as an operation of the session; a refusal carries the server's words
        cleaned (Odoo shows, logs and stores them)."""
        with self._probe.operation("sender"):
            try:
                return super().sendmail(*args, **kwargs)
            except smtplib.SMTPException as error:
                error.args = self._probe.sanitize(error.args)
                vars(error).update(self._probe.sanitize(vars(error)))
                raise

    def send_failure(self, error):
        """The account's failure behind a refused send (a ``CheckFailure``); None when the trouble is
        one recipient's, not the account's. The same reading of a refusal as the check's."""
        if self._probe.deadline.passed:  # the send's own deadline ended it, whatever the reply looked like
            return self.failure(error)
        logged_in = bool(self._probe.facts.get("login_method"))
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            replies = list(error.recipients.values())
            codes = {refusal_code(code, message, logged_in, "recipient_rejected") for code, message in replies}
            # Every recipient refused for want of a login, or because of the sender (Postfix judges the
            # sender at RCPT time): the account's trouble, not the recipients'.
            if replies and len(codes) == 1 and codes <= {"auth_required_before_send", "sender_rejected"}:
                return self._probe.fail(codes.pop(), reason=_reason(*replies[0]))
            return None
        if isinstance(error, smtplib.SMTPSenderRefused):
            code = refusal_code(error.smtp_code, error.smtp_error, logged_in, "sender_rejected")
            return self._probe.fail(code, reason=_reason(error.smtp_code, error.smtp_error))
        if isinstance(error, (smtplib.SMTPServerDisconnected, OSError)):
            return self.failure(error)
        return None

    def quit(self):
        """Ending a session never fails: whatever the server does, the connection is closed."""
        try:
            with self._probe.operation("done"):
                return super().quit()
        except (smtplib.SMTPException, OSError, limits.TooMuchData):
            self.close()
            return None


def _reason(code, message):
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def open_connection(probe):
    """Connected, greeted, EHLO'd and (when asked) upgraded with STARTTLS; not logged in."""
    settings = probe.settings
    client = _SMTP(probe)
    code, banner = client.connect(settings.host, settings.port)
    probe.greeted()
    probe.facts["banner"] = banner.decode("utf-8", "replace")
    if code in (421, 554):
        raise probe.fail("server_busy", reason=_reason(code, banner))
    if code != 220:
        raise probe.fail("protocol_error", reason=_reason(code, banner))
    probe.enter("capabilities")
    _ehlo(client, probe)
    if settings.security == "starttls":
        if not client.has_extn("starttls"):
            raise probe.fail("starttls_unsupported", reason="not in the EHLO reply")
        code, message = client.docmd("STARTTLS")
        if code != 220:
            raise probe.fail("starttls_unsupported", reason=_reason(code, message))
        client.sock = probe.start_tls(client.sock)
        client.file = None
        client.helo_resp = client.ehlo_resp = None
        client.esmtp_features, client.does_esmtp = {}, False
        probe.enter("capabilities")
        _ehlo(client, probe)
    elif client.has_extn("starttls"):
        probe.facts["starttls_offered"] = True
    return client


def _ehlo(client, probe):
    code, message = client.ehlo()
    if code in _BUSY:
        raise probe.fail("server_busy", reason=_reason(code, message))
    if code != 250:
        raise probe.fail("protocol_error", reason=_reason(code, message))
    features = client.esmtp_features
    probe.facts["auth_mechanisms"] = features.get("auth", "").upper().split()
    probe.facts["extensions"] = sorted(features)
    if "size" in features:
        # RFC 1870: SIZE without a number announces no fixed limit.
        size = features["size"].strip()
        probe.facts["size_limit"] = int(size) if size.isdigit() and int(size) else None


def login(client, probe):
    """Log in with the strongest allowed mechanism; a server that offers no AUTH is left to decide."""
    settings = probe.settings
    probe.enter("auth")
    offered = probe.facts["auth_mechanisms"]
    if settings.auth == "oauth2" and not offered:
        raise sasl.unavailable(offered, probe)  # a sign-in is a login: without AUTH it cannot be checked
    if not settings.login or not offered:
        probe.facts["login_method"] = None
        if settings.password and probe.facts.get("starttls_offered") and not probe.facts.get("login_before_send"):
            # Port 25 as most servers run it: AUTH only after STARTTLS. Without a login here, mail
            # for the server's own domain passes the check and mail for any other is refused later.
            raise sasl.unavailable(offered, probe)
        return
    name = sasl.choose(offered, probe)
    mechanism = sasl.Mechanism(name, settings.login, settings.password.reveal())
    initial = mechanism.initial()
    command, pending = name, []
    if initial is not None:
        encoded = base64.b64encode(initial).decode() or "="
        # The first message goes on the command line while that stays within a command line's 512 octets
        # (RFC 5321 4.5.3.1.4; an access token alone is often longer), else after the first, empty 334.
        if len(f"AUTH {name} {encoded}\r\n") <= MAX_COMMAND:
            command = f"{name} {encoded}"
        else:
            pending.append(initial)
    code, message = client.docmd("AUTH", command)
    while code == 334:
        challenge = sasl.decode(message)
        answer = pending.pop() if pending else mechanism.respond(challenge)
        code, message = client.docmd(base64.b64encode(answer).decode())
    if code in (235, 503):  # 503: already authenticated
        return
    if code in _BUSY:
        raise probe.fail("server_busy", reason=_reason(code, message))
    if code == 504:
        raise sasl.unavailable(offered, probe)
    raise sasl.refused(probe, mechanism, _reason(code, message))


def check(client, probe):
    """Everything short of sending: MAIL FROM and RCPT TO the account's own address, then QUIT,
    which ends the transaction unsent."""
    address = smtplib.quoteaddr(probe.settings.sender or probe.settings.login)
    probe.enter("sender")
    replies = _replies(client, [f"MAIL FROM:{address}", f"RCPT TO:{address}", "QUIT"])
    code, message = next(replies)
    if code != 250:
        raise _refusal(probe, "sender_rejected", code, message)
    code, message = next(replies)
    if code not in (250, 251):
        # Servers check the sender at RCPT time too (Postfix's smtpd_delay_reject): the stage alone
        # does not say whose address was refused.
        raise _refusal(probe, "recipient_rejected", code, message)
    # QUIT ends the transaction unsent; a server that hangs up instead of answering has said enough.
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        next(replies)
    client.close()


def _replies(client, commands):
    """Send each command and yield its reply; all in one write when the server pipelines (RFC 2920),
    which saves a round trip per command."""
    pipelined = client.has_extn("pipelining")
    if pipelined:
        client.send("".join(f"{command}\r\n" for command in commands))
    for command in commands:
        if not pipelined:
            client.putcmd(command)
        yield client.getreply()


def _refusal(probe, code_name, code, message):
    reason = _reason(code, message)
    return probe.fail(refusal_code(code, message, bool(probe.facts.get("login_method")), code_name), reason=reason)


def refusal_code(code, message, logged_in, default):
    """The error code of a refused MAIL FROM or RCPT TO, from the reply itself: its enhanced status
    code and its words first, ``default`` (the stage's code) only when they say nothing more."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    lowered = text.lower()
    status = _ENHANCED.match(text)
    status = status.groups() if status else None
    if code == 530 or status in _AUTH_STATUSES or "relay" in lowered or "authenticat" in lowered:
        return "auth_required_before_send"
    if not logged_in and any(words in lowered for words in _LOGIN_NEEDED):
        return "auth_required_before_send"
    if code in _BUSY:
        return "server_busy"
    if status in _SENDER_STATUSES or "sender address rejected" in lowered:
        return "sender_rejected"
    if "recipient address rejected" in lowered:
        return "recipient_rejected"
    return default
