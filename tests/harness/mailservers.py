#!/usr/bin/env python3
"""Throwaway mail servers on loopback for the email_account test suite.

Commands (run with the repository's ``.venv/bin/python``)::

    mailservers.py start  [--state-dir DIR] [--base-port N]   # background; prints servers.json path
    mailservers.py stop   [--state-dir DIR]                   # stops everything started from DIR
    mailservers.py run    [--state-dir DIR] [--base-port N]   # foreground; Ctrl-C stops
    mailservers.py status [--state-dir DIR]
    mailservers.py deliver [--state-dir DIR] [--instance main] --user alice@example.test [--mailbox INBOX] FILE...
    mailservers.py forget-pop-logins [--state-dir DIR]       # popbeforesmtp denies everyone again

What ``start`` brings up (all on 127.0.0.1):

* five Dovecot 2.3 instances (``main``, ``plainonly``, ``expired``, ``wronghost``,
  ``selfsigned``), each with imap/imaps/pop3/pop3s/submission/submissions ports,
  its own config, base_dir and log inside the state dir;
* one Python process running aiosmtpd servers: ``sink`` (records every message
  in ``sink.jsonl``), ``popbeforesmtp`` (relays only for IPs that logged in over
  POP3 on the ``main`` Dovecot within the last 300 s, found by tailing its log)
  and ``smtps_aiosmtpd`` (implicit TLS, AUTH PLAIN/LOGIN);
* one private Postfix 3.7 (its own config, queue and data directories, never the
  system one on port 25), a second SMTP implementation with a real submission
  server's policy: logins through the ``main`` Dovecot's auth service, relaying
  only for logged-in clients, ``smtpd_delay_reject`` and sender login maps with
  ``reject_sender_login_mismatch``; what it accepts goes to the ``sink``. Its
  services (``POSTFIX_SERVICES``) differ in what refuses a client that did not log in;
* a throwaway CA and certificates (good, expired, wrong host, self-signed).

Ports: base = ``--base-port`` / ``$HARNESS_BASE_PORT`` (default 21000); Dovecot instance
number i (in the order above) uses base+10*i+0..6 for imap, imaps, pop3, pop3s,
submission, submissions and its auth service (for Postfix); the Postfix services use
base+60..63; sink, popbeforesmtp and smtps_aiosmtpd use base+90..92.

Every ``start`` stops what an earlier start left running (also after a crash) and
begins with empty mailboxes, an empty ``sink.jsonl`` and fresh logs (the previous
sink/logs are kept as ``*.1``); certificates are reused while valid.

Only the standard library is imported at module level, so ``deliver`` (and the
helpers below) also work from another interpreter such as Odoo's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".run" / "harness"
DOVECOT_TEMPLATE = HERE / "dovecot.conf.tmpl"

HOST = "127.0.0.1"
HOSTNAME = "localhost"
WRONG_HOSTNAME = "wrong.example.test"
DEFAULT_BASE_PORT = 21000
START_TIMEOUT = 20.0
POP_BEFORE_SMTP_WINDOW = 300

USERS = {
    "alice": {"login": "alice@example.test", "email": "alice@example.test", "password": "Pässwörd-✓-1"},
    "bob": {"login": "bob", "email": "bob@example.test", "password": "bob-secret-2"},
}

# DIGEST-MD5 is offered but not implemented by the core: a real server offering a mechanism it cannot use.
ALL_MECHANISMS = "plain login cram-md5 scram-sha-1 scram-sha-256 apop digest-md5"
PLAIN_MECHANISMS = "plain login"

# name -> (certificate kind, auth_mechanisms); the order fixes the port layout.
DOVECOT_INSTANCES = {
    "main": ("good", ALL_MECHANISMS),
    "plainonly": ("good", PLAIN_MECHANISMS),
    "expired": ("expired", ALL_MECHANISMS),
    "wronghost": ("wronghost", ALL_MECHANISMS),
    "selfsigned": ("selfsigned", ALL_MECHANISMS),
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
POSTFIX_SENDER_LOGINS = {user["email"]: user["login"] for user in USERS.values()}
POSTFIX_TEMPLATE = HERE / "postfix-main.cf.tmpl"
POSTFIX_DAEMON_DIR = "/usr/lib/postfix/sbin/"
# master.cf's internal services: name -> (type, private, unprivileged, wakeup, process limit, command).
POSTFIX_INTERNAL = {
    "pickup": ("unix", "n", "-", "60", "1", "pickup"),
    "cleanup": ("unix", "n", "-", "-", "0", "cleanup"),
    "qmgr": ("unix", "n", "-", "300", "1", "qmgr"),
    "tlsmgr": ("unix", "-", "-", "1000?", "1", "tlsmgr"),
    "rewrite": ("unix", "-", "-", "-", "-", "trivial-rewrite"),
    "bounce": ("unix", "-", "-", "-", "0", "bounce"),
    "defer": ("unix", "-", "-", "-", "0", "bounce"),
    "trace": ("unix", "-", "-", "-", "0", "bounce"),
    "verify": ("unix", "-", "-", "-", "1", "verify"),
    "flush": ("unix", "n", "-", "1000?", "0", "flush"),
    "proxymap": ("unix", "-", "-", "-", "-", "proxymap"),
    "smtp": ("unix", "-", "-", "-", "-", "smtp"),
    "relay": ("unix", "-", "-", "-", "-", "smtp"),
    "showq": ("unix", "n", "-", "-", "-", "showq"),
    "error": ("unix", "-", "-", "-", "-", "error"),
    "retry": ("unix", "-", "-", "-", "-", "error"),
    "discard": ("unix", "-", "-", "-", "-", "discard"),
    "anvil": ("unix", "-", "-", "-", "1", "anvil"),
    "scache": ("unix", "-", "-", "-", "1", "scache"),
    "postlog": ("unix-dgram", "n", "-", "-", "1", "postlogd"),
}
POSTFIX_DAEMONS = frozenset({"master", "smtpd", *(entry[-1] for entry in POSTFIX_INTERNAL.values())})
POSTFIX_QUEUE_DIRS = tuple("active bounce corrupt defer deferred flush hold incoming private saved trace".split())

# RFC 7919 ffdhe2048, used when Debian's /usr/share/dovecot/dh.pem is missing.
FFDHE2048 = """-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""


