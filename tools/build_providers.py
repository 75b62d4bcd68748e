#!/usr/bin/env python3
"""Build ``mailcore/data/providers.xml`` from a snapshot of Thunderbird's ISPDB plus our reviewed overlay.

    .venv/bin/python tools/build_providers.py [SNAPSHOT] [--check]

SNAPSHOT is the ``ispdb/`` folder of ``thunderbird/autoconfig`` (default: ``../shared/ispdb`` from the
repository root). The overlay, ``mailcore/data/providers_overlay.xml``, holds only what the ISPDB
does not say, each entry with the reason and a link to the provider's own page: app-password links,
the OAuth2 sign-in an entry belongs to, product names and MX domains of hosted mail, alias domains,
and providers the ISPDB lacks. ``--check`` writes nothing and fails when the bundled file differs.

This is a developer tool, not part of the addon's runtime (``mailcore`` never reads the snapshot or
the overlay): it lives outside the package so an installed addon needs neither. The same snapshot and
overlay always give the same bytes (sorted, no dates, no environment in the output).
"""

# pylint: disable=print-used  # a command-line tool: its output is the point
import argparse
import os
import re
import sys
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SNAPSHOT = os.path.join(ROOT, "..", "shared", "ispdb")
DATA = os.path.join(ROOT, "mailcore", "data")
BUNDLED = os.path.join(DATA, "providers.xml")
OVERLAY = os.path.join(DATA, "providers_overlay.xml")

SERVER_TYPES = ("imap", "pop3", "smtp")  # what this addon speaks; Exchange/EWS/Graph entries are left out
SERVER_FIELDS = ("hostname", "port", "socketType", "username")
OAUTH_FIELDS = ("issuer", "scope", "authURL", "tokenURL")
SIGN_IN_PROVIDERS = ("google", "microsoft")  # Odoo's google_gmail and microsoft_outlook
# What an overlay <provider> may hold, besides its <reason>s.
OVERLAY_CHANGES = {"displayName", "domain", "hosted", "appPassword", "oauth", "servers", "documentation"}


class SnapshotError(Exception):
    """The snapshot folder is missing or unreadable."""


class OverlayError(Exception):
    """The overlay breaks its rules (an entry without a reason, an unknown provider, ...)."""


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)


def _text(element, name):
    return " ".join((element.findtext(name) or "").split())


def _servers(provider):
    """The mail servers of an emailProvider element, in document order, as plain dicts."""
    servers = []
    for element in provider:
        if element.tag not in ("incomingServer", "outgoingServer") or element.get("type") not in SERVER_TYPES:
            continue
        server = {"direction": element.tag, "type": element.get("type")}
        server.update((field, _text(element, field)) for field in SERVER_FIELDS)
        server["authentication"] = tuple(_text(method, ".") for method in element.findall("authentication"))
        servers.append(server)
    return servers


def server_key(server):
    """What must agree between the bundled file and the snapshot, for one server."""
    return (server["type"], server["hostname"].lower(), server["port"], server["socketType"].upper(),
            server["username"], server["authentication"])  # fmt: skip


def read_snapshot(folder):
    """{file stem: provider dict} for every ``*.xml`` of the snapshot, plus the snapshot's commit and date."""
    if not os.path.isdir(folder):
        raise SnapshotError(f"no ISPDB snapshot at {os.path.abspath(folder)}")
    providers = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".xml"):
            continue
        path = os.path.join(folder, name)
        try:
            root = etree.parse(path, _parser()).getroot()
        except (OSError, etree.XMLSyntaxError) as error:
            raise SnapshotError(f"{path}: {error}") from error
        element = root.find("emailProvider")
        if element is None:
            continue
        stem = name[: -len(".xml")]
        oauth = root.find("oAuth2")
        providers[stem] = {
            "id": stem,
            "origin": "ispdb",
            "domains": [_text(domain, ".").lower() for domain in element.iterfind("domain") if _text(domain, ".")],
            "displayName": _text(element, "displayName") or stem,
            "displayShortName": _text(element, "displayShortName"),
            "servers": _servers(element),
            "documentation": [d.get("url") for d in element.iterfind("documentation") if d.get("url")],
            "oAuth2": {field: _text(oauth, field) for field in OAUTH_FIELDS} if oauth is not None else {},
            "appPassword": None,
            "oauth": "",
            "hosted": None,
        }
    if not providers:
        raise SnapshotError(f"no provider files in {os.path.abspath(folder)}")
    return providers, _snapshot_version(folder)


def _snapshot_version(folder):
    """'commit c6ad796, 2026-03-12' from the snapshot's README, when it says so."""
    try:
        with open(os.path.join(folder, "README.md"), encoding="utf-8") as handle:
            match = re.search(r"commit `([0-9a-f]+)` \((\d{4}-\d{2}-\d{2})\)", handle.read())
    except OSError:
        match = None
    return f"commit {match[1]}, {match[2]}" if match else "unknown version"


