"""How Odoo uses a mailbox, end to end against real servers: Postfix (a submission server that refuses
a sender the login does not own) sends, Dovecot holds the mailbox Odoo fetches.

A message posted on a contact by a user whose own address is elsewhere goes out through the account as
"User Name <account address>", its Reply-To the mailbox; the customer's reply, delivered to the
mailbox, is fetched onto the contact; new mail goes where the account says; IMAP keeps everything.
"""

import email
import email.policy
import uuid
from unittest.mock import patch

from odoo import modules
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import email_normalize, mute_logger

from .common import sink_entry
from .test_mail_fetching import MailFetchingCase

CUSTOMER = "carol@example.test"  # Postfix relays example.test to the sink


@tagged("post_install", "-at_install", "email_account_servers")
class TestMailFlow(MailFetchingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({"name": "Carol Customer", "email": CUSTOMER})
        cls.sender = cls.env["res.partner"].create({"name": "Sam Sender", "email": "sam@elsewhere.test"})

    def setUp(self):
        super().setUp()
        self.empty_mailbox(self.alice["email"])

    def flow_values(self, **values):
        """Alice's mailbox: sending through Postfix (STARTTLS), receiving over IMAP from Dovecot."""
        return {
            "email": self.alice["email"],
            "password": self.alice["password"],
            "smtp_host": self.hostname,
            "smtp_security": "starttls",
            "smtp_port": self.servers["postfix"]["submission"],
            **self.incoming("imap", "ssl"),
            **values,
        }

    def flow_account(self, **values):
        return self.env["email.account"].create(self.flow_values(**values))

    def post_and_send(self, record):
        """Sam posts on ``record`` for its follower Carol; Odoo's queue sends the mail for real."""
        subject = f"Offer {uuid.uuid4().hex}"
        message = record.with_context(mail_notify_force_send=False).message_post(
            body="<p>Here is our offer</p>",
            subject=subject,
            author_id=self.sender.id,
            email_from=self.sender.email_formatted,
            partner_ids=self.customer.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        mails = self.env["mail.mail"].search([("mail_message_id", "=", message.id)])
        self.assertTrue(mails, "the post is queued as mail")
        with patch.object(modules.module, "current_test", False), mute_logger("odoo.addons.mail.models.mail_mail"):
            mails.send()
        return message, subject

    def received(self, subject):
        """(envelope, parsed message) of what the sink got with ``subject``."""
        entry = sink_entry(self.servers, f"Subject: {subject}")
        return entry, entry and email.message_from_string(entry["data"], policy=email.policy.default)

    def test_company_mail_goes_out_as_the_account_and_replies_come_back(self):
        account = self.flow_account()
        self.assertEqual(account.send_scope, "company", "the first account of a company sends its mail")
        alias_domain = account.company_id.alias_domain_id
        self.assertEqual(alias_domain.name, "example.test")
        self.assertEqual(alias_domain.default_from_email, self.alice["email"])
        self.assertEqual(alias_domain.catchall_email, self.alice["email"], "replies return to this mailbox")

        message, subject = self.post_and_send(self.customer)
        envelope, sent = self.received(subject)
        self.assertTrue(envelope, "Postfix accepted and relayed the message")
        self.assertEqual(envelope["mail_from"], self.alice["email"])
        self.assertEqual(envelope["rcpt_tos"], [CUSTOMER])
        self.assertEqual(sent["From"].addresses[0].display_name, "Sam Sender")
        self.assertEqual(sent["From"].addresses[0].addr_spec, self.alice["email"])
        self.assertEqual([email_normalize(a.addr_spec) for a in sent["Reply-To"].addresses], [self.alice["email"]])
        self.assertFalse(account.send_failure_code, account.last_send_error)

        # Carol answers; her mail client sends the reply to the Reply-To: the mailbox Odoo fetches.
        reply = (
            f"From: Carol Customer <{CUSTOMER}>\r\nTo: {sent['Reply-To']}\r\nSubject: Re: {subject}\r\n"
            f"Message-Id: <{uuid.uuid4().hex}@example.test>\r\nIn-Reply-To: {sent['Message-Id']}\r\n"
            f"References: {sent['Message-Id']}\r\n\r\nYes, we take it.\r\n"
        ).encode()
        self.deliver(reply)
        self.fetch()
        answers = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.customer.id), ("message_type", "=", "email")]
        )
        self.assertEqual(len(answers), 1, account.last_fetch_error)
        self.assertIn("we take it", answers.body)
        self.assertEqual(answers.parent_id, message)
        self.assertEqual(self.on_server(self.alice["email"]), 1, "IMAP keeps the reply on the server")

    def test_only_own_mail_never_lends_the_login_to_other_senders(self):
        """Stock's last resort takes the first server whatever it serves: never an account's."""
        account = self.flow_account(send_scope="own")
        self.assertFalse(account.company_id.alias_domain_id.default_from_email == self.alice["email"])
        server, smtp_from = self.env["ir.mail_server"]._find_mail_server(self.sender.email_formatted)
        self.assertNotEqual(server, account.mail_server_id)
        server, smtp_from = self.env["ir.mail_server"]._find_mail_server(self.alice["email"])
        self.assertEqual((server, smtp_from), (account.mail_server_id, self.alice["email"]))

    def test_a_server_chosen_for_a_mail_still_sends_only_as_its_login(self):
        """A mail whose server was set for it (a template's, say) with someone else's From."""
        account = self.flow_account(send_scope="own")
        subject = f"Forced {uuid.uuid4().hex}"
        mail = self.env["mail.mail"].create(
            {
                "email_from": self.sender.email_formatted,
                "email_to": CUSTOMER,
                "subject": subject,
                "body_html": "<p>Hi</p>",
                "mail_server_id": account.mail_server_id.id,
            }
        )
        with patch.object(modules.module, "current_test", False), mute_logger("odoo.addons.mail.models.mail_mail"):
            mail.send()
        envelope, sent = self.received(subject)
        self.assertTrue(envelope, mail.failure_reason)
        self.assertEqual(envelope["mail_from"], self.alice["email"])
        sender = sent["From"].addresses[0]
        self.assertEqual((sender.display_name, sender.addr_spec), ("Sam Sender", self.alice["email"]))

    def test_only_an_administrator_makes_an_account_the_company_sender(self):
        manager = new_test_user(
            self.env,
            "ea_flow_manager",
            groups="base.group_user,email_account.group_email_account_manager",
            context={"no_reset_password": True},
        )
        Account = self.env["email.account"].with_user(manager)
        account = Account.create(self.flow_values())
        self.assertEqual(account.send_scope, "own", "a manager's account sends its own mail by default")
        with self.assertRaises(AccessError):
            account.send_scope = "company"
        self.assertFalse(self.env.company.alias_domain_id.default_from_email == self.alice["email"])
        account.sudo().send_scope = "company"  # an administrator's choice; the manager may edit the rest
        account.name = "Sales"
        self.assertEqual(self.env.company.alias_domain_id.default_from_email, self.alice["email"])

    def test_new_mail_creates_the_chosen_record(self):
        partner_model = self.env["ir.model"]._get("res.partner")
        account = self.flow_account(new_mail_model_id=partner_model.id)
        self.assertEqual(account.fetchmail_server_id.object_id, partner_model, "set on the stock server")
        subject = f"Question {uuid.uuid4().hex[:8]}"
        self.deliver(
            (
                f"From: Dora New <dora@example.test>\r\nTo: {self.alice['email']}\r\nSubject: {subject}\r\n"
                f"Message-Id: <{uuid.uuid4().hex}@example.test>\r\n\r\nHello there\r\n"
            ).encode()
        )
        with mute_logger("odoo.addons.mail.models.mail_thread"):
            self.fetch()
        created = self.env["res.partner"].search([("name", "=", subject)])
        self.assertEqual(len(created), 1, account.last_fetch_error)
        self.assertFalse(account.last_fetch_error)
        self.assertFalse(self.bounces(), "mail to the mailbox is not bounced as written to the catchall")
        with self.assertRaisesRegex(ValidationError, "cannot create records of"):
            account.new_mail_model_id = self.env["ir.model"]._get("res.users")  # a stranger's mail makes no user

    def test_new_mail_is_posted_in_the_chosen_channel(self):
        channel = self.env["discuss.channel"].create({"name": "Sales inbox", "channel_type": "channel"})
        channel_model = self.env["ir.model"]._get("discuss.channel")
        with self.assertRaises(ValidationError):  # which channel?
            self.flow_account(new_mail_model_id=channel_model.id)
        account = self.flow_account(new_mail_model_id=channel_model.id, new_mail_channel_id=channel.id)
        self.assertIn("Sales inbox", account.receiving_summary)
        channels = self.env["discuss.channel"].search_count([])
        self.deliver(self.reply(text="Do you deliver to Lyon?", reply=False))
        self.fetch()
        self.assertFalse(account.last_fetch_error)
        self.assertIn("deliver to Lyon", "".join(channel.message_ids.mapped("body")))
        self.assertEqual(self.env["discuss.channel"].search_count([]), channels, "no channel per mail")

    def test_new_mail_without_a_destination_stays_in_the_mailbox(self):
        account = self.flow_account(new_mail_stays=True)
        self.assertFalse(account.new_mail_model_id)
        self.deliver(self.reply(reply=False), self.reply(reply=False))
        self.fetch()
        self.fetch()
        self.assertEqual(self.on_server(self.alice["email"]), 2)
        self.assertFalse(account.last_fetch_error, "leaving new mail is a choice, not a failure")
        self.assertFalse(self.bounces())
        left = self.env["email.account.message"].search([("account_id", "=", account.id)])
        self.assertEqual(left.mapped("left_in_mailbox"), [True, True])
        self.assertEqual(account.imported_count, 0, "left, not imported")
        self.imported_ago(account, days=400)
        account.keep_copies_days = 1  # even a deleting account keeps what it left for people to read
        self.fetch()
        self.assertEqual(self.on_server(self.alice["email"]), 2)

    def bounces(self):
        return self.env["mail.mail"].search([("email_to", "ilike", "example.test"), ("subject", "ilike", "Re:")])

    def test_imap_keeps_every_message_by_default(self):
        account = self.account()
        self.assertEqual((account.keep_copies, account.keep_copies_days), (True, 0))
        self.assertIn("never deletes", account.keeping_summary)
        self.deliver(self.reply(), self.reply())
        self.fetch()
        self.imported_ago(account, days=400)
        self.fetch()
        self.assertEqual(self.imported(), 2)
        self.assertEqual(self.on_server(self.alice["email"]), 2, "a year later, still in the mailbox")

    def test_pop3_keeps_copies_for_two_weeks_by_default(self):
        account = self.account("pop3")
        self.assertEqual((account.keep_copies, account.keep_copies_days), (True, 14))
        account.incoming_protocol = "imap"
        self.assertEqual(account.keep_copies_days, 0)

    def test_the_wizard_asks_before_the_check_and_the_account_follows(self):
        with Form(self.env["email.account.setup"]) as form:
            form.email = self.alice["email"]
            form.password_input = self.alice["password"]
            form.manual = True
        wizard = form.record
        self.assertEqual(wizard._steps(), ["account", "outgoing", "incoming", "description", "mail_use", "check"])
        wizard.action_next()
        wizard.write(
            {
                "smtp_host": self.hostname,
                "smtp_security": "starttls",
                "smtp_port": self.servers["postfix"]["submission"],
                **self.incoming("imap", "ssl"),
            }
        )
        wizard.action_next()
        wizard.action_next()
        wizard.action_next()
        self.assertEqual(wizard.state, "mail_use")
        self.assertEqual((wizard.send_scope, wizard.keep_copies_days, wizard.new_mail_stays), ("company", 0, True))
        self.assertIn(f'"User Name <{self.alice["email"]}>"', wizard.sending_summary)
        with Form(wizard) as form:
            form.new_mail_model_id = self.env["ir.model"]._get("res.partner")
        wizard.action_next()
        self.assertTrue(wizard.check_ok, f"{wizard.outgoing_check_report}{wizard.incoming_check_report}")
        account = wizard.account_id
        self.assertEqual(account.fetchmail_server_id.object_id.model, "res.partner")
        self.assertEqual(account.company_id.alias_domain_id.default_from_email, self.alice["email"])

        # A second account of the company sends only its own mail, unless the first gives way.
        again = self.env["email.account.setup"].create({"email": self.bob["email"], "manual": True})
        self.assertEqual(again.send_scope, "own")
        account.email = "alice.sales@example.test"
        alias_domain = account.company_id.alias_domain_id
        self.assertEqual((alias_domain.default_from_email, alias_domain.catchall_alias), (account.email, "alice.sales"))
        account.send_scope = "own"
        self.assertEqual((alias_domain.default_from, alias_domain.catchall_alias), ("notifications", "catchall"))
