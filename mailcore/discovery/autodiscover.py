"""Exchange Autodiscover: POX (MS-OXDISCO) for a domain's IMAP/POP3/SMTP, v2 (JSON) for Microsoft 365.

POX asks, at once, ``https://<domain>/autodiscover/autodiscover.xml``, the same path on
``autodiscover.<domain>``, and the host named by the SRV record ``_autodiscover._tcp.<domain>``; the
first of them (in that order) that answers with settings wins. Only names of the address's own
domain are asked: never ``autodiscover.<parent>`` nor ``autodiscover.<top-level domain>``, the names
that leaked passwords in 2021. The password goes only over HTTPS, only to ``<domain>`` and
``autodiscover.<domain>``, and only after their HTTP 401 asked for it. Redirects (HTTP, or the
protocol's ``redirectUrl`` / ``redirectAddr``) are followed within the domain, at most three; a
redirect to another domain would need the user's consent, which discovery cannot ask for.

v2 asks Microsoft's public endpoint (an option, like the ISPDB's address) whether the address has a
Microsoft 365 mailbox; it sends no password. A yes gives Microsoft 365's servers from the bundled data.
"""

import base64
import functools
import json
import urllib.parse
from xml.sax.saxutils import escape

from ..text import Text, _lt
from . import providers
from .autoconfig import DocumentError, parse_tree
from .config import Configuration, InvalidServer, SourceError, joined, make_server, split_address, within
from .dns import LookupTimeout
from .fetch import fetch
from .jobs import Outcome
from .options import MAX_REDIRECTS

PATH = "/autodiscover/autodiscover.xml"
REQUEST = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
    "<Request><EMailAddress>{email}</EMailAddress><AcceptableResponseSchema>"
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    "</AcceptableResponseSchema></Request></Autodiscover>"
)
_TYPES = {"IMAP": "imap", "POP3": "pop3", "SMTP": "smtp"}
_EXCHANGE_TYPES = {"EXCH", "EXPR", "EXHTTP", "WEB"}
_IMPLICIT_TLS_PORTS = {993, 995, 465}
# Hosts of a v2 answer that mean "this mailbox is in Microsoft 365".
MICROSOFT_365_HOSTS = ("outlook.office365.com", "outlook.office.com")
MICROSOFT_365_DATA = "office365.com"  # the bundled entry with Microsoft 365's servers


class Lookup:
    """The domain's Autodiscover service, asked at its three places at once as jobs of the discovery
    run; the first place in order that gives settings wins, and the others are then aborted."""

    def __init__(self, email, password, domain, resolver, new_deadline, options):
        starts = [f"https://{domain}{PATH}", f"https://autodiscover.{domain}{PATH}"]
        self.deadlines = [new_deadline() for _job in range(3)]
        self.calls = [
            functools.partial(_ask, url, email, password, domain, resolver, job_deadline, options)
            for url, job_deadline in zip(starts, self.deadlines, strict=False)
        ]
        self.calls.append(functools.partial(_ask_srv, email, password, domain, resolver, self.deadlines[2], options))
        self.outcomes = {}

    def collect(self, index, outcome):
        """The lookup's outcome once it is decided: a Configuration, or SourceError saying why not."""
        self.outcomes[index] = outcome
        problems = []
        for place in range(len(self.calls)):
            if place not in self.outcomes:
                return None  # a better-placed answer may still come
            error = self.outcomes[place].error
            if error is None:
                return self._decided(self.outcomes[place])
            if isinstance(error, LookupTimeout):
                problems.append(Text(_lt("no answer in time")))
            elif isinstance(error, SourceError):
                problems.append(error.text)
            else:
                return self._decided(self.outcomes[place])  # a bug of ours: the run logs it
        return self._decided(Outcome(error=SourceError("%(problems)s", problems=joined(problems))))

    def _decided(self, outcome):
        for job_deadline in self.deadlines:  # the others stop now, not at the end of the budget
            job_deadline.abort("timeout")
        return outcome


def _ask_srv(email, password, domain, resolver, deadline, options):
    targets = resolver.srv(f"_autodiscover._tcp.{domain}", deadline) or []
    if not targets:
        raise SourceError(_lt("no SRV record _autodiscover._tcp.%(domain)s"), domain=domain)
    host, port = targets[0]
    netloc = host if port == 443 else f"{host}:{port}"
    return _ask(f"https://{netloc}{PATH}", email, password, domain, resolver, deadline, options)


