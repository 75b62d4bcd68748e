"""What discovery finds: a configuration (incoming and outgoing servers, ranked) and where it came from.

Every value that reaches a configuration passed the same validation, whatever its source, because
autoconfig documents and DNS records are written by strangers.
"""

import dataclasses

from .. import validation
from ..settings import ServerSettings
from ..text import Text, _lt, identity, render

# Best first. The domain's own statements (autoconfig, SRV, Exchange Autodiscover) outrank the online
# ISPDB's, except the bundled data, which needs no network; the MX host's domain comes after the
# address's own domain; guessing comes last.
SOURCES = ("provider", "autoconfig", "ispdb", "srv", "autodiscover", "guess")
# Where a configuration came from, as the wizard says it ("Settings found from ...").
SOURCE_LABELS = {
    "provider": _lt("from Thunderbird's provider database"),
    "provider:overlay": _lt("from this addon's own provider list"),
    "autoconfig": _lt("from the autoconfig document of %(domain)s"),
    "ispdb": _lt("from Thunderbird's online provider database"),
    "srv": _lt("from the DNS SRV records of %(domain)s"),
    "autodiscover": _lt("from Exchange Autodiscover"),
    "autodiscover:hosted": _lt("from Exchange Autodiscover: %(provider)s"),
    "guess": _lt("from probing the usual server names of %(domain)s"),
}
# Found through the MX records: the bundled data names the hosting product; other sources say which.
HOSTED_BY_MX = _lt("from the MX records of %(domain)s: %(provider)s")
VIA_MX = _lt("from the MX records of %(domain)s (mail exchanger %(mx)s), then %(origin)s")
SECURITY_RANK = {"ssl": 0, "starttls": 1, "none": 2}
PROTOCOL_RANK = {"imap": 0, "pop3": 1, "smtp": 0}
_SECOND_LEVELS = {"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go"}


class SourceError(Exception):
    """Why a source gave nothing, kept as a translatable Text (``.text``) for the discovery report."""

    def __init__(self, template, **params):
        self.text = Text(template, **params)
        super().__init__(str(self.text))


class InvalidServer(SourceError, ValueError):
    """A stranger's host name, port or login that discovery does not accept."""


def joined(texts, separator="; "):
    """Several reasons as one parameter value, each rendered in the reader's language."""
    texts = list(texts)

    def render_all(gettext):
        return separator.join(text.render(gettext) if isinstance(text, Text) else str(text) for text in texts)

    return render_all


def base_domain(host):
    """example.co.uk for mx1.mail.example.co.uk: Thunderbird's 'base domain' of an MX host."""
    labels = host.lower().rstrip(".").split(".")
    keep = 3 if len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVELS else 2
    return ".".join(labels[-keep:])


def within(host, domain):
    """Whether ``host`` is ``domain`` or a name under it."""
    return host == domain or host.endswith("." + domain)


def mx_domains(host):
    """The domains an MX host may be known by, longest first, down to its base domain:
    mail.protection.outlook.com, protection.outlook.com, outlook.com for x.mail.protection.outlook.com."""
    labels = host.lower().rstrip(".").split(".")
    keep = len(base_domain(host).split("."))
    return [".".join(labels[start:]) for start in range(1, len(labels) - keep + 1)] or [base_domain(host)]


def valid_hostname(host):
    """A DNS host name (ASCII or IDNA), nothing else: no scheme, path, user, space or empty label."""
    if not isinstance(host, str) or not host:
        return False
    try:
        validation.wire_domain(host)
    except validation.InvalidValue:
        return False
    return True


def valid_port(port):
    return isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536


def split_address(email):
    """(local part, domain) of an address, the domain lower-cased and IDNA-encoded."""
    local, _at, domain = validation.wire_email((email or "").strip()).rpartition("@")
    if not valid_hostname(domain):  # an address literal such as [192.0.2.1] names no domain to look up
        raise validation.InvalidValue("domain_invalid", domain=domain)
    return local, domain


def substitute(template, email):
    local, domain = split_address(email)
    return (
        template.replace("%EMAILADDRESS%", email.strip())
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
    )


def server_rank(settings):
    """Within one configuration: IMAP before POP3, implicit TLS before STARTTLS before plain, safe logon first."""
    return (PROTOCOL_RANK[settings.protocol], SECURITY_RANK[settings.security], not settings.safe_logon)


@dataclasses.dataclass(frozen=True)
class Configuration:
    """One source's answer. ``incoming``/``outgoing`` are alternatives, best first."""

    source: str
    domain: str
    incoming: tuple = ()
    outgoing: tuple = ()
    via_mx: str = ""  # the mail exchanger through which it was found
    mx_of: str = ""  # ... and the address's domain, whose MX that is
    origin: str = ""  # bundled data: "ispdb" or "overlay" (this addon's own entry)
    provider: str = ""
    oauth_only: bool = False  # no server takes a password: only a sign-in (OAuth2) can use it
    sign_in: str = ""  # the sign-in that serves it: "google", "microsoft" (Odoo's google_gmail, microsoft_outlook)
    app_password_required: bool = False
    app_password_url: str = ""
    documentation_url: str = ""
    detail: str = ""

    def __post_init__(self):
        object.__setattr__(self, "incoming", tuple(sorted(self.incoming, key=server_rank)))
        object.__setattr__(self, "outgoing", tuple(sorted(self.outgoing, key=server_rank)))

    @property
    def rank(self):
        if self.source == "guess":
            return (2, 0)
        return (1 if self.via_mx else 0, SOURCES.index(self.source))

    @property
    def complete(self):
        return bool(self.incoming and self.outgoing)

    def describe(self, gettext=identity):
        """E.g. 'from the MX records of example.com: Google Workspace'; goes into the wizard's message."""
        if self.via_mx and self.source == "provider":
            return render(HOSTED_BY_MX, {"domain": self.mx_of, "provider": self.provider}, gettext)
        label = self.source
        if self.source == "provider" and self.origin == "overlay":
            label = "provider:overlay"
        elif self.source == "autodiscover" and self.provider:
            label = "autodiscover:hosted"
        text = render(SOURCE_LABELS[label], {"domain": self.domain, "provider": self.provider}, gettext)
        if self.via_mx:
            text = render(VIA_MX, {"origin": text, "mx": self.via_mx, "domain": self.mx_of}, gettext)
        return text

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def make_server(protocol, host, port, security, login, email, safe_logon=False, cafile=""):
    """ServerSettings for a found server, or ValueError when a stranger's value is not acceptable."""
    if not valid_hostname(host):
        raise InvalidServer(_lt("invalid host name %(host)s"), host=repr(host))
    if not valid_port(port):
        raise InvalidServer(_lt("invalid port %(port)s"), port=repr(port))
    return ServerSettings(
        protocol=protocol,
        host=host.lower().rstrip("."),
        port=port,
        security=security,
        login=login,
        sender=email.strip(),
        safe_logon=safe_logon,
        cafile=cafile,
    )
