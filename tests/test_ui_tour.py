"""The whole journey in a real browser: menu, wizard steps (how Odoo uses the mailbox included), check
against real servers, the new account, then a message from a contact's chatter that goes out through
Postfix as the account's address; and the ways to the accounts from Settings and from the stock mail
server lists."""

import email
import email.policy
import json
from unittest.mock import patch

from odoo import modules
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import MailServersMixin, TourMixin, sink_entry, tour_code


class TourCase(TourMixin, HttpCase):
    def tour(self, url, name, values=None):
        code = tour_code(name, f"window.emailAccountTour = {json.dumps(values or {})};", url)
        self.start_tour(url, name, login="admin", code=code)


@tagged("post_install", "-at_install", "email_account_servers")
class TestEmailAccountTour(MailServersMixin, TourCase):
    def test_setup_tour(self):
        # The contact the tour writes to from its chatter; following it, it receives the message by email.
        customer = self.env["res.partner"].create({"name": "Carol Customer", "email": "carol@example.test"})
        customer.message_subscribe(partner_ids=customer.ids)
        # The tour types the harness's ports, which only this side knows.
        tour_values = {
            "partnerId": customer.id,
            "email": self.alice["email"],
            "password": self.alice["password"],
            "host": self.hostname,
            "smtpPort": self.servers["postfix"]["submission"],  # sends only as the login's own address
            "incomingPort": self.port("imaps"),
            "expiredPort": self.port("imaps", "expired"),
        }
        self.tour("/odoo", "email_account_setup_tour", tour_values)

        account = self.env["email.account"].search([("email", "=", self.alice["email"])])
        self.assertEqual(account.name, "Tour mailbox")
        self.assertEqual(account.check_state, "ok")
        self.assertTrue(account.mail_server_id and account.fetchmail_server_id)

        # What the administrator wrote in the chatter is queued; Odoo's queue sends it through Postfix.
        message = customer.message_ids.filtered(lambda message: "from the tour" in message.body)
        mails = self.env["mail.mail"].search([("mail_message_id", "in", message.ids)])
        self.assertTrue(mails, "the chatter message is sent by email")
        with patch.object(modules.module, "current_test", False), mute_logger("odoo.addons.mail.models.mail_mail"):
            mails.send()
        entry = sink_entry(self.servers, message.message_id)
        self.assertTrue(entry, "Postfix accepted the message and relayed it to the sink")
        sent = email.message_from_string(entry["data"], policy=email.policy.default)
        admin = self.env.ref("base.user_admin")
        self.assertEqual(entry["mail_from"], self.alice["email"])
        self.assertEqual(
            (sent["From"].addresses[0].display_name, sent["From"].addresses[0].addr_spec),
            (admin.name, self.alice["email"]),
        )
        self.assertIn(self.alice["email"], str(sent["Reply-To"]))


@tagged("post_install", "-at_install")
class TestFindingTheAccounts(TourCase):
    def test_settings_search_for_mail_server(self):
        self.tour("/odoo/settings", "email_account_settings_search_tour")

    def test_stock_mail_server_lists(self):
        for action in ("base.action_ir_mail_server_list", "mail.action_email_server_tree"):
            with self.subTest(action=action):
                self.tour(f"/odoo/action-{self.env.ref(action).id}", "email_account_stock_list_tour")
