"""What a check needs to know about one server, with the password kept out of every repr."""

import dataclasses
import re

SECURITY_MODES = ("ssl", "starttls", "none")
PROTOCOLS = ("smtp", "imap", "pop3")
TLS_POLICIES = ("verify", "pin", "any")
# What ``password`` holds: a password, or an OAuth 2 access token (a sign-in with the provider).
AUTH_KINDS = ("password", "oauth2")
# RFC 6750 b64token: what a bearer token may contain, so it cannot add fields to the SASL message.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

# Implicit TLS / STARTTLS-or-plain ports per protocol (RFC 8314, RFC 6409).
DEFAULT_PORTS = {
    ("smtp", "ssl"): 465,
    ("smtp", "starttls"): 587,
    ("smtp", "none"): 25,
    ("imap", "ssl"): 993,
    ("imap", "starttls"): 143,
    ("imap", "none"): 143,
    ("pop3", "ssl"): 995,
    ("pop3", "starttls"): 110,
    ("pop3", "none"): 110,
}

DEFAULT_TIMEOUT = 10.0


def default_port(protocol, security):
    return DEFAULT_PORTS[(protocol, security)]


class Secret:
    """A password that prints as stars, so no repr, log line or traceback can leak it."""

    __slots__ = ("_value",)

    def __init__(self, value=""):
        self._value = value or ""

    def reveal(self):
        return self._value

    def __bool__(self):
        return bool(self._value)

    def __repr__(self):
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self):
        return hash(self._value)

    def __reduce__(self):
        raise TypeError("a Secret is not serialisable")


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """One server of an account.

    ``sender`` is the account address, used by SMTP's MAIL FROM/RCPT TO. ``auth_mechanism`` forces one
    login mechanism (as mail clients' "authentication method" does); empty picks the strongest offered.

    ``auth`` says what the secret ``password`` is: "password", or "oauth2" for an access token from a
    sign-in with the provider, sent with OAUTHBEARER where the server offers it, else XOAUTH2. For a
    token, ``token_expires_at`` (Unix time, 0 unknown) and ``token_scope`` (the scopes granted, space
    separated, "" unknown) let a refusal be told apart: expired, or granted without mail access.
    """

    protocol: str
    host: str
    port: int
    security: str
    login: str = ""
    password: Secret = dataclasses.field(default_factory=Secret)
    safe_logon: bool = False
    auth_mechanism: str = ""
    tls_policy: str = "verify"
    pinned_fingerprint: str = ""
    sender: str = ""
    cafile: str = ""
    # An IP address already resolved for ``host`` (e.g. by discovery's own DNS servers); the
    # certificate is still verified against ``host``. Empty: the system resolver looks ``host`` up.
    address: str = ""
    # False: never connect to an address of this network (loopback, private, link-local, reserved), so
    # whoever may only reach mail servers on the internet cannot probe the Odoo host's neighbours.
    allow_internal: bool = True
    auth: str = "password"
    token_expires_at: float = 0.0
    token_scope: str = ""

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}")
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}")
        if self.tls_policy not in TLS_POLICIES:
            raise ValueError(f"tls_policy must be one of {TLS_POLICIES}")
        if self.auth not in AUTH_KINDS:
            raise ValueError(f"auth must be one of {AUTH_KINDS}")
        if not isinstance(self.password, Secret):
            object.__setattr__(self, "password", Secret(self.password))
        if not 0 < int(self.port) < 65536:
            raise ValueError("port must be between 1 and 65535")
        for value in (self.host, self.address, self.login, self.sender, self.password.reveal()):
            if "\r" in value or "\n" in value:
                raise ValueError("CR and LF are not allowed in server settings")
        if self.auth == "oauth2":
            if self.password and not _BEARER_TOKEN.fullmatch(self.password.reveal()):
                raise ValueError("an access token holds only the characters of RFC 6750 (b64token)")
            if "\x01" in self.login:
                raise ValueError("control characters are not allowed in the login")

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)
