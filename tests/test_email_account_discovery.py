"""The wizard's automatic path over discovery: a real DNS server on loopback tells where the harness's
Dovecot is (RFC 6186 SRV records); without records, the manual steps open with the reason."""

import time

from odoo.tests import Form, tagged

from .common import EmailAccountCase, PasswordTrap
from .core.dnsserver import DnsServer


@tagged("post_install", "-at_install", "email_account_servers")
class TestEmailAccountDiscovery(EmailAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ports = cls.servers["dovecot"]["main"]
        cls.dns = DnsServer(
            {
                ("_imaps._tcp.example.test", "SRV"): [f"0 1 {ports['imaps']} {cls.hostname}."],
                ("_submission._tcp.example.test", "SRV"): [f"0 1 {ports['submission']} {cls.hostname}."],
            }
        ).start()
        cls.addClassCleanup(cls.dns.stop)
        cls.empty_dns = DnsServer().start()
        cls.addClassCleanup(cls.empty_dns.stop)
        parameters = cls.env["ir.config_parameter"]
        parameters.set_param("email_account.discovery_nameservers", "127.0.0.1")
        parameters.set_param("email_account.discovery_dns_port", str(cls.dns.port))
        parameters.set_param("email_account.discovery_extra_ports", f"{ports['imaps']},{ports['submission']}")
        # Loopback only: no ISPDB, no autoconfig on port 443, no guessing on the standard ports.
        parameters.set_param("email_account.discovery_sources", "providers,srv,mx")

    def test_automatic_path_finds_checks_and_saves(self):
        wizard = self.start(email=self.alice["email"], password_input=self.alice["password"])
        self.assertEqual(wizard.state, "check")
        self.assertTrue(wizard.check_ok, wizard.incoming_check_report)
        self.assertEqual(wizard.discovery_source, "Settings found from the DNS SRV records of example.test.")
        self.assertFalse(wizard.manual)
        account = wizard.account_id
        self.assertEqual(
            (account.incoming_host, account.incoming_port, account.incoming_security),
            (self.hostname, self.port("imaps"), "ssl"),
        )
        self.assertEqual((account.smtp_port, account.smtp_security), (self.port("submission"), "starttls"))

    def logins(self):
        """Dovecot's successful logins of alice so far, per service (imap, submission)."""
        with open(self.servers["dovecot"]["main"]["log"], encoding="utf-8") as log:
            lines = [line for line in log if "-login: Info: Login: user=<alice@example.test>" in line]
        return {service: sum(f" {service}-login: " in line for line in lines) for service in ("imap", "submission")}

    def test_automatic_path_logs_in_once_per_server(self):
        """Discovery already checked its winner with the password: Next does not check it again."""
        before = self.logins()
        wizard = self.start(email=self.alice["email"], password_input=self.alice["password"])
        self.assertTrue(wizard.check_ok, wizard.incoming_check_report)
        time.sleep(0.3)  # Dovecot's log process writes a moment after the client saw OK
        after = self.logins()
        self.assertEqual({service: after[service] - before[service] for service in after}, {"imap": 1, "submission": 1})
        self.assertIn("Logged in with SCRAM-SHA-256", wizard.incoming_check_report)

    def test_the_automatic_path_probes_no_internal_address_unless_allowed(self):
        """DNS may point anywhere, this network included: the automatic path does not go there."""
        parameters = self.env["ir.config_parameter"]
        with PasswordTrap() as trap:
            zone = {("_submission._tcp.example.test", "SRV"): [f"0 1 {trap.port} {self.hostname}."]}
            with DnsServer(zone) as dns:
                parameters.set_param("email_account.discovery_dns_port", str(dns.port))
                parameters.set_param("email_account.discovery_extra_ports", str(trap.port))
                parameters.set_param("email_account.allow_internal_hosts", "False")
                refused = self.start(email=self.alice["email"], password_input=self.alice["password"])
                self.assertEqual(len(trap.connections), 0)
                parameters.set_param("email_account.allow_internal_hosts", "True")
                self.start(email=self.bob["email"], password_input=self.bob["password"], use_for_receiving=False)
        self.assertTrue(refused.manual, "the manual steps open instead")
        self.assertGreater(len(trap.connections), 0, "allowed, discovery checks what the DNS names")

    def test_nothing_found_opens_the_manual_steps_with_the_reason(self):
        self.env["ir.config_parameter"].set_param("email_account.discovery_dns_port", str(self.empty_dns.port))
        wizard = self.start(email=self.alice["email"], password_input=self.alice["password"])
        self.assertEqual(wizard.state, "outgoing", "the manual steps open at once")
        self.assertTrue(wizard.manual)
        self.assertIn("Cannot determine connection settings automatically", wizard.discovery_failure)
        self.assertIn("• Thunderbird's provider database: nothing for example.test\n", wizard.discovery_failure)
        self.assertIn("• the DNS SRV records of example.test: nothing found", wizard.discovery_failure)
        self.assertEqual((wizard.smtp_host, wizard.smtp_port), ("smtp.example.test", 465), "the usual names")
        self.assertEqual((wizard.incoming_host, wizard.incoming_port), ("imap.example.test", 993))
        self.assertFalse(self.env["email.account"].search([("email", "=", self.alice["email"])]))

        with Form(wizard) as form:
            form.smtp_host, form.smtp_security, form.smtp_port = self.hostname, "starttls", self.port("submission")
        wizard.action_next()
        with Form(wizard) as form:
            form.incoming_host, form.incoming_port = self.hostname, self.port("imaps")
        wizard.action_next()
        wizard.action_next()
        wizard.action_next()
        self.assertTrue(wizard.check_ok, wizard.incoming_check_report)
        self.assertTrue(wizard.account_id.mail_server_id and wizard.account_id.fetchmail_server_id)

    def test_app_password_is_asked_for_before_the_check(self):
        with Form(self.env["email.account.setup"]) as form:
            form.email = "someone@gmail.com"
            self.assertEqual(form.app_password_provider, "Google Mail")
            self.assertEqual(form.app_password_url, "https://myaccount.google.com/apppasswords")
            form.email = "someone@example.test"
            self.assertFalse(form.app_password_url)
            form.email = "not an address"
            self.assertFalse(form.app_password_url)
            form.email = "someone@yahoo.com"
            self.assertIn("login.yahoo.com", form.app_password_url)
            form.email = "someone@outlook.com"  # Microsoft takes only its sign-in: no app password to create
            self.assertFalse(form.app_password_url)