class HarnessError(RuntimeError):
    """A problem the user must fix; printed without a traceback."""


def log(msg: str) -> None:
    sys.stderr.write(f"[mailservers] {msg}\n")
    sys.stderr.flush()


def which(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        raise HarnessError(f"{name} not found; install dovecot-imapd dovecot-pop3d dovecot-submissiond (make deps)")
    return found


# --------------------------------------------------------------------------- layout


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

    def dovecot_ports(self, name: str) -> dict[str, int]:
        index = list(DOVECOT_INSTANCES).index(name)
        return {proto: self.base_port + 10 * index + i for i, proto in enumerate(DOVECOT_PORTS)}

    def smtp_ports(self) -> dict[str, int]:
        return {name: self.base_port + 90 + i for i, name in enumerate(SMTP_SERVERS)}

    def postfix_ports(self) -> dict[str, int]:
        return {name: self.base_port + 60 + i for i, name in enumerate(POSTFIX_SERVICES)}

    def instance_dir(self, name: str) -> Path:
        return self.dovecot_dir / name

    def dovecot_conf(self, name: str) -> Path:
        return self.instance_dir(name) / "dovecot.conf"

    def dovecot_log(self, name: str) -> Path:
        return self.instance_dir(name) / "dovecot.log"

    def all_ports(self) -> dict[str, int]:
        ports = {f"dovecot {n} {p}": port for n in DOVECOT_INSTANCES for p, port in self.dovecot_ports(n).items()}
        ports.update({f"smtp {n}": port for n, port in self.smtp_ports().items()})
        ports.update({f"postfix {n}": port for n, port in self.postfix_ports().items()})
        return ports


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


# --------------------------------------------------------------------------- certificates


CERT_KINDS = ("ca", "good", "expired", "wronghost", "selfsigned")


def cert_paths(layout: Layout) -> dict[str, dict[str, str]]:
    d = layout.certs_dir
    paths = {"ca": {"cert": str(layout.state_dir / "ca.pem"), "key": str(d / "ca.key")}}
    for kind in CERT_KINDS[1:]:
        paths[kind] = {"cert": str(d / f"{kind}.pem"), "key": str(d / f"{kind}.key")}
    return paths


def _certs_reusable(paths: dict[str, dict[str, str]]) -> bool:
    from cryptography import x509

    try:
        now = datetime.datetime.now(datetime.timezone.utc)
        margin = datetime.timedelta(days=1)
        for kind, files in paths.items():
            if not all(os.path.exists(p) for p in files.values()):
                return False
            if kind == "expired":
                continue
            with open(files["cert"], "rb") as fh:
                cert = x509.load_pem_x509_certificate(fh.read())
            if not cert.not_valid_before_utc < now < cert.not_valid_after_utc - margin:
                return False
        return True
    except (OSError, ValueError):
        return False


def ensure_certs(layout: Layout) -> dict[str, dict[str, str]]:
    """Create (or reuse) the throwaway CA and the server certificates."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    paths = cert_paths(layout)
    if _certs_reusable(paths):
        return paths
    layout.certs_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def new_key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write(kind: str, cert, key) -> None:
        key_path = paths[kind]["key"]
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
            )
        with open(paths[kind]["cert"], "wb") as fh:
            fh.write(cert.public_bytes(serialization.Encoding.PEM))

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "email_account test harness"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    ca_key = new_key()
    ca_name = name("email_account harness throwaway CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day)
        .not_valid_after(now + 3650 * day)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write("ca", ca_cert, ca_key)

    def leaf(kind: str, cn: str, sans: list, not_before, not_after, self_signed: bool = False) -> None:
        key = new_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(name(cn) if self_signed else ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        cert = builder.sign(key if self_signed else ca_key, hashes.SHA256())
        write(kind, cert, key)

    localhost_sans = [x509.DNSName(HOSTNAME), x509.IPAddress(ipaddress.ip_address(HOST))]
    leaf("good", HOSTNAME, localhost_sans, now - day, now + 825 * day)
    leaf("expired", HOSTNAME, localhost_sans, now - 60 * day, now - 30 * day)
    leaf("wronghost", WRONG_HOSTNAME, [x509.DNSName(WRONG_HOSTNAME)], now - day, now + 825 * day)
    leaf("selfsigned", HOSTNAME, localhost_sans, now - day, now + 825 * day, self_signed=True)
    return paths


# --------------------------------------------------------------------------- process bookkeeping


def _read_json(path: Path, default):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return default


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)


def _proc_info(pid: int) -> dict | None:
    base = f"/proc/{pid}"
    try:
        with open(f"{base}/stat", "rb") as fh:
            stat = fh.read().decode("utf-8", "replace")
        with open(f"{base}/cmdline", "rb") as fh:
            cmdline = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    info = {"pid": pid, "pgid": int(fields[2]), "cmdline": cmdline, "cwd": "", "root": ""}
    for link in ("cwd", "root"):
        with contextlib.suppress(OSError):
            info[link] = os.readlink(f"{base}/{link}")
    return info


def _parent_pid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("utf-8", "replace")
        return int(stat[stat.rfind(")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _all_procs() -> list[dict]:
    procs = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _proc_info(int(entry))
            if info:
                procs.append(info)
    return procs


def _within(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def harness_processes(layout: Layout) -> list[dict]:
    """Every live process started from this state dir, also after a crash.

    Matches the aiosmtpd process (``smtp-serve --state-dir DIR``) and Dovecot
    processes that are in a process group recorded in pids.json, or whose cwd
    or chroot lies in the state dir / mail roots (children keep the master's
    base_dir as cwd, login processes are chrooted into it), or whose command
    line names a file there (the masters' ``-c DIR/.../dovecot.conf``).
    """
    recorded = {entry["pgid"] for entry in _read_json(layout.pids_json, {}).get("processes", [])}
    roots = [str(layout.state_dir), str(postfix_root(layout))]
    roots += [str(mail_root_for(layout, n)) for n in DOVECOT_INSTANCES]
    ancestors = set()
    pid = os.getpid()
    while pid > 1 and pid not in ancestors:
        ancestors.add(pid)
        pid = _parent_pid(pid)
    found = []
    for info in _all_procs():
        if info["pid"] in ancestors:
            continue
        cmd = info["cmdline"]
        # Dovecot's processes, Postfix's master and the daemons it starts (argv[0] is a bare daemon name).
        is_server = bool(cmd) and (
            os.path.basename(cmd[0]) == "dovecot"
            or cmd[0].startswith(("dovecot", POSTFIX_DAEMON_DIR))
            or cmd[0] in POSTFIX_DAEMONS
        )
        is_ours = "smtp-serve" in cmd and str(layout.state_dir) in cmd
        if is_ours or (
            is_server
            and (
                info["pgid"] in recorded
                or _within(info["cwd"], roots)
                or _within(info["root"], roots)
                or any(_within(a, roots) for a in cmd)
            )
        ):
            found.append(info)
    return found


def stop(layout: Layout, timeout: float = 10.0) -> int:
    """Stop every process started from the state dir; returns how many were signalled."""
    procs = harness_processes(layout)
    if procs:
        log(f"stopping {len(procs)} harness process(es) from {layout.state_dir}")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for info in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(info["pid"], sig)
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline:
            procs = harness_processes(layout)
            if not procs:
                break
            time.sleep(0.1)
        if not procs:
            break
        if sig == signal.SIGTERM:
            log(f"{len(procs)} process(es) ignored SIGTERM, sending SIGKILL")
    if procs:
        raise HarnessError("could not stop: " + ", ".join(f"{p['pid']} {' '.join(p['cmdline'])}" for p in procs))
    with contextlib.suppress(FileNotFoundError):
        layout.pids_json.unlink()
    with contextlib.suppress(FileNotFoundError):
        layout.servers_json.unlink()
    return len(procs)


# --------------------------------------------------------------------------- start


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


def write_passwd_file(layout: Layout) -> None:
    lines = []
    for user in USERS.values():
        # user:password:uid:gid:gecos:home:shell:extra; uid/gid come from mail_uid/mail_gid
        lines.append(f"{user['login']}:{{PLAIN}}{user['password']}::::::\n")
    layout.passwd_file.write_text("".join(lines), encoding="utf-8")
    os.chmod(layout.passwd_file, 0o600)


def render_dovecot_conf(layout: Layout, name: str, certs: dict) -> Path:
    kind, mechanisms = DOVECOT_INSTANCES[name]
    inst = layout.instance_dir(name)
    dh = Path("/usr/share/dovecot/dh.pem")
    if not dh.exists():
        dh = layout.certs_dir / "ffdhe2048.pem"
        dh.write_text(FFDHE2048, encoding="ascii")
    values = {
        "INSTANCE": name,
        "BASE_DIR": str(inst / "run"),
        "DOVECOT_STATE_DIR": str(inst / "state"),
        "LOG": str(layout.dovecot_log(name)),
        "HOST": HOST,
        "HOSTNAME": HOSTNAME,
        "SSL_CERT": certs[kind]["cert"],
        "SSL_KEY": certs[kind]["key"],
        "SSL_DH": str(dh),
        "AUTH_MECHANISMS": mechanisms,
        "PASSWD_FILE": str(layout.passwd_file),
        "MAIL_ROOT": str(mail_root_for(layout, name)),
        "RELAY_PORT": str(layout.smtp_ports()["sink"]),
    }
    values.update({f"PORT_{p.upper()}": str(port) for p, port in layout.dovecot_ports(name).items()})
    conf = layout.dovecot_conf(name)
    conf.write_text(_render(DOVECOT_TEMPLATE, values), encoding="utf-8")
    return conf


def _render(template: Path, values: dict[str, str]) -> str:
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise HarnessError(f"unsubstituted placeholders in {template}: {sorted(set(leftover))}")
    return text


def _postfix_master_cf(layout: Layout) -> str:
    lines = []
    for name, port in layout.postfix_ports().items():
        lines.append(f"{HOST}:{port} inet n - n - - smtpd")
        lines.append(f"  -o syslog_name=postfix/{name}")
        lines.extend(f"  -o {key}={value}" for key, value in POSTFIX_SERVICES[name].items())
    for name, (kind, private, unprivileged, wakeup, limit, command) in POSTFIX_INTERNAL.items():
        # No chroot ("n"): the daemons read the harness's files where they are.
        lines.append(f"{name} {kind} {private} {unprivileged} n {wakeup} {limit} {command}")
    return "\n".join(lines) + "\n"


def prepare_postfix(layout: Layout, certs: dict) -> Path:
    """A fresh private Postfix instance (config, empty queue, data); returns its config directory."""
    import grp
    import pwd

    root = postfix_root(layout)
    shutil.rmtree(root, ignore_errors=True)  # every start begins with an empty queue
    conf, queue, data = root / "conf", root / "queue", root / "data"
    for path in (conf, queue, data):
        path.mkdir(parents=True)
    os.chmod(root, 0o755)
    if root.parent.name.startswith("email_account_harness_"):
        os.chmod(root.parent, 0o755)
    uid, gid = pwd.getpwnam("postfix").pw_uid, grp.getgrnam("postfix").gr_gid
    postdrop = grp.getgrnam("postdrop").gr_gid
    for name, group, mode in [(name, gid, 0o700) for name in POSTFIX_QUEUE_DIRS] + [
        ("public", postdrop, 0o710),
        ("maildrop", postdrop, 0o730),
    ]:
        (queue / name).mkdir()
        os.chown(queue / name, uid, group)
        os.chmod(queue / name, mode)
    (queue / "pid").mkdir()
    os.chown(data, uid, gid)
    log_file = layout.postfix_log
    values = {
        "QUEUE_DIR": str(queue),
        "DATA_DIR": str(data),
        "LOG": str(log_file),
        "ROOT": str(log_file.parent),
        "HOST": HOST,
        "HOSTNAME": HOSTNAME,
        "SINK_PORT": str(layout.smtp_ports()["sink"]),
        "SSL_CERT": certs["good"]["cert"],
        "SSL_KEY": certs["good"]["key"],
        "AUTH_PORT": str(layout.dovecot_ports("main")["auth"]),
        "SENDER_LOGINS": ", ".join(f"{email}={login}" for email, login in POSTFIX_SENDER_LOGINS.items()),
    }
    (conf / "main.cf").write_text(_render(POSTFIX_TEMPLATE, values), encoding="utf-8")
    (conf / "master.cf").write_text(_postfix_master_cf(layout), encoding="utf-8")
    return conf


def _prepare_mail_root(path: Path) -> None:
    import grp
    import pwd

    uid = pwd.getpwnam("nobody").pw_uid
    gid = grp.getgrnam("nogroup").gr_gid
    shutil.rmtree(path, ignore_errors=True)  # every start begins with empty mailboxes
    path.mkdir(parents=True, exist_ok=True)
    if path.parent.name.startswith("email_account_harness_"):
        os.chmod(path.parent, 0o755)
    os.chown(path, uid, gid)
    os.chmod(path, 0o750)


def _rotate(path: Path) -> None:
    """Each start begins with empty logs / sink; the previous one is kept as ``<name>.1``."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, path.with_name(path.name + ".1"))


def _record(layout: Layout, processes: list[dict]) -> None:
    _write_json(layout.pids_json, {"processes": processes})


def start(layout: Layout) -> Path:
    t0 = time.monotonic()
    dovecot = which("dovecot")
    which("doveadm")
    postfix_master = POSTFIX_DAEMON_DIR + "master"
    if not os.access(postfix_master, os.X_OK):
        raise HarnessError(f"{postfix_master} not found; install postfix (make deps)")
    stop(layout)
    layout.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.state_dir, 0o755)

    busy = [f"{label} ({port})" for label, port in layout.all_ports().items() if not _port_free(port)]
    if busy:
        raise HarnessError(
            f"ports already in use on {HOST}: {', '.join(busy)}; stop whatever holds them "
            "or choose another HARNESS_BASE_PORT"
        )

    certs = ensure_certs(layout)
    write_passwd_file(layout)
    processes: list[dict] = []
    try:
        # aiosmtpd first: the Dovecot submission services relay to the sink.
        smtp_cfg = {
            "host": HOST,
            "hostname": HOSTNAME,
            "ports": layout.smtp_ports(),
            "sink_file": str(layout.sink_file),
            "pop_log": str(layout.dovecot_log("main")),
            "pop_forget_file": str(layout.pop_forget_file),
            "pop_window": POP_BEFORE_SMTP_WINDOW,
            "users": USERS,
            "tls_cert": certs["good"]["cert"],
            "tls_key": certs["good"]["key"],
        }
        _write_json(layout.smtp_json, smtp_cfg)
        _rotate(layout.sink_file)
        with contextlib.suppress(FileNotFoundError):
            layout.pop_forget_file.unlink()
        layout.sink_file.touch()
        _rotate(layout.smtp_log)
        with open(layout.smtp_log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "smtp-serve", "--state-dir", str(layout.state_dir)],
                cwd=layout.state_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        processes.append({"name": "aiosmtpd", "pid": proc.pid, "pgid": proc.pid, "log": str(layout.smtp_log)})
        _record(layout, processes)

        for name in DOVECOT_INSTANCES:
            inst = layout.instance_dir(name)
            (inst / "state").mkdir(parents=True, exist_ok=True)
            _prepare_mail_root(mail_root_for(layout, name))
            conf = render_dovecot_conf(layout, name, certs)
            # A master killed earlier may linger as a zombie whose pid Dovecot would still see as alive.
            with contextlib.suppress(FileNotFoundError):
                (inst / "run" / "master.pid").unlink()
            _rotate(layout.dovecot_log(name))
            stderr_path = inst / "dovecot.stderr"
            with open(stderr_path, "ab") as out:
                proc = subprocess.Popen(
                    [dovecot, "-F", "-c", str(conf)],
                    cwd=inst,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            processes.append({"name": f"dovecot-{name}", "pid": proc.pid, "pgid": proc.pid, "log": str(stderr_path)})
            _record(layout, processes)

        postfix_conf = prepare_postfix(layout, certs)
        _rotate(layout.postfix_log)
        stderr_path = layout.state_dir / "postfix.stderr"
        with open(stderr_path, "ab") as out:
            proc = subprocess.Popen(
                [postfix_master, "-d", "-c", str(postfix_conf)],
                cwd=postfix_conf.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        processes.append({"name": "postfix", "pid": proc.pid, "pgid": proc.pid, "log": str(stderr_path)})
        _record(layout, processes)

        _wait_for_ports(layout, processes)
    except BaseException:
        with contextlib.suppress(Exception):
            stop(layout)
        raise

    servers = servers_description(layout, certs)
    servers["pids"] = {p["name"]: p["pid"] for p in processes}
    _write_json(layout.servers_json, servers)
    log(f"all servers up in {time.monotonic() - t0:.1f}s")
    return layout.servers_json


def _wait_for_ports(layout: Layout, processes: list[dict]) -> None:
    pending = dict(layout.all_ports())
    deadline = time.monotonic() + START_TIMEOUT
    while pending:
        for label, port in list(pending.items()):
            if _port_open(port):
                del pending[label]
        if not pending:
            return
        for p in processes:
            if _proc_info(p["pid"]) is None:
                raise HarnessError(f"{p['name']} (pid {p['pid']}) exited during start-up:\n{_tail(Path(p['log']))}"
                                   + _dovecot_log_tail(layout, p["name"]))
        if time.monotonic() > deadline:
            details = ", ".join(f"{label} ({port})" for label, port in pending.items())
            raise HarnessError(f"timed out after {START_TIMEOUT:.0f}s waiting for ports: {details}")
        time.sleep(0.1)


def _dovecot_log_tail(layout: Layout, process_name: str) -> str:
    if not process_name.startswith("dovecot-"):
        return ""
    return _tail(layout.dovecot_log(process_name[len("dovecot-") :]))


def servers_description(layout: Layout, certs: dict) -> dict:
    return {
        "ca_file": certs["ca"]["cert"],
        "state_dir": str(layout.state_dir),
        "host": HOST,
        "hostname": HOSTNAME,
        "wrong_hostname": WRONG_HOSTNAME,
        "users": USERS,
        "services": SERVICES,
        "dovecot": {
            name: {
                **layout.dovecot_ports(name),
                "log": str(layout.dovecot_log(name)),
                "mail_root": str(mail_root_for(layout, name)),
                "config": str(layout.dovecot_conf(name)),
                "cert": certs[DOVECOT_INSTANCES[name][0]]["cert"],
                "auth_mechanisms": DOVECOT_INSTANCES[name][1].upper().split(),
            }
            for name in DOVECOT_INSTANCES
        },
        "smtp": layout.smtp_ports(),
        # The private Postfix: its smtpd services by name (see POSTFIX_SERVICES), what each login may
        # send as, and its log. What it accepts lands in sink_file (server "sink").
        "postfix": {
            **layout.postfix_ports(),
            "sender_logins": POSTFIX_SENDER_LOGINS,
            "log": str(layout.postfix_log),
        },
        "sink_file": str(layout.sink_file),
        "smtp_log": str(layout.smtp_log),
        "pop_before_smtp_window": POP_BEFORE_SMTP_WINDOW,
        "pop_before_smtp_forget_file": str(layout.pop_forget_file),
        "certs": {kind: files["cert"] for kind, files in certs.items()},
        "doveadm": which("doveadm"),
        "harness": str(Path(__file__).resolve()),
    }


# --------------------------------------------------------------------------- deliver


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
    if not isinstance(servers, dict):
        servers = _read_json(Path(servers), None)
        if servers is None:
            raise HarnessError("servers.json not found: are the harness servers running?")
    conf = servers["dovecot"][instance]["config"]
    doveadm = servers.get("doveadm") or which("doveadm")
    result = subprocess.run(
        [doveadm, "-c", conf, "save", "-u", user, "-m", mailbox],
        input=message,
        capture_output=True,
        check=False,
    )
    if result.returncode:
        raise HarnessError(
            f"doveadm save for {user} into {mailbox} ({instance}) failed with {result.returncode}: "
            + result.stderr.decode("utf-8", "replace").strip()
        )


# --------------------------------------------------------------------------- aiosmtpd process


class PopLoginTracker:
    """Tails the main Dovecot log for successful POP3 logins, like pop-before-smtp daemons.

    ``forget_pop_logins()`` writes the log's current size into the forget file: logins
    logged before that offset no longer count (the log's timestamps have 1 s resolution,
    byte offsets do not).
    """

    LOGIN = re.compile(
        r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) pop3-login: Info: Login: user=<(?P<user>[^>]*)>"
        r".*?\brip=(?P<rip>[0-9A-Fa-f.:]+)"
    )

    def __init__(self, path: str, window: int, forget_file: str | None = None):
        self.path = path
        self.window = window
        self.forget_file = forget_file
        self.offset = 0
        self.inode = None
        self.partial = b""
        self.last_login: dict[str, tuple[float, int]] = {}  # ip -> (log time, end offset of the line)

    def refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        if st.st_ino != self.inode or st.st_size < self.offset:  # new or rotated/truncated log
            self.inode, self.offset, self.partial, self.last_login = st.st_ino, 0, b"", {}
        if st.st_size == self.offset:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        line_end = self.offset - len(self.partial)
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            line_end += len(raw) + 1
            m = self.LOGIN.match(raw.decode("utf-8", "replace"))
            if m:
                when = time.mktime(time.strptime(m["ts"], "%Y-%m-%d %H:%M:%S"))
                self.last_login[m["rip"]] = (when, line_end)

    def _forgotten_before(self) -> int:
        if not self.forget_file:
            return 0
        try:
            with open(self.forget_file, encoding="ascii") as fh:
                return int(fh.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def allowed(self, ip: str) -> bool:
        self.refresh()
        login = self.last_login.get(ip)
        if login is None:
            return False
        when, end = login
        return end > self._forgotten_before() and time.time() - when <= self.window


def forget_pop_logins(servers: dict | str | os.PathLike) -> None:
    """Make the popbeforesmtp server forget every POP3 login seen so far (any client IP)."""
    if not isinstance(servers, dict):
        servers = _read_json(Path(servers), None)
        if servers is None:
            raise HarnessError("servers.json not found: are the harness servers running?")
    try:
        size = os.path.getsize(servers["dovecot"]["main"]["log"])
    except FileNotFoundError:
        size = 0
    forget_file = Path(servers["pop_before_smtp_forget_file"])
    tmp = forget_file.with_name(forget_file.name + ".tmp")
    tmp.write_text(f"{size}\n", encoding="ascii")
    os.replace(tmp, forget_file)


def smtp_serve(layout: Layout) -> None:
    import logging
    import ssl
    import warnings

    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

    cfg = _read_json(layout.smtp_json, None)
    if cfg is None:
        raise HarnessError(f"{layout.smtp_json} missing")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logger = logging.getLogger("harness.smtp")
    sink_file = cfg["sink_file"]
    tracker = PopLoginTracker(cfg["pop_log"], cfg["pop_window"], cfg.get("pop_forget_file"))

    def record(server_name: str, session, envelope) -> None:
        entry = {
            "server": server_name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": list(session.peer) if isinstance(session.peer, tuple) else session.peer,
            "helo": session.host_name,
            "auth_login": (
                session.auth_data.login.decode("utf-8", "replace")
                if isinstance(session.auth_data, LoginPassword)
                else None
            ),
            "data": envelope.original_content.decode("utf-8", "surrogateescape"),
            "received_at": time.time(),
        }
        with open(sink_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=True) + "\n")
        logger.info("%s: stored message from %s to %s", server_name, envelope.mail_from, envelope.rcpt_tos)

    class Handler:
        def __init__(self, name: str):
            self.name = name

        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            if address.rpartition("@")[2].lower() == "rejected.test":
                return f"550 5.1.0 <{address}>: Sender address rejected: Domain not found"
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 2.1.0 Ok"

        async def handle_DATA(self, server, session, envelope):
            record(self.name, session, envelope)
            return "250 2.0.0 Ok: queued"

    class PopBeforeSmtpHandler(Handler):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            ip = session.peer[0]
            # The login line may reach the log a moment after the client saw +OK.
            for _ in range(6):
                if tracker.allowed(ip):
                    envelope.rcpt_tos.append(address)
                    envelope.rcpt_options.extend(rcpt_options)
                    return "250 2.1.5 Ok"
                await asyncio.sleep(0.1)
            return f"554 5.7.1 <{address}>: Relay access denied"

    users = {u["login"]: u["password"] for u in cfg["users"].values()}

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login in users and users[login] == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        host, ports = cfg["host"], cfg["ports"]
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cfg["tls_cert"], cfg["tls_key"])
        servers = [
            await loop.create_server(
                lambda: SMTP(Handler("sink"), hostname=cfg["hostname"], enable_SMTPUTF8=True), host, ports["sink"]
            ),
            await loop.create_server(
                lambda: SMTP(PopBeforeSmtpHandler("popbeforesmtp"), hostname=cfg["hostname"], enable_SMTPUTF8=True),
                host,
                ports["popbeforesmtp"],
            ),
            await loop.create_server(
                lambda: SMTP(
                    Handler("smtps_aiosmtpd"),
                    hostname=cfg["hostname"],
                    enable_SMTPUTF8=True,
                    authenticator=authenticator,
                    auth_required=True,
                    auth_require_tls=False,  # implicit TLS: aiosmtpd only knows about STARTTLS
                ),
                host,
                ports["smtps_aiosmtpd"],
                ssl=tls,
            ),
        ]
        stop_event = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_event.set)
        logger.info("listening on %s: %s", host, ports)
        await stop_event.wait()
        for srv in servers:
            srv.close()
        logger.info("stopped")

    asyncio.run(main())


