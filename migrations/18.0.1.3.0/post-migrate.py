"""From 18.0.1.3.0 a mail flow failure is kept as its code and parameters and shown in the reader's
language. A failure noted before keeps its words of then (``{"text": ...}``) until the flow works again;
the status (Needs Attention) is computed by the upgrade itself."""

from odoo.tools import SQL


def migrate(cr, version):
    for direction in ("send", "fetch"):
        code, params = SQL.identifier(f"{direction}_failure_code"), SQL.identifier(f"{direction}_failure_params")
        text = SQL.identifier(f"last_{direction}_error")  # the stored column of before, left by the upgrade
        cr.execute(
            SQL(
                "UPDATE email_account SET %s = jsonb_build_object('text', %s)"
                " WHERE %s IS NOT NULL AND %s IS NOT NULL AND %s IS NULL",
                params, text, code, text, params,
            )  # fmt: skip
        )
