"""Automatic discovery of an address's connection settings, Thunderbird's way plus RFC 6186 SRV.

``discover(email, password=None, budget=10, options=DiscoveryOptions())`` asks, all at once: the
bundled provider data, the domain's autoconfig document, the ISPDB, the domain's SRV records, the
same for the domain of its best MX host, and, when all of these find nothing, probes the usual
names. Nothing here touches the network at import.
"""

from .config import SOURCES, Configuration, valid_hostname
from .run import DiscoveryResult, base_domain, discover
from .options import DEFAULT_BUDGET, ISPDB_URL, DiscoveryOptions
from .providers import lookup as provider_for

__all__ = [
    "DEFAULT_BUDGET",
    "ISPDB_URL",
    "SOURCES",
    "Configuration",
    "DiscoveryOptions",
    "DiscoveryResult",
    "base_domain",
    "discover",
    "provider_for",
    "valid_hostname",
]
