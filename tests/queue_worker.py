"""A queue_job worker in a process of its own, for tests and the bench that kill one mid-job.

Run with Odoo's Python: ``queue_worker.py --odoo-path ODOO -- ODOO_OPTIONS...`` (the addons path and
the database among them). It loads the database's registry, prints ``READY``, then performs the job
named by each line read on its standard input and prints ``RESULT <json>`` for it, until the input
ends. Loading first and performing on demand lets the caller line several workers up before any
starts, and a process killed after ``READY`` dies in the job, not in Odoo's start-up.

Not a test module (Odoo loads only ``test_*``); no ``odoo`` import at module level, so the bench's
orchestration, in the project's own Python, can read ``SKIPPED`` from it.
"""

import argparse
import json
import sys

# What a job answers when another worker holds its account (models/email_account_job.py).
SKIPPED = "skipped: another worker is on this account"


def perform(env, uuid):
    """Run one job as queue_job's runner has a worker run it (queue_job controllers/main.py): marked
    started and committed, performed, marked done and committed. Returns the job's result."""
    from odoo.addons.queue_job.job import Job  # pylint: disable=import-outside-toplevel

    job = Job.load(env, uuid)
    job.set_started()
    job.store()
    env.cr.commit()  # pylint: disable=invalid-commit
    result = job.perform()
    job.set_done(result=result)
    job.store()
    env.cr.commit()  # pylint: disable=invalid-commit
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--odoo-path", required=True)
    parser.add_argument("options", nargs=argparse.REMAINDER, help="Odoo's options, after --")
    args = parser.parse_args()
    sys.path.insert(0, args.odoo_path)
    import odoo  # pylint: disable=import-outside-toplevel  # found through --odoo-path

    options = args.options[1:] if args.options[:1] == ["--"] else args.options
    odoo.tools.config.parse_config(options)
    registry = odoo.modules.registry.Registry(odoo.tools.config["db_name"])
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    for line in sys.stdin:
        with registry.cursor() as cr:
            result = perform(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}), line.strip())
        sys.stdout.write("RESULT " + json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
