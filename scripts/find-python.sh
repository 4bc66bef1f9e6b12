#!/usr/bin/env bash
# Print the path of a Python >= 3.12: $PYTHON, then python3.13/python3.12/python3 on PATH,
# then pyenv's versions. Exit 1 with a clear message when there is none.
set -euo pipefail
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
for cand in "${PYTHON:-}" python3.13 python3.12 python3; do
  [ -n "$cand" ] || continue
  path=$(command -v "$cand" 2>/dev/null) || continue
  if ok "$path"; then echo "$path"; exit 0; fi
done
root=${PYENV_ROOT:-$HOME/.pyenv}
for path in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -r); do
  if ok "$path"; then echo "$path"; exit 0; fi
done
echo "error: no Python >= 3.12 found (set PYTHON=/path/to/python3.12)" >&2
exit 1
