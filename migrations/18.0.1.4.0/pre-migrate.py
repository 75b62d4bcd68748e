"""Up to 18.0.1.3.0 the last check's report was stored as text in the language of whoever (or whichever
scheduled action) wrote it; from 18.0.1.4.0 it is stored as data and shown in the reader's language. An
old text moves into the data field as it is (a plain string is shown unchanged) until the next check
replaces it."""

from odoo.tools import SQL


def migrate(cr, version):
    cr.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'email_account' "
        "AND column_name = 'last_check_message'"
    )
    if not cr.fetchone():
        return
    cr.execute(SQL("ALTER TABLE email_account ADD COLUMN IF NOT EXISTS last_check_data jsonb"))
    cr.execute(
        SQL(
            "UPDATE email_account SET last_check_data = to_jsonb(last_check_message) "
            "WHERE last_check_message IS NOT NULL AND last_check_message != ''"
        )
    )
    cr.execute(SQL("ALTER TABLE email_account DROP COLUMN last_check_message"))
