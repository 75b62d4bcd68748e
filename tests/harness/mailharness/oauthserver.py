"""A small OAuth 2 authorization server over HTTPS (``mailservers.py oauth-serve``), for sign-in tests offline;
the same grants are served over plain HTTP on a second port, for a headless browser that cannot trust
the harness CA.

It stands behind Microsoft's and Google's URL paths, so stock ``microsoft_outlook`` (its endpoint is the
``microsoft_outlook.endpoint`` system parameter: ``https://localhost:PORT/common/oauth2/v2.0/``) and
``google_gmail`` (constant URLs: ``/o/oauth2/v2/auth`` and ``/token``) talk to it unchanged:

* ``GET  …/authorize`` or ``…/auth``: consent is given at once (or refused, see ``/harness/settings``):
  a redirect to ``redirect_uri`` with ``code`` and ``state`` (or ``error=access_denied``);
* ``POST …/token``: ``authorization_code`` and ``refresh_token`` grants, client id and secret checked;
* ``POST …/introspect``: RFC 7662, what Dovecot's ``oauth2`` passdb asks (``introspection_mode = post``);
* ``POST …/revoke``: RFC 7009; revoking any token of a grant revokes the whole grant, as Google does.

Test-only controls, JSON in and out: ``POST /harness/settings`` (``consent`` "allow"/"deny", ``user``
the login signed in as, ``lifetime`` seconds an access token lives, ``scope`` granted instead of the one
asked for, ``token_size`` characters of an access token, e.g. 2000 as Microsoft's JWTs; an empty body
resets them), ``POST /harness/expire`` (``token``: that access token, else every
one, expires now). Tokens are random and live in memory; nothing is written to disk.

Introspection reports the granted scopes plus ``mail`` when one of them is a provider's mail scope
(``MAIL_SCOPES``): the one scope the harness's Dovecot requires, whichever provider's names were used.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import signal
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLIENT_ID = "harness-client"
CLIENT_SECRET = "harness-client-secret"
DEFAULT_LIFETIME = 3600
CODE_LIFETIME = 60
MAIL_SCOPE = "mail"
MAIL_SCOPES = frozenset(
    {
        MAIL_SCOPE,
        "https://mail.google.com/",
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        "https://outlook.office.com/POP.AccessAsUser.All",
        "https://outlook.office.com/SMTP.Send",
    }
)
MAX_BODY = 64 * 1024

_logger = logging.getLogger("harness.oauth")


class Grants:
    """Every authorization code, access token and refresh token issued, in memory, behind one lock."""

    def __init__(self, default_user: str):
        self.default_user = default_user
        self.lock = threading.Lock()
        self.codes: dict[str, dict] = {}
        self.access: dict[str, dict] = {}
        self.refresh: dict[str, dict] = {}
        self.settings: dict = {}

    def configure(self, values: dict) -> dict:
        with self.lock:
            names = ("consent", "user", "lifetime", "scope", "token_size")
            self.settings = {key: values[key] for key in names if key in values}
            return dict(self.settings)

    def authorize(self, redirect_uri: str, scope: str) -> tuple[str | None, str]:
        """``(code, user)``; code None when consent is refused."""
        with self.lock:
            if self.settings.get("consent") == "deny":
                return None, ""
            code = secrets.token_urlsafe(24)
            user = self.settings.get("user") or self.default_user
            granted = self.settings.get("scope", scope)
            self.codes[code] = {
                "redirect_uri": redirect_uri,
                "scope": granted,
                "user": user,
                "exp": time.time() + CODE_LIFETIME,
            }
            return code, user

    def _issue(self, grant: dict) -> dict:
        lifetime = int(self.settings.get("lifetime") or DEFAULT_LIFETIME)
        size = int(self.settings.get("token_size") or 43)
        token = secrets.token_urlsafe(size)[:size]
        self.access[token] = {**grant, "exp": time.time() + lifetime}
        grant["access_tokens"].append(token)
        return {
            "token_type": "Bearer",
            "access_token": token,
            "expires_in": lifetime,
            "refresh_token": grant["refresh_token"],
            "scope": grant["scope"],
        }

    def exchange_code(self, code: str, redirect_uri: str) -> dict | None:
        with self.lock:
            entry = self.codes.pop(code, None)  # single use
            if not entry or entry["exp"] < time.time() or entry["redirect_uri"] != redirect_uri:
                return None
            refresh = secrets.token_urlsafe(32)
            grant = {"user": entry["user"], "scope": entry["scope"], "refresh_token": refresh, "access_tokens": []}
            self.refresh[refresh] = grant
            issued = self._issue(grant)
            if "openid" in entry["scope"].split():  # OpenID Connect: who signed in (signature not checked)
                issued["id_token"] = id_token(entry["user"])
            return issued

    def exchange_refresh(self, refresh: str) -> dict | None:
        with self.lock:
            grant = self.refresh.get(refresh)
            return self._issue(grant) if grant else None

    def introspect(self, token: str) -> dict:
        with self.lock:
            entry = self.access.get(token)
            if not entry or entry["exp"] <= time.time():
                return {"active": False}
            scopes = entry["scope"].split()
            if MAIL_SCOPES.intersection(scopes) and MAIL_SCOPE not in scopes:
                scopes.append(MAIL_SCOPE)
            return {
                "active": True,
                "username": entry["user"],
                "scope": " ".join(scopes),
                "client_id": CLIENT_ID,
                "token_type": "Bearer",
                "exp": int(entry["exp"]),
            }

    def revoke(self, token: str) -> None:
        with self.lock:
            grant = self.refresh.get(token) or next(
                (g for g in self.refresh.values() if token in g["access_tokens"]), None
            )
            if grant is None:
                self.access.pop(token, None)
                return
            self.refresh.pop(grant["refresh_token"], None)
            for access in grant["access_tokens"]:
                self.access.pop(access, None)

    def expire(self, token: str = "") -> int:
        with self.lock:
            chosen = [token] if token else list(self.access)
            for name in chosen:
                if name in self.access:
                    self.access[name]["exp"] = time.time() - 1
            return len(chosen)


def id_token(user: str) -> str:
    """An unsigned JWT naming ``user``, as providers' id_token does (``email``)."""

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part({'email': user, 'preferred_username': user})}."


