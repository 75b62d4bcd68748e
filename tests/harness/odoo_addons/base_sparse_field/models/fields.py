"""``Serialized``: a JSON value kept as text in one column, the one thing OCA queue_job takes from
base_sparse_field (its job's dependency lists). Odoo 18.0 ships base_sparse_field; the trimmed Odoo
source the tests run on here does not, so the test setup puts this stand-in on the addons path."""

import json

from odoo import fields


class Serialized(fields.Field):
    type = "serialized"
    _column_type = ("text", "text")
    prefetch = False

    def convert_to_column(self, value, record, values=None, validate=True):
        return self.convert_to_cache(value, record, validate=validate)

    def convert_to_cache(self, value, record, validate=True):
        # The cache holds the JSON text (or None), as the column does.
        return json.dumps(value) if isinstance(value, dict | list) else (value or None)

    def convert_to_record(self, value, record):
        return json.loads(value or "{}")
