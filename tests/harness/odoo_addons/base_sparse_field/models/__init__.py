from . import fields, ir_model_fields
