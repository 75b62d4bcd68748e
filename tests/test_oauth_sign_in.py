"""Sign in with Microsoft / Google from the setup wizard, for real and offline: the harness's OAuth 2
server stands behind Microsoft's endpoint (``microsoft_outlook.endpoint``) and Google's URLs (stock's
literal URLs, rewritten in these tests only), its Dovecot instance "oauth" takes the tokens.

The browser's part (the provider's redirect back to Odoo) is played with HTTP requests: the code and
state go through stock's redirect URI into the wizard, as they would from a browser.
"""

import base64
import hashlib
import json
import socket
import subprocess
import time
import urllib.parse
import uuid
from datetime import timedelta
from unittest.mock import patch

import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from odoo import fields, modules
from odoo.exceptions import AccessError
from odoo.tests import Form, HttpCase, common, tagged
from odoo.tools import mute_logger

from .common import EmailAccountCase, MailServersMixin, TourMixin, manager_of, tour_code
from .core.dnsserver import DnsServer
from .test_mail_fetching import load_harness

GOOGLE_AUTH = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"


class OAuthCase(MailServersMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.harness = load_harness(cls.servers)
        cls.oauth = cls.servers["oauth"]
        param = cls.env["ir.config_parameter"].set_param
        for prefix in ("microsoft_outlook", "google_gmail"):
            param(f"{prefix}_client_id", cls.oauth["client_id"])
            param(f"{prefix}_client_secret", cls.oauth["client_secret"])
        param("microsoft_outlook.endpoint", cls.oauth["microsoft_endpoint"])
        real_post = requests.post

        def post(url, *args, **kwargs):
            """Stock's token requests: Google's URL moved to the harness, which the harness CA signs."""
            if url == GOOGLE_TOKEN:
                url = cls.oauth["google_token_url"]
            return real_post(url, *args, verify=cls.servers["ca_file"], **kwargs)

        cls.enterClassContext(patch.object(requests, "post", post))
        cls.admin = cls.env.ref("base.user_admin")
        cls.outsider = manager_of(cls.env, "oauth_outsider", cls.env["res.company"].create({"name": "Elsewhere Ltd"}))

    def setUp(self):
        super().setUp()
        self.harness.oauth_settings(self.servers)  # consent given, alice signed in
        self.addCleanup(self.harness.oauth_settings, self.servers)
        self.authenticate("admin", "admin")

    def wizard(self, provider="microsoft", user=None, **values):
        """A wizard on the manual path, at the harness's OAuth-enabled Dovecot, as the admin would fill it."""
        return (
            self.env["email.account.setup"]
            .with_user(user or self.admin)
            .create(
                {
                    "email": self.alice["email"],
                    "manual": True,
                    "sign_in_provider": provider,
                    "smtp_host": self.hostname,
                    "smtp_port": self.port("submission", "oauth"),
                    "incoming_host": self.hostname,
                    "incoming_port": self.port("imaps", "oauth"),
                    **values,
                }
            )
        )

    def authorize(self, wizard):
        """Press Sign in and let the provider's page answer: where it sends the browser back."""
        action = wizard.action_oauth_sign_in()
        self.assertEqual(action["type"], "ir.actions.act_url")
        url = action["url"].replace(GOOGLE_AUTH, self.oauth["google_auth_url"])
        answer = requests.get(url, allow_redirects=False, verify=self.servers["ca_file"], timeout=10)
        self.assertEqual(answer.status_code, 302, answer.text)
        return answer.headers["Location"]

    def come_back(self, location, status=303):
        """The browser following the provider's redirect to Odoo; where Odoo sends it then."""
        response = self.url_open(location, allow_redirects=False)
        self.assertEqual(response.status_code, status, response.text[:500])
        return response.headers.get("Location", "")

    def sign_in(self, wizard):
        landing = self.come_back(self.authorize(wizard))
        self.assertIn(f"/odoo/{wizard.id}/action-email_account.email_account_setup_action_resume", landing)
        wizard.invalidate_recordset()
        return wizard

    def finish(self, wizard):
        """The manual steps after the sign-in, then the check."""
        self.assertEqual(wizard.state, "outgoing", wizard.oauth_message)
        while wizard.state != "check":
            wizard.action_next()
        return wizard

    @staticmethod
    def query(location):
        return {key: values[-1] for key, values in urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).items()}

    def assert_nothing_saved(self, wizard, sentence):
        wizard.invalidate_recordset()
        self.assertEqual(wizard.state, "account")
        self.assertIn(sentence, wizard.oauth_message or "")
        self.assertFalse(wizard.sudo().microsoft_outlook_refresh_token or wizard.sudo().google_gmail_refresh_token)
        self.assertFalse(self.env["email.account"].search([("email", "=", self.alice["email"])]))