# --------------------------------------------------------------------------- CLI


def status(layout: Layout) -> int:
    procs = harness_processes(layout)
    for info in procs:
        sys.stdout.write(f"{info['pid']:>7} {' '.join(info['cmdline'])}\n")
    ports = layout.all_ports()
    closed = [f"{label} ({port})" for label, port in ports.items() if not _port_open(port)]
    sys.stdout.write(f"{len(procs)} process(es); {len(ports) - len(closed)}/{len(ports)} ports open\n")
    if closed:
        sys.stdout.write("closed: " + ", ".join(closed) + "\n")
    return 0 if procs and not closed else 1


def run_foreground(layout: Layout) -> int:
    path = start(layout)
    sys.stdout.write(f"{path}\n")
    sys.stdout.write(f"export EMAIL_ACCOUNT_TEST_SERVERS={path}\n")
    sys.stdout.flush()
    log("servers running; press Ctrl-C to stop")

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    finally:
        stop(layout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--state-dir", default=os.environ.get("HARNESS_STATE_DIR", str(DEFAULT_STATE_DIR)))
        return p

    for name, help_text in (("start", "start in the background"), ("run", "start in the foreground")):
        add(name, help_text).add_argument("--base-port", type=int, default=None)
    add("stop", "stop everything started from the state dir")
    add("status", "list the harness processes and ports")
    add("smtp-serve", "internal: the aiosmtpd process")
    add("forget-pop-logins", "make popbeforesmtp forget the POP3 logins seen so far")
    p = add("deliver", "store a message in a mailbox with doveadm save")
    p.add_argument("--instance", default="main", choices=list(DOVECOT_INSTANCES))
    p.add_argument("--user", required=True, help="login name, e.g. alice@example.test or bob")
    p.add_argument("--mailbox", default="INBOX")
    p.add_argument("files", nargs="+", help="RFC 5322 message files, '-' for stdin")
    args = parser.parse_args(argv)

    layout = Layout(args.state_dir, getattr(args, "base_port", None))
    try:
        if args.command == "start":
            sys.stdout.write(f"{start(layout)}\n")
        elif args.command == "run":
            return run_foreground(layout)
        elif args.command == "stop":
            stop(layout)
        elif args.command == "status":
            return status(layout)
        elif args.command == "forget-pop-logins":
            forget_pop_logins(layout.servers_json)
        elif args.command == "smtp-serve":
            smtp_serve(layout)
        elif args.command == "deliver":
            for name in args.files:
                data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
                deliver(layout.servers_json, args.user, data, args.instance, args.mailbox)
    except HarnessError as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
