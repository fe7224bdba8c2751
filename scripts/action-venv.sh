#!/usr/bin/env bash
# Builds the action server's own venv (argument, default .venv-actions) on the newest Python
# 3.11-3.13 that installs actions/requirements.lock and imports the actions, trying
# scripts/find-action-python.sh's candidates in order. pytest (at constraints.txt's version)
# joins it so CI can run the action tests on this interpreter too. Marked complete with
# <venv>/.installed, which the launcher checks before using it.
# No such Python: says so, removes an old action venv, exits 0; the launcher then runs the action
# server from the Rasa venv (.venv), as before. A Python found but no install working: exit 1.
set -u
cd "$(dirname "$0")/.."
venv=${1:-.venv-actions}
lock=actions/requirements.lock
candidates=$(scripts/find-action-python.sh) || { rm -rf "$venv"; exit 0; }

install() {
  local python=$1 log=$venv/pip.log
  rm -rf "$venv"
  # .gitignore as Python 3.13's venv writes it, for every version: git never sees the venv.
  "$python" -m venv "$venv" && printf '*\n' > "$venv/.gitignore" || return 1
  "$venv/bin/python" -m pip install --quiet -r "$lock" > "$log" 2>&1 \
    && "$venv/bin/python" -m pip install --quiet -c constraints.txt -c "$lock" pytest >> "$log" 2>&1 \
    && "$venv/bin/python" -c 'import actions, rasa_sdk.endpoint' >> "$log" 2>&1
  local status=$?
  grep -v "^WARNING: Location" "$log" | grep -i -e error -e warning | head -20
  return $status
}

while IFS= read -r python; do
  version=$("$python" -c 'import platform; print(platform.python_version())')
  echo "Creating $venv with Python $version for the action server (first time: about 30 s, 150 MB)..."
  if install "$python"; then
    touch "$venv/.installed"
    exit 0
  fi
  echo "warning: the action server's dependencies did not install on $python (log: $venv/pip.log)" >&2
done <<< "$candidates"
echo "error: the action server's dependencies installed on none of the Pythons 3.11-3.13 found; see $venv/pip.log" >&2
exit 1
