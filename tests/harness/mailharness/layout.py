"""What runs where: the users, the servers, their ports and every path of one state dir.

Ports: base = ``--base-port`` / ``$HARNESS_BASE_PORT`` (default 21000); Dovecot instance
number i (in the order of ``DOVECOT_INSTANCES``) uses base+10*i+0..6 for imap, imaps, pop3,
pop3s, submission, submissions and its auth service (for Postfix); the Postfix services use
base+60..63; sink, popbeforesmtp and smtps_aiosmtpd use base+90..92; the OAuth 2 server base+95
(HTTPS) and base+96 (HTTP).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .client import HarnessError

HARNESS_DIR = Path(__file__).resolve().parent.parent  # tests/harness: the templates and the CLI script
REPO_ROOT = HARNESS_DIR.parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".run" / "harness"

HOST = "127.0.0.1"
HOSTNAME = "localhost"
WRONG_HOSTNAME = "wrong.example.test"
DEFAULT_BASE_PORT = 21000
# A starting server may go this long without progress (a port opened, CPU used) before it is reported
# as stuck; a busy machine only slows a start, so the whole wait is bounded by START_LIMIT instead.
START_TIMEOUT = 20.0
START_LIMIT = 180.0
POP_BEFORE_SMTP_WINDOW = 300

USERS = {
    "alice": {"login": "alice@example.test", "email": "alice@example.test", "password": "Pässwörd-✓-1"},
    "bob": {"login": "bob", "email": "bob@example.test", "password": "bob-secret-2"},
}

# DIGEST-MD5 is offered but not implemented by the core: a real server offering a mechanism it cannot use.
ALL_MECHANISMS = "plain login cram-md5 scram-sha-1 scram-sha-256 apop digest-md5"
PLAIN_MECHANISMS = "plain login"
# Access tokens checked by the OAuth 2 server's introspection (passdb oauth2); passwords as elsewhere.
OAUTH_MECHANISMS = "plain login xoauth2 oauthbearer"
# The user the OAuth 2 server signs in unless told otherwise (oauthserver's /harness/settings).
OAUTH_USER = "alice"

# name -> (certificate kind, auth_mechanisms); the order fixes the port layout.
DOVECOT_INSTANCES = {
    "main": ("good", ALL_MECHANISMS),
    "plainonly": ("good", PLAIN_MECHANISMS),
    "expired": ("expired", ALL_MECHANISMS),
    "wronghost": ("wronghost", ALL_MECHANISMS),
    "selfsigned": ("selfsigned", ALL_MECHANISMS),
    "oauth": ("good", OAUTH_MECHANISMS),
}
DOVECOT_PORTS = ("imap", "imaps", "pop3", "pop3s", "submission", "submissions", "auth")
# Which of a Dovecot instance's ports serves each protocol and security mode (servers.json "services").
SERVICES = {
    "smtp": {"ssl": "submissions", "starttls": "submission", "none": "submission"},
    "imap": {"ssl": "imaps", "starttls": "imap", "none": "imap"},
    "pop3": {"ssl": "pop3s", "starttls": "pop3", "none": "pop3"},
}
SMTP_SERVERS = ("sink", "popbeforesmtp", "smtps_aiosmtpd")
# The private Postfix's smtpd services, in port order: name -> master.cf "-o" overrides. Each answers a
# client that did not log in the way one real setup does.
POSTFIX_SERVICES = {
    # Port 25 as an MX has it: STARTTLS offered, AUTH only after it; mail for example.test is accepted
    # from anyone, relaying elsewhere needs a login ("Relay access denied").
    "smtp": {
        "smtpd_sender_restrictions": "",
        "smtpd_relay_restrictions": "permit_sasl_authenticated,reject_unauth_destination",
    },
    # Debian's stock submission template: TLS required, then "Recipient address rejected: Access denied".
    "submission": {"smtpd_tls_security_level": "encrypt"},
    "submissions": {"smtpd_tls_wrappermode": "yes"},
    # mua_client_restrictions as the template suggests them: "Client host rejected: Access denied".
    "clientauth": {
        "smtpd_tls_security_level": "encrypt",
        "smtpd_client_restrictions": "permit_sasl_authenticated,reject",
    },
}


# Which address each login may send as (smtpd_sender_login_maps).
class Layout:
    """Every path and port of one harness state dir."""

    def __init__(self, state_dir: Path | str, base_port: int | None = None):
        self.state_dir = Path(state_dir).resolve()
        if base_port is None:
            base_port = int(os.environ.get("HARNESS_BASE_PORT", DEFAULT_BASE_PORT))
        self.base_port = base_port
        self.certs_dir = self.state_dir / "certs"
        self.dovecot_dir = self.state_dir / "dovecot"
        self.passwd_file = self.state_dir / "passwd"
        self.servers_json = self.state_dir / "servers.json"
        self.pids_json = self.state_dir / "pids.json"
        self.smtp_json = self.state_dir / "smtp.json"
        self.smtp_log = self.state_dir / "smtp.log"
        self.sink_file = self.state_dir / "sink.jsonl"
        self.pop_forget_file = self.state_dir / "popbeforesmtp.forget"
        self.postfix_log = self.state_dir / "postfix.log"
        self.oauth_log = self.state_dir / "oauth.log"

    def dovecot_ports(self, name: str) -> dict[str, int]:
        index = list(DOVECOT_INSTANCES).index(name)
        return {proto: self.base_port + 10 * index + i for i, proto in enumerate(DOVECOT_PORTS)}

    def smtp_ports(self) -> dict[str, int]:
        return {name: self.base_port + 90 + i for i, name in enumerate(SMTP_SERVERS)}

    def postfix_ports(self) -> dict[str, int]:
        return {name: self.base_port + 60 + i for i, name in enumerate(POSTFIX_SERVICES)}

    def oauth_port(self) -> int:
        return self.base_port + 95

    def oauth_http_port(self) -> int:
        return self.base_port + 96

    def instance_dir(self, name: str) -> Path:
        return self.dovecot_dir / name

    def dovecot_conf(self, name: str) -> Path:
        return self.instance_dir(name) / "dovecot.conf"

    def dovecot_log(self, name: str) -> Path:
        return self.instance_dir(name) / "dovecot.log"

    def server_ports(self) -> dict[str, dict[str, int]]:
        """Each server process's ports by label, under the name start.py gives the process."""
        servers = {
            f"dovecot-{n}": {f"dovecot {n} {p}": port for p, port in self.dovecot_ports(n).items()}
            for n in DOVECOT_INSTANCES
        }
        servers["aiosmtpd"] = {f"smtp {n}": port for n, port in self.smtp_ports().items()}
        servers["postfix"] = {f"postfix {n}": port for n, port in self.postfix_ports().items()}
        servers["oauth"] = {"oauth": self.oauth_port(), "oauth http": self.oauth_http_port()}
        return servers

    def all_ports(self) -> dict[str, int]:
        return {label: port for ports in self.server_ports().values() for label, port in ports.items()}


def _traversable_by_others(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if parent.exists() and not os.stat(parent).st_mode & 0o001:
            return False
    return True


def _reachable_dir(layout: Layout, inside: Path, name: str) -> Path:
    """``inside`` (in the state dir) when other users can reach it, else a directory of the same state
    dir under the system's temporary folder: servers drop privileges before they touch these."""
    if _traversable_by_others(layout.state_dir):
        return inside
    tag = re.sub(r"[^A-Za-z0-9]+", "_", str(layout.state_dir)).strip("_")[-80:]
    return Path(tempfile.gettempdir()) / f"email_account_harness_{tag}" / name


def mail_root_for(layout: Layout, name: str) -> Path:
    """Maildirs are accessed as ``nobody``."""
    return _reachable_dir(layout, layout.instance_dir(name) / "mail", name)


def postfix_root(layout: Layout) -> Path:
    """Postfix's daemons run as ``postfix`` in their queue directory."""
    return _reachable_dir(layout, layout.state_dir / "postfix", "postfix")


def render_template(template: Path, values: dict[str, str]) -> str:
    """``template``'s text with every ``@KEY@`` replaced; a placeholder left over is an error."""
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise HarnessError(f"unsubstituted placeholders in {template}: {sorted(set(leftover))}")
    return text
