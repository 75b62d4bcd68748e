"""Two companies, each with its own account for one address: each company reads, checks, sends and
fetches through its own account only; a user of both sees both."""

from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import EmailAccountCase
from .test_mail_fetching import MailFetchingCase


@tagged("post_install", "-at_install", "email_account_servers")
class TestMultiCompany(EmailAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env["res.company"].create({"name": "Company A"})
        cls.company_b = cls.env["res.company"].create({"name": "Company B"})
        groups = "base.group_user,base.group_multi_company,email_account.group_email_account_manager"

        def user(login, companies):
            return new_test_user(
                cls.env,
                login,
                groups=groups,
                company_id=companies[0].id,
                company_ids=[c.id for c in companies],
                context={"no_reset_password": True},
            )

        cls.user_a = user("mc_user_a", [cls.company_a])
        cls.user_b = user("mc_user_b", [cls.company_b])
        cls.user_ab = user("mc_user_ab", [cls.company_a, cls.company_b])
        Account = cls.env["email.account"]
        cls.account_a = Account.with_user(cls.user_a).create(cls.account_values(name="A")).sudo()
        cls.account_b = Account.with_user(cls.user_b).create(cls.account_values(name="B")).sudo()

    def test_company_defaults_to_the_current_one(self):
        self.assertEqual(self.account_a.company_id, self.company_a)
        self.assertEqual(self.account_b.company_id, self.company_b)

    def test_reading_is_isolated(self):
        Account = self.env["email.account"]
        self.assertEqual(Account.with_user(self.user_a).search([]), self.account_a)
        self.assertEqual(Account.with_user(self.user_b).search([]), self.account_b)
        both = Account.with_user(self.user_ab).with_context(allowed_company_ids=[self.company_a.id, self.company_b.id])
        self.assertEqual(both.search([]), self.account_a | self.account_b)
        self.assertEqual(
            Account.with_user(self.user_ab).with_company(self.company_b).search([]),
            self.account_b,
            "only the companies selected in the switcher",
        )
        with self.assertRaises(AccessError):
            self.account_b.with_user(self.user_a).read(["email"])
        self.assertEqual(both._read_group([], ["company_id"], ["__count"]), [(self.company_a, 1), (self.company_b, 1)])

    def test_checking_is_isolated(self):
        self.account_a.with_user(self.user_a).action_check_connection()
        self.assertEqual(self.account_a.check_state, "ok", self.account_a.last_check_message)
        self.assertEqual(self.account_b.check_state, "never")
        with self.assertRaises(AccessError):
            self.account_b.with_user(self.user_a).action_check_connection()
        self.assertEqual(self.account_b.check_state, "never")

    def test_accounts_cannot_move_to_a_company_of_someone_else(self):
        account = (
            self.env["email.account"]
            .with_user(self.user_a)
            .create(
                {"email": "sales@example.test", "smtp_host": "smtp.example.test", "incoming_host": "imap.example.test"}
            )
        )
        with self.assertRaises(AccessError):
            account.write({"company_id": self.company_b.id})
        with self.assertRaises(AccessError):
            account.create(
                {
                    "email": "x@example.test",
                    "smtp_host": "h.test",
                    "incoming_host": "h.test",
                    "company_id": self.company_b.id,
                }
            )
        self.assertEqual(account.company_id, self.company_a)

    def test_sending_goes_through_the_company_account(self):
        MailServer = self.env["ir.mail_server"]
        for company, account in ((self.company_a, self.account_a), (self.company_b, self.account_b)):
            server, smtp_from = MailServer.with_company(company)._find_mail_server(self.alice["email"])
            self.assertEqual(server, account.mail_server_id, company.name)
            self.assertEqual(smtp_from, self.alice["email"])
            as_user = MailServer.with_user(self.user_ab).with_company(company)
            self.assertEqual(as_user.sudo()._find_mail_server(self.alice["email"])[0], account.mail_server_id)

    def test_queued_mail_goes_through_its_record_company_account(self):
        """The mail queue runs in one company; each mail is routed in the company of its record."""
        mails = self.env["mail.mail"].create(
            [
                {"email_from": self.alice["email"], "email_to": "x@example.test", "record_company_id": company.id}
                for company in (self.company_a, self.company_b)
            ]
        )
        routes = {
            tuple(batch_ids): server_id
            for server_id, _alias, _from, batch_ids in mails.with_company(
                self.env.ref("base.main_company")
            )._split_by_mail_configuration()
        }
        self.assertEqual(
            routes,
            {(mails[0].id,): self.account_a.mail_server_id.id, (mails[1].id,): self.account_b.mail_server_id.id},
        )

    def test_another_company_account_is_never_used(self):
        """A company with no account for the address gets stock routing over the servers of no account."""
        company_c = self.env["res.company"].create({"name": "Company C"})
        stock = self.env["ir.mail_server"].create(
            {"name": "Stock", "smtp_host": "smtp.example.test", "from_filter": "example.test", "sequence": 99}
        )
        server, _from = self.env["ir.mail_server"].with_company(company_c)._find_mail_server(self.alice["email"])
        self.assertEqual(server, stock)
        stock.active = False
        server, _from = self.env["ir.mail_server"].with_company(company_c)._find_mail_server(self.alice["email"])
        self.assertFalse(server, "Odoo's own configuration (odoo-bin), not company A's or B's mailbox")


@tagged("post_install", "-at_install", "email_account_servers")
class TestFetchingPerCompany(MailFetchingCase):
    """Both companies read alice's mailbox; what company B's server imports is created in company B."""

    def test_messages_are_created_in_the_account_company(self):
        self.empty_mailbox(self.alice["email"])
        company_b = self.env["res.company"].create({"name": "Company B"})
        self.account(name="A")
        account_b = self.account(name="B", company_id=company_b.id, keep_copies=False)
        server_b = account_b.fetchmail_server_id
        account_b.new_mail_model_id = self.env["ir.model"]._get("res.partner")
        self.deliver(self.reply("Hello B", reply=False))

        seen = []
        partner_class = type(self.env["res.partner"])
        original = partner_class.message_new

        def message_new(partners, msg_dict, custom_values=None):
            seen.append(partners.env.company)
            return original(partners, msg_dict, custom_values)

        self.assertNotEqual(self.env.company, company_b)
        with patch.object(partner_class, "message_new", message_new):
            server_b.fetch_mail()
        self.assertEqual(seen, [company_b])
        self.assertEqual(self.on_server(self.alice["email"]), 0)

    def test_another_company_server_is_not_fetched_by_a_non_member(self):
        """An administrator outside the account's company gets a reason naming nothing of the account,
        not stock fetching."""
        self.empty_mailbox(self.alice["email"])
        company_b = self.env["res.company"].create({"name": "Company B"})
        account_b = self.account(name="B", company_id=company_b.id, keep_copies=False)
        account_b.new_mail_model_id = self.env["ir.model"]._get("res.partner")
        self.deliver(self.reply("Hello B", reply=False))
        admin = new_test_user(
            self.env,
            "mc_fetch_admin",
            groups="base.group_system",
            company_id=self.env.company.id,
            company_ids=[self.env.company.id],
            context={"no_reset_password": True},
        )
        with self.assertRaisesRegex(AccessError, "belongs to an email account you have no access to") as caught:
            account_b.fetchmail_server_id.with_user(admin).fetch_mail()
        self.assertNotIn(self.alice["email"], str(caught.exception))
        self.assertEqual(self.on_server(self.alice["email"]), 1)
        account_b.fetchmail_server_id.fetch_mail()  # the scheduled action's way: as superuser
        self.assertEqual(self.on_server(self.alice["email"]), 0)
