"""The bundled provider data (``mailcore/data/providers.xml``): answers without any network.

Built by ``tools/build_providers.py`` from Thunderbird's ISPDB and our reviewed overlay (see the
file's header for its extensions: ``appPassword``, ``oauth``, ``hosted``). A domain is looked up by
its ``<domain>`` entries; an MX host by the domains it may be known by (``config.mx_domains``), in
the ``<domain>`` and ``<hosted><mx>`` entries, the way Thunderbird asks the ISPDB for an MX domain.
"""

import functools
import os

from .autoconfig import configuration_from, parse_tree
from .config import mx_domains

DATA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "providers.xml")


@functools.cache
def _indexes():
    """({domain: emailProvider}, {MX domain: emailProvider}); the first entry of a domain wins."""
    with open(DATA_FILE, "rb") as handle:
        root = parse_tree(handle.read(), limit=None)  # our own file
    domains, hosts = {}, {}
    for provider in root.iterfind("clientConfig/emailProvider"):
        for domain in provider.iterfind("domain"):
            domains.setdefault(domain.text.strip().lower(), provider)
        for domain in provider.iterfind("hosted/mx"):
            hosts.setdefault(domain.text.strip().lower(), provider)
    return domains, {**domains, **hosts}


def providers():
    """Every provider element, once each (for validation and listings)."""
    seen = {}
    for provider in _indexes()[0].values():
        seen[id(provider)] = provider
    return list(seen.values())


def _configuration(provider, email, domain, cafile, **extra):
    return configuration_from(provider, email, "provider", domain, cafile, origin=provider.get("origin", ""), **extra)


def lookup(email, domain, cafile="", **extra):
    """The bundled Configuration for the address's ``domain``, or None."""
    provider = _indexes()[0].get(domain)
    return None if provider is None else _configuration(provider, email, domain, cafile, **extra)


def hosted(email, mx_host, domain, cafile=""):
    """The bundled Configuration of the provider whose MX host ``mx_host`` is, for ``email`` at
    ``domain`` (the address as login, the hosting product as name), or None."""
    for candidate in mx_domains(mx_host):
        provider = _indexes()[1].get(candidate)
        if provider is not None:
            return _configuration(provider, email, candidate, cafile, login=email.strip(), via_mx=mx_host, mx_of=domain)
    return None
