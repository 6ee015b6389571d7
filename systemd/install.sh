#!/usr/bin/env bash
# Install dermocap as a systemd service on 64-bit Raspberry Pi OS (bookworm or trixie). Run as
# root from a checkout:
#   sudo bash systemd/install.sh
# Safe to run again (upgrades the code, keeps config, credentials and state).
# Sourcing this file (tests do) defines the functions and runs nothing.
set -euo pipefail

PREFIX=/opt/dermocap
CONF=/etc/dermocap
STATE=/var/lib/dermocap
# The credential names systemd/dermocap.service loads and sync/credentials.py reads, kept in
# $CONF/credentials/ under the same names; an empty file means "not used".
CREDENTIALS=(mqtt-username mqtt-password mqtt-ca.crt mqtt-client.crt mqtt-client.key)

# write_config FILE DERMOCAP: a new config from `DERMOCAP config show` for the hardware rig,
# its state where the service keeps it; an existing FILE keeps its settings but gets the state
# folder if it has none (so `dermocap --config FILE calibrate` writes where the service reads).
write_config() {
  local file=$1 dermocap=$2
  if [ ! -f "$file" ]; then
    "$dermocap" config show > "$file.new"
    sed -i 's/^backend = "twin"/backend = "hardware"/' "$file.new"
    mv "$file.new" "$file"
    echo "   wrote $file: set sync.host (and the rest), then: dermocap config check $file"
  fi
  sed -i "s|^state_dir = \"\"|state_dir = \"$STATE\"|" "$file"
}

# make_credentials DIR: every credential file, empty and root-only, unless it exists already.
make_credentials() {
  local dir=$1 f
  for f in "${CREDENTIALS[@]}"; do
    [ -f "$dir/$f" ] || install -m 0600 /dev/null "$dir/$f"
  done
}

main() {
  local src
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "run as root: sudo bash systemd/install.sh" >&2
    exit 1
  fi

  echo "== OS packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-venv python3-picamera2 python3-lgpio mosquitto-clients >/dev/null

  echo "== service user"
  if ! getent passwd dermocap >/dev/null; then
    useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin \
      --user-group dermocap
  fi
  for g in gpio video; do
    getent group "$g" >/dev/null && usermod -aG "$g" dermocap
  done

  echo "== code and venv in $PREFIX"
  mkdir -p "$PREFIX"
  # Copy the checkout (without its own venv) so the service never runs code from a home folder.
  tar -C "$src" --exclude=.venv --exclude=.git -cf - . | tar -C "$PREFIX" -xf -
  # picamera2 and libcamera come from the OS: the venv must see the system site-packages.
  [ -x "$PREFIX/.venv/bin/python" ] || python3 -m venv --system-site-packages "$PREFIX/.venv"
  "$PREFIX/.venv/bin/python" -m pip install -q --upgrade pip
  "$PREFIX/.venv/bin/python" -m pip install -q "$PREFIX[pi]"

  echo "== config skeleton in $CONF"
  install -d -m 0750 -o root -g dermocap "$CONF" "$CONF/credentials"
  write_config "$CONF/config.toml" "$PREFIX/.venv/bin/dermocap"
  chmod 0640 "$CONF/config.toml"; chgrp dermocap "$CONF/config.toml"
  make_credentials "$CONF/credentials"

  echo "== systemd unit"
  install -m 0644 "$src/systemd/dermocap.service" "$src/systemd/dermocap-failed.service" \
    /etc/systemd/system/
  install -m 0755 "$src/systemd/dermocap-rig" /usr/local/sbin/dermocap-rig
  systemctl daemon-reload
  systemctl enable dermocap.service
  echo "enabled. Put the MQTT login in $CONF/credentials/mqtt-username and mqtt-password, then:"
  echo "  sudo systemctl start dermocap && journalctl -u dermocap -f"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
