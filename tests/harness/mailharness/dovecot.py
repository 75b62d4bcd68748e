"""The Dovecot 2.3 instances: one config per instance from ``dovecot.conf.tmpl``, its users and mail root."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from .layout import (
    DOVECOT_INSTANCES,
    HARNESS_DIR,
    HOST,
    HOSTNAME,
    USERS,
    Layout,
    mail_root_for,
    render_template,
)

DOVECOT_TEMPLATE = HARNESS_DIR / "dovecot.conf.tmpl"

FFDHE2048 = """-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""


def write_passwd_file(layout: Layout) -> None:
    """The users' passwd-file, shared by every instance."""
    lines = []
    for user in USERS.values():
        # user:password:uid:gid:gecos:home:shell:extra; uid/gid come from mail_uid/mail_gid
        lines.append(f"{user['login']}:{{PLAIN}}{user['password']}::::::\n")
    layout.passwd_file.write_text("".join(lines), encoding="utf-8")
    os.chmod(layout.passwd_file, 0o600)


# The "oauth" instance checks access tokens (XOAUTH2, OAUTHBEARER) by the OAuth 2 server's introspection;
# a refused token ends the login there, so a password sent as a token never reaches the passwd-file.
OAUTH_PASSDB = """passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = @CONF@
  result_failure = return-fail
  result_internalfail = return-fail
}
"""


def oauth_introspection_url(layout: Layout) -> str:
    return f"https://{HOSTNAME}:{layout.oauth_port()}/oauth2/introspect"


def write_oauth2_conf(layout: Layout, name: str, certs: dict) -> Path:
    """dovecot-oauth2.conf.ext: tokens are checked by POSTing them to the introspection URL; a token is
    valid while ``active`` is true, for the login named by ``username``, with the ``mail`` scope."""
    path = layout.instance_dir(name) / "dovecot-oauth2.conf.ext"
    path.write_text(
        f"introspection_url = {oauth_introspection_url(layout)}\n"
        "introspection_mode = post\n"
        "force_introspection = yes\n"
        f"tls_ca_cert_file = {certs['ca']['cert']}\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
        "scope = mail\n"
        "timeout_msecs = 5000\n",
        encoding="utf-8",
    )
    return path


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
        "OAUTH_PASSDB": "",
    }
    if "xoauth2" in mechanisms.split():
        values["OAUTH_PASSDB"] = OAUTH_PASSDB.replace("@CONF@", str(write_oauth2_conf(layout, name, certs)))
    values.update({f"PORT_{p.upper()}": str(port) for p, port in layout.dovecot_ports(name).items()})
    conf = layout.dovecot_conf(name)
    conf.write_text(render_template(DOVECOT_TEMPLATE, values), encoding="utf-8")
    return conf


def prepare_mail_root(path: Path) -> None:
    """An empty mail root owned by ``nobody`` (Dovecot refuses uid 0 for mail)."""
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


def prepare_instance(layout: Layout, name: str, certs: dict) -> Path:
    """Instance ``name`` ready to start with empty mailboxes; returns its config file."""
    inst = layout.instance_dir(name)
    (inst / "state").mkdir(parents=True, exist_ok=True)
    prepare_mail_root(mail_root_for(layout, name))
    conf = render_dovecot_conf(layout, name, certs)
    # A master killed earlier may linger as a zombie whose pid Dovecot would still see as alive.
    with contextlib.suppress(FileNotFoundError):
        (inst / "run" / "master.pid").unlink()
    return conf


def is_dovecot_process(argv0: str) -> bool:
    """Dovecot's master and the processes it starts (``dovecot/imap-login`` ...)."""
    return os.path.basename(argv0) == "dovecot" or argv0.startswith("dovecot")
