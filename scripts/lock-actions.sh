#!/usr/bin/env bash
# Regenerates actions/requirements.lock from actions/requirements.in: resolved by pip in a fresh
# venv on the action server's Python (the first that scripts/find-action-python.sh prints), then
# frozen with exact versions. A fresh venv, so nothing installed by hand slips into the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
candidates=$(scripts/find-action-python.sh) || { echo "error: no Python 3.11-3.13 to lock the action server's dependencies with" >&2; exit 1; }
python=${candidates%%$'\n'*}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet -r actions/requirements.in > "$work/pip.log" 2>&1 \
  || { grep -v "^WARNING: Location" "$work/pip.log" | tail -20 >&2; exit 1; }
"$work/venv/bin/python" -m pip check
version=$("$work/venv/bin/python" -c 'import platform; print(platform.python_version())')
{
  echo "# Exact versions of the action server's dependencies (.venv-actions and its image), resolved"
  echo "# from actions/requirements.in on Python $version. Regenerate with 'make lock'."
  "$work/venv/bin/python" -m pip freeze --all | grep -v -i -E '^pip=='
} > actions/requirements.lock.new
mv actions/requirements.lock.new actions/requirements.lock
echo "actions/requirements.lock: $(grep -c '==' actions/requirements.lock) pins, Python $version"
