"""A small, suspicious HTTPS request for discovery documents: bounded size, redirects, time and hosts.

Names are resolved through discovery's DNS servers and the socket goes to that address, while TLS
still verifies the certificate against the host name. Plain HTTP only when the options allow it.
Every failure is a FetchError whose text says, in plain words, what went wrong where.
"""

import http.client
import socket
import ssl
import urllib.parse

from ..probe import is_internal
from ..text import _lt
from ..tls import verified_context
from .config import SourceError, valid_hostname
from .options import MAX_DOCUMENT_SIZE, MAX_REDIRECTS

REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(SourceError):
    """Why a document could not be fetched."""


class _Connection(http.client.HTTPSConnection):
    """Connects to ``address`` (already resolved), speaks TLS and HTTP to ``host``."""

    def __init__(self, host, port, address, timeout, context, secure, allow_internal):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._secure = secure
        self._allow_internal = allow_internal

    def connect(self):
        self.sock = socket.create_connection((self._address or self.host, self.port), self.timeout)
        if not self._allow_internal and is_internal(self.sock.getpeername()[0]):
            text = _lt("refused to go to %(host)s: its address is inside this server's network")
            raise FetchError(text, host=self.host)
        if self._secure:
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


def fetch(url, resolver, deadline, options, allowed_hosts=None, body=None, authorize=None):
    """The body of ``url`` (bytes): a GET, or a POST of ``body``. ``allowed_hosts(host)`` says where
    the request and its redirects may go. On HTTP 401, ``authorize(host)`` gives the Authorization
    header to retry with once, or None: then the password is not sent and the fetch fails. Redirects
    never lead to another port, which would make discovery a scanner of the domain's other services."""
    authorization = None
    port = _other_port(urllib.parse.urlsplit(url), options)
    for _hop in range(MAX_REDIRECTS + 1):
        parsed = urllib.parse.urlsplit(url)
        host = (parsed.hostname or "").lower()
        if parsed.scheme not in ("https", "http") or not valid_hostname(host):
            raise FetchError(_lt("refused %(url)s: not a web address with a valid host name"), url=url)
        if parsed.scheme == "http" and not options.allow_http:
            raise FetchError(_lt("refused %(url)s: plain HTTP is not allowed"), url=url)
        if allowed_hosts is not None and not allowed_hosts(host):
            raise FetchError(_lt("refused to go to %(host)s: not a host of the address's domain"), host=host)
        if _other_port(parsed, options) != port:
            raise FetchError(_lt("refused to go to %(url)s: another port than the first address"), url=url)
        status, location, content = _request(parsed, host, resolver, deadline, options, body, authorization)
        if status == 401 and authorization is None:
            authorization = authorize(host) if authorize is not None and parsed.scheme == "https" else None
            if authorization is None:
                raise FetchError(_lt("%(host)s asks for the password; it is not sent there"), host=host)
            status, location, content = _request(parsed, host, resolver, deadline, options, body, authorization)
        if status in REDIRECTS and location:
            url = urllib.parse.urljoin(url, location)
            authorization = None  # a redirect never carries the password along
            continue
        if status == 401:
            raise FetchError(_lt("%(host)s did not accept the address and password (HTTP 401)"), host=host)
        if status != 200:
            raise FetchError(_lt("%(host)s answered HTTP %(status)s"), host=host, status=status)
        return content
    raise FetchError(_lt("more than %(count)s redirects"), count=MAX_REDIRECTS)


def _port(parsed, options):
    try:
        explicit = parsed.port
    except ValueError:  # not a number, or beyond 65535
        text = _lt("refused %(url)s: not a web address with a valid host name")
        raise FetchError(text, url=parsed.geturl()) from None
    return explicit or (options.https_port if parsed.scheme == "https" else options.http_port)


def _other_port(parsed, options):
    """The port a URL names besides its scheme's standard one (None for that one), so a redirect from
    HTTP to HTTPS stays allowed and one to another port is seen."""
    port = _port(parsed, options)
    return None if port == _port(parsed._replace(netloc=parsed.hostname or ""), options) else port


def _request(parsed, host, resolver, deadline, options, body, authorization):
    secure = parsed.scheme == "https"
    port = _port(parsed, options)
    address = resolver.address(host, deadline)
    if address == "":
        raise FetchError(_lt("%(host)s does not exist"), host=host)
    timeout = deadline.remaining()
    if timeout <= 0:
        raise FetchError(_lt("%(host)s did not answer in time"), host=host)
    connection = _Connection(
        host, port, address, timeout, verified_context(options.cafile), secure, options.allow_internal
    )
    deadline.guard(None)
    try:
        path = parsed.path or "/"
        if parsed.query:
            path += "?" + parsed.query
        headers = {"Accept": "application/xml, text/xml, application/json", "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "text/xml; charset=utf-8"
        if authorization:
            headers["Authorization"] = authorization
        connection.request("POST" if body is not None else "GET", path, body=body, headers=headers)
        deadline.guard(connection.sock)
        response = connection.getresponse()
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > MAX_DOCUMENT_SIZE:
            raise _too_large(host)
        content = response.read(MAX_DOCUMENT_SIZE + 1)
        if len(content) > MAX_DOCUMENT_SIZE:
            raise _too_large(host)
        return response.status, response.getheader("Location"), content
    except (OSError, http.client.HTTPException) as error:
        raise _failure(host, error, deadline) from error
    finally:
        deadline.release()
        connection.close()


def _too_large(host):
    size = MAX_DOCUMENT_SIZE // 1024
    return FetchError(_lt("the answer of %(host)s is larger than %(size)s KB"), host=host, size=size)


def _failure(host, error, deadline):
    """The plain words for a network failure: no errno, no library text."""
    if deadline.passed or isinstance(error, TimeoutError):
        return FetchError(_lt("%(host)s did not answer in time"), host=host)
    if isinstance(error, socket.gaierror):
        return FetchError(_lt("%(host)s does not exist"), host=host)
    if isinstance(error, ConnectionRefusedError):
        return FetchError(_lt("%(host)s refused the connection"), host=host)
    if isinstance(error, ssl.SSLCertVerificationError):
        return FetchError(_lt("the certificate of %(host)s is not trusted or not made out to it"), host=host)
    if isinstance(error, ssl.SSLError):
        return FetchError(_lt("%(host)s does not speak HTTPS properly"), host=host)
    return FetchError(_lt("the connection to %(host)s failed"), host=host)
