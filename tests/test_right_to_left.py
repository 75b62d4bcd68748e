"""Arabic is laid out right to left only if Odoo finds the rtlcss program (installed by `make deps`)."""

from odoo.addons.base.models.assetsbundle import AssetsBundle
from odoo.tests import TransactionCase, tagged
from odoo.tools import misc


@tagged("post_install", "-at_install")
class TestRightToLeft(TransactionCase):
    def test_odoo_finds_rtlcss(self):
        # Odoo's own lookup (PATH, then its bin_path): make run and the test runner put .tools/ on PATH.
        self.assertTrue(misc.find_in_path("rtlcss"), "rtlcss is not on Odoo's PATH: run make deps")

    def test_right_to_left_stylesheets_are_mirrored(self):
        """What Odoo does to every stylesheet of an RTL bundle (web.assets_web.rtl): without rtlcss it
        logs a warning and serves the left-to-right rules unchanged."""
        bundle = AssetsBundle("web.assets_web", [], env=self.env, rtl=True)
        with self.assertNoLogs("odoo.addons.base.models.assetsbundle", "WARNING"):
            mirrored = bundle.run_rtlcss(".o_email_account_days { margin-left: 1ch; text-align: left; }")
        self.assertFalse(bundle.css_errors)
        self.assertIn("margin-right: 1ch", mirrored)
        self.assertIn("text-align: right", mirrored)
