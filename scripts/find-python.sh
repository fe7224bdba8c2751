#!/usr/bin/env bash
# Prints the path of a Python 3.8-3.10 interpreter (Rasa 3.6 supports no newer one).
# Order: $PYTHON, python3.10/3.9/3.8 on PATH, then pyenv's versions. Fails with a clear message.
set -u
is_supported() {
  "$1" -c 'import sys; sys.exit(0 if (3, 8) <= sys.version_info[:2] < (3, 11) else 1)' >/dev/null 2>&1
}
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for name in python3.10 python3.9 python3.8; do
  path=$(command -v "$name" 2>/dev/null) && candidates+=("$path")
done
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
while IFS= read -r dir; do
  candidates+=("$dir/bin/python")
done < <(ls -d "$root"/versions/3.10.* "$root"/versions/3.9.* "$root"/versions/3.8.* 2>/dev/null | sort -rV)
for candidate in "${candidates[@]}"; do
  if is_supported "$candidate"; then
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
cat >&2 <<'MSG'
error: PoreGuide needs Python 3.8, 3.9 or 3.10 (Rasa Open Source 3.6 supports nothing newer),
and none was found: not $PYTHON, not python3.10/3.9/3.8 on PATH, not under pyenv's versions.
Install one (for example `pyenv install 3.10`) or run `make PYTHON=/path/to/python3.10 ...`.
MSG
exit 1
