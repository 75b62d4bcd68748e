"""config-v1.1 documents (Thunderbird's format): parsed defensively, from a domain, the ISPDB or our data.

A document is a stranger's: no DTD (so no external entity and no entity expansion), no network, no
huge tree, a size cap, and every host name and port validated before it becomes a server.
"""

import urllib.parse

from ..text import _lt
from .config import Configuration, InvalidServer, SourceError, joined, make_server, substitute, within
from .fetch import fetch
from .options import MAX_DOCUMENT_SIZE

_SOCKET_TYPES = {"ssl": "ssl", "tls": "ssl", "starttls": "starttls", "plain": "none"}
_PASSWORD_AUTH = {"password-cleartext", "plain", "password-encrypted", "secure", ""}
_SAFE_AUTH = {"password-encrypted", "secure"}
# The sign-in an OAuth2 issuer stands for, when a document does not name it (our data does: <oauth>).
_SIGN_IN_ISSUERS = {"accounts.google.com": "google", "login.microsoftonline.com": "microsoft"}


class DocumentError(SourceError):
    """Why a document was rejected."""


def _parser():
    from lxml import etree

    return etree, etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )


def parse_tree(data, limit=MAX_DOCUMENT_SIZE):
    """The document's root element, or DocumentError for anything but a small, plain XML document."""
    if limit and len(data) > limit:
        raise DocumentError(_lt("the document is larger than %(size)s KB"), size=MAX_DOCUMENT_SIZE // 1024)
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise DocumentError(_lt("the document declares a DTD or entities, which are not accepted"))
    etree, parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise DocumentError(_lt("the document is not well-formed XML")) from error
    if root.getroottree().docinfo.internalDTD is not None:
        raise DocumentError(_lt("the document declares a DTD or entities, which are not accepted"))
    return root


def parse(data, email, source, domain, cafile="", **extra):
    """The Configuration a config-v1.1 document gives for ``email``."""
    root = parse_tree(data)
    if root.tag != "clientConfig":
        raise DocumentError(_lt("the document is not a mail client configuration"))
    provider = root.find("emailProvider")
    if provider is None:
        raise DocumentError(_lt("the document describes no mail provider"))
    return configuration_from(provider, email, source, domain, cafile, **extra)


def _methods(element):
    return {(method.text or "").strip().lower() for method in element.findall("authentication")} or {""}


def configuration_from(provider, email, source, domain, cafile="", login="", **extra):
    """The Configuration of an emailProvider element; ``login`` replaces the document's user names.

    An entry whose servers take only OAuth2 is kept, marked ``oauth_only``, for the sign-in path."""
    servers = [e for e in provider if e.tag in ("incomingServer", "outgoingServer") and e.get("type") in PROTOCOLS]
    oauth_only = bool(servers) and all(_methods(element) <= {"oauth2"} for element in servers)
    incoming, outgoing, problems = [], [], []
    for element in servers:
        try:
            server = _server(element, email, cafile, login, oauth_only)
        except InvalidServer as error:
            problems.append(error.text)
            continue
        if server is not None:
            (outgoing if server.protocol == "smtp" else incoming).append(server)
    if not incoming and not outgoing:
        if problems:
            raise DocumentError(_lt("the document has no usable server: %(problems)s"), problems=joined(problems))
        raise DocumentError(_lt("the document has no IMAP, POP3 or SMTP server"))
    app_password = provider.find("appPassword")
    documentation = provider.find("documentation")
    hosted = provider.find("hosted")
    return Configuration(
        source=source,
        domain=domain,
        incoming=tuple(incoming),
        outgoing=tuple(outgoing),
        provider=(hosted.get("name") if hosted is not None and extra.get("via_mx") else "")
        or (provider.findtext("displayName") or "").strip(),
        app_password_required=app_password is not None and app_password.get("required") == "true",
        app_password_url=_https_url(app_password.get("url") if app_password is not None else ""),
        documentation_url=_https_url(documentation.get("url") if documentation is not None else ""),
        oauth_only=oauth_only,
        sign_in=_sign_in(provider),
        **extra,
    )


def _sign_in(provider):
    marked = provider.find("oauth")
    if marked is not None and marked.get("provider"):
        return marked.get("provider")
    parent = provider.getparent()
    issuer = (parent.findtext("oAuth2/issuer") or "").strip().lower() if parent is not None else ""
    return _SIGN_IN_ISSUERS.get(issuer, "")


PROTOCOLS = ("imap", "pop3", "smtp")


def _server(element, email, cafile, login, oauth_only):
    """One server of the document; None for logins we do not speak (OAuth2 beside a password)."""
    protocol = element.get("type", "")
    if (protocol == "smtp") != (element.tag == "outgoingServer"):
        return None
    methods = _methods(element)
    if not methods & _PASSWORD_AUTH and not oauth_only:
        return None
    socket_type = (element.findtext("socketType") or "").strip().lower()
    if socket_type not in _SOCKET_TYPES:
        raise InvalidServer(_lt("unknown socketType %(value)s"), value=repr(socket_type))
    port_text = (element.findtext("port") or "").strip()
    if not port_text.isdigit():
        raise InvalidServer(_lt("invalid port %(port)s"), port=repr(port_text))
    host = substitute((element.findtext("hostname") or "").strip(), email)
    user = login or substitute((element.findtext("username") or "%EMAILADDRESS%").strip(), email)
    if "\r" in user or "\n" in user:
        raise InvalidServer(_lt("invalid user name"))
    return make_server(
        protocol,
        host,
        int(port_text),
        _SOCKET_TYPES[socket_type],
        user,
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
            data = fetch(url, resolver, deadline, options, allowed_hosts=lambda host: within(host, domain))
            return parse(data, email, "autoconfig", domain, options.cafile, detail=url, **extra)
        except SourceError as error:
            reasons.append(error.text)
    raise DocumentError("%(reasons)s", reasons=joined(reasons))


def from_ispdb(email, domain, resolver, deadline, options, **extra):
    url = options.ispdb_url + domain
    data = fetch(url, resolver, deadline, options)
    if extra.get("via_mx"):
        extra["login"] = email.strip()
    return parse(data, email, "ispdb", domain, options.cafile, detail=url, **extra)