def read_overlay(path=OVERLAY):
    """The overlay's entries, each checked: a reason with an https link, known elements only."""
    root = etree.parse(path, _parser()).getroot()
    entries, problems = [], []
    for entry in root.iterfind("provider"):
        name = entry.get("id") or "?"
        reasons = [(_text(reason, "."), reason.get("url", "")) for reason in entry.iterfind("reason")]
        if not reasons or any(not text or not url.startswith("https://") for text, url in reasons):
            problems.append(f'overlay entry {name}: every change needs a <reason url="https://...">why</reason>')
        unknown = {child.tag for child in entry} - OVERLAY_CHANGES - {"reason"}
        if unknown:
            problems.append(f"overlay entry {name}: unknown elements {sorted(unknown)}")
        if len(entry) == len(entry.findall("reason")):
            problems.append(f"overlay entry {name}: no change")
        oauth = entry.find("oauth")
        if oauth is not None and oauth.get("provider") not in SIGN_IN_PROVIDERS:
            problems.append(f"overlay entry {name}: oauth provider must be one of {SIGN_IN_PROVIDERS}")
        entries.append(entry)
    if problems:
        raise OverlayError("\n".join(problems))
    return entries


def apply_overlay(providers, entries):
    """The snapshot's providers with the overlay's changes (a copy; the snapshot dict is not touched)."""
    merged = {key: dict(value) for key, value in providers.items()}
    for entry in entries:
        key, new = entry.get("id"), entry.get("new") == "true"
        if new == (key in merged):
            state = "is in the snapshot" if new else "is not in the snapshot"
            raise OverlayError(f'overlay entry {key}: {state} (new="true" is for providers the ISPDB lacks)')
        provider = merged.setdefault(key, _empty(key))
        for child in entry:
            if child.tag == "domain":
                provider["domains"] = [*provider["domains"], _text(child, ".").lower()]
            elif child.tag == "displayName":
                provider["displayName"] = _text(child, ".")
            elif child.tag == "servers":
                provider["servers"] = _servers(child)
            elif child.tag == "documentation":
                provider["documentation"] = [child.get("url"), *provider["documentation"]]
            elif child.tag == "appPassword":
                provider["appPassword"] = (child.get("required", "false"), child.get("url", ""))
            elif child.tag == "oauth":
                provider["oauth"] = child.get("provider")
            elif child.tag == "hosted":
                provider["hosted"] = (child.get("name", ""), [_text(mx, ".").lower() for mx in child.iterfind("mx")])
    return merged


def _empty(key):
    return {
        "id": key,
        "origin": "overlay",
        "domains": [],
        "displayName": key,
        "displayShortName": "",
        "servers": [],
        "documentation": [],
        "oAuth2": {},
        "appPassword": None,
        "oauth": "",
        "hosted": None,
    }


def oauth_only(provider):
    """No server of the entry takes a password: only a sign-in (OAuth2) can use it."""
    servers = provider["servers"]
    return bool(servers) and all(set(server["authentication"]) <= {"OAuth2"} for server in servers)


HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!--
  Generated by tools/build_providers.py. Do not edit: change mailcore/data/providers_overlay.xml (or
  take a newer snapshot) and rebuild.

  Thunderbird's ISPDB (thunderbird/autoconfig, folder ispdb/, {version}), every provider and domain,
  with the mail servers this addon speaks (IMAP, POP3, SMTP), plus the reviewed overlay.
  This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0. If a copy of
  the MPL was not distributed with this file, You can obtain one at https://mozilla.org/MPL/2.0/.
  See NOTICE next to this file.

  Format: config-v1.1 clientConfig elements inside <providers>; emailProvider@origin says where the
  entry comes from ("ispdb", or "overlay" for providers the ISPDB lacks). Extensions in emailProvider:
    <appPassword required="true|false" url="https://..."/>  the provider wants an app (or bridge,
        authorisation-code) password from mail programs, created at url
    <oauth only="true|false" provider="google|microsoft"/>  servers take OAuth2; only="true": nothing
        but a sign-in works; provider: the Odoo sign-in (google_gmail, microsoft_outlook) that serves it
    <hosted name="..."><mx>domain</mx>...</hosted>  the product that hosts other domains' mail, and
        further MX domains (beyond the <domain>s) that identify it
