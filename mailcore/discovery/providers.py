"""The bundled provider data (``mailcore/data/providers.xml``): answers without any network.

The file holds one config-v1.1 ``clientConfig`` per provider inside a ``<providers>`` root, plus
one documented extension: ``<appPassword required="true|false" url="https://..."/>`` in
``emailProvider``, saying whether the provider wants an app password and where to create one.
"""

import functools
import os

from .autoconfig import configuration_from, parse_tree

DATA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "providers.xml")


@functools.cache
def _index():
    """{domain: emailProvider element} over all providers."""
    with open(DATA_FILE, "rb") as handle:
        root = parse_tree(handle.read(), limit=None)  # our own file
    index = {}
    for provider in root.iterfind("clientConfig/emailProvider"):
        for domain in provider.iterfind("domain"):
            index[domain.text.strip().lower()] = provider
    return index


def providers():
    """Every provider element, once each (for validation and listings)."""
    seen = {}
    for provider in _index().values():
        seen[id(provider)] = provider
    return list(seen.values())


def lookup(email, domain, cafile="", **extra):
    """The bundled Configuration for ``domain``, or None."""
    provider = _index().get(domain)
    if provider is None:
        return None
    return configuration_from(provider, email, "provider", domain, cafile, **extra)
