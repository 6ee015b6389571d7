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

# os_release: print the Debian release (bookworm or trixie) whose lock file to install, or
# fail saying why. onnxruntime has no 32-bit ARM wheels: the OS must be 64-bit (arm64; amd64
# for a test machine). $ROOT prefixes /etc/os-release and $DPKG_ARCH overrides dpkg (tests).
os_release() {
  local arch codename
  arch=${DPKG_ARCH:-$(dpkg --print-architecture)}
  case "$arch" in
    arm64|amd64) ;;
    *)
      echo "this is a $arch system: dermocap needs 64-bit Raspberry Pi OS (arm64), since" \
        "onnxruntime has no 32-bit ARM build. Flash the 64-bit image and install again." >&2
      return 1 ;;
  esac
  codename=$(. "${ROOT:-}/etc/os-release" && echo "${VERSION_CODENAME:-}")
  case "$codename" in
    bookworm|trixie) echo "$codename" ;;
    *)
      echo "Raspberry Pi OS / Debian '${codename:-unknown}' is not supported: use bookworm" \
        "or trixie (64-bit)" >&2
      return 1 ;;
  esac
}

# rig_device_id: "rig-" and the Pi's serial number (device tree, else /proc/cpuinfo), else
# the first 16 hex digits of /etc/machine-id, so no two rigs share an id. $ROOT prefixes the
# paths (tests).
rig_device_id() {
  local root=${ROOT:-} serial=""
  if [ -r "$root/sys/firmware/devicetree/base/serial-number" ]; then
    serial=$(tr -d '\0' < "$root/sys/firmware/devicetree/base/serial-number")
  fi
  if [ -z "$serial" ] && [ -r "$root/proc/cpuinfo" ]; then
    serial=$(sed -n 's/^Serial[[:space:]]*:[[:space:]]*//p' "$root/proc/cpuinfo" | head -n 1)
  fi
  serial=$(printf '%s' "$serial" | tr -cd '0-9a-fA-F' | tr 'A-F' 'a-f')
  # a VM or a board without one reports zeros
  [ -n "${serial//0/}" ] || serial=""
  if [ -z "$serial" ] && [ -r "$root/etc/machine-id" ]; then
    serial=$(tr -cd '0-9a-f' < "$root/etc/machine-id" | head -c 16)
  fi
  if [ -z "$serial" ]; then
    echo "no serial number and no /etc/machine-id: set rig.device_id by hand" >&2
    return 1
  fi
  echo "rig-$serial"
}

# write_config FILE DERMOCAP DEVICE_ID: a new config from `DERMOCAP config show` for the
# hardware rig with its own device id and the state folder the service uses; an existing FILE
# keeps its settings but gets the state folder if it has none (so `dermocap --config FILE
# calibrate` writes where the service reads), and a warning if it still has the default id.
write_config() {
  local file=$1 dermocap=$2 id=$3
  if [ ! -f "$file" ]; then
    "$dermocap" config show > "$file.new"
    sed -i -e 's/^backend = "twin"/backend = "hardware"/' \
      -e "s/^device_id = \"rig-01\"/device_id = \"$id\"/" "$file.new"
    mv "$file.new" "$file"
    echo "   wrote $file (device_id $id): set [sync] host and port, then: sudo dermocap-rig doctor"
  elif grep -q '^device_id = "rig-01"' "$file"; then
    echo "   WARNING: $file keeps device_id \"rig-01\"; give each rig its own (this one: $id)" >&2
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

  local release id
  release=$(os_release)
  id=$(rig_device_id)
  echo "== OS packages ($release, 64-bit)"
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
  # systemd makes it at the first start; dermocap-rig (calibrate, doctor) may run before
  install -d -m 0750 -o dermocap -g dermocap "$STATE"

  echo "== code and venv in $PREFIX"
  mkdir -p "$PREFIX"
  # Copy the checkout (without its own venv) so the service never runs code from a home folder.
  tar -C "$src" --exclude=.venv --exclude=.git -cf - . | tar -C "$PREFIX" -xf -
  # picamera2 and libcamera come from the OS: the venv must see the system site-packages.
  [ -x "$PREFIX/.venv/bin/python" ] || python3 -m venv --system-site-packages "$PREFIX/.venv"
  # Exactly the versions of this release's lock file, each checked against its SHA-256, so
  # every rig of a release runs the same onnxruntime kernels (lgpio comes from the OS).
  "$PREFIX/.venv/bin/python" -m pip install -q --require-hashes -r "$PREFIX/requirements/$release.lock"
  "$PREFIX/.venv/bin/python" -m pip install -q --no-deps "$PREFIX"

  echo "== config skeleton in $CONF"
  install -d -m 0750 -o root -g dermocap "$CONF" "$CONF/credentials"
  write_config "$CONF/config.toml" "$PREFIX/.venv/bin/dermocap" "$id"
  chmod 0640 "$CONF/config.toml"; chgrp dermocap "$CONF/config.toml"
  make_credentials "$CONF/credentials"

  echo "== systemd unit"
  install -m 0644 "$src/systemd/dermocap.service" "$src/systemd/dermocap-failed.service" \
    /etc/systemd/system/
  install -m 0755 "$src/systemd/dermocap-rig" /usr/local/sbin/dermocap-rig
  systemctl daemon-reload
  systemctl enable dermocap.service
  # an upgrade: the running service holds the pins and camera the self-test needs
  systemctl stop dermocap.service dermocap-failed.service
  echo "== self-test (sudo dermocap-rig doctor)"
  if /usr/local/sbin/dermocap-rig doctor; then
    systemctl restart dermocap.service
    echo "started. Watch it: journalctl -u dermocap -f"
  else
    echo "enabled, not started: fix what doctor says (the broker in $CONF/config.toml, the"
    echo "login in $CONF/credentials/, calibrate with sudo dermocap-rig calibrate), then run"
    echo "  sudo dermocap-rig doctor && sudo systemctl start dermocap"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
