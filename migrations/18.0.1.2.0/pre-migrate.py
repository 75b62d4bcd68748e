"""Up to 18.0.1.1.0 the last check and the mail-flow problems were stored as text in the language of
whoever wrote them; from 18.0.1.2.0 they are stored as data and shown in the reader's language. An old
text moves into the data field as it is (a plain string is shown unchanged) until the next check or
mail-flow event replaces it."""

from odoo.tools import SQL

MOVED = {
    "last_check_message": "last_check_data",
    "last_send_error": "last_send_error_data",
    "last_fetch_error": "last_fetch_error_data",
}


def migrate(cr, version):
    for old, new in MOVED.items():
        cr.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'email_account' AND column_name = %s",
            (old,),
        )
        if not cr.fetchone():
            continue
        old_column, new_column = SQL.identifier(old), SQL.identifier(new)
        cr.execute(SQL("ALTER TABLE email_account ADD COLUMN IF NOT EXISTS %s jsonb", new_column))
        cr.execute(
            SQL(
                "UPDATE email_account SET %s = to_jsonb(%s) WHERE %s IS NOT NULL AND %s != ''",
                new_column,
                old_column,
                old_column,
                old_column,
            )
        )
        cr.execute(SQL("ALTER TABLE email_account DROP COLUMN %s", old_column))
