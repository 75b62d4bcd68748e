"""The whole journey in a real browser: menu, wizard steps, check against real servers, the new account;
and the ways to the accounts from Settings and from the stock mail server lists."""

import json
from unittest.mock import patch

from odoo.tests import HttpCase, common, tagged

from .common import MailServersMixin


class TourCase(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo skips a tour whose browser has not opened its devtools port within 10 s; a first start
        # of Chromium on a busy 2-core machine (a fresh profile, fonts) has taken longer. Give it 60 s.
        cls.enterClassContext(patch.object(common, "CHECK_BROWSER_ITERATIONS", 600))

    def tour(self, url, name, values=None):
        code = (
            f"window.emailAccountTour = {json.dumps(values or {})};"
            f"odoo.startTour({json.dumps(name)}, {json.dumps({'stepDelay': 0, 'startUrl': url})})"
        )
        self.start_tour(url, name, login="admin", code=code)


@tagged("post_install", "-at_install", "email_account_servers")
class TestEmailAccountTour(MailServersMixin, TourCase):
    def test_setup_tour(self):
        # The tour types the harness's ports, which only this side knows.
        tour_values = {
            "email": self.alice["email"],
            "password": self.alice["password"],
            "host": self.hostname,
            "smtpPort": self.port("submission"),
            "incomingPort": self.port("imaps"),
            "expiredPort": self.port("imaps", "expired"),
        }
        self.tour("/odoo", "email_account_setup_tour", tour_values)

        account = self.env["email.account"].search([("email", "=", self.alice["email"])])
        self.assertEqual(account.name, "Tour mailbox")
        self.assertEqual(account.check_state, "ok")
        self.assertTrue(account.mail_server_id and account.fetchmail_server_id)


@tagged("post_install", "-at_install")
class TestFindingTheAccounts(TourCase):
    def test_settings_search_for_mail_server(self):
        self.tour("/odoo/settings", "email_account_settings_search_tour")

    def test_stock_mail_server_lists(self):
        for action in ("base.action_ir_mail_server_list", "mail.action_email_server_tree"):
            with self.subTest(action=action):
                self.tour(f"/odoo/action-{self.env.ref(action).id}", "email_account_stock_list_tour")
