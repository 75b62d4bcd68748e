"""Login mechanisms, ranked, with the 'safe logon' rule: the password itself never crosses the wire.

One mechanism object drives any of the three protocols: ``initial()`` is the optional initial
response, ``respond(challenge)`` answers each server challenge (raw bytes, base64 is the caller's).
POP3's APOP and USER/PASS and IMAP's LOGIN command are ranked here too, but sent by their protocol.
"""

import hashlib
import hmac

import scramp

from .errors import CheckFailure

# Strongest first. APOP, USER and LOGIN-COMMAND are not SASL: their protocol module sends them.
RANKING = ("SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "APOP", "PLAIN", "LOGIN", "USER", "LOGIN-COMMAND")
SAFE = frozenset({"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "APOP"})


def ranked(offered, settings):
    """The offered mechanisms this client can use and the settings allow, strongest first. A forced
    mechanism counts only when it is one of ours: one the server offers but we do not speak is not
    offered at all, as far as we are concerned."""
    offered_upper = [name.upper() for name in offered]
    wanted = [settings.auth_mechanism.upper()] if settings.auth_mechanism else RANKING
    return [
        name
        for name in wanted
        if name in RANKING and name in offered_upper and (name in SAFE or not settings.safe_logon)
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
    return probe.fail("auth_mechanism_unavailable", offered=shown)


class Mechanism:
    def __init__(self, name, login, password):
        self.name = name
        self.login = login.encode("utf-8")
        self.password = password.encode("utf-8")
        self._steps = 0
        self._scram = scramp.ScramClient([name], login, password) if name.startswith("SCRAM-") else None

    def __repr__(self):
        return f"Mechanism({self.name!r})"

    def initial(self):
        if self.name == "PLAIN":
            return b"\0" + self.login + b"\0" + self.password
        if self._scram is not None:
            return self._scram.get_client_first().encode("utf-8")
        return None

    def respond(self, challenge):
        self._steps += 1
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