@tagged("post_install", "-at_install", "email_account_servers")
class TestOAuthSignIn(OAuthCase):
    def assert_signed_in_account(self, wizard, provider, stock):
        self.assertTrue(wizard.check_ok, wizard.outgoing_check_report or wizard.incoming_check_report)
        account = wizard.account_id
        self.assertEqual(account.oauth_provider, provider)
        self.assertFalse(account.sudo().password, "a signed-in account stores no password")
        self.assertEqual(account.mail_server_id.smtp_authentication, stock)
        self.assertEqual(account.fetchmail_server_id.server_type, stock)
        prefix = {"outlook": "microsoft_outlook", "gmail": "google_gmail"}[stock]
        for server in (account.mail_server_id, account.fetchmail_server_id):
            self.assertTrue(server.sudo()[f"{prefix}_refresh_token"], "stock code renews from the linked servers")
        self.assertFalse(wizard.sudo()[f"{prefix}_refresh_token"], "the wizard holds the tokens no longer")
        self.assertIn("Signed in with", account.oauth_status)
        return account

    def test_microsoft_round_trip(self):
        wizard = self.finish(self.sign_in(self.wizard("microsoft")))
        self.assert_signed_in_account(wizard, "microsoft", "outlook")

    def test_google_round_trip(self):
        wizard = self.finish(self.sign_in(self.wizard("google")))
        self.assert_signed_in_account(wizard, "google", "gmail")

    def test_authorization_url_is_stock(self):
        """Stock's endpoint parameter, redirect URI and scopes; the state is stock's model/id/CSRF triple."""
        location = self.authorize(self.wizard("microsoft"))
        self.assertTrue(location.startswith(f"{self.base_url()}/microsoft_outlook/confirm?"), location)
        state = json.loads(self.query(location)["state"])
        self.assertEqual(state["model"], "email.account.setup")

    def test_consent_denied(self):
        self.harness.oauth_settings(self.servers, consent="deny")
        wizard = self.wizard()
        self.come_back(self.authorize(wizard))
        self.assert_nothing_saved(wizard, "did not let Odoo use the mailbox")

    def test_state_mismatch(self):
        wizard = self.wizard()
        location = self.authorize(wizard)
        query = self.query(location)
        state = json.loads(query["state"])
        query["state"] = json.dumps({**state, "csrf_token": "0" * 64})
        self.come_back(location.split("?")[0] + "?" + urllib.parse.urlencode(query))
        self.assert_nothing_saved(wizard, "does not belong to this sign-in")

    def test_expired_code(self):
        """A code the provider no longer takes (expired, or used already: the same answer, invalid_grant)."""
        wizard = self.wizard()
        location = self.authorize(wizard)
        redirect_uri = f"{self.base_url()}/microsoft_outlook/confirm"
        self.harness.oauth_token(
            self.servers, grant_type="authorization_code", code=self.query(location)["code"], redirect_uri=redirect_uri
        )
        self.come_back(location)
        self.assert_nothing_saved(wizard, "refused the sign-in")

    def test_other_address(self):
        self.harness.oauth_settings(self.servers, user=self.bob["login"])
        wizard = self.wizard()
        self.come_back(self.authorize(wizard))
        self.assert_nothing_saved(wizard, f"as {self.bob['login']}, but this account is {self.alice['email']}")

    def test_provider_down(self):
        wizard = self.wizard()
        location = self.authorize(wizard)
        param = self.env["ir.config_parameter"].set_param
        with socket.socket() as sock:  # bound, never listening: the connection is refused
            sock.bind(("127.0.0.1", 0))
            param("microsoft_outlook.endpoint", f"https://127.0.0.1:{sock.getsockname()[1]}/common/oauth2/v2.0/")
            self.addCleanup(param, "microsoft_outlook.endpoint", self.oauth["microsoft_endpoint"])
            self.come_back(location)
        self.assert_nothing_saved(wizard, "could not be reached")

    def test_another_users_wizard_cannot_be_finished(self):
        """The answer carries the wizard's id: another user's browser bringing it back is refused."""
        wizard = self.wizard()
        location = self.authorize(wizard)
        self.authenticate("oauth_outsider", "oauth_outsider")
        self.come_back(location, status=403)
        wizard.invalidate_recordset()
        self.assertFalse(wizard.sudo().microsoft_outlook_refresh_token)

    def test_the_tokens_go_only_where_the_account_sends_them(self):
        """A manager who may not read the tokens cannot send them to another server: neither by changing
        the account nor by checking a reconfigured wizard with the account's sign-in."""
        account = self.finish(self.sign_in(self.wizard("microsoft"))).account_id
        manager = manager_of(self.env, "oauth_manager", self.env.company)
        with self.assertRaises(AccessError):
            account.with_user(manager).write({"smtp_host": "elsewhere.example.test"})
        action = account.with_user(manager).action_reconfigure()
        wizard = self.env["email.account.setup"].with_user(manager).browse(action["res_id"])
        wizard.write({"smtp_host": "elsewhere.example.test"})
        with self.assertRaises(AccessError):
            wizard.action_retry()

    def test_another_companys_account_cannot_be_signed_in_again(self):
        wizard = self.finish(self.sign_in(self.wizard("microsoft")))
        account = wizard.account_id
        with self.assertRaises(AccessError):
            account.with_user(self.outsider).action_oauth_sign_in_again()
        with self.assertRaises(AccessError):
            wizard.with_user(self.outsider).action_oauth_sign_in()