def _ask(url, email, password, domain, resolver, deadline, options):
    """POST the request to ``url``, following the protocol's redirects within the domain."""
    first_host = urllib.parse.urlsplit(url).hostname or ""
    password_hosts = {domain, f"autodiscover.{domain}"}

    def allowed(host):
        return host == first_host or within(host, domain)

    def authorize(host):
        if not password or host not in password_hosts:
            return None
        secret = password.reveal() if hasattr(password, "reveal") else password
        return "Basic " + base64.b64encode(f"{address}:{secret}".encode()).decode()

    address = email.strip()
    for _hop in range(MAX_REDIRECTS + 1):
        body = REQUEST.format(email=escape(address)).encode()
        answer = _response(fetch(url, resolver, deadline, options, allowed, body, authorize))
        action = _text(answer, "Account", "Action").lower()
        if action == "redirecturl":
            url = _text(answer, "Account", "RedirectUrl")
            host = (urllib.parse.urlsplit(url).hostname or "").lower()
            if urllib.parse.urlsplit(url).scheme != "https" or not within(host, domain):
                raise SourceError(_lt("refused the redirect to %(url)s: not an HTTPS address of %(domain)s"),
                                  url=url, domain=domain)  # fmt: skip
            continue
        if action == "redirectaddr":
            address = _text(answer, "Account", "RedirectAddr")
            try:
                _local, new_domain = split_address(address)
            except ValueError:
                new_domain = ""
            if new_domain != domain:
                raise SourceError(_lt("refused the redirect to the address %(address)s: not in %(domain)s"),
                                  address=address, domain=domain)  # fmt: skip
            continue
        return _configuration(answer, email, domain, options.cafile, url)
    raise SourceError(_lt("more than %(count)s redirects"), count=MAX_REDIRECTS)


def _local(element):
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _child(element, name):
    if element is None:
        return None
    return next((child for child in element if _local(child) == name), None)


def _text(element, *path):
    for name in path:
        element = _child(element, name)
    return (element.text or "").strip() if element is not None else ""


def _response(data):
    """The Response element of a POX answer, or DocumentError (an error answer says its message)."""
    root = parse_tree(data)
    response = _child(root, "Response") if _local(root) == "Autodiscover" else None
    if response is None:
        raise DocumentError(_lt("the answer is not an Autodiscover response"))
    error = _child(response, "Error")
    if error is not None:
        code = _text(error, "ErrorCode")
        raise DocumentError(_lt("Autodiscover answered error %(code)s"), code=code[:20] or "?")
    if _child(response, "Account") is None:
        raise DocumentError(_lt("the answer is not an Autodiscover response"))
    return response


def _configuration(response, email, domain, cafile, url):
    incoming, outgoing, problems, exchange = [], [], [], False
    for protocol in _child(response, "Account"):
        if _local(protocol) != "Protocol":
            continue
        kind = _text(protocol, "Type").upper()
        exchange = exchange or kind in _EXCHANGE_TYPES
        if kind not in _TYPES:
            continue
        try:
            server = _server(protocol, _TYPES[kind], email, cafile)
        except InvalidServer as error:
            problems.append(error.text)
            continue
        (outgoing if server.protocol == "smtp" else incoming).append(server)
    if not incoming and not outgoing:
        if problems:
            raise DocumentError(_lt("the answer has no usable server: %(problems)s"), problems=joined(problems))
        if exchange:
            raise DocumentError(_lt("%(domain)s runs Exchange, but offers no IMAP, POP3 or SMTP"), domain=domain)
        raise DocumentError(_lt("the answer has no IMAP, POP3 or SMTP server"))
    return Configuration("autodiscover", domain, tuple(incoming), tuple(outgoing), detail=url)


def _server(protocol, kind, email, cafile):
    port_text = _text(protocol, "Port")
    if not port_text.isdigit():
        raise InvalidServer(_lt("invalid port %(port)s"), port=repr(port_text))
    port = int(port_text)
    encryption = _text(protocol, "Encryption").lower()
    if _text(protocol, "SSL").lower() == "off" and encryption in ("", "none"):
        security = "none"
    elif encryption in ("ssl", "tls", "none"):
        security = {"ssl": "ssl", "tls": "starttls", "none": "none"}[encryption]
    else:  # "auto" or not said: what the port implies
        security = "ssl" if port in _IMPLICIT_TLS_PORTS else "starttls"
    login = _text(protocol, "LoginName") or email.strip()
    if "\r" in login or "\n" in login:
        raise InvalidServer(_lt("invalid user name"))
    return make_server(kind, _text(protocol, "Server"), port, security, login, email, cafile=cafile)


def microsoft_365(email, domain, resolver, deadline, options):
    """Autodiscover v2: whether Microsoft 365 holds the mailbox; its Configuration if so."""
    base = options.autodiscover_v2_url
    url = f"{base}{urllib.parse.quote(email.strip(), safe='@')}?Protocol=AutodiscoverV1"
    host = (urllib.parse.urlsplit(base).hostname or "").lower()
    data = fetch(url, resolver, deadline, options, allowed_hosts=lambda name: name == host)
    try:
        answer = json.loads(data)
    except ValueError as error:
        raise DocumentError(_lt("the answer is not JSON")) from error
    target = answer.get("Url") if isinstance(answer, dict) else None
    parsed = urllib.parse.urlsplit(target if isinstance(target, str) else "")
    if parsed.scheme != "https" or (parsed.hostname or "").lower() not in MICROSOFT_365_HOSTS:
        raise SourceError(_lt("%(domain)s is not a Microsoft 365 domain"), domain=domain)
    found = providers.lookup(email, MICROSOFT_365_DATA, options.cafile)
    return found.replace(source="autodiscover", domain=domain, provider="Microsoft 365", detail=url)
