#!/usr/bin/env bash
# The inference path and the pure unit tests on 64-bit ARM, without a Pi: a Debian bookworm
# arm64 root run under qemu-user emulation, with the Python packages of
# requirements/bookworm.lock (the versions a rig of this release installs).
#
#   sudo bash scripts/arm64_check.sh [ROOT]      (ROOT default /var/tmp/dermocap-arm64)
#
# 1. host tools (qemu-user-static, debootstrap) and the aarch64 binfmt handler;
# 2. a minimal bookworm arm64 root from the Debian mirror this host's apt uses (kept in ROOT:
#    a second run skips this and the venv);
# 3. a venv in it from the lock file (--require-hashes), dermocap itself, pytest + hypothesis;
# 4. the model's golden self-check (INT8 and FP32) on arm64;
# 5. `dermocap analyze` of N twin renders (N_RENDERS, default 3) on this x86 host and on
#    arm64, compared (density per cm2, hair count);
# 6. the pure unit tests (PURE_TESTS) on arm64.
# Each step prints its wall time; the output and JSON land in out/arm64/. It needs root
# (debootstrap, chroot, mounts). Not in CI: under emulation it takes far longer than the
# native suite (see docs/model_card.md, "On arm64").
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ROOT=${1:-/var/tmp/dermocap-arm64}
OUT=$REPO/out/arm64
N_RENDERS=${N_RENDERS:-3}
PURE_TESTS=${PURE_TESTS:-tests/test_inference_pure.py tests/test_inference_model.py tests/test_config.py tests/test_capture_science.py}
T0=$(date +%s)
stage() { echo "== [$(( $(date +%s) - T0 )) s] $*"; }
# pip in the root trusts what this host trusts (a proxy's CA included): the host's bundle.
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/bin:/bin LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/host-ca-certificates.crt "$@"
}

if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: sudo bash scripts/arm64_check.sh" >&2
  exit 1
fi
mkdir -p "$OUT"

stage "host tools"
if ! command -v qemu-aarch64-static >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-user-static debootstrap >/dev/null
fi
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] ||
  cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register

# The host's own Debian mirror (first non-security URI of its apt sources), or $MIRROR.
mirror() {
  if [ -n "${MIRROR:-}" ]; then echo "$MIRROR"; return; fi
  { sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null
    sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
      /etc/apt/sources.list 2>/dev/null
  } | grep -v security | head -n 1
}

if [ ! -x "$ROOT/usr/bin/python3" ]; then
  stage "debootstrap bookworm arm64 into $ROOT from $(mirror)"
  debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,ca-certificates bookworm "$ROOT" "$(mirror)" >"$OUT/debootstrap.log"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$ROOT/etc/ssl/certs/host-ca-certificates.crt"
# qemu-user shows programs this host's /proc/cpuinfo (x86), on which onnxruntime's cpuinfo
# crashes at import (a segfault under qemu 7.2). The root gets its own /proc with the
# cpuinfo of a Raspberry Pi 5 (Cortex-A76: dot product, no i8mm) on top, one entry per host
# CPU, so onnxruntime picks the kernels it picks on the rig (qemu's default CPU has them).
pi5_cpuinfo() {
  local n i
  n=$(grep -c '^processor' /proc/cpuinfo)
  for ((i = 0; i < n; i++)); do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\n' "$i" \
      "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
    printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n'
  done
  printf 'Revision\t: d04170\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0 (emulated)\n'
}
pi5_cpuinfo > "$OUT/cpuinfo-pi5"
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
mount --make-private "$ROOT/proc"
mount --bind "$OUT/cpuinfo-pi5" "$ROOT/proc/cpuinfo"
for fs in sys dev; do
  mountpoint -q "$ROOT/$fs" || mount --rbind "/$fs" "$ROOT/$fs"
done
cleanup() { for fs in dev sys proc; do umount -R "$ROOT/$fs" 2>/dev/null || true; done; }
trap cleanup EXIT
echo "   $(in_root uname -m), $(in_root python3 --version)"

stage "the repository and a venv from requirements/bookworm.lock"
rm -rf "$ROOT/opt/dermocap"
mkdir -p "$ROOT/opt/dermocap"
git ls-files -z | tar -C "$REPO" --null -T - -cf - | tar -C "$ROOT/opt/dermocap" -xf -
if [ ! -x "$ROOT/opt/venv/bin/pytest" ]; then
  in_root python3 -m venv /opt/venv
  in_root /opt/venv/bin/pip install -q --require-hashes -r /opt/dermocap/requirements/bookworm.lock
  in_root /opt/venv/bin/pip install -q pytest hypothesis
fi
in_root /opt/venv/bin/pip install -q --no-deps --force-reinstall /opt/dermocap
in_root /opt/venv/bin/python -c \
  'import numpy, onnxruntime, platform; print("  ", platform.machine(), "numpy", numpy.__version__, "onnxruntime", onnxruntime.__version__)'

stage "golden self-check (INT8 and FP32) on arm64"
in_root /opt/venv/bin/python -c '
import time
from inference.model import HairModel
for spec in ("int8", "fp32"):
    t0 = time.monotonic()
    with HairModel.load(spec) as m:
        print(f"   {spec}: {m.info.name} {m.info.version}: SHA-256 and self-check passed "
              f"({time.monotonic() - t0:.1f} s)")
'

stage "twin renders and analyze on x86"
mkdir -p "$ROOT/tmp/renders"
imgs=()
for i in $(seq 1 "$N_RENDERS"); do
  "$REPO/.venv/bin/dermocap" sim render --seed "$i" --out "$ROOT/tmp/renders/seed$i.png" \
    --truth "$OUT/truth-seed$i.json" >/dev/null
  imgs+=("/tmp/renders/seed$i.png")
done
# the twin's true scale (the same for every seed at one camera config)
UM=$("$REPO/.venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["um_per_px"])' \
  "$OUT/truth-seed1.json")
"$REPO/.venv/bin/dermocap" analyze "${imgs[@]/#/$ROOT}" --um-per-px "$UM" --model int8 \
  >"$OUT/analyze-x86.jsonl"

stage "analyze on arm64"
in_root /opt/venv/bin/dermocap analyze "${imgs[@]}" --um-per-px "$UM" --model int8 \
  >"$OUT/analyze-arm64.jsonl"
"$REPO/.venv/bin/python" - "$OUT/analyze-x86.jsonl" "$OUT/analyze-arm64.jsonl" <<'EOF'
import json, sys
x86, arm = ([json.loads(line) for line in open(p)] for p in sys.argv[1:3])
worst = 0.0
for a, b in zip(x86, arm, strict=True):
    da, db = a["density_per_cm2"], b["density_per_cm2"]
    rel = abs(db - da) / max(da, 1e-9)
    worst = max(worst, rel)
    name = a["image"].rsplit("/", 1)[-1]
    print(f"   {name}: x86 {da:.2f}/cm2 ({a['hair_count']} hairs, {a['inference_ms']:.0f} ms), "
          f"arm64 {db:.2f}/cm2 ({b['hair_count']} hairs, {b['inference_ms']:.0f} ms), "
          f"difference {rel:.3%}")
print(f"   largest difference {worst:.3%}")
sys.exit(0 if worst <= 0.02 else 1)
EOF

stage "pure unit tests on arm64: $PURE_TESTS"
in_root /bin/sh -c "cd /opt/dermocap && /opt/venv/bin/python -m pytest -q -p no:cacheprovider $PURE_TESTS" \
  | tail -n 3
stage "done"
