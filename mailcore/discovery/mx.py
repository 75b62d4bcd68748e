"""The address's best MX host: which provider hosts the domain's mail, and which domain to ask next.

The host is refused when it is ``localhost``, an address literal, or has a loopback, private,
link-local or otherwise non-public address: a stranger's domain could otherwise turn discovery's
look-ups (and the check's password after them) towards the machine running Odoo or its network.
"""

import ipaddress

from ..probe import is_internal
from ..text import _lt
from .config import SourceError


def best_host(domain, resolver, deadline):
    """The most preferred MX host of ``domain``, once it passed ``refuse``; SourceError without one."""
    hosts = resolver.mx_hosts(domain, deadline)
    if not hosts:
        raise SourceError(_lt("no MX records"))
    refuse(hosts[0], resolver, deadline)
    return hosts[0]


def refuse(host, resolver, deadline):
    """SourceError when ``host`` is this machine or a private address; nothing otherwise."""
    if host == "localhost" or host.endswith(".localhost") or _literal(host):
        raise SourceError(_lt("the mail exchanger %(host)s is this machine or a bare address: refused"), host=host)
    for address in resolver.addresses(host, deadline):
        if is_internal(address):
            raise SourceError(
                _lt("the mail exchanger %(host)s has the private address %(address)s: refused"),
                host=host,
                address=address,
            )


def _literal(host):
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
