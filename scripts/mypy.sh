#!/usr/bin/env bash
# mypy --strict on the domain code: core and every app's actions, queries, access and events.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
files=(src/cherish/core/*.py src/cherish/desk/*.py src/cherish/*/actions.py src/cherish/*/actions/*.py src/cherish/care/acknowledgement.py src/cherish/care/customer_updates.py src/cherish/*/queries.py src/cherish/*/access.py src/cherish/*/events.py)
# desk/*.py also matches desk/queries.py etc.: mypy refuses a file named twice.
mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)
exec .venv/bin/mypy --strict "${files[@]}" "$@"