-->
"""


def render(providers, version):
    """The bundled file's bytes: providers sorted by id, every value escaped, nothing time-dependent."""
    lines = [HEADER.format(version=version), "<providers>"]
    for key in sorted(providers):
        lines.extend(_render_provider(providers[key]))
    lines.append("</providers>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _element(indent, tag, text):
    return f"{' ' * indent}<{tag}>{escape(text)}</{tag}>"


def _render_provider(provider):
    out = ['  <clientConfig version="1.1">']
    out.append(f"    <emailProvider id={quoteattr(provider['id'])} origin={quoteattr(provider['origin'])}>")
    out.extend(_element(6, "domain", domain) for domain in provider["domains"])
    out.append(_element(6, "displayName", provider["displayName"]))
    if provider["displayShortName"]:
        out.append(_element(6, "displayShortName", provider["displayShortName"]))
    for server in provider["servers"]:
        out.append(f"      <{server['direction']} type={quoteattr(server['type'])}>")
        out.extend(_element(8, field, server[field]) for field in SERVER_FIELDS if server[field])
        out.extend(_element(8, "authentication", method) for method in server["authentication"])
        out.append(f"      </{server['direction']}>")
    out.extend(f"      <documentation url={quoteattr(url)}/>" for url in provider["documentation"])
    if provider["appPassword"]:
        required, url = provider["appPassword"]
        link = f" url={quoteattr(url)}" if url else ""
        out.append(f"      <appPassword required={quoteattr(required)}{link}/>")
    if provider["oauth"] or any("OAuth2" in server["authentication"] for server in provider["servers"]):
        only = "true" if oauth_only(provider) else "false"
        sign_in = f" provider={quoteattr(provider['oauth'])}" if provider["oauth"] else ""
        out.append(f'      <oauth only="{only}"{sign_in}/>')
    if provider["hosted"]:
        name, mx_domains = provider["hosted"]
        out.append(f"      <hosted name={quoteattr(name)}>")
        out.extend(_element(8, "mx", domain) for domain in mx_domains)
        out.append("      </hosted>")
    out.append("    </emailProvider>")
    if provider["oAuth2"]:
        out.append("    <oAuth2>")
        out.extend(_element(6, field, provider["oAuth2"][field]) for field in OAUTH_FIELDS if provider["oAuth2"][field])
        out.append("    </oAuth2>")
    out.append("  </clientConfig>")
    return out


def build(snapshot=DEFAULT_SNAPSHOT, overlay=OVERLAY):
    """The bundled file's bytes for this snapshot and overlay."""
    providers, version = read_snapshot(snapshot)
    return render(apply_overlay(providers, read_overlay(overlay)), version)


def disagreements(bundled_bytes, snapshot=DEFAULT_SNAPSHOT, overlay=OVERLAY):
    """Where the bundled file says something the snapshot does not, and no overlay entry says why.

    Independent of ``render``: it reads the bundled file as discovery does and compares facts (each
    snapshot domain's servers, every snapshot domain present, every extra domain accounted for)."""
    snapshot_providers, _version = read_snapshot(snapshot)
    entries = {entry.get("id"): entry for entry in read_overlay(overlay)}
    root = etree.fromstring(bundled_bytes, _parser())
    bundled = {p.get("id"): p for p in root.iterfind("clientConfig/emailProvider")}
    problems = []
    for key, provider in snapshot_providers.items():
        element = bundled.get(key)
        if element is None:
            problems.append(f"{key}: in the snapshot, missing from the bundled file")
            continue
        entry = entries.get(key)
        overlaid = entry is not None and entry.find("servers") is not None
        ours, theirs = [server_key(s) for s in _servers(element)], [server_key(s) for s in provider["servers"]]
        if ours != theirs and not overlaid:
            problems.append(f"{key}: servers differ from the snapshot without an overlay reason")
        domains = [_text(domain, ".") for domain in element.iterfind("domain")]
        extra = set(domains) - set(provider["domains"])
        allowed = {_text(d, ".").lower() for d in entry.iterfind("domain")} if entry is not None else set()
        if set(provider["domains"]) - set(domains):
            problems.append(f"{key}: loses snapshot domains {sorted(set(provider['domains']) - set(domains))}")
        if extra - allowed:
            problems.append(f"{key}: domains {sorted(extra - allowed)} are in neither the snapshot nor the overlay")
        renamed = entry is not None and entry.find("displayName") is not None
        if _text(element, "displayName") != provider["displayName"] and not renamed:
            problems.append(f"{key}: display name differs from the snapshot without an overlay reason")
    for key in bundled:
        if key not in snapshot_providers and (key not in entries or entries[key].get("new") != "true"):
            problems.append(f"{key}: in neither the snapshot nor the overlay")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", nargs="?", default=DEFAULT_SNAPSHOT, help="the ISPDB snapshot folder")
    parser.add_argument("--overlay", default=OVERLAY)
    parser.add_argument("--output", default=BUNDLED)
    parser.add_argument("--check", action="store_true", help="fail when the output file differs; write nothing")
    args = parser.parse_args(argv)
    try:
        data = build(args.snapshot, args.overlay)
    except (SnapshotError, OverlayError) as error:
        print(f"build_providers: {error}", file=sys.stderr)
        return 2
    try:
        with open(args.output, "rb") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = b""
    if args.check:
        print(f"{args.output}: {'up to date' if current == data else 'differs from a rebuild'}")
        return 0 if current == data else 1
    if current != data:
        with open(args.output, "wb") as handle:
            handle.write(data)
    count = data.count(b"<emailProvider ")
    print(f"{args.output}: {count} providers, {data.count(b'<domain>')} domains ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
