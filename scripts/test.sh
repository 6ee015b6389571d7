#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian / Raspberry Pi OS machine, then run
# ruff (lint + format), mypy (strict) and pytest. Safe to run again: it reuses .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# the dashboard's browser test drives Debian's chromium through its driver (nothing downloaded)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
# the dashboard's store is also tested on a PostgreSQL server the tests start (initdb)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
python3 -m venv --help >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
echo "== installing dermocap with the dev and train extras (versions of requirements/test.txt)"
# pip itself pinned too: a new pip release must not change what CI does unannounced
.venv/bin/python -m pip install -q 'pip==26.3' >/dev/null
# PIP_CONSTRAINT, not -c: it reaches the isolated build of dermocap itself (setuptools) too
PIP_CONSTRAINT="$PWD/requirements/test.txt" .venv/bin/python -m pip install -q -e '.[dev,train]'

export PATH="$PWD/.venv/bin:/usr/sbin:$PATH"
echo "== ruff check"
ruff check .
echo "== ruff format --check"
ruff format --check .
echo "== mypy (strict)"
mypy
echo "== pytest"
pytest "$@"
