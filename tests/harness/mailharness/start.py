"""``start``: everything up on loopback from a clean state, then servers.json describes it."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from . import client
from .certs import ensure_certs
from .client import HarnessError
from .dovecot import oauth_introspection_url, prepare_instance, write_passwd_file
from .layout import (
    DOVECOT_INSTANCES,
    HARNESS_DIR,
    HOST,
    HOSTNAME,
    OAUTH_USER,
    POP_BEFORE_SMTP_WINDOW,
    SERVICES,
    USERS,
    WRONG_HOSTNAME,
    Layout,
    mail_root_for,
)
from .oauthserver import CLIENT_ID, CLIENT_SECRET, MAIL_SCOPE
from .postfix import POSTFIX_DAEMON_DIR, POSTFIX_SENDER_LOGINS, prepare_postfix
from .processes import log, port_free, rotate, spawn, stop, wait_for_ports, which, write_json
from .smtpservers import write_smtp_config

CLI_SCRIPT = HARNESS_DIR / "mailservers.py"


def start(layout: Layout) -> Path:
    """Stop what an earlier start left, start every server afresh, wait for all ports; returns servers.json."""
    t0 = time.monotonic()
    dovecot = which("dovecot")
    which("doveadm")
    postfix_master = POSTFIX_DAEMON_DIR + "master"
    if not os.access(postfix_master, os.X_OK):
        raise HarnessError(f"{postfix_master} not found; install postfix (make deps)")
    stop(layout)
    layout.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.state_dir, 0o755)

    busy = [f"{label} ({port})" for label, port in layout.all_ports().items() if not port_free(port)]
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
        write_smtp_config(layout, certs)
        rotate(layout.sink_file)
        with contextlib.suppress(FileNotFoundError):
            layout.pop_forget_file.unlink()
        layout.sink_file.touch()
        rotate(layout.smtp_log)
        command = [sys.executable, str(CLI_SCRIPT), "smtp-serve", "--state-dir", str(layout.state_dir)]
        spawn(layout, processes, "aiosmtpd", command, layout.state_dir, layout.smtp_log)

        # The OAuth 2 server before Dovecot: the "oauth" instance asks it about every token.
        rotate(layout.oauth_log)
        # Its ports come from the base port, which "start --base-port" may have set rather than the environment.
        command = [sys.executable, str(CLI_SCRIPT), "oauth-serve", "--state-dir", str(layout.state_dir)]
        command += ["--base-port", str(layout.base_port)]
        spawn(layout, processes, "oauth", command, layout.state_dir, layout.oauth_log)

        for name in DOVECOT_INSTANCES:
            conf = prepare_instance(layout, name, certs)
            rotate(layout.dovecot_log(name))
            inst = layout.instance_dir(name)
            spawn(layout, processes, f"dovecot-{name}", [dovecot, "-F", "-c", str(conf)], inst, inst / "dovecot.stderr")

        postfix_conf = prepare_postfix(layout, certs)
        rotate(layout.postfix_log)
        command = [postfix_master, "-d", "-c", str(postfix_conf)]
        spawn(layout, processes, "postfix", command, postfix_conf.parent, layout.state_dir / "postfix.stderr")

        wait_for_ports(layout, processes)
    except BaseException:
        with contextlib.suppress(Exception):
            stop(layout)
        raise

    servers = servers_description(layout, certs)
    servers["pids"] = {p["name"]: p["pid"] for p in processes}
    write_json(layout.servers_json, servers)
    log(f"all servers up in {time.monotonic() - t0:.1f}s")
    return layout.servers_json


def servers_description(layout: Layout, certs: dict) -> dict:
    """servers.json: what the tests read to find the servers, users, certificates and logs."""
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
        # The OAuth 2 server (oauthserver.py) and the Dovecot instance that takes its tokens.
        "oauth": oauth_description(layout),
        "sink_file": str(layout.sink_file),
        "smtp_log": str(layout.smtp_log),
        "pop_before_smtp_window": POP_BEFORE_SMTP_WINDOW,
        "pop_before_smtp_forget_file": str(layout.pop_forget_file),
        "certs": {kind: files["cert"] for kind, files in certs.items()},
        "doveadm": which("doveadm"),
        # Loaded by path by the tests of both tiers (standard library only): deliver, forget_pop_logins.
        "harness": str(Path(client.__file__).resolve()),
    }


def oauth_description(layout: Layout) -> dict:
    """servers.json "oauth": where the OAuth 2 server answers (Microsoft's and Google's paths), its client,
    the user it signs in, and the Dovecot instance ("oauth") that takes its tokens."""
    url = f"https://{HOSTNAME}:{layout.oauth_port()}"
    http_url = f"http://{HOSTNAME}:{layout.oauth_http_port()}"
    return {
        "url": url,
        "microsoft_endpoint": f"{url}/common/oauth2/v2.0/",
        # The same server and grants over plain HTTP, for a browser that does not trust the harness CA.
        "http_url": http_url,
        "microsoft_endpoint_http": f"{http_url}/common/oauth2/v2.0/",
        "google_auth_url": f"{url}/o/oauth2/v2/auth",
        "google_token_url": f"{url}/token",
        "introspection_url": oauth_introspection_url(layout),
        "revoke_url": f"{url}/revoke",
        "settings_url": f"{url}/harness/settings",
        "expire_url": f"{url}/harness/expire",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": MAIL_SCOPE,
        "user": OAUTH_USER,
        "login": USERS[OAUTH_USER]["login"],
        "instance": "oauth",
        "log": str(layout.oauth_log),
    }
