"""The addon in its users' languages.

The committed template is exactly what Odoo's exporter makes of the code (so it cannot drift), and
with each language active the wizard and a failed check show none of the template's English.
"""

import json
import os
import re
import socket

import polib
from lxml import etree, html

from odoo.exceptions import UserError
from odoo.modules.module import get_module_path
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

from .common import TourMixin, run_migration, tour_code
from .core.languages import LANGUAGES

MODULE = "email_account"
# Attributes of a form whose values the user reads.
READ_ATTRIBUTES = ("string", "placeholder", "help", "title", "aria-label", "confirm", "text")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def i18n_path(name):
    return os.path.join(get_module_path(MODULE), "i18n", name)


def normalize(text):
    return " ".join((text or "").split())


class AddonReader(TranslationModuleReader):
    """Odoo's exporter, minus hidden folders (a local .venv, .git) that it would scan as addon code;
    tests/harness/export_pot.sh exports from a copy of the tracked files for the same reason."""

    def __init__(self, cr):
        super().__init__(cr, modules=[MODULE])

    def _babel_extract_terms(self, fname, path, root, *args, **kwargs):
        if any(part.startswith(".") for part in os.path.relpath(root, path).split(os.sep)):
            return None
        return super()._babel_extract_terms(fname, path, root, *args, **kwargs)


@tagged("post_install", "-at_install")
class TestTemplate(TransactionCase):
    def test_template_is_what_odoo_exports(self):
        exported = {row[4] for row in AddonReader(self.env.cr) if row[0] == MODULE}
        committed = {entry.msgid for entry in polib.pofile(i18n_path(f"{MODULE}.pot"))}
        self.assertIn("Create Email Account", exported, "the exporter read the addon")
        self.assertFalse(
            sorted(exported - committed),
            "strings missing from i18n/email_account.pot: run tests/harness/export_pot.sh",
        )
        self.assertFalse(
            sorted(committed - exported),
            "strings the code no longer has are in i18n/email_account.pot: run tests/harness/export_pot.sh",
        )