@tagged("post_install", "-at_install", "email_account_servers")
class TestOAuthTour(TourMixin, OAuthCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Chromium trusts the harness's sign-in page by its key alone (test only): the throwaway CA is no
        # system authority.
        spki = cls.spki_hash(cls.servers["certs"]["good"])
        spawn = common.ChromeBrowser._spawn_chrome

        def spawn_trusting_harness(browser, cmd):
            return spawn(browser, [*cmd[:-1], f"--ignore-certificate-errors-spki-list={spki}", cmd[-1]])

        cls.enterClassContext(patch.object(common.ChromeBrowser, "_spawn_chrome", spawn_trusting_harness))

    @staticmethod
    def spki_hash(cert_file):
        with open(cert_file, "rb") as fh:
            certificate = x509.load_pem_x509_certificate(fh.read())
        spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(spki).digest()).decode()

    def test_sign_in_tour(self):
        values = {
            "email": self.alice["email"],
            "host": self.hostname,
            "smtpPort": self.port("submission", "oauth"),
            "incomingPort": self.port("imaps", "oauth"),
        }
        # In localStorage: the values must outlive the trip to the provider's page.
        code = tour_code(
            "email_account_oauth_tour",
            f"localStorage.setItem('emailAccountOAuthTour', {json.dumps(json.dumps(values))});",
        )
        self.start_tour("/odoo", "email_account_oauth_tour", login="admin", code=code)
        account = self.env["email.account"].search([("email", "=", self.alice["email"])])
        self.assertEqual(account.oauth_provider, "microsoft")
        self.assertEqual(account.check_state, "ok")
        self.assertTrue(account.mail_server_id.sudo().microsoft_outlook_refresh_token)


