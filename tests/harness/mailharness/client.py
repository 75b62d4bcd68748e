"""What tests do to the running servers: store or count messages, make popbeforesmtp forget POP3 logins,
sign in at the OAuth 2 server and expire or revoke its tokens.

Self-contained and standard library only, so it also loads from another interpreter (Odoo's): tests
import it by path from servers.json's ``"harness"`` entry. The rest of the package builds on the
error and the JSON reading defined here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


class HarnessError(RuntimeError):
    """A problem the user must fix; printed without a traceback."""


def read_json(path: Path, default):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return default


def _servers(servers: dict | str | os.PathLike) -> dict:
    """The parsed servers.json, given it or its path."""
    if isinstance(servers, dict):
        return servers
    parsed = read_json(Path(servers), None)
    if parsed is None:
        raise HarnessError("servers.json not found: are the harness servers running?")
    return parsed


def deliver(
    servers: dict | str | os.PathLike,
    user: str,
    message: bytes,
    instance: str = "main",
    mailbox: str = "INBOX",
) -> None:
    """Store ``message`` (raw RFC 5322 bytes) in ``user``'s ``mailbox`` on a Dovecot instance.

    ``servers`` is the parsed servers.json or its path.  Uses ``doveadm save``.
    """
    servers = _servers(servers)
    conf = servers["dovecot"][instance]["config"]
    result = subprocess.run(
        [servers["doveadm"], "-c", conf, "save", "-u", user, "-m", mailbox],
        input=message,
        capture_output=True,
        check=False,
    )
    if result.returncode:
        raise HarnessError(
            f"doveadm save for {user} into {mailbox} ({instance}) failed with {result.returncode}: "
            + result.stderr.decode("utf-8", "replace").strip()
        )


def mailbox_size(servers: dict | str | os.PathLike, user: str, instance: str = "main", mailbox: str = "INBOX") -> int:
    """How many messages ``user``'s ``mailbox`` holds on a Dovecot instance (``doveadm mailbox status``)."""
    servers = _servers(servers)
    conf = servers["dovecot"][instance]["config"]
    command = [servers["doveadm"], "-c", conf, "mailbox", "status", "-u", user, "messages", mailbox]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return int(output.strip().partition("=")[2])


def forget_pop_logins(servers: dict | str | os.PathLike) -> None:
    """Make the popbeforesmtp server forget every POP3 login seen so far (any client IP).

    Writes the main Dovecot log's current size into the forget file: the server counts only the
    logins logged after that offset.
    """
    servers = _servers(servers)
    try:
        size = os.path.getsize(servers["dovecot"]["main"]["log"])
    except FileNotFoundError:
        size = 0
    forget_file = Path(servers["pop_before_smtp_forget_file"])
    tmp = forget_file.with_name(forget_file.name + ".tmp")
    tmp.write_text(f"{size}\n", encoding="ascii")
    os.replace(tmp, forget_file)


REDIRECT_URI = "https://localhost/cb"


def _oauth_post(servers: dict, url: str, data: dict, as_json: bool = False) -> dict:
    """POST to the harness OAuth 2 server, trusting the harness CA; the JSON answer."""
    import ssl
    import urllib.parse
    import urllib.request

    context = ssl.create_default_context(cafile=servers["ca_file"])
    body = json.dumps(data).encode() if as_json else urllib.parse.urlencode(data).encode()
    headers = {"Content-Type": "application/json" if as_json else "application/x-www-form-urlencoded"}
    with urllib.request.urlopen(urllib.request.Request(url, body, headers), context=context, timeout=10) as reply:
        return json.load(reply)


def oauth_settings(servers: dict | str | os.PathLike, **values) -> dict:
    """How the harness OAuth 2 server answers from now on: ``consent`` ("allow"/"deny"), ``user`` (the
    login signed in), ``lifetime`` (seconds an access token lives), ``scope`` (granted whatever was
    asked), ``token_size`` (characters of an access token). No values: back to the defaults."""
    servers = _servers(servers)
    return _oauth_post(servers, servers["oauth"]["settings_url"], values, as_json=True)


def oauth_sign_in(
    servers: dict | str | os.PathLike, scope: str = "", redirect_uri: str = "https://localhost/cb"
) -> dict:
    """Walk the authorization-code flow as a browser and a client would; the token response
    (``access_token``, ``refresh_token``, ``expires_in``, ``scope``)."""
    import ssl
    import urllib.error
    import urllib.parse
    import urllib.request

    servers = _servers(servers)
    oauth = servers["oauth"]

    class _Stop(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    context = ssl.create_default_context(cafile=servers["ca_file"])
    opener = urllib.request.build_opener(_Stop, urllib.request.HTTPSHandler(context=context))
    query = {"client_id": oauth["client_id"], "redirect_uri": redirect_uri, "response_type": "code"}
    query.update(scope=scope or oauth["scope"], state="harness")
    try:
        opener.open(oauth["google_auth_url"] + "?" + urllib.parse.urlencode(query), timeout=10).close()
        raise HarnessError("the OAuth server did not redirect")
    except urllib.error.HTTPError as redirect:
        answer = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect.headers.get("Location", "")).query)
    if "code" not in answer:
        raise HarnessError(f"sign-in refused: {answer}")
    grant = {"grant_type": "authorization_code", "code": answer["code"][0], "redirect_uri": redirect_uri}
    return oauth_token(servers, **grant)


def oauth_token(servers: dict | str | os.PathLike, **form) -> dict:
    """POST ``form`` (a grant) to the token endpoint with the harness client's id and secret."""
    servers = _servers(servers)
    oauth = servers["oauth"]
    credentials = {"client_id": oauth["client_id"], "client_secret": oauth["client_secret"]}
    return _oauth_post(servers, oauth["google_token_url"], {**credentials, **form})


def oauth_revoke(servers: dict | str | os.PathLike, token: str) -> None:
    """Revoke the grant ``token`` (access or refresh) belongs to."""
    servers = _servers(servers)
    _oauth_post(servers, servers["oauth"]["revoke_url"], {"token": token})


def oauth_expire(servers: dict | str | os.PathLike, token: str = "") -> None:
    """Let access token ``token`` (empty: every one) expire now; its refresh token still works."""
    servers = _servers(servers)
    _oauth_post(servers, servers["oauth"]["expire_url"], {"token": token})