@tagged("post_install", "-at_install")
class TestTranslatedUi(TransactionCase):
    """Every language installed and active: what the user reads is in that language."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.template = polib.pofile(i18n_path(f"{MODULE}.pot"))
        for lang in LANGUAGES.values():
            cls.env["res.lang"]._activate_lang(lang)
        module = cls.env["ir.module.module"].search([("name", "=", MODULE)])
        module._update_translations(list(LANGUAGES.values()), overwrite=True)
        with socket.socket() as sock:  # a port nothing listens on: the check fails, refused
            sock.bind(("127.0.0.1", 0))
            cls.closed_port = sock.getsockname()[1]

    def english_left(self, code):
        """The template's msgids the .po of ``code`` translates, or lacks. An empty msgstr is how Odoo
        writes "same as the source" (e.g. "IMAP"); tests/core/test_po_files.py says where it may be."""
        po = polib.pofile(i18n_path(f"{code}.po"))
        translated = {entry.msgid: entry.msgstr for entry in po}
        return {
            normalize(msgid): msgid
            for msgid in (entry.msgid for entry in self.template)
            if msgid not in translated or normalize(translated[msgid]) not in ("", normalize(msgid))
        }

    @staticmethod
    def read_strings(tree):
        """The texts and user-read attribute values of an element tree."""
        strings = {normalize(text) for text in tree.itertext()}
        for element in tree.iter():
            strings.update(normalize(element.get(name)) for name in READ_ATTRIBUTES if element.get(name))
        return strings - {""}

    def wizard_strings(self, lang):
        """What the wizard's form shows at any step: its arch, field labels, help texts and choices."""
        wizard = self.env["email.account.setup"].with_context(lang=lang)
        views = wizard.get_views([(False, "form")])
        strings = self.read_strings(etree.fromstring(views["views"]["form"]["arch"]))
        for info in wizard.fields_get(attributes=["string", "help", "selection"]).values():
            strings.update({normalize(info.get("string")), normalize(info.get("help"))})
            strings.update(normalize(label) for _value, label in info.get("selection") or ())
        return strings - {""}

    def failed_check(self, lang):
        """A wizard at its check step after both servers refused the connection."""
        wizard = (
            self.env["email.account.setup"]
            .with_context(lang=lang)
            .create(
                {
                    "email": "someone@example.test",
                    "password_input": "secret",
                    "manual": True,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": self.closed_port,
                    "smtp_security": "starttls",
                    "incoming_protocol": "imap",
                    "incoming_host": "127.0.0.1",
                    "incoming_port": self.closed_port,
                    "incoming_security": "none",
                    "unencrypted_accepted": True,
                    "state": "mail_use",
                }
            )
        )
        action = wizard.action_next()
        self.assertEqual((wizard.state, wizard.check_ok), ("check", False))
        return wizard, action

    def assert_no_english(self, code, strings, where):
        left = self.english_left(code)
        self.assertFalse(sorted(left[s] for s in strings if s in left), f"untranslated in {where} ({code})")

    def test_wizard_steps_are_translated(self):
        for code, lang in LANGUAGES.items():
            with self.subTest(language=code):
                strings = self.wizard_strings(lang)
                po = {entry.msgid: entry.msgstr for entry in polib.pofile(i18n_path(f"{code}.po"))}
                self.assertIn(normalize(po["Create Email Account"]), strings, "the form is in the language")
                self.assert_no_english(code, strings, "the wizard")

    def test_failed_check_is_translated(self):
        for code, lang in LANGUAGES.items():
            with self.subTest(language=code):
                wizard, action = self.failed_check(lang)
                english = self.english_left(code)
                # English words a translation itself uses (a protocol's name, say) are not left over.
                own = normalize(" ".join(entry.msgstr for entry in polib.pofile(i18n_path(f"{code}.po"))))
                for side in ("outgoing", "incoming"):
                    report = html.fragment_fromstring(str(wizard[f"{side}_check_report"]))
                    text = normalize(report.text_content())
                    self.assertIn(str(self.closed_port), text)
                    self.assert_no_english(code, self.read_strings(report), "the check report")
                    # The core's sentences arrive filled in: none of their English words may be left.
                    fragments = {
                        normalize(fragment)
                        for msgid in english.values()
                        for fragment in PLACEHOLDER.split(msgid)
                        if len(fragment.split()) >= 2 and normalize(fragment) not in own
                    }
                    self.assertFalse(sorted(f for f in fragments if f in text), f"English in {text}")
                self.assertNotIn(action["name"], english, "the dialog's title")


