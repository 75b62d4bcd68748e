# Shared by run_tests.sh (lint and the Odoo tier) and run_demo.sh (`make run`): finding an Odoo 18,
# starting PostgreSQL, and giving Odoo's Python what the addon imports. Expects ROOT and say().

# The node programs Odoo runs, installed by `make deps` into .tools/ (tools/node/package.json): rtlcss,
# without which Odoo builds its right-to-left (Arabic) assets left to right. Odoo looks for it on PATH.
export PATH="$ROOT/.tools/node_modules/.bin:$PATH"

# Sets ODOO_PATH / ODOO_PYTHON, in this order: ODOO_PATH (+ ODOO_PYTHON) as given; a Python that can
# `import odoo`; else the source named by ODOO_SOURCE (default: ../shared/odoo/odoo-18.0.tar.gz, else a
# shallow clone of Odoo's 18.0 branch), unpacked once into .odoo/ with its own venv (odoo_setup.py).
# Returns 1, having said why in one line, when none can be had.
find_odoo() {
    local py path found
    if [[ -n "${ODOO_PATH:-}" ]]; then
        ODOO_PYTHON="${ODOO_PYTHON:-python3}"
        return 0
    fi
    for py in ${ODOO_PYTHON:-} python3; do
        path="$("$py" -c 'import os, odoo; print(os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__))))' \
            2>/dev/null)" || continue
        if [[ -n "$path" && -f "$path/odoo-bin" ]]; then
            ODOO_PATH="$path"
            ODOO_PYTHON="$(command -v "$py")"
            return 0
        fi
    done
    found="$(PYTHONPATH="$ROOT/tests/harness" "$ROOT/.venv/bin/python" "$ROOT/tests/harness/odoo_setup.py" "$ROOT")" ||
        return 1
    { read -r ODOO_PATH && read -r ODOO_PYTHON; } <<<"$found"
}

# Prints the major version of the Odoo at ODOO_PATH run by ODOO_PYTHON (empty if it does not import).
odoo_major_version() {
    (cd "$ODOO_PATH" && "$ODOO_PYTHON" -c 'import odoo.release as r; print(r.version_info[0])' 2>/dev/null)
}

ensure_postgres() {
    local ver cluster_line user
    if ! command -v pg_lsclusters >/dev/null; then
        say "installing PostgreSQL"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null || return 1
    fi
    ver="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    cluster_line="$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main"')"
    if [[ -z "$cluster_line" ]]; then
        pg_createcluster "$ver" main >/dev/null || return 1
        cluster_line="$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main"')"
    fi
    if [[ "$cluster_line" != *online* ]]; then
        say "starting PostgreSQL $ver/main"
        pg_ctlcluster "$ver" main start || return 1
    fi
    for _ in $(seq 50); do
        pg_isready -q && break
        sleep 0.2
    done
    pg_isready -q || return 1
    user="$(id -un)"
    if [[ "$user" != postgres ]] &&
        ! runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'" | grep -qx 1; then
        runuser -u postgres -- createuser --superuser "$user" || return 1
    fi
}

ensure_odoo_python_requirements() {
    # pip install only when a requirement's distribution is missing from Odoo's Python.
    if ! "$ODOO_PYTHON" - "$ROOT/requirements.txt" <<'EOF'
import importlib.metadata
import re
import sys

for line in open(sys.argv[1], encoding="utf-8"):
    name = re.match(r"\s*([A-Za-z0-9._-]+)", line.split("#")[0])
    if name:
        importlib.metadata.distribution(name.group(1))
EOF
    then
        say "installing requirements.txt into $ODOO_PYTHON"
        "$ODOO_PYTHON" -m pip install -q -r "$ROOT/requirements.txt" || return 1
    fi
}

# Prints the addons path entries (comma-separated; the last is queue_job's folder, to go after the
# addon; any before it go before Odoo's own addons) that make OCA queue_job installable with this Odoo (its version pinned in
# requirements-queue.txt, unpacked once into .odoo/queue_job with `pip --target --no-deps`: its wheel
# requires an `odoo` distribution, which Odoo run from source is not); first our base_sparse_field
# stand-in when Odoo's own module has no code (tests/harness/odoo_addons/base_sparse_field/README.rst).
queue_job_addons() {
    local target="$ROOT/.odoo/queue_job" stamp="$ROOT/.odoo/queue_job/.stamp" want
    want="$(sha256sum "$ROOT/requirements-queue.txt" | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        say "installing requirements-queue.txt into .odoo/queue_job (once)" >&2
        rm -rf "$target"
        "$ODOO_PYTHON" -m pip install -q --disable-pip-version-check --no-deps --target "$target" \
            -r "$ROOT/requirements-queue.txt" >&2 || return 1
        printf '%s\n' "$want" >"$stamp"
    fi
    if [[ ! -d "$ODOO_PATH/addons/base_sparse_field/models" ]]; then
        printf '%s,' "$ROOT/tests/harness/odoo_addons"
    fi
    printf '%s\n' "$target/odoo/addons"
}

# Prints a new temporary folder holding a folder email_account/ whose entries link to the checkout's
# (an addons path; pylint's module names). Hidden entries (.git, .venv, .odoo with a whole Odoo
# source, .run) are left out, so Odoo's translation exporter and pylint never walk them; and the
# folder is outside the checkout, as a link back to the addon from inside it would send the exporter
# (which follows links) round in circles. The caller removes the folder.
linked_addons_dir() {
    local dir entry
    dir="$(mktemp -d "${TMPDIR:-/tmp}/email_account_$1.XXXXXX")" || return 1
    mkdir "$dir/email_account" || return 1
    for entry in "$ROOT"/*; do
        ln -s "$entry" "$dir/email_account/" || return 1
    done
    printf '%s\n' "$dir"
}