@tagged("post_install", "-at_install", "email_account_servers")
class TestOAuthMailFlow(OAuthCase):
    """After the sign-in: Odoo's own sending and fetching log in with the tokens, stock code renews them,
    and a sign-in the provider revoked puts the account in the "sign in again" state, said once."""

    def setUp(self):
        super().setUp()
        # Fetching commits after each message, as stock does: here the test's transaction must stay open.
        self.startPatcher(patch.object(self.env.cr, "commit", self.env.cr.flush))
        command = [self.servers["doveadm"], "-c", self.servers["dovecot"]["oauth"]["config"]]
        subprocess.run([*command, "expunge", "-u", self.alice["email"], "mailbox", "INBOX", "all"], check=True)
        wizard = self.finish(self.sign_in(self.wizard("microsoft")))
        self.assertTrue(wizard.check_ok, wizard.outgoing_check_report or wizard.incoming_check_report)
        self.account = wizard.account_id.sudo()

    def send(self):
        subject = f"Signed in {uuid.uuid4().hex}"
        mail = self.env["mail.mail"].create(
            {"email_from": self.alice["email"], "email_to": "carol@example.test", "subject": subject, "body_html": "Hi"}
        )
        with patch.object(modules.module, "current_test", False), mute_logger("odoo.addons.mail.models.mail_mail"):
            mail.send()
        return mail, subject

    def delivered(self, subject):
        with open(self.servers["sink_file"], encoding="utf-8") as sink:
            return any(f"Subject: {subject}" in json.loads(line)["data"] for line in sink)

    def fetch_one(self):
        message = f"From: carol@example.test\r\nTo: {self.alice['email']}\r\nSubject: Hello\r\n\r\nHi\r\n"
        self.harness.deliver(self.servers, self.alice["email"], message.encode(), "oauth")
        before = self.account.imported_count
        server = self.account.fetchmail_server_id
        server.object_id = self.env.ref("base.model_res_partner")  # new mail becomes a contact: it has a home
        server.fetch_mail(raise_exception=False)
        return self.account.imported_count - before

    def expire_access_tokens(self):
        """Every access token expires, at the provider and in what Odoo knows of them."""
        self.harness.oauth_expire(self.servers)
        for server in (self.account.mail_server_id, self.account.fetchmail_server_id):
            server.sudo().microsoft_outlook_access_token_expiration = int(time.time()) - 1

    def posts(self):
        return len(self.account.message_ids.filtered(lambda message: "stopped working" in (message.body or "")))

    def test_sending_and_fetching_with_tokens(self):
        mail, subject = self.send()
        self.assertEqual(mail.state, "sent", mail.failure_reason)
        for _ in range(50):  # the submission service relays to the sink
            if self.delivered(subject):
                break
            time.sleep(0.1)
        self.assertTrue(self.delivered(subject))
        self.assertEqual(self.fetch_one(), 1, self.account.last_fetch_error)

    def test_an_expired_token_is_renewed_by_stock_code(self):
        server = self.account.mail_server_id.sudo()
        old_token = server.microsoft_outlook_access_token
        self.expire_access_tokens()
        mail, _subject = self.send()
        self.assertEqual(mail.state, "sent", mail.failure_reason)
        self.assertNotEqual(server.microsoft_outlook_access_token, old_token)
        self.assertGreater(server.microsoft_outlook_access_token_expiration, time.time())
        self.assertEqual(self.fetch_one(), 1, self.account.last_fetch_error)

    def test_a_revoked_sign_in_asks_to_sign_in_again_once(self):
        self.harness.oauth_revoke(self.servers, self.account.mail_server_id.sudo().microsoft_outlook_refresh_token)
        for _ in range(2):
            self.account._run_checks_and_record(30)
        self.assertEqual(self.account.check_state, "failed")
        self.assertTrue(self.account.oauth_sign_in_needed)
        self.assertIn("sign in again", self.account.oauth_status)
        self.assertEqual(self.posts(), 1, "said once, not at every run")

    def test_a_refresh_failure_is_reported_once(self):
        self.harness.oauth_revoke(self.servers, self.account.mail_server_id.sudo().microsoft_outlook_refresh_token)
        self.expire_access_tokens()
        for _ in range(2):
            self.account.last_check_date = fields.Datetime.now() - timedelta(hours=2)  # due at this run
            self.env["email.account"]._cron_check_accounts()
        self.assertEqual(self.account.check_state, "failed")
        self.assertIn("did not renew the sign-in", self.account.last_check_message)
        self.assertTrue(self.account.oauth_sign_in_needed)
        self.assertEqual(self.posts(), 1)
        mail, _subject = self.send()
        self.assertEqual(mail.state, "exception")
        self.assertIn("did not renew the sign-in", mail.failure_reason)
        self.assertIn("Microsoft refused the sign-in of", self.account.last_send_error)


@tagged("post_install", "-at_install", "email_account_servers")
class TestOAuthDiscovery(EmailAccountCase):
    """Who needs the sign-in: the bundled data for the address's domain, the MX records for any other."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns = DnsServer(
            {
                ("contoso.test", "MX"): ["0 contoso-test.mail.protection.outlook.com."],
                ("fabrikam.test", "MX"): ["1 smtp.google.com."],
            }
        ).start()
        cls.addClassCleanup(cls.dns.stop)
        param = cls.env["ir.config_parameter"].set_param
        param("email_account.discovery_nameservers", "127.0.0.1")
        param("email_account.discovery_dns_port", str(cls.dns.port))
        param("email_account.discovery_sources", "providers,mx")  # nothing beyond loopback

    def test_microsoft_365_by_its_mx_records(self):
        wizard = self.start(email="someone@contoso.test", password_input="a password")
        self.assertEqual((wizard.state, wizard.sign_in_provider, wizard.manual), ("account", "microsoft", False))
        self.assertIn("takes no password from mail programs", wizard.oauth_message)

    def test_google_workspace_by_its_mx_records_keeps_the_app_password(self):
        """The password path goes on (here to the manual steps: Google is offline), the sign-in offered."""
        wizard = self.start(email="someone@fabrikam.test", password_input="an-app-password")
        self.assertEqual((wizard.state, wizard.sign_in_provider), ("outgoing", "google"))

    def test_outlook_com_is_known_before_next(self):
        with Form(self.env["email.account.setup"]) as form:
            form.email = "someone@outlook.com"
            self.assertEqual(form.sign_in_provider, "microsoft")
            form.email = "someone@gmail.com"
            self.assertEqual(form.sign_in_provider, "google")
            form.email = "someone@example.test"
            self.assertFalse(form.sign_in_provider)
