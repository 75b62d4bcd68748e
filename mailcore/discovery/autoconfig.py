"""config-v1.1 documents (Thunderbird's format): parsed defensively, from a domain, the ISPDB or our data.

A document is a stranger's: no DTD (so no external entity and no entity expansion), no network, no
huge tree, a size cap, and every host name and port validated before it becomes a server.
"""

import urllib.parse

from .config import Configuration, make_server, substitute
from .fetch import FetchError, fetch
from .options import MAX_DOCUMENT_SIZE

_SOCKET_TYPES = {"ssl": "ssl", "tls": "ssl", "starttls": "starttls", "plain": "none"}
_PASSWORD_AUTH = {"password-cleartext", "plain", "password-encrypted", "secure", ""}
_SAFE_AUTH = {"password-encrypted", "secure"}


class DocumentError(Exception):
    """Why a document was rejected, in words for the user."""


def _parser():
    from lxml import etree

    return etree, etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )


def parse_tree(data, limit=MAX_DOCUMENT_SIZE):
    """The document's root element, or DocumentError for anything but a small, plain XML document."""
    if limit and len(data) > limit:
        raise DocumentError(f"the document is larger than {MAX_DOCUMENT_SIZE // 1024} KB")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise DocumentError("the document declares a DTD or entities, which are not accepted")
    etree, parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise DocumentError(f"the document is not well-formed XML ({error})") from error
    if root.getroottree().docinfo.internalDTD is not None:
        raise DocumentError("the document declares a DTD or entities, which are not accepted")
    return root


def parse(data, email, source, domain, cafile="", **extra):
    """The Configuration a config-v1.1 document gives for ``email``."""
    root = parse_tree(data)
    if root.tag != "clientConfig":
        raise DocumentError(f"the document is not a clientConfig but {root.tag!r}")
    provider = root.find("emailProvider")
    if provider is None:
        raise DocumentError("the document has no emailProvider")
    return configuration_from(provider, email, source, domain, cafile, **extra)


def configuration_from(provider, email, source, domain, cafile="", **extra):
    incoming, outgoing, problems = [], [], []
    for element in provider:
        if element.tag not in ("incomingServer", "outgoingServer"):
            continue
        try:
            server = _server(element, email, cafile)
        except ValueError as error:
            problems.append(str(error))
            continue
        if server is not None:
            (outgoing if server.protocol == "smtp" else incoming).append(server)
    if not incoming and not outgoing:
        reason = "; ".join(problems) or "no IMAP, POP3 or SMTP server"
        raise DocumentError(f"the document has no usable server: {reason}")
    app_password = provider.find("appPassword")
    documentation = provider.find("documentation")
    return Configuration(
        source=source,
        domain=domain,
        incoming=tuple(incoming),
        outgoing=tuple(outgoing),
        provider=(provider.findtext("displayName") or "").strip(),
        app_password_required=app_password is not None and app_password.get("required") == "true",
        app_password_url=_https_url(app_password.get("url") if app_password is not None else ""),
        documentation_url=_https_url(documentation.get("url") if documentation is not None else ""),
        **extra,
    )


def _server(element, email, cafile):
    """One server of the document; None for types and logins we do not speak (Exchange, OAuth2 only)."""
    protocol = element.get("type", "")
    if protocol not in ("imap", "pop3", "smtp") or (protocol == "smtp") != (element.tag == "outgoingServer"):
        return None
    methods = {(method.text or "").strip().lower() for method in element.findall("authentication")} or {""}
    if not methods & _PASSWORD_AUTH:
        return None
    socket_type = (element.findtext("socketType") or "").strip().lower()
    if socket_type not in _SOCKET_TYPES:
        raise ValueError(f"unknown socketType {socket_type!r}")
    port_text = (element.findtext("port") or "").strip()
    if not port_text.isdigit():
        raise ValueError(f"invalid port {port_text!r}")
    host = substitute((element.findtext("hostname") or "").strip(), email)
    login = substitute((element.findtext("username") or "%EMAILADDRESS%").strip(), email)
    if "\r" in login or "\n" in login:
        raise ValueError("invalid username")
    return make_server(
        protocol,
        host,
        int(port_text),
        _SOCKET_TYPES[socket_type],
        login,
        email,
        safe_logon=bool(methods & _SAFE_AUTH) and not methods & {"password-cleartext", "plain"},
        cafile=cafile,
    )


def _https_url(url):
    return url if url and urllib.parse.urlsplit(url).scheme == "https" else ""


def from_domain(email, domain, resolver, deadline, options, **extra):
    """The domain's own document: autoconfig.<domain>, then <domain>/.well-known/ (as Thunderbird)."""
    query = urllib.parse.urlencode({"emailaddress": email.strip()})
    urls = (
        f"https://autoconfig.{domain}/mail/config-v1.1.xml?{query}",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    )
    if options.allow_http:
        urls += (f"http://autoconfig.{domain}/mail/config-v1.1.xml?{query}",)
    reasons = []
    for url in urls:
        try:
            data = fetch(url, resolver, deadline, options, allowed_hosts=lambda host: _within(host, domain))
            return parse(data, email, "autoconfig", domain, options.cafile, detail=url, **extra)
        except (FetchError, DocumentError) as error:
            reasons.append(str(error))
    raise DocumentError("; ".join(reasons))


def from_ispdb(email, domain, resolver, deadline, options, **extra):
    url = options.ispdb_url + domain
    data = fetch(url, resolver, deadline, options)
    return parse(data, email, "ispdb", domain, options.cafile, detail=url, **extra)


def _within(host, domain):
    return host == domain or host.endswith("." + domain)