@tagged("post_install", "-at_install")
class TestReadersLanguage(TransactionCase):
    """What a check or the mail flow found is stored as data and read in each reader's language; the
    chatter is written in the company's language, whoever (or whichever cron) wrote it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in ("fr_FR", "ar_001"):
            cls.env["res.lang"]._activate_lang(lang)
        cls.env["ir.module.module"].search([("name", "=", MODULE)])._update_translations(["fr_FR", "ar_001"])
        cls.po = {code: {e.msgid: e.msgstr for e in polib.pofile(i18n_path(f"{code}.po"))} for code in ("fr", "ar")}
        with socket.socket() as sock:  # a port nothing listens on: the check fails, refused
            sock.bind(("127.0.0.1", 0))
            cls.closed_port = sock.getsockname()[1]
        cls.account = cls.env["email.account"].create(
            {
                "email": "reader@example.test",
                "password": "secret",
                "use_for_receiving": False,
                "smtp_host": "127.0.0.1",
                "smtp_port": cls.closed_port,
                "smtp_security": "starttls",
            }
        )

    def refused(self, code):
        template = "%(host)s refused the connection on port %(port)s."
        text = self.po[code][template] if code else template
        return text % {"host": "127.0.0.1", "port": self.closed_port}

    def read_as(self, lang, field):
        self.account.invalidate_recordset()
        return self.account.with_context(lang=lang)[field]

    def test_last_check_is_read_in_the_readers_language(self):
        self.account.with_context(lang="fr_FR").action_check_connection()
        self.assertEqual(self.account.check_state, "failed")
        self.assertIn(self.refused("fr"), self.read_as("fr_FR", "last_check_message"))
        self.assertIn(self.refused("ar"), self.read_as("ar_001", "last_check_message"))
        english = self.read_as("en_US", "last_check_message")
        self.assertIn(self.refused(None), english)
        self.assertIn("Outgoing server", english)

    def test_a_report_stored_as_text_before_is_kept_by_the_upgrade(self):
        self.env.cr.execute("ALTER TABLE email_account ADD COLUMN last_check_message text")
        self.env.cr.execute(
            "UPDATE email_account SET last_check_message = 'Ancien texte', last_check_data = NULL WHERE id = %s",
            [self.account.id],
        )
        run_migration(self.env, "18.0.1.4.0", "18.0.1.3.0", script="pre-migrate")
        self.assertEqual(self.read_as("ar_001", "last_check_message"), "Ancien texte")

    def test_mail_flow_problem_is_read_in_the_readers_language(self):
        # Not assertRaises, whose savepoint would undo what the failure recorded.
        try:
            self.account.with_context(lang="fr_FR")._open_session("outgoing")
        except UserError as error:
            self.assertIn(self.refused("fr"), str(error))
        else:
            self.fail("the session opened")
        for lang, code in (("fr_FR", "fr"), ("ar_001", "ar"), ("en_US", None)):
            with self.subTest(lang=lang):
                self.assertIn(self.refused(code), self.read_as(lang, "last_send_error"))

    def test_cron_posts_in_the_companys_language(self):
        self.account.company_id.partner_id.lang = "fr_FR"
        self.account.sudo().write({"check_state": "ok", "last_check_date": "2026-01-01 00:00:00"})
        self.env["email.account"].with_context(lang="en_US")._cron_check_accounts()
        self.assertEqual(self.account.check_state, "failed")
        body = html.fromstring(str(self.account.message_ids[0].body)).text_content()
        self.assertIn(self.po["fr"]["%(account)s stopped working."] % {"account": self.account.display_name}, body)
        self.assertIn(self.refused("fr"), body)


@tagged("post_install", "-at_install")
class TestReadersLanguageTour(TourMixin, HttpCase):
    """#17 item 1 in a browser: a check run by a French user, opened by an Arabic one, reads in Arabic."""

    def test_last_check_tab_in_the_readers_language(self):
        for lang in ("fr_FR", "ar_001"):
            self.env["res.lang"]._activate_lang(lang)
        self.env["ir.module.module"].search([("name", "=", MODULE)])._update_translations(["fr_FR", "ar_001"])
        with socket.socket() as sock:  # a port nothing listens on: the check fails, refused
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        account = self.env["email.account"].create(
            {
                "email": "reader@example.test",
                "password": "secret",
                "use_for_receiving": False,
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "starttls",
            }
        )
        account.with_context(lang="fr_FR").action_check_connection()
        arabic = {e.msgid: e.msgstr for e in polib.pofile(i18n_path("ar.po"))}
        # The longest piece of the Arabic sentence between its placeholders: text no other language has.
        template = arabic["%(host)s refused the connection on port %(port)s."]
        expected = max(PLACEHOLDER.split(template), key=len).strip()
        self.env.ref("base.user_admin").lang = "ar_001"
        values = {"email": account.email, "expected": expected}
        code = tour_code("email_account_readers_language_tour", f"window.emailAccountReader = {json.dumps(values)};")
        self.start_tour("/odoo", "email_account_readers_language_tour", login="admin", code=code)
