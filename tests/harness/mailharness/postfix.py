"""The private Postfix 3.7 (its own config, queue and data directories, never the system one on port 25):
a second SMTP implementation with a real submission server's policy, see ``POSTFIX_SERVICES``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .layout import HARNESS_DIR, HOST, HOSTNAME, POSTFIX_SERVICES, USERS, Layout, postfix_root, render_template

POSTFIX_SENDER_LOGINS = {user["email"]: user["login"] for user in USERS.values()}
POSTFIX_TEMPLATE = HARNESS_DIR / "postfix-main.cf.tmpl"
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


def master_cf(layout: Layout) -> str:
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
    (conf / "main.cf").write_text(render_template(POSTFIX_TEMPLATE, values), encoding="utf-8")
    (conf / "master.cf").write_text(master_cf(layout), encoding="utf-8")
    return conf


def is_postfix_process(argv0: str) -> bool:
    """Postfix's master and the daemons it starts (their argv[0] is a bare daemon name)."""
    return argv0.startswith(POSTFIX_DAEMON_DIR) or argv0 in POSTFIX_DAEMONS
