"""Automatic discovery of an address's connection settings, Thunderbird's way plus RFC 6186 SRV.

``discover(email, password=None, budget=10, options=DiscoveryOptions())`` asks, all at once: the
bundled provider data (Thunderbird's ISPDB plus our overlay), the domain's autoconfig document, the
online ISPDB, the domain's SRV records, Exchange Autodiscover (and Microsoft 365's), the provider
that hosts the domain by its best MX host (else the network sources for that host's domain), and,
when all of these find nothing, probes the usual names. Nothing here touches the network at import.

Whether the mailbox needs a sign-in with its provider (OAuth 2) comes with the answer, from the same
look-ups and budget: ``DiscoveryResult.oauth_provider`` ("microsoft", "google" or None) and
``DiscoveryResult.password_works`` (False where only the sign-in works).
"""

from .config import SOURCES, Configuration, base_domain, valid_hostname
from .result import DiscoveryResult
from .run import discover
from .options import AUTODISCOVER_V2_URL, DEFAULT_BUDGET, ISPDB_URL, PARAMETERS, DiscoveryOptions, configured
from .providers import lookup as provider_for

__all__ = [
    "AUTODISCOVER_V2_URL",
    "DEFAULT_BUDGET",
    "ISPDB_URL",
    "PARAMETERS",
    "SOURCES",
    "Configuration",
    "DiscoveryOptions",
    "DiscoveryResult",
    "base_domain",
    "configured",
    "discover",
    "provider_for",
    "valid_hostname",
]