class Handler(BaseHTTPRequestHandler):
    server_version = "HarnessOAuth/1"
    grants: Grants = None  # set by serve()

    def log_message(self, format, *args):
        _logger.info("%s %s", self.address_string(), format % args)

    def _reply(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            try:
                parsed = json.loads(raw or "{}")
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
        return {key: values[-1] for key, values in urllib.parse.parse_qs(raw).items()}

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = {key: values[-1] for key, values in urllib.parse.parse_qs(url.query).items()}
        if url.path.rstrip("/").rsplit("/", 1)[-1] not in ("authorize", "auth"):
            return self._reply(404, {"error": "not_found"})
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not redirect_uri.startswith(("http://", "https://")):
            return self._reply(400, {"error": "invalid_request", "error_description": "unknown client or redirect_uri"})
        code, _user = self.grants.authorize(redirect_uri, query.get("scope", ""))
        answer = (
            {"code": code} if code else {"error": "access_denied", "error_description": "The user declined consent."}
        )
        if "state" in query:
            answer["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return self._reply(302, None, {"Location": redirect_uri + separator + urllib.parse.urlencode(answer)})

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        form = self._form()
        endpoint = path.rsplit("/", 1)[-1]
        if path == "/harness/settings":
            return self._reply(200, self.grants.configure(form))
        if path == "/harness/expire":
            return self._reply(200, {"expired": self.grants.expire(form.get("token", ""))})
        if endpoint == "introspect":
            return self._reply(200, self.grants.introspect(form.get("token", "")))
        if endpoint == "revoke":
            self.grants.revoke(form.get("token", ""))
            return self._reply(200, {})
        if endpoint != "token":
            return self._reply(404, {"error": "not_found"})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return self._reply(401, {"error": "invalid_client", "error_description": "Unknown client or wrong secret."})
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            issued = self.grants.exchange_code(form.get("code", ""), form.get("redirect_uri", ""))
        elif grant_type == "refresh_token":
            issued = self.grants.exchange_refresh(form.get("refresh_token", ""))
        else:
            return self._reply(400, {"error": "unsupported_grant_type", "error_description": str(grant_type)})
        if issued is None:
            return self._reply(
                400,
                {"error": "invalid_grant", "error_description": "The code or token is invalid, expired or revoked."},
            )
        return self._reply(200, issued)


def serve(host: str, port: int, http_port: int, cert: str, key: str, default_user: str) -> None:
    """Serve HTTPS on ``port`` and the same grants over plain HTTP on ``http_port`` (for a headless browser
    that cannot be told to trust the harness CA), until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    handler = type("BoundHandler", (Handler,), {"grants": Grants(default_user)})
    servers = [ThreadingHTTPServer((host, port), handler), ThreadingHTTPServer((host, http_port), handler)]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # The handshake happens in the request's thread, so a silent client holds up no other.
    servers[0].socket = context.wrap_socket(servers[0].socket, server_side=True, do_handshake_on_connect=False)
    threads = []
    for httpd in servers:
        httpd.daemon_threads = True
        threads.append(threading.Thread(target=httpd.serve_forever, daemon=True))
        threads[-1].start()

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    _logger.info("listening on https://%s:%s and http://%s:%s", host, port, host, http_port)
    stopping.wait()
    for httpd, thread in zip(servers, threads, strict=True):
        httpd.shutdown()
        thread.join()
        httpd.server_close()
