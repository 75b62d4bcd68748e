"""Two levels: Email Account Managers manage their companies' accounts and can replace, never read, the
password; other internal users have no access at all. Exports, reads, the chatter and errors never show it."""

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common import EmailAccountCase

SECRET = "Secret-Pässword-77"


@tagged("post_install", "-at_install", "email_account_servers")
class TestAccess(EmailAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        context = {"no_reset_password": True}
        cls.manager = new_test_user(
            cls.env,
            "ea_manager",
            groups="base.group_user,base.group_allow_export,email_account.group_email_account_manager",
            context=context,
        )
        cls.employee = new_test_user(cls.env, "ea_employee", groups="base.group_user", context=context)
        cls.erp_manager = new_test_user(cls.env, "ea_erp", groups="base.group_erp_manager", context=context)
        cls.account = cls.env["email.account"].create(cls.account_values(password=SECRET))

    def test_settings_administrators_are_managers(self):
        admin = new_test_user(self.env, "ea_admin", groups="base.group_system", context={"no_reset_password": True})
        self.assertTrue(admin.has_group("email_account.group_email_account_manager"))
        self.assertEqual(self.account.with_user(admin).password, SECRET, "system code may read it")

    def test_every_manager_reaches_the_menu(self):
        """A manager who is no Settings administrator still finds Settings > Master Data > Email Accounts."""

        def reachable(user):
            menus = self.env["ir.ui.menu"].with_user(user).load_menus(debug=False)
            found, todo = set(), list(menus["root"]["children"])
            while todo:
                found.add(todo[-1])
                todo.extend(menus[todo.pop()]["children"])
            return found

        menu = self.env.ref("email_account.email_account_menu")
        app = self.env.ref("email_account.email_account_menu_app_accounts")
        admin = new_test_user(self.env, "ea_admin", groups="base.group_system", context={"no_reset_password": True})
        self.assertIn(app.id, reachable(self.manager))
        self.assertIn(menu.id, reachable(admin))
        self.assertNotIn(app.id, reachable(admin), "one way in: Settings > Master Data")
        self.assertFalse({menu.id, app.id} & reachable(self.erp_manager))
        self.assertNotIn(self.env.ref("base.menu_administration").id, reachable(self.employee))

    def test_managers_see_only_what_they_manage(self):
        """Not Settings: its Users & Companies, and any submenu another module puts there without groups."""
        other = self.env["ir.ui.menu"].create(
            {"name": "Third-party settings", "parent_id": self.env.ref("base.menu_administration").id}
        )
        menus = self.env["ir.ui.menu"].with_user(self.manager).load_menus(debug=False)
        roots = {menus[menu_id]["xmlid"] or menus[menu_id]["name"] for menu_id in menus["root"]["children"]}
        self.assertIn("email_account.email_account_menu_app", roots)
        self.assertNotIn("base.menu_administration", roots)
        for hidden in ("base.menu_users", "base.menu_action_res_users"):
            self.assertNotIn(self.env.ref(hidden).id, menus)
        self.assertNotIn(other.id, menus)

    def test_other_internal_users_have_no_access(self):
        for user in (self.employee, self.erp_manager):
            with self.assertRaises(AccessError):
                self.account.with_user(user).read(["email"])
            with self.assertRaises(AccessError):
                self.env["email.account"].with_user(user).search_read([], ["email"])
            with self.assertRaises(AccessError):
                self.env["email.account"].with_user(user).create(
                    {"email": "x@example.test", "smtp_host": "h.test", "incoming_host": "h.test"}
                )
            with self.assertRaises(AccessError):
                self.env["email.account.password"].with_user(user).create(
                    {"account_id": self.account.id, "password": "x"}
                )

    def test_manager_reads_everything_but_the_password(self):
        account = self.account.with_user(self.manager)
        values = account.read()[0]
        self.assertNotIn("password", values)
        self.assertEqual(values["email"], self.alice["email"])
        self.assertTrue(values["password_saved"])
        self.assertFalse(values["password_input"])
        for record in account.search_read([], []):
            self.assertNotIn("password", record)
            self.assertNotIn(SECRET, str(record))
        self.assertNotIn(SECRET, str(account.web_read({"password_saved": {}, "password_input": {}})))
        with self.assertRaises(AccessError):
            account.read(["password"])
        with self.assertRaises(AccessError):
            account.export_data(["email", "password"])
        self.assertNotIn(SECRET, str(account.export_data(["email", "login", "password_saved"])))
        self.assertNotIn("password", account.fields_get())

    def test_manager_manages_accounts(self):
        Account = self.env["email.account"].with_user(self.manager)
        account = Account.create(self.account_values("bob", login=self.bob["login"]))
        self.assertTrue(account.sudo().mail_server_id, "the linked servers are created for a manager too")
        account.action_check_connection()
        self.assertEqual(account.check_state, "ok", account.last_check_message)
        account.write({"smtp_port": self.port("submission"), "name": "Bob"})
        self.assertEqual(account.sudo().mail_server_id.name, "Bob")
        account.action_archive()
        self.assertFalse(account.sudo().mail_server_id.active)
        account.action_unarchive()
        account.unlink()

    def test_manager_sets_up_and_reconfigures_through_the_wizard(self):
        """The setup wizard as a manager: the password is typed, checked and saved, never read back."""
        with Form(self.env["email.account.setup"].with_user(self.manager)) as form:
            form.email = self.bob["email"]
            form.password_input = self.bob["password"]
            form.manual = True
        wizard = form.record
        wizard.action_next()
        wizard.write(
            {
                "login": self.bob["login"],
                "smtp_host": self.hostname,
                "smtp_security": "starttls",
                "smtp_port": self.port("submission"),
            }
        )
        wizard.action_next()
        wizard.write({"incoming_host": self.hostname, "incoming_port": self.port("imaps")})
        wizard.action_next()
        wizard.action_next()
        wizard.action_next()
        self.assertTrue(wizard.check_ok, f"{wizard.outgoing_check_report}{wizard.incoming_check_report}")
        account = wizard.account_id
        self.assertEqual(account.sudo().password, self.bob["password"])

        reconfigure = account.action_reconfigure()
        again = self.env["email.account.setup"].with_user(self.manager).browse(reconfigure["res_id"])
        self.assertTrue(again.password_saved)
        self.assertNotIn(self.bob["password"], str(again.read()))

    def test_change_password_wizard(self):
        wizard = (
            self.env["email.account.password"]
            .with_user(self.manager)
            .create({"account_id": self.account.id, "password": "Wrong-password-9"})
        )
        wizard.action_apply()
        self.assertEqual(self.account.password, "Wrong-password-9")
        self.assertFalse(self.account.mail_server_id.smtp_pass or self.account.fetchmail_server_id.password)
        self.assertFalse(wizard.password, "the typed password is not kept in the wizard")

        account = self.account.with_user(self.manager)
        account.action_check_connection()
        self.assertEqual(account.check_state, "failed")
        self.assertNotIn("Wrong-password-9", account.last_check_message)
        self.assertIn("Password changed", account.message_ids[-1:].body + account.message_ids[:1].body)

    def test_password_never_in_chatter_or_tracking(self):
        account = self.account.with_user(self.manager)
        account.write({"password": "Another-Secret-1", "smtp_port": 2525, "name": "Tracked"})
        self.env["email.account.password"].with_user(self.manager).create(
            {"account_id": self.account.id, "password": "Third-Secret-2"}
        ).action_apply()
        self.env.flush_all()
        messages = self.account.message_ids
        self.assertIn("name", messages.tracking_value_ids.field_id.mapped("name"), "other fields are tracked")
        self.assertNotIn("password", messages.tracking_value_ids.field_id.mapped("name"))
        tracked = str(messages.tracking_value_ids.read())
        bodies = str(messages.mapped("body"))
        for secret in (SECRET, "Another-Secret-1", "Third-Secret-2"):
            self.assertNotIn(secret, tracked)
            self.assertNotIn(secret, bodies)

    def test_managers_see_only_their_companies(self):
        other = self.env["res.company"].create({"name": "Elsewhere Ltd"})
        foreign = self.account.copy({"company_id": other.id, "password": SECRET})
        Account = self.env["email.account"].with_user(self.manager)
        self.assertNotIn(foreign, Account.search([]))
        with self.assertRaises(AccessError):
            foreign.with_user(self.manager).read(["email"])
        with self.assertRaises(AccessError):
            foreign.with_user(self.manager).action_check_connection()
