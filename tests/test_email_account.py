"""The account as integrators script it: linked stock servers, secrecy of the password, access, checks."""

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import EmailAccountCase


@tagged("post_install", "-at_install", "email_account_servers")
class TestEmailAccount(EmailAccountCase):
    def create_account(self, **values):
        return self.env["email.account"].create(self.account_values(**values))

    def test_the_apps_page_shows_a_description_not_the_readme_parsed_as_rst(self):
        module = self.env["ir.module.module"].search([("name", "=", "email_account")])
        self.assertIn("Create Email Account", module.description_html)
        self.assertNotIn("system-message", module.description_html)  # docutils' complaints about Markdown

    def test_defaults_follow_the_address(self):
        account = self.env["email.account"].create(
            {"email": "carol@example.test", "smtp_host": "smtp.example.test", "incoming_host": "imap.example.test"}
        )
        self.assertRecordValues(
            account,
            [
                {
                    "name": "carol@example.test",
                    "login": "carol@example.test",
                    "smtp_port": 465,
                    "incoming_port": 993,
                    "check_state": "never",
                    "company_id": self.env.company.id,
                }
            ],
        )
        pop = self.env["email.account"].create(
            {
                "email": "dave@example.test",
                "smtp_host": "smtp.example.test",
                "smtp_security": "starttls",
                "incoming_host": "pop.example.test",
                "incoming_protocol": "pop3",
            }
        )
        self.assertEqual((pop.smtp_port, pop.incoming_port), (587, 995))

    def test_linked_servers_follow_the_account(self):
        account = self.create_account(name="Alice")
        mail_server, fetchmail = account.mail_server_id, account.fetchmail_server_id
        self.assertRecordValues(
            mail_server,
            [{"name": "Alice", "smtp_encryption": "starttls", "from_filter": self.alice["email"], "active": True}],
        )
        self.assertRecordValues(fetchmail, [{"name": "Alice", "server_type": "imap", "is_ssl": True, "state": "done"}])

        account.write({"name": "Alice (sales)", "smtp_security": "none", "smtp_port": 25, "password": "new"})
        self.assertRecordValues(
            mail_server, [{"name": "Alice (sales)", "smtp_encryption": "none", "smtp_port": 25, "smtp_pass": False}]
        )
        self.assertEqual((account.password, fetchmail.password), ("new", False), "the password lives in the account")

        account.incoming_protocol = "pop3"
        self.assertRecordValues(fetchmail, [{"server_type": "pop", "port": self.port("imaps")}])

        account.action_archive()
        self.assertFalse(mail_server.active or fetchmail.active)
        account.action_unarchive()
        self.assertTrue(mail_server.active and fetchmail.active)

        account.use_for_sending = False
        self.assertFalse(account.mail_server_id)
        self.assertFalse(mail_server.exists(), "a direction given up takes its stock server along")
        account.use_for_sending = True
        self.assertTrue(account.mail_server_id)

        mail_server, fetchmail = account.mail_server_id, account.fetchmail_server_id
        account.unlink()
        self.assertFalse(mail_server.exists() or fetchmail.exists())

    def test_unlinked_stock_servers_are_left_alone(self):
        stock = self.env["ir.mail_server"].create(
            {"name": "Stock", "smtp_host": "smtp.example.test", "from_filter": self.alice["email"]}
        )
        stock_fetch = self.env["fetchmail.server"].create(
            {"name": "Stock", "server": "imap.example.test", "user": self.alice["email"]}
        )
        account = self.create_account()
        account.write({"smtp_port": 2525, "active": False})
        account.unlink()
        self.assertRecordValues(stock, [{"smtp_host": "smtp.example.test", "smtp_port": 25, "active": True}])
        self.assertRecordValues(stock_fetch, [{"server": "imap.example.test", "state": "draft", "active": True}])

    def test_password_is_write_only(self):
        account = self.create_account()
        self.assertFalse(account.password_input)
        self.assertTrue(account.password_saved)
        form_values = account.web_read({"password_input": {}, "password_saved": {}})[0]
        self.assertEqual(form_values["password_input"], False)

        account.password_input = "typed-in-the-form"
        self.assertEqual(account.password, "typed-in-the-form")
        self.assertFalse(account.mail_server_id.smtp_pass)
        account.write({"password_input": False})
        self.assertEqual(account.password, "typed-in-the-form", "an empty input keeps the saved password")

        self.env.flush_all()
        chatter = account.message_ids
        tracked = chatter.tracking_value_ids.field_id.mapped("name")
        self.assertNotIn("password", tracked)
        self.assertNotIn("password_input", tracked)
        self.assertFalse([body for body in chatter.mapped("body") if "typed-in-the-form" in str(body)])

    def test_only_settings_administrators(self):
        account = self.create_account()
        erp_manager = new_test_user(
            self.env, "erp_manager", groups="base.group_erp_manager", context={"no_reset_password": True}
        )
        with self.assertRaises(AccessError):
            account.with_user(erp_manager).read(["email"])
        with self.assertRaises(AccessError):
            self.env["email.account.setup"].with_user(erp_manager).create({"email": "x@example.test"})

    def test_accounts_belong_to_a_company(self):
        other = self.env["res.company"].create({"name": "Other company"})
        account = self.create_account(company_id=other.id)
        admin = new_test_user(
            self.env,
            "admin_here",
            groups="base.group_system",
            company_id=self.env.company.id,
            context={"no_reset_password": True},
        )
        self.assertFalse(self.env["email.account"].with_user(admin).search([("id", "=", account.id)]))
        self.assertTrue(self.create_account(), "the same address may serve another company")

    def test_one_account_per_address_and_company(self):
        self.create_account()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.create_account(name="again")

    def test_servers_in_use_need_a_host(self):
        with self.assertRaises(ValidationError) as caught:
            self.create_account(smtp_host=False)
        self.assertIn("outgoing server", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.create_account(email="not an address")
        self.assertIn("valid email address", str(caught.exception))
        with self.assertRaises(ValidationError):
            self.create_account(login="alice\r\nRCPT TO:<victim@example.test>").action_check_connection()
        receiving_only = self.create_account(smtp_host=False, use_for_sending=False)
        self.assertFalse(receiving_only.mail_server_id)

    def test_check_connection(self):
        account = self.create_account(name="Alice (sales)")
        params = account.action_check_connection()["params"]
        self.assertEqual(account.check_state, "ok", account.last_check_message)
        self.assertTrue(account.last_check_date)
        self.assertIn("Logged in with", account.last_check_message)
        self.assertIn("messages in it: ", account.last_check_message, "a count no plural form has to agree with")
        # One account: its own result, not "1 working, 0 failed".
        self.assertEqual((params["title"], params["type"]), ("Alice (sales) works", "success"))
        self.assertEqual(params["message"], account.last_check_message)

        account.password = "Wrong-password-123"
        params = account.action_check_connection()["params"]
        self.assertEqual(account.check_state, "failed")
        self.assertIn("rejected the login", account.last_check_message)
        self.assertNotIn("Wrong-password-123", account.last_check_message)
        self.assertEqual((params["title"], params["type"]), ("Alice (sales) does not work", "warning"))
        self.assertIn("rejected the login", params["message"])
        self.assertNotIn("working", params["message"])

    def test_stock_login_test_passes_on_the_linked_incoming_server(self):
        # Bob's password is ASCII: stock imaplib's LOGIN cannot send any other.
        account = self.create_account(
            email=self.bob["email"], login=self.bob["login"], password=self.bob["password"], use_for_sending=False
        )
        fetchmail = account.fetchmail_server_id
        fetchmail.state = "draft"
        fetchmail.button_confirm_login()
        self.assertEqual(fetchmail.state, "done")
