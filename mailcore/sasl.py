"""Login mechanisms, ranked, with the 'safe logon' rule: the password itself never crosses the wire.

One mechanism object drives any of the three protocols: ``initial()`` is the optional initial
response, ``respond(challenge)`` answers each server challenge (raw bytes, base64 is the caller's).
POP3's APOP and USER/PASS and IMAP's LOGIN command are ranked here too, but sent by their protocol.
An access token (``settings.auth == "oauth2"``) goes only with the sign-in mechanisms, OAUTHBEARER
(RFC 7628) before XOAUTH2 (Google's and Microsoft's); a password never goes with them.
"""

import base64
import binascii
import hashlib
import hmac

import scramp

from . import oauth
from .errors import CheckFailure

# Strongest first. APOP, USER and LOGIN-COMMAND are not SASL: their protocol module sends them.
RANKING = ("SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "APOP", "PLAIN", "LOGIN", "USER", "LOGIN-COMMAND")
SAFE = frozenset({"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "APOP"})
OAUTH_RANKING = ("OAUTHBEARER", "XOAUTH2")


def ranked(offered, settings):
    """The offered mechanisms this client can use and the settings allow, strongest first. A forced
    mechanism counts only when it is one of ours: one the server offers but we do not speak is not
    offered at all, as far as we are concerned."""
    offered_upper = [name.upper() for name in offered]
    token = settings.auth == "oauth2"
    ours = OAUTH_RANKING if token else RANKING
    wanted = [settings.auth_mechanism.upper()] if settings.auth_mechanism else ours
    # Safe logon is about the password; a token crosses the wire with every sign-in mechanism.
    return [
        name
        for name in wanted
        if name in ours and name in offered_upper and (token or name in SAFE or not settings.safe_logon)
    ]


def choose(offered, probe):
    """The strongest offered mechanism allowed, recorded as the probe's ``login_method``; fails naming
    what the server offers."""
    usable = ranked(offered, probe.settings)
    if not usable:
        raise unavailable(offered, probe)
    probe.facts["login_method"] = usable[0]
    return usable[0]


def unavailable(offered, probe):
    """The failure for a server offering nothing allowed here, naming what it does offer."""
    shown = ", ".join(name.upper() for name in offered if name.upper() != "LOGIN-COMMAND") or "none"
    if probe.settings.auth == "oauth2":
        return probe.fail("oauth_unavailable", offered=shown)
    return probe.fail("auth_mechanism_unavailable", offered=shown)


def refused(probe, mechanism, reason):
    """The failure of a login the server refused (``reason``: its reply): ``auth_failed`` for a password;
    for a token, what the provider's challenge and the token's known expiry and scopes say."""
    if probe.settings.auth != "oauth2":
        return probe.fail("auth_failed", reason=reason)
    refusal = getattr(mechanism, "refusal", None) or {}
    code = oauth.refusal_code(probe.settings, refusal)
    return probe.fail(code, reason=reason, **{key: refusal[key] for key in ("status", "scope") if key in refusal})


def decode(challenge):
    """A server challenge's bytes; a challenge that is not base64 is the server's protocol error."""
    try:
        return base64.b64decode(challenge)
    except (binascii.Error, ValueError):
        raise CheckFailure("protocol_error", "auth", reason="a login challenge that is not base64") from None


class Mechanism:
    def __init__(self, name, login, password):
        self.name = name
        self.login = login.encode("utf-8")
        self.password = password.encode("utf-8")
        self._steps = 0
        self._scram = scramp.ScramClient([name], login, password) if name.startswith("SCRAM-") else None
        self.refusal = None  # a sign-in mechanism's failure challenge, read (see ``oauth``)

    def __repr__(self):
        return f"Mechanism({self.name!r})"

    def initial(self):
        if self.name == "PLAIN":
            return b"\0" + self.login + b"\0" + self.password
        if self._scram is not None:
            return self._scram.get_client_first().encode("utf-8")
        if self.name == "XOAUTH2":
            return b"user=" + self.login + b"\x01auth=Bearer " + self.password + b"\x01\x01"
        if self.name == "OAUTHBEARER":
            # RFC 7628 gs2-header: the authorisation identity as a saslname ("=" and "," escaped).
            name = self.login.replace(b"=", b"=3D").replace(b",", b"=2C")
            return b"n,a=" + name + b",\x01auth=Bearer " + self.password + b"\x01\x01"
        return None

    def respond(self, challenge):
        self._steps += 1
        if self.name in OAUTH_RANKING:
            return self._refused(challenge)
        if self.name == "PLAIN":
            return self.initial()
        if self.name == "LOGIN":
            return self.login if self._steps == 1 else self.password
        if self.name == "CRAM-MD5":
            digest = hmac.new(self.password, challenge, hashlib.md5).hexdigest()
            return self.login + b" " + digest.encode("ascii")
        if self._steps == 1:
            try:
                # scramp refuses a short salt, a bad nonce or an absurd iteration count.
                self._scram.set_server_first(challenge.decode("utf-8"))
                return self._scram.get_client_final().encode("utf-8")
            except scramp.ScramException as error:
                raise CheckFailure("protocol_error", "auth", reason=f"invalid SCRAM challenge: {error}") from None
        try:
            self._scram.set_server_final(challenge.decode("utf-8"))
        except scramp.ScramException as error:
            # The server could not prove it knows the password: it is not the server we think.
            raise CheckFailure("auth_failed", "auth", reason=f"server signature invalid: {error}") from None
        return b""

    def _refused(self, challenge):
        """A sign-in mechanism is challenged only to say the token was refused: read why, and answer
        so the server ends the exchange (RFC 7628: a lone %x01; XOAUTH2: an empty line)."""
        if self._steps > 1:
            raise CheckFailure("protocol_error", "auth", reason="another challenge after the sign-in was refused")
        self.refusal = oauth.read_challenge(challenge)
        return b"\x01" if self.name == "OAUTHBEARER" else b""
