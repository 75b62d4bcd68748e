"""Retake the README's screenshots: a fresh demo database, headless Chromium, the wizard walked as a user.

Why a script: the screenshots must show what the code does today, in English, French and Arabic (right
to left); taking them by hand drifts. It starts ``tests/harness/run_demo.sh`` on ports of its own
(a database it drops first, so nothing of an earlier run shows), drives Chromium over the DevTools
protocol with the same selectors a user's clicks hit, writes PNGs into ``docs/screenshots/`` and
stops everything it started.

    .venv/bin/python tools/screenshots.py [--only NAME ...] [--out DIR]
"""

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

import websocket

# pylint: disable=print-used  # a command-line tool: its output is the point

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("SHOTS_DB", "email_account_screenshots")
HTTP_PORT = int(os.environ.get("SHOTS_HTTP_PORT", "8169"))
BASE_PORT = int(os.environ.get("SHOTS_BASE_PORT", "24500"))
STATE_DIR = ROOT / ".run" / "screenshots"
URL = f"http://localhost:{HTTP_PORT}"
WIDTH, HEIGHT = 1280, 860
WAIT_SECONDS = 60


class Browser:
    """One headless Chromium page, spoken to over the DevTools protocol."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="shots-chromium-")
        self.process = subprocess.Popen(
            [
                shutil.which("chromium") or "chromium",
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={WIDTH},{HEIGHT}",
                "--force-device-scale-factor=1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + WAIT_SECONDS
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(p for p in pages if p["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=WAIT_SECONDS)
        self.next_id = 0
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def goto(self, url):
        self.call("Page.navigate", url=url)
        time.sleep(1)
        self.wait("body")

    def find(self, selector, text=None):
        """JavaScript for the first visible element matching ``selector`` (and containing ``text``)."""
        return (
            f"[...document.querySelectorAll({json.dumps(selector)})].find((el) => el.getClientRects().length > 0"
            f" && el.textContent.includes({json.dumps(text or '')}))"
        )

    def wait(self, selector, text=None):
        deadline = time.monotonic() + WAIT_SECONDS
        while not self.evaluate(f"!!{self.find(selector, text)}"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"never appeared: {selector} {text or ''}")
            time.sleep(0.2)

    def wait_gone(self, selector):
        deadline = time.monotonic() + WAIT_SECONDS
        while self.evaluate(f"!!document.querySelector({json.dumps(selector)})"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"never went away: {selector}")
            time.sleep(0.2)

    def click(self, selector, text=None):
        self.wait(selector, text)
        self.evaluate(f"{self.find(selector, text)}.click()")
        time.sleep(0.6)

    def fill(self, selector, value):
        self.wait(selector)
        self.evaluate(
            f"""(() => {{ const el = document.querySelector({json.dumps(selector)}); el.focus();
            el.value = {json.dumps(str(value))};
            el.dispatchEvent(new Event('input', {{bubbles: true}}));
            el.dispatchEvent(new Event('change', {{bubbles: true}})); el.blur(); }})()"""
        )
        time.sleep(0.3)

    def shot(self, path):
        time.sleep(0.8)  # animations (dialog fade-in, status bar) settle
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"  {path}")

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


class Odoo:
    """The demo Odoo over XML-RPC, for what a screenshot needs set up but does not show."""

    def __init__(self):
        common = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common")
        self.uid = common.authenticate(DB, "admin", "admin", {})
        self.models = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)

    def call(self, model, method, *args, **kwargs):
        return self.models.execute_kw(DB, self.uid, "admin", model, method, list(args), kwargs)

    def set_language(self, code):
        if not self.call("res.lang", "search", [("code", "=", code)]):
            lang_ids = self.call("res.lang", "search", [("code", "=", code), ("active", "=", False)])
            wizard = self.call("base.language.install", "create", {"lang_ids": [(6, 0, lang_ids)]})
            self.call("base.language.install", "lang_install", [wizard])
        self.call("res.users", "write", [self.uid], {"lang": code})

    def set_parameter(self, key, value):
        self.call("ir.config_parameter", "set_param", key, value)

    def get_parameter(self, key):
        return self.call("ir.config_parameter", "get_param", key)


def field(name):
    return f".modal .o_field_widget[name={name}] input"


def start_demo():
    # The demo's own PostgreSQL start, then a database of our own dropped: every run starts from nothing.
    script = f'say() {{ echo "$*"; }}; source "{ROOT}/tests/harness/odoo_env.sh" && ensure_postgres'
    subprocess.run(
        ["bash", "-c", f'{script} && dropdb --if-exists "{DB}"'],
        check=True,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )
    env = {
        **os.environ,
        "DEMO_DB": DB,
        "DEMO_HTTP_PORT": str(HTTP_PORT),
        "DEMO_BASE_PORT": str(BASE_PORT),
        "DEMO_STATE_DIR": str(STATE_DIR),
    }
    log = open(ROOT / ".run" / "screenshots.log", "w")
    demo = subprocess.Popen(
        [str(ROOT / "tests/harness/run_demo.sh")], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 600
    while True:
        try:
            urllib.request.urlopen(f"{URL}/web/login", timeout=5)
            return demo
        except OSError as error:
            if demo.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the demo did not start: see {log.name}") from error
            time.sleep(1)


def servers():
    return json.loads((STATE_DIR / "servers.json").read_text())


def login(browser):
    browser.goto(f"{URL}/web/login?db={DB}")
    browser.fill("input[name=login]", "admin")
    browser.fill("input[name=password]", "admin")
    browser.click("button[type=submit]")
    browser.wait(".o_main_navbar")


def use_language(browser, odoo, code):
    """The user's language, and a new session: the browser's session keeps the language it logged in with
    (its text direction too), so only a fresh login shows Arabic right to left."""
    odoo.set_language(code)
    browser.goto(f"{URL}/web/session/logout")
    login(browser)


def open_accounts(browser):
    browser.goto(f"{URL}/odoo/action-email_account.email_account_action")
    browser.wait(".o_list_view, .o_kanban_view")


def manual_wizard(browser, shots, user, instance, names):
    """The manual path up to the check; ``names`` maps each step to its screenshot (or None)."""
    s = servers()
    ports = s["dovecot"][instance]
    open_accounts(browser)
    browser.click(".o_control_panel button.btn-primary")
    browser.fill(field("email"), user["email"])
    browser.fill(field("password_input"), user["password"])
    browser.click(f"{field('manual')}")
    take(browser, shots, names.get("account"))
    browser.click(".modal button[name=action_next]")
    browser.fill(field("smtp_host"), "localhost")
    browser.click('.modal .o_field_widget[name=smtp_security] input[data-value="starttls"]')
    browser.fill(field("smtp_port"), ports["submission"])
    if user.get("login") and user["login"] != user["email"]:
        browser.fill(field("login"), user["login"])
    take(browser, shots, names.get("outgoing"))
    browser.click(".modal button[name=action_next]")
    browser.fill(field("incoming_host"), "localhost")
    browser.fill(field("incoming_port"), ports["imaps"])
    take(browser, shots, names.get("incoming"))
    browser.click(".modal button[name=action_next]")
    browser.wait(field("name"))
    take(browser, shots, names.get("description"))
    browser.click(".modal button[name=action_next]")
    # The last step before the check, how Odoo uses the mailbox, keeps its defaults.
    browser.wait(".modal [name=mail_use], .modal .alert-success, .modal .alert-danger")
    if browser.evaluate("!!document.querySelector('.modal [name=mail_use]')"):
        take(browser, shots, names.get("usage"))
        browser.click(".modal button[name=action_next]")
    browser.wait(".modal .alert-success, .modal .alert-danger")


def take(browser, shots, name):
    if name and (not shots.only or name in shots.only):
        browser.shot(shots.out / f"{name}.png")


def run(shots):
    browser = Browser()
    odoo = Odoo()
    try:
        s = servers()
        login(browser)
        odoo.set_language("en_US")
        manual_wizard(
            browser,
            shots,
            s["users"]["alice"] if "users" in s else {"email": "alice@example.test", "password": "Pässwörd-✓-1"},
            "main",
            {
                "account": "01-account",
                "outgoing": "02-outgoing-server",
                "incoming": "03-incoming-server",
                "description": "04-description",
                "usage": "05-mail-use",
            },
        )
        browser.wait(".modal .alert-success")
        take(browser, shots, "06-check-success")
        browser.click(".modal button[name=action_open_account]")
        browser.wait(".o_form_view .o_field_widget[name=state]")
        take(browser, shots, "09-email-account-form")

        # A server whose certificate no authority signed: the failed check, then one click to trust it.
        ca = odoo.get_parameter("email_account.ca_file")
        odoo.set_parameter("email_account.ca_file", "")
        manual_wizard(browser, shots, s["users"]["bob"], "selfsigned", {})
        browser.wait(".modal .alert-danger")
        take(browser, shots, "07-check-certificate-untrusted")
        browser.click(".modal button[name=action_trust_outgoing_certificate]")
        browser.wait_gone(".modal button[name=action_trust_outgoing_certificate]")
        browser.click(".modal button[name=action_trust_incoming_certificate]")
        browser.wait(".modal .alert-success")
        take(browser, shots, "08-check-certificate-trusted")
        odoo.set_parameter("email_account.ca_file", ca)
        browser.click(".modal button[name=action_open_account]")
        open_accounts(browser)
        take(browser, shots, "00-email-accounts")

        # An Outlook.com address: the sign-in is the main path (the app registered in Settings).
        odoo.set_parameter("microsoft_outlook_client_id", "registered-in-settings")
        odoo.set_parameter("microsoft_outlook_client_secret", "registered-in-settings")
        browser.click(".o_control_panel button.btn-primary")
        browser.fill(field("email"), "someone@outlook.com")
        browser.wait(".modal button[name=action_oauth_sign_in]")
        take(browser, shots, "10-sign-in-microsoft")
        browser.click(".modal-footer button", "Cancel")

        use_language(browser, odoo, "fr_FR")
        open_accounts(browser)
        browser.click(".o_control_panel button.btn-primary")
        browser.wait(field("email"))
        take(browser, shots, "i18n-fr-account")

        use_language(browser, odoo, "ar_001")
        manual_wizard(browser, shots, {"email": "carol@example.test", "password": "wrong"}, "main", {})
        browser.wait(".modal .alert-danger")
        take(browser, shots, "i18n-ar-check-failed")
    except Exception:
        browser.shot(ROOT / ".run" / "screenshots-failure.png")  # what the page showed when it went wrong
        raise
    finally:
        odoo.set_language("en_US")
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", nargs="*", help="screenshot names to write (default: all)")
    shots = parser.parse_args()
    shots.out.mkdir(parents=True, exist_ok=True)
    demo = start_demo()
    try:
        run(shots)
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
