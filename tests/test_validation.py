"""Every bad input is refused with a clear message, and nothing (account or linked server) is saved."""

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from ..models.email_account_check import server_settings

GOOD = {
    "email": "valid@example.test",
    "password": "pw",
    "smtp_host": "smtp.example.test",
    "smtp_security": "starttls",
    "incoming_host": "imap.example.test",
}
CRLF = "\r\nRCPT TO:<victim@example.test>"

# (test name, values over GOOD, what the message must say)
BAD_INPUTS = [
    ("email_no_at", {"email": "valid.example.test"}, "needs an @"),
    ("email_two_at", {"email": "valid@@example.test"}, "exactly one @"),
    ("email_at_in_domain", {"email": "valid@bob@example.test"}, "exactly one @"),
    ("email_space", {"email": "val id@example.test"}, "spaces are not allowed"),
    ("email_trailing_space", {"email": "valid@example.test "}, "spaces are not allowed"),
    ("email_crlf", {"email": "valid@example.test" + CRLF}, "control characters"),
    ("email_no_local_part", {"email": "@example.test"}, "part before the @ is missing"),
    ("email_no_domain", {"email": "valid@"}, "domain after the @ is missing"),
    ("email_double_dot", {"email": "va..lid@example.test"}, "no two dots in a row"),
    ("email_bad_char", {"email": "va(lid@example.test"}, "not valid before the @"),
    ("email_unclosed_quote", {"email": '"valid@example.test'}, "not valid before the @"),
    ("email_local_too_long", {"email": "x" * 65 + "@example.test"}, "longer than 64 characters"),
    ("email_bad_domain", {"email": "valid@-example.test"}, "not a valid domain name"),
    ("email_underscore_domain", {"email": "valid@exa_mple.test"}, "not a valid domain name"),
    ("email_long_label", {"email": "valid@" + "a" * 64 + ".test"}, "longer than 63 characters between two dots"),
    ("smtp_host_scheme", {"smtp_host": "smtp://smtp.example.test"}, "without smtp:// or imaps://"),
    ("incoming_host_url", {"incoming_host": "imaps://imap.example.test:993"}, "without smtp:// or imaps://"),
    ("smtp_host_path", {"smtp_host": "smtp.example.test/submit"}, "remove everything from the / or @ on"),
    ("smtp_host_space", {"smtp_host": "smtp example.test"}, "spaces are not allowed"),
    ("incoming_host_crlf", {"incoming_host": "imap.example.test" + CRLF}, "control characters"),
    ("smtp_host_port", {"smtp_host": "smtp.example.test:587"}, "the port in its own field"),
    ("incoming_host_ipv6_port", {"incoming_host": "[::1]:993"}, "the port in its own field"),
    ("smtp_host_ipv6_bare", {"smtp_host": "2001:db8::1"}, "IPv6 address in brackets"),
    ("smtp_host_bad_ipv6", {"smtp_host": "[2001:db8::g]"}, "not a valid IPv6 address"),
    ("incoming_host_bad_ipv4", {"incoming_host": "300.1.2.3"}, "not a valid IPv4 address"),
    ("incoming_host_bad_label", {"incoming_host": "-imap.example.test"}, "not a valid domain name"),
    ("unused_host_still_checked", {"use_for_receiving": False, "incoming_host": "imap example"}, "spaces"),
    ("smtp_port_zero", {"smtp_port": 0}, "between 1 and 65535"),
    ("smtp_port_too_big", {"smtp_port": 65536}, "between 1 and 65535"),
    ("incoming_port_negative", {"incoming_port": -993}, "between 1 and 65535"),
    ("keep_copies_days_negative", {"keep_copies_days": -1}, "cannot be negative"),
    ("timeout_zero", {"timeout": 0}, "between 1 and 300 seconds"),
    ("timeout_too_long", {"timeout": 301}, "between 1 and 300 seconds"),
    ("description_too_long", {"name": "x" * 129}, "at most 128 characters"),
    ("description_crlf", {"name": "Sales" + CRLF}, "control characters"),
    ("login_crlf", {"login": "valid" + CRLF}, "control characters"),
    ("password_crlf", {"password": "pw" + CRLF}, "control characters"),
    ("password_lf", {"password": "pw\nQUIT"}, "control characters"),
    ("fingerprint_crlf", {"smtp_tls_policy": "pin", "smtp_pinned_fingerprint": "ab" + CRLF}, "control characters"),
    # What PostgreSQL would refuse with a server error (NUL, 32-bit integers, the address index) or the
    # fetch could not count (days beyond the calendar): a message before anything is written.
    ("keep_copies_days_beyond_dates", {"keep_copies_days": 800000}, "at most 36500"),
    ("description_nul", {"name": "Sales\x00"}, "control characters"),
    ("email_nul", {"email": "valid\x00@example.test"}, "control characters"),
    ("login_nul", {"login": "valid\x00"}, "control characters"),
    ("smtp_host_nul", {"smtp_host": "smtp.example.test\x00"}, "control characters"),
    ("password_nul", {"password": "pw\x00"}, "control characters"),
    ("fingerprint_nul", {"smtp_tls_policy": "pin", "smtp_pinned_fingerprint": "ab\x00"}, "control characters"),
    ("smtp_port_beyond_32_bits", {"smtp_port": 2**31}, "out of range"),
    ("timeout_beyond_32_bits", {"timeout": 2**40}, "out of range"),
    ("keep_copies_days_beyond_32_bits", {"keep_copies_days": -(2**31) - 1}, "out of range"),
    ("email_one_megabyte", {"email": "a" * 2**20 + "@example.test"}, "at most 254 characters"),
    ("unknown_security", {"smtp_security": "tls13"}, "choose one of SSL/TLS, STARTTLS"),
    ("unknown_protocol", {"incoming_protocol": "jmap"}, "choose one of IMAP, POP3"),
    ("neither_direction", {"use_for_sending": False, "use_for_receiving": False}, "for sending, for receiving"),
    ("missing_smtp_host", {"smtp_host": False}, "name of the outgoing server"),
]


