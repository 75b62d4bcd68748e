"""18.0.1.5.0 asks how Odoo uses each mailbox. Accounts that exist already keep doing what they did:

- sending: only mail from their own address (they do not become the company's sender, which would
  change the company's alias domain behind the administrator's back);
- new mail: what their incoming server's "Create a New Record" held; without one it is not placed, as
  before (it stays in the mailbox, and the account's status now says so), until someone chooses;
- keeping copies: unchanged, IMAP included (an account that deleted after N days goes on doing so;
  the form now says what that costs).

The columns are made here, before the update, so the ORM does not compute new defaults for them.
"""


def migrate(cr, version):
    cr.execute("ALTER TABLE email_account ADD COLUMN IF NOT EXISTS send_scope varchar")
    cr.execute("UPDATE email_account SET send_scope = 'own' WHERE send_scope IS NULL")
    cr.execute("ALTER TABLE email_account ADD COLUMN IF NOT EXISTS new_mail_model_id integer")
    cr.execute(
        """
        UPDATE email_account account
           SET new_mail_model_id = server.object_id
          FROM fetchmail_server server
         WHERE server.id = account.fetchmail_server_id
        """
    )
