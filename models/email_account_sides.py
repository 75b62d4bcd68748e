"""The two sides of an account, outgoing and incoming, as one table.

Each side's fields are ``<prefix>_<setting>`` (the documented field names: ``smtp_host``,
``incoming_port``, ...). Everything that maps a side's fields to something else (the core's
ServerSettings, the stock server the account drives, discovery's result, the constraints, the texts
that name the side) is derived from here: a new per-side setting is a row of ``SETTINGS``, its pair
of fields in the settings mixin (one ``per_side`` declaration), and the views.
"""

from dataclasses import dataclass

from .. import mailcore
from ..mailcore.text import _lt

SECURITY_MODES = [
    ("ssl", "SSL/TLS"),
    ("starttls", "STARTTLS"),
    ("none", "None (unencrypted)"),
]
TLS_POLICIES = [
    ("verify", "Verify the certificate"),
    ("pin", "Trust the pinned certificate"),
    ("any", "Accept any certificate"),
]


@dataclass(frozen=True)
class Setting:
    """One setting of a server: the field ``<prefix>_<name>``, the ServerSettings attribute of that name."""

    name: str
    # Makes the value the core gets from the field's (None: as it is).
    to_core: object = None
    # What discovery writes: True copies its result's attribute, a string resets to that value,
    # None leaves the field alone.
    discovered: object = True


SETTINGS = (
    Setting("host", to_core=mailcore.wire_host),
    Setting("port"),
    Setting("security"),
    Setting("safe_logon"),
    Setting("tls_policy", discovered="verify"),
    Setting("pinned_fingerprint", to_core=lambda value: value or "", discovered=None),
)


@dataclass(frozen=True)
class Side:
    name: str  # "outgoing" / "incoming": the wizard's steps and the core's arguments
    # Its fields' labels and helps (translated as the fields' terms): "Outgoing Server", ...
    title: str
    port_follows: str  # what the default port depends on
    safe_methods: str  # the login methods safe logon allows
    prefix: str  # of its fields' names
    protocol: str  # the protocol, or the name of the field that holds it (``<prefix>_protocol``)
    use_field: str  # the account field that says the stock server is in use
    label: str  # names the side before a field's problem ("Outgoing server: ...")
    word: str  # the side as an adjective ("the outgoing server")
    direction: str  # of the mail flow fields: ``last_<direction>_error``, ...
    flow_failed: str
    flow_works_again: str
    link: str  # the account's link to its stock server
    stock_model: str
    # Stock server field -> (setting or "protocol", how the core value becomes the stock one).
    stock_settings: dict
    # Stock server field -> the account field it copies.
    stock_account_fields: dict
    # Stock server field -> a fixed value.
    stock_constants: dict

    def field(self, setting):
        return f"{self.prefix}_{setting}"

    def protocol_of(self, record):
        return record[self.field("protocol")] if self.protocol == self.field("protocol") else self.protocol

    def core_values(self, record):
        """The side's settings as keyword arguments of mailcore.ServerSettings."""
        values = {"protocol": self.protocol_of(record)}
        for setting in SETTINGS:
            value = record[self.field(setting.name)]
            values[setting.name] = setting.to_core(value) if setting.to_core else value
        return values

    def stock_values(self, record):
        """What the account sets on the stock server of this side."""
        core = self.core_values(record)
        values = {
            stock: convert(core[name]) if convert else core[name]
            for stock, (name, convert) in self.stock_settings.items()
        }
        values.update(
            {
                stock: record._fields[name].convert_to_write(record[name], record)
                for stock, name in self.stock_account_fields.items()
            }
        )
        values.update(self.stock_constants)
        return values

    def discovered_values(self, server):
        """The side's fields from a discovered ServerSettings."""
        values = {self.field("protocol"): server.protocol} if self.protocol == self.field("protocol") else {}
        for setting in SETTINGS:
            if setting.discovered is True:
                values[self.field(setting.name)] = getattr(server, setting.name)
            elif setting.discovered is not None:
                values[self.field(setting.name)] = setting.discovered
        return values


# One row per property of a side, one column per side: (outgoing, incoming).
TABLE = {
    "title": ("Outgoing", "Incoming"),
    "port_follows": ("security mode", "protocol and security mode"),
    "safe_methods": ("CRAM-MD5, SCRAM", "CRAM-MD5, SCRAM, APOP"),
    "prefix": ("smtp", "incoming"),
    "protocol": ("smtp", "incoming_protocol"),
    "use_field": ("use_for_sending", "use_for_receiving"),
    "label": (_lt("Outgoing server"), _lt("Incoming server")),
    "word": (_lt("outgoing"), _lt("incoming")),
    "direction": ("send", "fetch"),
    "flow_failed": (
        _lt("Sending through %(account)s failed: %(reason)s"),
        _lt("Receiving for %(account)s failed: %(reason)s"),
    ),
    "flow_works_again": (
        _lt("Sending through %(account)s works again."),
        _lt("Receiving for %(account)s works again."),
    ),
    "link": ("mail_server_id", "fetchmail_server_id"),
    "stock_model": ("ir.mail_server", "fetchmail.server"),
    "stock_settings": (
        # ir.mail_server names its encryption modes as we do: ssl, starttls, none.
        {"smtp_host": ("host", None), "smtp_port": ("port", None), "smtp_encryption": ("security", None)},
        {
            "server_type": ("protocol", {"imap": "imap", "pop3": "pop"}.get),
            "server": ("host", None),
            "port": ("port", None),
            "is_ssl": ("security", lambda security: security == "ssl"),  # fetchmail.server has no STARTTLS flag
        },
    ),
    "stock_account_fields": (
        {"name": "name", "smtp_user": "login", "from_filter": "email", "active": "active"},
        # object_id: what new mail creates (email_account_mail_use); empty, it stays in the mailbox.
        {"name": "name", "user": "login", "active": "active", "object_id": "new_mail_model_id"},
    ),
    # The account holds the password; the stock server connects through it.
    "stock_constants": ({"smtp_authentication": "login", "smtp_pass": False}, {"password": False, "state": "done"}),
}
SIDES = {
    name: Side(name, **{key: row[column] for key, row in TABLE.items()})
    for column, name in enumerate(("outgoing", "incoming"))
}


def standard_ports(*protocols):
    return {port for (protocol, _security), port in mailcore.DEFAULT_PORTS.items() if protocol in protocols}


def per_side(make_field):
    """A field of each side, made by ``make_field(side)``, in the order of ``SIDES``."""
    return tuple(make_field(side) for side in SIDES.values())


def side_fields(*settings):
    """The fields of the given settings (or "protocol") on every side that has them."""
    return tuple(
        side.field(name)
        for side in SIDES.values()
        for name in settings
        if name != "protocol" or side.protocol == side.field(name)
    )


# Where and how the password is sent: as sensitive as the password itself (see the settings mixin).
ROUTE_FIELDS = ("login", *side_fields("protocol", *(setting.name for setting in SETTINGS)))
