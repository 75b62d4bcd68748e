"""What an administrator (or a test) may change about discovery: DNS servers, ISPDB, sources, HTTP."""

import dataclasses

ISPDB_URL = "https://autoconfig.thunderbird.net/v1.1/"
# Autodiscover v2: the address and "?Protocol=AutodiscoverV1" are appended.
AUTODISCOVER_V2_URL = "https://outlook.office365.com/autodiscover/autodiscover.json/v1.0/"
DEFAULT_BUDGET = 10.0
MAX_DOCUMENT_SIZE = 100 * 1024
MAX_REDIRECTS = 3
# Ports a found server may use: SMTP, submission(s), IMAP(S), POP3(S), the common alternative
# submission port and Proton Mail Bridge's. Anything else in a stranger's document is ignored, so
# discovery cannot be turned into a scanner of other services.
MAIL_PORTS = frozenset({25, 465, 587, 2525, 143, 993, 110, 995, 1143, 1025})
# The sources an administrator can switch off, as the sources parameter names them.
SOURCE_NAMES = ("providers", "autoconfig", "ispdb", "srv", "mx", "autodiscover", "guess")
# Every setting an administrator can change (the system parameter email_account.discovery_<name>)
# and its default, as the parameter's text: the one place the defaults are written.
PARAMETERS = {
    "sources": ",".join(SOURCE_NAMES),
    "nameservers": "",
    "dns_port": "53",
    "ispdb_url": ISPDB_URL,
    "autodiscover_v2_url": AUTODISCOVER_V2_URL,
    "budget": f"{DEFAULT_BUDGET:g}",
    "allow_http": "False",
    "extra_ports": "",
}


@dataclasses.dataclass(frozen=True)
class DiscoveryOptions:
    """``nameservers`` empty: the system's resolver configuration. ``ispdb_url`` empty: no ISPDB;
    ``autodiscover_v2_url`` empty: no Microsoft 365 look-up. ``https_port``, ``guess_ports`` and
    ``cafile`` exist so tests can use servers on loopback."""

    nameservers: tuple = ()
    dns_port: int = 53
    ispdb_url: str = ISPDB_URL
    autodiscover_v2_url: str = AUTODISCOVER_V2_URL
    use_providers: bool = True
    use_autoconfig: bool = True
    use_ispdb: bool = True
    use_srv: bool = True
    use_mx: bool = True
    use_autodiscover: bool = True
    use_guess: bool = True
    allow_http: bool = False
    https_port: int = 443
    http_port: int = 80
    cafile: str = ""
    # (protocol, security) -> port probed by guessing; defaults to the standard ports.
    guess_ports: dict = dataclasses.field(default_factory=dict)
    # Further ports found servers may use (an administrator's choice, or the test servers').
    extra_ports: frozenset = frozenset()
    # Whether discovery may connect to addresses of this network (see ServerSettings.allow_internal).
    allow_internal: bool = True

    def port_allowed(self, port):
        return port in MAIL_PORTS or port in self.extra_ports

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def configured(get, cafile=""):
    """(DiscoveryOptions, budget) as an administrator set them: ``get(name)`` is the text of the
    parameter ``name`` of PARAMETERS, or None/empty for its default."""

    def value(name):
        return get(name) or PARAMETERS[name]

    sources = {name.strip() for name in value("sources").split(",")}
    options = DiscoveryOptions(
        nameservers=tuple(name.strip() for name in value("nameservers").split(",") if name.strip()),
        dns_port=int(value("dns_port")),
        ispdb_url=value("ispdb_url"),
        autodiscover_v2_url=value("autodiscover_v2_url"),
        allow_http=value("allow_http") == "True",
        cafile=cafile,
        extra_ports=frozenset(int(port) for port in value("extra_ports").split(",") if port.strip().isdigit()),
        **{f"use_{name}": name in sources for name in SOURCE_NAMES},
    )
    return options, float(value("budget"))
