#!/usr/bin/env bash
# The whole test suite on the Python packages a rig installs (requirements/bookworm.lock by
# default: numpy 1.26.4, scipy 1.17.1, ...), on this machine's CPU. The README's test
# command runs on requirements/test.txt (numpy 2.x); this catches code that works on one
# numpy and not the other. Not in CI: a second suite run (~12 min on 2 cores).
#
#   bash scripts/lock_check.sh [LOCK] [PYTEST ARGS...]   (LOCK default requirements/bookworm.lock)
#
# The venv (VENV, default /tmp/dermocap-lock-venv) gets the lock's packages (hashes
# checked), dermocap itself without dependencies, and the test tools with the lock's numpy
# held. torch is not installed: the training tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=${1:-requirements/bookworm.lock}
shift || true
VENV=${VENV:-/tmp/dermocap-lock-venv}
[ -f "$LOCK" ] || { echo "no lock file $LOCK (see requirements/)" >&2; exit 2; }
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --require-hashes -r "$LOCK"
held=$(mktemp)
trap 'rm -f "$held"' EXIT
grep -E '^(numpy|scipy|pillow|onnxruntime)==' "$LOCK" | cut -d' ' -f1 > "$held"
"$VENV/bin/python" -m pip install -q -c "$held" --no-deps -e .
"$VENV/bin/python" -m pip install -q -c "$held" pytest hypothesis jsonschema pyyaml onnx selenium 'psycopg[binary]'
"$VENV/bin/python" -c 'import numpy, scipy, onnxruntime; print("numpy", numpy.__version__, "scipy", scipy.__version__, "onnxruntime", onnxruntime.__version__)'
if [ $# -eq 0 ]; then set -- tests; fi
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
