#!/usr/bin/env bash
# `make bench`: finds (or sets up) Odoo 18 and PostgreSQL as `make test` does (find_odoo in
# tests/harness/odoo_env.sh), then runs benchmarks/run.py with the project's venv. Without an Odoo 18
# the Odoo rows say they did not run.
# Arguments go to run.py (e.g. --quick, --runs 20, --messages 2000, --no-write).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '%s\n' "$*" >&2; }
# shellcheck source=tests/harness/odoo_env.sh
source "$ROOT/tests/harness/odoo_env.sh"

if find_odoo && [[ -f "$ODOO_PATH/odoo-bin" && "$(odoo_major_version)" == 18 ]] &&
    ensure_postgres && ensure_odoo_python_requirements; then
    say "Odoo: $ODOO_PATH (python: $ODOO_PYTHON)"
    export ODOO_PATH ODOO_PYTHON
    # OCA queue_job for the queue_job row (requirements-queue.txt); without it the row says it did not run.
    QUEUE_JOB_ADDONS="$(queue_job_addons)" && export QUEUE_JOB_ADDONS
else
    say "no usable Odoo 18 (the line above says why): the Odoo rows will say they did not run"
    unset ODOO_PATH ODOO_PYTHON
fi
exec "$ROOT/.venv/bin/python" "$ROOT/benchmarks/run.py" "$@"
