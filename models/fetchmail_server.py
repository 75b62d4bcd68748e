"""Odoo's incoming mail from an email account's server, with the account's settings and copies policy.

Stock ``fetchmail.server`` has no STARTTLS, safe logon or certificate policy, reads only unseen IMAP
messages and always deletes POP3 ones. A server linked to an account connects through the core and
fetches by server key instead: each message is imported once, then deleted at once or after the
account's number of days; one that fails to import (new mail Odoo has no place for, most often) stays
on the server, unread, is counted on the account, which then needs attention, and is tried again
at the next run. Servers not linked to an account are fetched by stock Odoo.
"""

import datetime
import functools
import logging
from email.parser import BytesHeaderParser

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import mailcore
from .email_account_flow import NO_ROUTE
from .mail_thread import MAILBOX_CONTEXT, STAYS_CONTEXT, NewMailStays

_logger = logging.getLogger(__name__)


class FetchmailServer(models.Model):
    _name = "fetchmail.server"
    _inherit = ["fetchmail.server", "email.account.linked.server.mixin"]

    email_account_ids = fields.One2many("email.account", "fetchmail_server_id", readonly=True)

    def connect(self, allow_archived=False):
        # Stock decides what an unlinked, empty or multiple recordset means (modules that patch it, such
        # as the OCA's fetchmail_attach_from_folder, rely on that); only one linked server is ours.
        account = self._email_account() if len(self) == 1 else self.env["email.account"]
        if not account or not (self.active or allow_archived):
            return super().connect(allow_archived=allow_archived)
        return account._open_session("incoming")

    def button_confirm_login(self):
        """A server of an account is tested by the account's check; the account keeps it confirmed."""
        result = self._email_account_test()
        if result is None:
            return super().button_confirm_login()
        if result["params"]["type"] == "success":
            self.sudo().state = "done"  # as stock confirms a server that passed; the account keeps it so
        return result

    @api.model
    def _fetch_mails(self):
        """The fetch cron; with OCA queue_job installed, it queues one job per linked mailbox instead of
        fetching them one after another (models/email_account_job.py)."""
        queued = self.env["email.account"]._queue_jobs_available()
        return super(FetchmailServer, self.with_context(email_account_queue_fetch=queued))._fetch_mails()

    def fetch_mail(self, raise_exception=True):
        """Meant for the cron, like stock: commits after each imported message."""
        linked = self.filtered(lambda server: server.sudo().email_account_ids)
        if self - linked:
            super(FetchmailServer, self - linked).fetch_mail(raise_exception=raise_exception)
        if self.env.context.get("email_account_queue_fetch"):
            linked.sudo().email_account_ids.filtered(lambda account: not account.fetch_paused)._queue_jobs("fetch")
            return True
        for server in linked:
            account = server._email_account()
            try:
                # In the account's company: the records the messages create belong to it.
                server.with_env(account.env)._fetch_account_mail(account, raise_exception)
            except Exception:
                if raise_exception:
                    raise
                # One mailbox's trouble must not keep the cron from the others.
                _logger.exception("Fetching the mail of %s failed", account.email)
        return True

    def _email_account(self):
        """The account this server belongs to, in its company. Found as superuser, as sending does: the
        company rule must not make a linked server look unlinked to an administrator of another company
        (stock fetching would then run, and delete the POP3 copies the account keeps). Only who has
        rights on the account makes Odoo log in with its password."""
        account = self.sudo().email_account_ids[:1]
        if not account:
            return account
        account.with_env(self.env)._ensure_caller_may_use()
        return account.with_env(self.env).with_company(account.company_id)

    def _fetch_account_mail(self, account, raise_exception):
        self.ensure_one()
        _logger.info("start checking for new emails of account %s on server %s", account.email, self.name)
        try:
            client = account._open_session("incoming")
        except UserError:
            if raise_exception:
                raise
            return
        imported, failures, unplaced = 0, [], 0
        # Read once: each commit empties the ORM cache, and these do not change during a fetch.
        thread = self.env["mail.thread"].with_context(
            fetchmail_cron_running=True,
            default_fetchmail_server_id=self.id,
            **{MAILBOX_CONTEXT: account.email, STAYS_CONTEXT: account.new_mail_stays},
        )
        model, thread_id = account._new_mail_destination(self)  # object_id, or one Discuss channel
        process = functools.partial(
            thread.message_process,
            model,
            save_original=self.original,
            strip_attachments=not self.attach,
            thread_id=thread_id,
        )
        delete = not account.keep_copies
        try:
            mailbox = mailcore.open_mailbox(client)
            # The next message travels while this one is imported; each is still imported and
            # committed on its own.
            for key, raw in mailbox.download(self._keys_to_import(account, mailbox)):
                reason = self._import_message(account, mailbox, key, raw, process, delete)
                if reason is None:
                    imported += 1
                elif reason is False:  # new mail the account leaves in the mailbox, as it was told
                    pass
                elif reason.startswith(NO_ROUTE):
                    unplaced += 1
                else:
                    failures.append(reason)
        except Exception as error:  # noqa: BLE001 - any break in the dialogue is the server's, reported
            self._close(client)
            failure = self._mailbox_failure(client, error)  # re-raises our own bugs, the session closed
            account._mail_flow_failed(
                "incoming", failure.code, failure.params, imported_count=account.imported_count + imported
            )
            if raise_exception:
                raise UserError(account._mail_flow_error("incoming", account._explain(failure))) from None
            return
        self._close(client, mailbox)
        self.date = fields.Datetime.now()
        values = {"imported_count": account.imported_count + imported, "last_fetch_date": fields.Datetime.now()}
        _logger.info(
            "Imported %d email(s) for %s; %d with no place, %d failed.",
            *(imported, account.email, unplaced, len(failures)),
        )
        # New mail with no place first: the likeliest trouble, and its fix is a choice, not a bug hunt.
        if unplaced:
            account._mail_flow_failed("incoming", "unplaced", {"count": unplaced}, **values)
        elif failures:
            params = {"count": len(failures), "error": failures[0]}
            account._mail_flow_failed("incoming", "import_failed", params, **values)
        else:
            account._mail_flow_succeeded("incoming", **values)

    def _keys_to_import(self, account, mailbox):
        """The keys not imported yet; on the way, delete the imported copies that are due and forget
        the messages that are gone from the server."""
        keys = mailbox.keys()
        records = self.env["email.account.message"].search([("account_id", "=", account.id)])
        present = set(keys)
        kept = records.filtered(lambda record: record.uidvalidity == mailbox.uidvalidity and record.uid in present)
        # Mail left in the mailbox is not Odoo's to delete: it has no date after which it is due.
        imported = {record.uid: not record.left_in_mailbox and record.imported_date for record in kept}
        (records - kept).unlink()
        due = None
        if not account.keep_copies:
            due = datetime.datetime.max
        elif account.keep_copies_days:
            due = fields.Datetime.now() - datetime.timedelta(days=account.keep_copies_days)
        for key in keys:
            if key not in imported:
                yield key
            elif due is not None and imported[key] and imported[key] <= due:
                mailbox.delete(key)

    def _import_message(self, account, mailbox, key, raw, process, delete):
        """Import one message with ``process`` (``message_process`` bound to this server's options);
        the reason it failed, or None. Only this message's bytes are held. ``delete``: the copy
        leaves the server once the import is committed. New mail with nowhere to go is remembered as
        left in the mailbox, never deleted, and answered with False."""
        left = False
        try:
            with self.env.cr.savepoint():
                process(raw)
        except NewMailStays:
            left = True
        except Exception as error:  # a message Odoo cannot import must not stop the others
            # Expected for mail Odoo cannot route: one line, the traceback only for debugging.
            reason = account._sanitize(str(error)) or type(error).__name__
            # New mail with no place is counted on the account, which says what to do: no warning at every run.
            level = logging.INFO if reason.startswith(NO_ROUTE) else logging.WARNING
            _logger.log(level, "Failed to import message %s of %s: %s", key, account.email, reason)
            _logger.debug("Import failure of message %s", key, exc_info=True)
            return reason
        headers = BytesHeaderParser().parsebytes(raw.partition(b"\r\n\r\n")[0], headersonly=True)
        self.env["email.account.message"].create(
            {
                "account_id": account.id,
                "uidvalidity": mailbox.uidvalidity,
                "uid": key,
                "message_id": (headers.get("Message-Id") or "").strip(),
                "left_in_mailbox": left,
            }
        )
        # As stock fetchmail: each import is durable before the copy may leave the server.
        self.env.cr.commit()  # pylint: disable=invalid-commit
        if left:
            return False
        if delete:
            mailbox.delete(key)
        return None

    @staticmethod
    def _mailbox_failure(client, error):
        """The server's failure behind ``error``; an error that is not the server's (a bug of ours
        in the fetch) is raised again, the session being closed already."""
        if isinstance(error, mailcore.MailboxError | mailcore.CheckFailure):
            return client.failure(error)
        raise error

    @staticmethod
    def _close(client, mailbox=None):
        """End the session (committing deletions); a session that cannot end cleanly is simply dropped."""
        try:
            if mailbox is not None:
                mailbox.close()
        except Exception:  # the session is over either way
            _logger.info("Could not end the mail session cleanly.", exc_info=True)
        finally:
            client.drop()
