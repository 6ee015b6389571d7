#!/usr/bin/env bash
# Set up dermocap on a fresh Debian / Raspberry Pi OS machine and run the demo on the digital twin.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -m venv --help >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "== installing mosquitto (the demo runs a private broker on loopback)"
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends mosquitto >/dev/null) || echo "(no mosquitto: results stay in the outbox)"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
PIP_CONSTRAINT="$PWD/requirements/test.txt" .venv/bin/python -m pip install -q -e .  # tested versions
export PATH="$PWD/.venv/bin:/usr/sbin:$PATH"
exec dermocap demo "$@"
