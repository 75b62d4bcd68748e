"""What discovery finds: a configuration (incoming and outgoing servers, ranked) and where it came from.

Every value that reaches a configuration passed the same validation, whatever its source, because
autoconfig documents and DNS records are written by strangers.
"""

import dataclasses

from .. import validation
from ..settings import ServerSettings
from ..text import _lt, identity, render

# Best first. The domain's own statements (autoconfig, SRV) outrank the ISPDB's; the MX host's
# domain comes after the address's own domain; guessing comes last.
SOURCES = ("provider", "autoconfig", "ispdb", "srv", "guess")
# Where a configuration came from, as the wizard says it ("Settings found from ...").
SOURCE_LABELS = {
    "provider": _lt("from the bundled provider data for %(domain)s"),
    "autoconfig": _lt("from the autoconfig document of %(domain)s"),
    "ispdb": _lt("from the ISPDB entry for %(domain)s"),
    "srv": _lt("from DNS SRV records of %(domain)s"),
    "guess": _lt("from probing the usual server names of %(domain)s"),
}
VIA_MX = _lt("%(origin)s, found through the mail exchanger %(mx)s")
SECURITY_RANK = {"ssl": 0, "starttls": 1, "none": 2}
PROTOCOL_RANK = {"imap": 0, "pop3": 1, "smtp": 0}


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
    via_mx: str = ""
    provider: str = ""
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
        """E.g. 'from DNS SRV records of example.com'; the words go into the wizard's message."""
        text = render(SOURCE_LABELS[self.source], {"domain": self.domain}, gettext)
        if self.via_mx:
            text = render(VIA_MX, {"origin": text, "mx": self.via_mx}, gettext)
        return text

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def make_server(protocol, host, port, security, login, email, safe_logon=False, cafile=""):
    """ServerSettings for a found server, or ValueError when a stranger's value is not acceptable."""
    if not valid_hostname(host):
        raise ValueError(f"invalid host name {host!r}")
    if not valid_port(port):
        raise ValueError(f"invalid port {port!r}")
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
