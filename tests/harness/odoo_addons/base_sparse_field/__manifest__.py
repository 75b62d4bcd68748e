{
    "name": "Sparse Fields (test stand-in)",
    "summary": "The Serialized field OCA queue_job imports, for Odoo sources that lack base_sparse_field",
    "version": "18.0.1.0.0",
    "category": "Hidden",
    "author": "email_account",
    "license": "LGPL-3",
    "depends": ["base"],
}
