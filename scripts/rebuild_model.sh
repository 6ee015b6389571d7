#!/usr/bin/env bash
# Rebuild the shipped hair model (2.2.0) into inference/models: 2.1.0's FP32 file, then the
# fine-tune that made 2.2.0 (docs/model_card.md, "2.2.0"). CPU only, ~25 min on two cores
# once the training renders are cached (~8 min more the first time). Extra arguments go to
# scripts/train_model.py (e.g. --out DIR to write elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BASE_COMMIT=ed39e17  # the last commit that shipped 2.1.0
BASE_SHA=8f28f1e26744d3ac360addbd8bfc5608f6133095ce8d7edaff24d74ab938f6b2  # its FP32 file
work=${TMPDIR:-/tmp}/dermocap-train
base=$work/2.1.0/hair_density_fp32.onnx
mkdir -p "$work/2.1.0"
if [ ! -f "$base" ]; then
  if git cat-file -e "$BASE_COMMIT:inference/models/hair_density_fp32.onnx" 2>/dev/null; then
    echo "== 2.1.0's FP32 file from git ($BASE_COMMIT)"
    git show "$BASE_COMMIT:inference/models/hair_density_fp32.onnx" > "$base.tmp"
    mv "$base.tmp" "$base"
  else
    echo "== no git history here: training 2.1.0 from scratch first (~45 min; its own bytes," \
      "not the shipped file's, so the result will differ a little from the shipped 2.2.0)"
    "$PY" scripts/train_model.py --out "$work/2.1.0" --checkpoint "$work/2.1.0.pt" \
      --workers 2 --steps 9000 --threads 1
  fi
fi
if [ "$(sha256sum "$base" | cut -d' ' -f1)" != "$BASE_SHA" ]; then
  echo "note: $base is not the shipped 2.1.0 file (SHA-256 differs); the manifest records which"
fi
"$PY" scripts/train_model.py --out inference/models --init-onnx "$base" \
  --checkpoint "$work/2.2.0.pt" --steps 3000 --lr 3e-4 --threads 1 --workers 2 \
  --count-weight 1 --count-norm relative --fit-count-gain frames "$@"
