#!/usr/bin/env bash
# Prints the Pythons that can run the action server in its own venv (.venv-actions), best first:
# 3.13, then 3.12, then 3.11 (still supported; 3.10, which Rasa 3.6 needs, is not after October 2026).
# Order within a version: $ACTION_PYTHON, python3.X on PATH, then pyenv's versions (newest first).
# A candidate must run and have venv, ensurepip, ssl, sqlite3 and ctypes (pyenv builds may lack some).
# Exit status 1, with a note on stderr, when none is found: setup then keeps the single venv.
set -u
is_usable() {
  "$1" -c '
import sys
if not (3, 11) <= sys.version_info[:2] <= (3, 13):
    sys.exit(1)
import ctypes, ensurepip, sqlite3, ssl, venv
' >/dev/null 2>&1
}
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
candidates=()
[ -n "${ACTION_PYTHON:-}" ] && candidates+=("$ACTION_PYTHON")
for minor in 13 12 11; do
  path=$(command -v "python3.$minor" 2>/dev/null) && candidates+=("$path")
  while IFS= read -r dir; do
    candidates+=("$dir/bin/python")
  done < <(ls -d "$root"/versions/3."$minor".* 2>/dev/null | sort -rV)
done
found=()
for candidate in "${candidates[@]}"; do
  is_usable "$candidate" || continue
  executable=$("$candidate" -c 'import os, sys; print(os.path.realpath(sys.executable))')
  case " ${found[*]-} " in *" $executable "*) continue ;; esac
  found+=("$executable")
done
if [ ${#found[@]} -eq 0 ]; then
  cat >&2 <<'MSG'
note: no Python 3.11, 3.12 or 3.13 found (not $ACTION_PYTHON, not python3.13/3.12/3.11 on PATH,
not under pyenv's versions), so the action server runs in the Rasa venv on Python 3.10, whose
security fixes ended in October 2026. Install one (for example `pyenv install 3.13`) or run
`make setup ACTION_PYTHON=/path/to/python3.13`.
MSG
  exit 1
fi
printf '%s\n' "${found[@]}"
