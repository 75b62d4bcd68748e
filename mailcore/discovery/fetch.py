"""A small, suspicious HTTPS GET for autoconfig documents: bounded size, redirects, time and hosts.

Names are resolved through discovery's DNS servers and the socket goes to that address, while TLS
still verifies the certificate against the host name. Plain HTTP only when the options allow it.
"""

import functools
import http.client
import socket
import ssl
import urllib.parse

from .config import valid_hostname
from .options import MAX_DOCUMENT_SIZE, MAX_REDIRECTS


class FetchError(Exception):
    """Why a document could not be fetched, in words for the user."""


@functools.lru_cache(maxsize=8)
def _context(cafile):
    """Loading the system's trust store takes tens of milliseconds: once per CA file, not per fetch."""
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    return context


class _Connection(http.client.HTTPSConnection):
    """Connects to ``address`` (already resolved), speaks TLS and HTTP to ``host``."""

    def __init__(self, host, port, address, timeout, context, secure):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._secure = secure

    def connect(self):
        self.sock = socket.create_connection((self._address or self.host, self.port), self.timeout)
        if self._secure:
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


def fetch(url, resolver, deadline, options, allowed_hosts=None):
    """The body of ``url`` (bytes). ``allowed_hosts(host)`` says where redirects may lead."""
    for _hop in range(MAX_REDIRECTS + 1):
        parsed = urllib.parse.urlsplit(url)
        host = (parsed.hostname or "").lower()
        if parsed.scheme not in ("https", "http") or not valid_hostname(host):
            raise FetchError(f"refused to fetch {url!r}: not an HTTP(S) URL with a valid host name")
        if parsed.scheme == "http" and not options.allow_http:
            raise FetchError(f"refused to fetch {url}: plain HTTP is not allowed")
        if allowed_hosts is not None and not allowed_hosts(host):
            raise FetchError(f"refused to follow a redirect to {host}: not a host of the address's domain")
        response_status, location, body = _get(parsed, host, resolver, deadline, options)
        if response_status in (301, 302, 303, 307, 308) and location:
            url = urllib.parse.urljoin(url, location)
            continue
        if response_status != 200:
            raise FetchError(f"{url} answered HTTP {response_status}")
        return body
    raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _get(parsed, host, resolver, deadline, options):
    secure = parsed.scheme == "https"
    port = parsed.port or (options.https_port if secure else options.http_port)
    address = resolver.address(host, deadline)
    if address == "":
        raise FetchError(f"{host} has no address")
    timeout = deadline.remaining()
    if timeout <= 0:
        raise FetchError("out of time")
    connection = _Connection(host, port, address, timeout, _context(options.cafile), secure)
    deadline.guard(None)
    try:
        path = parsed.path or "/"
        if parsed.query:
            path += "?" + parsed.query
        connection.request("GET", path, headers={"Accept": "application/xml, text/xml", "Connection": "close"})
        deadline.guard(connection.sock)
        response = connection.getresponse()
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > MAX_DOCUMENT_SIZE:
            raise FetchError(f"the document at {host} is larger than {MAX_DOCUMENT_SIZE // 1024} KB")
        body = response.read(MAX_DOCUMENT_SIZE + 1)
        if len(body) > MAX_DOCUMENT_SIZE:
            raise FetchError(f"the document at {host} is larger than {MAX_DOCUMENT_SIZE // 1024} KB")
        return response.status, response.getheader("Location"), body
    except (OSError, http.client.HTTPException) as error:
        if deadline.passed:
            raise FetchError(f"{host} did not answer in time") from error
        raise FetchError(f"could not fetch from {host}: {error}") from error
    finally:
        deadline.release()
        connection.close()
