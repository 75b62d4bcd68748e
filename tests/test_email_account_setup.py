"""The setup wizard driven as a user would, through its form, against the harness's real servers."""

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import EmailAccountCase, TcpRelay


@tagged("post_install", "-at_install", "email_account_servers")
class TestEmailAccountSetup(EmailAccountCase):
    def next(self, wizard, **values):
        """Fill the current step as the user would and press Next (and Next again on "How Odoo uses this
        mailbox", its defaults accepted)."""
        with Form(wizard) as form:
            for name, value in values.items():
                setattr(form, name, value)
        wizard.action_next()
        if wizard.state == "mail_use":
            wizard.action_next()
        return wizard

    def alice_step(self, **values):
        return self.start(email=self.alice["email"], password_input=self.alice["password"], manual=True, **values)

    def outgoing(self, instance="main", service="submission", security="starttls", **values):
        return {
            "smtp_host": self.hostname,
            "smtp_security": security,
            "smtp_port": self.port(service, instance),
            **values,
        }

    def incoming(self, protocol="imap", service="imaps", instance="main", security="ssl", **values):
        return {
            "incoming_protocol": protocol,
            "incoming_host": self.hostname,
            "incoming_security": security,
            "incoming_port": self.port(service, instance),
            **values,
        }

    def accounts(self, email=None):
        return (
            self.env["email.account"]
            .with_context(active_test=False)
            .search([("email", "=", email or self.alice["email"])])
        )

    def stock_servers(self, email=None):
        email = email or self.alice["email"]
        return (
            self.env["ir.mail_server"].with_context(active_test=False).search([("from_filter", "=", email)]),
            self.env["fetchmail.server"].with_context(active_test=False).search([("user", "=", email)]),
        )

    def assertNothingCreated(self, email=None):
        self.assertFalse(self.accounts(email))
        self.assertEqual(self.stock_servers(email), (self.env["ir.mail_server"], self.env["fetchmail.server"]))

    def assertFailedCheck(self, wizard, *fragments):
        self.assertEqual(wizard.state, "check")
        self.assertFalse(wizard.check_ok)
        self.assertFalse(wizard.account_id)
        report = f"{wizard.outgoing_check_report or ''}{wizard.incoming_check_report or ''}"
        for fragment in fragments:
            self.assertIn(fragment, report)

    def test_smtp_and_imap(self):
        wizard = self.alice_step()
        self.assertEqual(wizard.state, "outgoing")
        self.next(wizard, **self.outgoing())
        self.assertEqual(wizard.state, "incoming")
        self.next(wizard, **self.incoming())
        self.assertEqual(wizard.state, "description")
        self.assertEqual(wizard.name, self.alice["email"], "the description defaults to the address")
        with Form(wizard) as form:
            form.name = "Alice's mailbox"
        wizard.action_next()
        self.assertEqual(wizard.state, "mail_use", "how Odoo uses the mailbox is asked before the check")
        self.next(wizard, keep_copies_days=30)

        self.assertEqual(wizard.state, "check")
        self.assertTrue(wizard.check_ok, wizard.outgoing_check_report or wizard.incoming_check_report)
        self.assertIn("Logged in with", wizard.outgoing_check_report)
        self.assertIn("Opened the mailbox", wizard.incoming_check_report)
        account = wizard.account_id
        self.assertEqual(account, self.accounts())
        self.assertRecordValues(
            account,
            [
                {
                    "name": "Alice's mailbox",
                    "login": self.alice["login"],
                    "smtp_port": self.port("submission"),
                    "smtp_security": "starttls",
                    "incoming_protocol": "imap",
                    "incoming_port": self.port("imaps"),
                    "keep_copies_days": 30,
                    "check_state": "ok",
                    "company_id": self.env.company.id,
                }
            ],
        )
        self.assertEqual(account.password, self.alice["password"])
        self.assertRecordValues(
            account.mail_server_id,
            [
                {
                    "name": "Alice's mailbox",
                    "smtp_host": self.hostname,
                    "smtp_port": self.port("submission"),
                    "smtp_encryption": "starttls",
                    "smtp_authentication": "login",
                    "smtp_user": self.alice["login"],
                    "smtp_pass": False,  # the account holds the password, in one place
                    "from_filter": self.alice["email"],
                    "active": True,
                }
            ],
        )
        self.assertRecordValues(
            account.fetchmail_server_id,
            [
                {
                    "server_type": "imap",
                    "server": self.hostname,
                    "port": self.port("imaps"),
                    "is_ssl": True,
                    "user": self.alice["login"],
                    "password": False,
                    "state": "done",
                }
            ],
        )
        action = wizard.action_open_account()
        self.assertEqual((action["res_model"], action["res_id"]), ("email.account", account.id))

    def test_smtp_only(self):
        wizard = self.alice_step(use_for_receiving=False)
        self.next(wizard, **self.outgoing(service="submissions", security="ssl"))
        self.assertEqual(wizard.state, "description", "no incoming step when only sending")
        self.next(wizard)
        self.assertTrue(wizard.check_ok, wizard.outgoing_check_report)
        self.assertFalse(wizard.incoming_check_report)
        account = wizard.account_id
        self.assertEqual(account.mail_server_id.smtp_encryption, "ssl")
        self.assertFalse(account.fetchmail_server_id)
        self.assertFalse(self.stock_servers()[1])

    def test_pop3_only(self):
        wizard = self.alice_step(use_for_sending=False)
        self.assertEqual(wizard.state, "incoming", "no outgoing step when only receiving")
        self.next(wizard, **self.incoming(protocol="pop3", service="pop3s"))
        self.next(wizard)
        self.assertTrue(wizard.check_ok, wizard.incoming_check_report)
        self.assertFalse(wizard.outgoing_check_report)
        account = wizard.account_id
        self.assertFalse(account.mail_server_id)
        self.assertFalse(self.stock_servers()[0])
        self.assertRecordValues(
            account.fetchmail_server_id,
            [{"server_type": "pop", "port": self.port("pop3s"), "is_ssl": True, "state": "done"}],
        )

    def test_pop_before_smtp(self):
        wizard = self.alice_step(use_for_receiving=False)
        self.next(
            wizard,
            smtp_host=self.servers["host"],
            smtp_security="none",
            smtp_port=self.port("popbeforesmtp"),
            smtp_login_before_send=True,
            unencrypted_accepted=True,
        )
        self.assertEqual(wizard.state, "incoming", "POP-before-SMTP needs the incoming server")
        self.next(wizard, **self.incoming(protocol="pop3", service="pop3s"))
        self.next(wizard)
        self.assertTrue(wizard.check_ok, wizard.outgoing_check_report)
        self.assertIn("Opened the mailbox", wizard.incoming_check_report)
        account = wizard.account_id
        self.assertTrue(account.smtp_login_before_send)
        self.assertEqual(account.mail_server_id.smtp_port, self.port("popbeforesmtp"))
        self.assertFalse(account.fetchmail_server_id, "the incoming server only logs in; it does not receive")

    def test_safe_logon_accepted(self):
        wizard = self.alice_step()
        self.next(wizard, **self.outgoing(smtp_safe_logon=True))
        self.next(
            wizard, **self.incoming(protocol="pop3", service="pop3", security="starttls", incoming_safe_logon=True)
        )
        self.next(wizard)
        self.assertTrue(wizard.check_ok)
        for report in (wizard.outgoing_check_report, wizard.incoming_check_report):
            self.assertRegex(report, r"Logged in with (CRAM-MD5|SCRAM-SHA-\d+|APOP)")
        account = wizard.account_id
        self.assertTrue(account.smtp_safe_logon and account.incoming_safe_logon)
        self.assertTrue(account.mail_server_id and account.fetchmail_server_id)
        self.assertEqual(account.fetchmail_server_id.server_type, "pop")

    def test_safe_logon_refused_then_allowed(self):
        wizard = self.alice_step(use_for_sending=False)
        self.next(wizard, **self.incoming(service="imaps", instance="plainonly", incoming_safe_logon=True))
        self.next(wizard)
        self.assertFailedCheck(wizard, "offers no login method allowed here")
        self.assertNothingCreated()

        wizard.action_manual()
        self.assertEqual(wizard.state, "incoming")
        self.assertEqual(wizard.incoming_port, self.port("imaps", "plainonly"), "the values are kept")
        self.next(wizard, incoming_safe_logon=False)
        self.next(wizard)
        self.assertTrue(wizard.check_ok, wizard.incoming_check_report)
        self.assertFalse(wizard.account_id.incoming_safe_logon)

    def test_failure_then_retry(self):
        relay = TcpRelay(self.port("imaps"))
        self.addCleanup(relay.stop)
        wizard = self.alice_step(use_for_sending=False)
        self.next(wizard, **self.incoming(incoming_port=relay.port))
        self.next(wizard)
        self.assertFailedCheck(wizard, "refused the connection")
        self.assertNothingCreated()

        relay.start()
        wizard.action_retry()
        self.assertTrue(wizard.check_ok, wizard.incoming_check_report)
        self.assertEqual(wizard.account_id.fetchmail_server_id.port, relay.port)

    def test_next_at_the_last_step_says_what_to_do(self):
        """Over RPC nothing hides the button: Next on the check step is a user error, not an IndexError."""
        wizard = self.alice_step(use_for_sending=False)
        self.next(wizard, **self.incoming())
        self.next(wizard)
        self.assertEqual(wizard.state, "check")
        with self.assertRaisesRegex(UserError, "The check is the last step. Use Retry"):
            wizard.action_next()

    def test_trust_self_signed_certificate(self):
        wizard = self.start(
            email=self.bob["email"], password_input=self.bob["password"], use_for_sending=False, manual=True
        )
        self.next(wizard, login=self.bob["login"], **self.incoming(instance="selfsigned"))
        self.next(wizard)
        self.assertFailedCheck(wizard, "is not trusted", "SHA-256 fingerprint")
        fingerprint = wizard.incoming_certificate_sha256
        self.assertRegex(fingerprint, r"^[0-9a-f]{64}$")
        self.assertIn(fingerprint, wizard.incoming_check_report)
        self.assertNothingCreated(self.bob["email"])

        wizard.action_trust_incoming_certificate()
        self.assertTrue(wizard.check_ok, wizard.incoming_check_report)
        self.assertIn("trusted by its fingerprint", wizard.incoming_check_report)
        self.assertRecordValues(
            wizard.account_id, [{"incoming_tls_policy": "pin", "incoming_pinned_fingerprint": fingerprint}]
        )

    def test_an_empty_password_is_refused_at_its_step(self):
        for manual in (True, False):
            with self.subTest(manual=manual), self.assertRaisesRegex(UserError, "Enter the password of"):
                self.start(email=self.alice["email"], manual=manual)
        wizard = self.env["email.account.setup"].search([], order="id desc", limit=1)
        self.assertEqual(wizard.state, "account", "the wizard stays at the step that asks for it")
        self.assertNothingCreated()

    def test_the_step_indicator_counts_the_steps_walked(self):
        with Form(self.env["email.account.setup"]) as form:
            self.assertEqual(form.step_progress, "Step 1 of 3", "automatic: the address, its use, then the check")
            form.manual = True
            self.assertEqual(form.step_progress, "Step 1 of 6")
            form.use_for_sending = False
            self.assertEqual(form.step_progress, "Step 1 of 5", "no outgoing step")
            form.email, form.password_input = self.alice["email"], self.alice["password"]
        wizard = form.record
        self.next(wizard)
        self.assertEqual((wizard.state, wizard.step_progress), ("incoming", f"Step 2 of {len(wizard._steps())}"))

    def test_an_expired_certificate_is_not_offered_for_trust(self):
        wizard = self.start(
            email=self.bob["email"], password_input=self.bob["password"], use_for_sending=False, manual=True
        )
        self.next(wizard, login=self.bob["login"], **self.incoming(instance="expired"))
        self.next(wizard)
        self.assertFailedCheck(wizard, "has expired", "must renew its certificate", "SHA-256 fingerprint")
        self.assertFalse(wizard.incoming_certificate_sha256, "no one-click trust: the button needs it")
        with self.assertRaisesRegex(UserError, "no certificate to trust"):
            wizard.action_trust_incoming_certificate()
        self.assertNothingCreated(self.bob["email"])

    def test_back_keeps_the_values_and_the_password(self):
        wizard = self.alice_step()
        self.next(wizard, **self.outgoing(login="someone-else"))
        wizard.action_back()
        wizard.action_back()
        self.assertEqual(wizard.state, "account")
        self.assertFalse(wizard.password_input, "a saved password is never sent back to the form")
        self.assertTrue(wizard.password_saved)
        self.next(wizard)
        self.assertEqual((wizard.state, wizard.login), ("outgoing", "someone-else"))
        self.next(wizard, login=self.alice["login"])
        self.next(wizard, **self.incoming())
        self.next(wizard)
        self.assertTrue(wizard.check_ok, "the password typed at the first step was kept")

    def test_ports_follow_protocol_and_security_until_typed(self):
        wizard = self.alice_step()
        form = Form(wizard)
        self.assertEqual(form.smtp_port, 465)
        form.smtp_security = "starttls"
        self.assertEqual(form.smtp_port, 587)
        form.smtp_port = 2525
        form.smtp_security = "ssl"
        self.assertEqual(form.smtp_port, 2525, "a typed port stays")
        form.smtp_host = "smtp.example.test"
        form.save()
        wizard.action_next()

        form = Form(wizard)
        self.assertEqual(form.incoming_port, 993)
        form.incoming_protocol = "pop3"
        self.assertEqual(form.incoming_port, 995)
        form.incoming_security = "starttls"
        self.assertEqual(form.incoming_port, 110)

    def test_one_direction_is_required(self):
        with self.assertRaises(ValidationError):
            self.start(email=self.alice["email"], use_for_sending=False, use_for_receiving=False)

    def test_an_address_is_set_up_once_per_company(self):
        wizard = self.alice_step(use_for_sending=False)
        self.next(wizard, **self.incoming())
        self.next(wizard)
        self.assertTrue(wizard.check_ok)
        with self.assertRaisesRegex(UserError, "already has an email account"):
            self.alice_step()

    def test_reconfigure_updates_the_account(self):
        wizard = self.alice_step(use_for_sending=False)
        self.next(wizard, **self.incoming())
        self.next(wizard)
        account = wizard.account_id
        fetchmail = account.fetchmail_server_id

        action = account.action_reconfigure()
        again = self.env["email.account.setup"].browse(action["res_id"])
        self.assertRecordValues(
            again, [{"state": "account", "manual": True, "account_id": account.id, "reconfigure": True}]
        )
        self.assertFalse(again.password_input)
        self.next(again, use_for_sending=True)
        self.next(again, **self.outgoing())
        self.next(again, **self.incoming(protocol="pop3", service="pop3s"))
        self.next(again)
        self.assertTrue(again.check_ok, again.outgoing_check_report or again.incoming_check_report)
        self.assertEqual(again.account_id, account)
        self.assertEqual(self.accounts(), account, "no second account")
        self.assertEqual(account.fetchmail_server_id, fetchmail, "the linked server is updated, not replaced")
        self.assertRecordValues(fetchmail, [{"server_type": "pop", "port": self.port("pop3s")}])
        self.assertEqual(account.mail_server_id.smtp_port, self.port("submission"))
