"""One way in to the email accounts for each manager, showing only what they manage.

Settings administrators find them in Settings > Master Data. Email Account Managers who are not
administrators get an app of their own, since opening Settings to them would show Users & Companies
and every submenu another module puts there without groups; administrators do not see that app twice.
"""

from odoo import api, models

APP_MENUS = ("email_account_menu_app", "email_account_menu_app_accounts")


class IrUiMenu(models.Model):
    _inherit = "ir.ui.menu"

    @api.model
    def _visible_menu_ids(self, debug=False):
        visible = super()._visible_menu_ids(debug)
        menu_id = self.env["ir.model.data"]._xmlid_to_res_id  # ids only: browsing menus would search them
        if menu_id("base.menu_administration", raise_if_not_found=False) in visible:
            app = {menu_id(f"email_account.{name}", raise_if_not_found=False) for name in APP_MENUS}
            visible = visible - app
        return visible
