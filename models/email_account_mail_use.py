"""How Odoo uses a mailbox: whose mail goes out through it and as which sender, where new mail goes,
and how long copies stay on the server.

Sending uses Odoo's own mechanisms: the account's ``ir.mail_server`` serves its address
(``from_filter``); an account that sends *all of the company's mail* makes its address the
``default_from`` of the company's ``mail.alias.domain``, so Odoo's ``_find_mail_server`` picks it for
every sender and ``_prepare_email_message`` writes "User Name <account address>". When it also
receives, its address is that domain's catchall, so ``Reply-To`` points at the mailbox Odoo fetches
and replies return to their documents. New mail (not a reply) goes to the model set on the linked
``fetchmail.server`` (``object_id``), or stays in the mailbox.
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .. import mailcore

SEND_SCOPES = [
    ("company", "All of the company's mail"),
    ("own", "Only mail sent from this address"),
]
# What new mail may create, where installed: records people follow up from a stranger's first mail. Not any
# model with a chatter: a mail must not create users, companies or anything that grants access.
NEW_MAIL_MODELS = ("res.partner", "crm.lead", "project.task", "helpdesk.ticket", "hr.applicant", "discuss.channel")
CHANNEL_MODEL = "discuss.channel"  # new mail is posted in one chosen channel, not a channel per mail
# What mail.alias.domain holds when no account is the company's sender (its own defaults).
STOCK_DEFAULT_FROM = "notifications"
STOCK_CATCHALL = "catchall"


def _may_change_company_mail(env):
    """The sender and catchall of all of a company's mail are its mail settings: Settings administrators'."""
    return env.su or env.user.has_group("base.group_system")


class EmailAccountMailUseSettings(models.AbstractModel):
    """The choices, shared by the account and its setup wizard (copied with the other settings)."""

    _inherit = "email.account.settings.mixin"

    send_scope = fields.Selection(
        SEND_SCOPES,
        "Mail Sent Through This Account",
        compute="_compute_send_scope",
        compute_sudo=False,  # the default depends on who asks (_may_change_company_mail)
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="All of the company's mail: users whose own address this account cannot send as send as "
        "\"User Name <this address>\", and replies come back to this mailbox. Only mail from this address: "
        "other mail uses the company's other mail servers.",
    )
    new_mail_model_id = fields.Many2one(
        "ir.model",
        "New Mail Creates",
        domain=[("model", "in", NEW_MAIL_MODELS)],
        ondelete="set null",
        tracking=True,
        help="Mail that is not a reply to one of Odoo's messages creates a record of this kind, e.g. a contact "
        "or a lead. Empty: it stays unread in the mailbox, for people to read in their mail client.",
    )
    new_mail_stays = fields.Boolean(
        "Leave New Mail in the Mailbox",
        tracking=True,
        help="Without a kind of record to create, new mail stays unread in the mailbox on purpose, for people "
        "to read in their mail client. Otherwise such mail is counted as not placed and the account needs "
        "attention.",
    )
    new_mail_channel_id = fields.Many2one(
        "discuss.channel",
        "Channel",
        domain=[("channel_type", "=", "channel")],
        ondelete="set null",
        tracking=True,
        help="The Discuss channel new mail is posted in.",
    )
    new_mail_model = fields.Char(related="new_mail_model_id.model", string="New Mail Model")
    sending_summary = fields.Text(compute="_compute_mail_use_summary")
    receiving_summary = fields.Text(compute="_compute_mail_use_summary")
    keeping_summary = fields.Text(compute="_compute_mail_use_summary")

    def _account_record(self):
        """The email account these settings belong to (none yet for a new account's wizard)."""
        return self.env["email.account"]

    @api.depends("company_id", "use_for_sending")
    def _compute_send_scope(self):
        """The company's mail by default, unless another account of the company sends it already, or
        the user may not change the company's mail settings (Settings administrators may)."""
        may = _may_change_company_mail(self.env)
        for record in self:
            if not record.send_scope or record.send_scope == "company":
                taken = record._company_sender_taken()
                record.send_scope = "company" if may and not taken else "own"

    def _company_sender_taken(self):
        self.ensure_one()
        return bool(
            self.env["email.account"]
            .sudo()
            .search_count(
                [
                    ("company_id", "=", self.company_id.id),
                    ("send_scope", "=", "company"),
                    ("use_for_sending", "=", True),
                    ("id", "not in", self._account_record().ids),
                ],
                limit=1,
            )
        )

    @api.depends(
        "email",
        "company_id",
        "use_for_sending",
        "use_for_receiving",
        "send_scope",
        "new_mail_model_id",
        "new_mail_channel_id",
        "new_mail_stays",
        "incoming_protocol",
        "keep_copies",
        "keep_copies_days",
    )
    def _compute_mail_use_summary(self):
        """The choices in plain words, with what follows from them, in the reader's language."""
        for record in self:
            record.sending_summary = record._sending_text() if record.use_for_sending else False
            record.receiving_summary = record._receiving_text() if record.use_for_receiving else False
            record.keeping_summary = record._keeping_text() if record.use_for_receiving else False

    def _sending_text(self):
        email, company = self.email or self.env._("this address"), self.company_id.name or ""
        if self.send_scope == "company":
            text = self.env._(
                "All of %(company)s's mail goes out through %(email)s. Mail from users whose own address it cannot "
                "send as goes out as \"User Name <%(email)s>\"; the provider never sees a sender this login does "
                "not own.",
                company=company,
                email=email,
            )
            if self.use_for_receiving:
                return text + "\n" + self.env._(
                    "Replies go to %(email)s, which Odoo fetches and files on the document they answer.", email=email
                )
            return text + "\n" + self.env._(
                "Replies go to the company's catchall address; this account does not receive, so set up the "
                "mailbox that receives it.",
            )
        return self.env._(
            "Only mail sent from %(email)s goes out through this account; the rest of %(company)s's mail uses "
            "its other mail servers.",
            company=company,
            email=email,
        )

    def _receiving_text(self):
        replies = self.env._("Replies to Odoo's messages are filed on the document they answer.")
        if self.new_mail_model_id.model == CHANNEL_MODEL:
            new = self.env._(
                "New mail is posted in the channel %(channel)s.", channel=self.new_mail_channel_id.name or "…"
            )
        elif self.new_mail_model_id:
            new = self.env._("New mail creates a new %(kind)s.", kind=self.new_mail_model_id.name)
        elif self.new_mail_stays:
            new = self.env._(
                "New mail stays unread in the mailbox; Odoo leaves it there and does not import it."
            )
        else:
            new = self.env._(
                "New mail has nowhere to go yet: choose what it creates, or leave it in the mailbox. Until then "
                "each new message is counted as not placed and the account needs attention."
            )
        return f"{replies}\n{new}"

    def _keeping_text(self):
        if self.keep_copies and not self.keep_copies_days:
            return self.env._("Every message stays on the server: Odoo never deletes anything from this mailbox.")
        if self.keep_copies:
            text = self.env._(
                "Odoo deletes each message from the server %(days)s days after importing it.",
                days=self.keep_copies_days,
            )
        else:
            text = self.env._("Odoo deletes each message from the server as soon as it has imported it.")
        if self.incoming_protocol == "imap":
            text += " " + self.env._(
                "Everyone who reads this mailbox in a mail client (Thunderbird, Outlook, a phone) loses it there too."
            )
        return text

    @api.constrains("new_mail_model_id", "new_mail_channel_id")
    def _check_new_mail_model(self):
        for record in self:
            model = record.new_mail_model_id
            if model.model == CHANNEL_MODEL and not record.new_mail_channel_id:
                raise ValidationError(self.env._("Choose the channel new mail is posted in."))
            if model and not (model.model in NEW_MAIL_MODELS and model.is_mail_thread and model.model in self.env):
                raise ValidationError(
                    self.env._("New mail cannot create records of %(kind)s.", kind=model.name or model.model)
                )


# One concept per file: how the mailbox is used lives here, beside the queue jobs' own extension.
class EmailAccountMailUse(models.Model):
    """The account makes its choices true in the company's alias domain and its stock servers."""

    _inherit = "email.account"  # pylint: disable=consider-merging-classes-inherited

    @api.constrains("send_scope", "use_for_sending", "company_id", "active")
    def _check_one_company_sender(self):
        for account in self.filtered(lambda account: account.active and account._is_company_sender()):
            if account._company_sender_taken():
                raise ValidationError(
                    self.env._(
                        "%(company)s's mail already goes out through another email account. Choose \"Only mail "
                        "sent from this address\" here, or change the other account first.",
                        company=account.company_id.name,
                    )
                )

    def _account_record(self):
        return self

    def _is_company_sender(self):
        self.ensure_one()
        return self.use_for_sending and self.send_scope == "company"

    def write(self, vals):
        for account in self.sudo().filtered(lambda account: account._is_company_sender()):
            moved = vals.get("company_id", account.company_id.id) != account.company_id.id
            if moved or (vals.get("email") or account.email).lower() != account.email.lower():
                # The old address, or the old company's domain, no longer sends the company's mail.
                self._release_alias_domains(account.email, account.company_id)
        return super().write(vals)

    def _sync_linked_servers(self):
        result = super()._sync_linked_servers()
        self._sync_company_sender()
        return result

    def unlink(self):
        senders = self.sudo().filtered(lambda account: account._is_company_sender())
        released = [(account.email, account.company_id) for account in senders]
        result = super().unlink()
        for email, company in released:
            self._release_alias_domains(email, company)
        return result

    def _sync_company_sender(self):
        """The company's alias domain names this account as its sender (and, when it receives, as its
        catchall), or no longer does. As superuser: alias domains are settings administrators' records."""
        may = _may_change_company_mail(self.env)
        for account in self.sudo():
            if account.active and account._is_company_sender():
                account._claim_alias_domain(may)
            else:
                self._release_alias_domains(account.email, account.company_id)

    def _claim_alias_domain(self, may_change):
        """Make this account the sender (and catchall) of its company's alias domain. ``may_change``:
        the caller may change the company's mail settings; otherwise only a claim already in place passes."""
        self.ensure_one()
        local, domain = (part.lower() for part in mailcore.wire_email(self.email).rsplit("@", 1))
        AliasDomain = self.env["mail.alias.domain"].sudo()
        alias_domain = AliasDomain.search([("name", "=", domain)], limit=1)
        values = {"default_from": f"{local}@{domain}"}
        if self.use_for_receiving:  # a mailbox that stops receiving in Odoo still gets the replies, for people
            values["catchall_alias"] = local
        unchanged = (
            alias_domain
            and self.company_id.alias_domain_id == alias_domain
            and all(alias_domain[name] == value for name, value in values.items())
        )
        if unchanged:
            return
        if not may_change:
            raise AccessError(
                self.env._(
                    "Only a Settings administrator can make an account send all of %(company)s's mail: it changes "
                    "the sender and the reply address of every mail the company sends. Choose \"Only mail sent "
                    "from this address\".",
                    company=self.company_id.name,
                )
            )
        alias_domain = alias_domain or AliasDomain.create({"name": domain})
        alias_domain.write(values)
        self.company_id.sudo().alias_domain_id = alias_domain

    @api.model
    def _release_alias_domains(self, email, company):
        """Give back the alias domains this address served as sender or catchall to their stock values."""
        local, domain = mailcore.wire_email(email).rsplit("@", 1)
        for alias_domain in self.env["mail.alias.domain"].sudo().search([("name", "=", domain.lower())]):
            values = {}
            if (alias_domain.default_from or "").lower() == email.lower():
                values["default_from"] = STOCK_DEFAULT_FROM
            if alias_domain.catchall_alias == local.lower() and company.alias_domain_id == alias_domain:
                values["catchall_alias"] = STOCK_CATCHALL
            if values:
                alias_domain.write(values)

    def _new_mail_destination(self, server):
        """(model name or None, thread id or None) where the fetch of ``server`` (the account's
        fetchmail.server, whose object_id the account sets) files mail that is not a reply."""
        self.ensure_one()
        model = server.object_id.model or None
        return model, self.new_mail_channel_id.id if model == CHANNEL_MODEL else None
