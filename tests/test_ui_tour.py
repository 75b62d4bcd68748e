"""The whole journey in a real browser: menu, wizard steps, check against real servers, the new account."""

import json
from unittest.mock import patch

from odoo.tests import HttpCase, common, tagged

from .common import MailServersMixin


@tagged("post_install", "-at_install", "email_account_servers")
class TestEmailAccountTour(MailServersMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo skips a tour whose browser has not opened its devtools port within 10 s; a first start
        # of Chromium on a busy 2-core machine (a fresh profile, fonts) has taken longer. Give it 60 s.
        cls.enterClassContext(patch.object(common, "CHECK_BROWSER_ITERATIONS", 600))

    def test_setup_tour(self):
        # The tour types the harness's ports, which only this side knows.
        tour_values = {
            "email": self.alice["email"],
            "password": self.alice["password"],
            "host": self.hostname,
            "smtpPort": self.port("submission"),
            "incomingPort": self.port("imaps"),
        }
        code = (
            f"window.emailAccountTour = {json.dumps(tour_values)};"
            f"odoo.startTour('email_account_setup_tour', {json.dumps({'stepDelay': 0, 'startUrl': '/odoo'})})"
        )
        self.start_tour("/odoo", "email_account_setup_tour", login="admin", code=code)

        account = self.env["email.account"].search([("email", "=", self.alice["email"])])
        self.assertEqual(account.name, "Tour mailbox")
        self.assertEqual(account.check_state, "ok")
        self.assertTrue(account.mail_server_id and account.fetchmail_server_id)