@tagged("post_install", "-at_install")
class TestValidation(TransactionCase):
    def assert_refused(self, values, message):
        values = {**GOOD, **values}
        servers_before = self.env["ir.mail_server"].search_count([]), self.env["fetchmail.server"].search_count([])
        with self.assertRaises(ValidationError) as caught:
            self.env["email.account"].create(values)
        self.assertIn(message, str(caught.exception))
        self.assertNotIn("pw" + CRLF, str(caught.exception), "a message never repeats the password")
        accounts = self.env["email.account"].with_context(active_test=False).search([])
        self.assertFalse(accounts, "nothing is saved on failure")
        servers_after = self.env["ir.mail_server"].search_count([]), self.env["fetchmail.server"].search_count([])
        self.assertEqual(servers_after, servers_before, "no linked server is left behind")

    def test_good_values_pass(self):
        account = self.env["email.account"].create(
            {**GOOD, "email": "info@bücher.example", "smtp_host": "smtp.bücher.example", "incoming_host": "[::1]"}
        )
        self.assertEqual(account.mail_server_id.smtp_host, "smtp.xn--bcher-kva.example", "punycode on the wire")
        self.assertEqual(account.fetchmail_server_id.server, "::1")
        servers = server_settings(account)
        outgoing, incoming = servers["outgoing"], servers["incoming"]
        self.assertEqual(outgoing.sender, "info@xn--bcher-kva.example")
        self.assertEqual(incoming.host, "::1")
        quoted = self.env["email.account"].create({**GOOD, "email": '"sales team"@example.test'})
        self.assertEqual(quoted.login, '"sales team"@example.test')

    def test_editing_is_validated_too(self):
        account = self.env["email.account"].create(GOOD)
        with self.assertRaises(ValidationError):
            account.write({"smtp_host": "smtp.example.test:25"})
        self.assertEqual(account.smtp_host, "smtp.example.test")
        self.assertEqual(account.mail_server_id.smtp_host, "smtp.example.test")

    def test_editing_refuses_what_the_database_would(self):
        account = self.env["email.account"].create(GOOD)
        huge = "a" * 10**6
        for values in ({"login": "x\x00"}, {"incoming_port": 2**31}, {"smtp_security": "tls13"}, {"email": huge}):
            with self.subTest(field=list(values)), self.assertRaises(ValidationError) as caught:
                account.write(values)
            self.assertLess(len(str(caught.exception)), 200, "the message does not repeat a huge value")
        with self.assertRaisesRegex(ValidationError, "control characters"):
            self.env["email.account.password"].create({"account_id": account.id, "password": "pw\x00"})

    def test_the_setup_wizard_validates_with_the_same_rules(self):
        with self.assertRaises(ValidationError) as caught:
            self.env["email.account.setup"].create({"email": "valid@example.test", "smtp_host": "smtp://x.test"})
        self.assertIn("without smtp://", str(caught.exception))


def _bad_input_test(values, message):
    def test(self):
        self.assert_refused(values, message)

    return test


for _name, _values, _message in BAD_INPUTS:
    setattr(TestValidation, f"test_bad_{_name}", _bad_input_test(_values, _message))
