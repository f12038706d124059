#!/usr/bin/env bash
# Refresh constraints.txt, the lock the README's two commands install from (`make lock`).
#
# Builds a throwaway venv with the project's dependencies resolved afresh from pyproject.toml's ranges (the
# newest each range admits today), then writes every installed version, pinned, into constraints.txt. Review the
# diff, run `make clean test`, and commit the file with the test result: the versions that passed are the ones a
# fresh clone installs next month.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
"$tmp/venv/bin/python" -m pip install -q -e '.[dev,cluster]'
{
  echo "# The lock: every package the project installs, pinned (pip constraints; the Makefile installs with -c)."
  echo "# Made by \`make lock\` (tools/lock.sh) on $(uname -s) $(uname -m), Python $("$tmp/venv/bin/python" -c 'import platform; print(platform.python_version())'), $(date -u +%Y-%m-%d)."
  echo "# Packages that only install on other platforms are left to pyproject.toml's ranges there."
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable --all | grep -v -E '^(pip|setuptools|wheel)==' | LC_ALL=C sort -f
} > constraints.txt.new
mv constraints.txt.new constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages pinned"
