"""IMAP: open (greeting, CAPABILITY, STARTTLS), log in, and open INBOX read-only."""

import base64
import imaplib

from . import sasl
from .probe import ProbeClient


class _IMAP(ProbeClient, imaplib.IMAP4):
    _closer = "shutdown"

    def readline(self):
        """A line; one ended by a bare LF counts too. imaplib takes it for a broken connection, but GNU
        Mailutils ends its successful AUTHENTICATE reply so: liberal in what we accept."""
        line = super().readline()
        if line.endswith(b"\n") and not line.endswith(b"\r\n"):
            line = line[:-1] + b"\r\n"
        return line

    def open(self, host="", port=imaplib.IMAP4_PORT, timeout=None):
        opened = super().open(host, port, timeout)
        self.file = self._probe.bound(self.file)  # before the greeting: it may announce a literal
        return opened

    def _get_capabilities(self):
        if "banner" not in self._probe.facts:
            self._probe.greeted()
            self._probe.facts.setdefault("banner", self.welcome.decode("utf-8", "replace"))
        self._probe.enter("capabilities")
        announced = self.untagged_responses.pop("CAPABILITY", None)
        if not announced:
            return super()._get_capabilities()
        # Announced in the greeting or the login reply: no need to ask (RFC 3501 7.2.1).
        self.capabilities = tuple(announced[-1].decode("ascii", "replace").upper().split())
        return None


def _reason(error):
    return " ".join(str(error).split())[:200]


def open_connection(probe):
    """Connected, greeted, capabilities read and (when asked) upgraded with STARTTLS; not logged in."""
    try:
        client = _IMAP(probe)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:
        if probe.stage == "greeting" and "BYE" in str(error):
            raise probe.fail("server_busy", reason=_reason(error)) from None
        raise probe.fail("protocol_error", reason=_reason(error)) from None
    if probe.settings.security == "starttls":
        if "STARTTLS" not in client.capabilities:
            raise probe.fail("starttls_unsupported", reason="not in the CAPABILITY reply")
        typ, data = client._simple_command("STARTTLS")
        if typ != "OK":
            raise probe.fail("starttls_unsupported", reason=_reason(data))
        client.sock = probe.start_tls(client.sock)
        client.file = probe.reader(client.sock)
        client._tls_established = True
        client.untagged_responses.clear()  # nothing said before TLS is to be trusted after it
        client._get_capabilities()
    elif "STARTTLS" in client.capabilities:
        probe.facts["starttls_offered"] = True
    _record_capabilities(client, probe)
    return client


def _record_capabilities(client, probe):
    capabilities = list(client.capabilities)
    probe.facts["capabilities"] = [name for name in capabilities if not name.startswith("AUTH=")]
    probe.facts["auth_mechanisms"] = [name[5:] for name in capabilities if name.startswith("AUTH=")]


def login(client, probe):
    settings = probe.settings
    probe.enter("auth")
    if client.state == "AUTH":  # PREAUTH greeting
        probe.facts["login_method"] = "PREAUTH"
        return
    offered = list(probe.facts["auth_mechanisms"])
    if "LOGINDISABLED" not in client.capabilities:
        offered.append("LOGIN-COMMAND")
    name = sasl.choose(offered, probe)
    password = settings.password.reveal()
    mechanism = None
    try:
        if name == "LOGIN-COMMAND":
            # A UTF-8 literal keeps non-ASCII passwords intact where a quoted string cannot hold them.
            client.literal = password.encode("utf-8")
            typ, data = client._simple_command("LOGIN", client._quote(settings.login))
        else:
            mechanism = sasl.Mechanism(name, settings.login, password)
            typ, data = _authenticate(client, mechanism)
        if typ != "OK":
            raise imaplib.IMAP4.error(data[-1].decode("utf-8", "replace") if data and data[-1] else typ)
        client.state = "AUTH"
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:
        reason = _reason(error)
        if "[UNAVAILABLE]" in reason or "[INUSE]" in reason:
            raise probe.fail("server_busy", reason=reason) from None
        raise sasl.refused(probe, mechanism, reason) from None
    # Servers may change their capabilities at login; most announce the new ones in the reply.
    client._get_capabilities()
    probe.facts["capabilities"] = [name for name in client.capabilities if not name.startswith("AUTH=")]


def _authenticate(client, mechanism):
    """AUTHENTICATE, with the first message on the command line when the server allows (RFC 4959)."""
    initial = mechanism.initial()
    pending = [] if initial is None else [initial]
    arguments = [mechanism.name]
    if pending and "SASL-IR" in client.capabilities:
        arguments.append(base64.b64encode(pending.pop()).decode() or "=")

    def answer(challenge):
        return pending.pop() if pending else mechanism.respond(challenge)

    client.literal = imaplib._Authenticator(answer).process
    return client._simple_command("AUTHENTICATE", *arguments)


def check(client, probe):
    probe.enter("mailbox")
    typ, data = client.select("INBOX", readonly=True)
    if typ != "OK":
        raise probe.fail("mailbox_unavailable", reason=_reason(data))
    probe.facts["messages"] = int(data[0] or 0)
    client.logout()
