#!/usr/bin/env bash
# Rebuild the shipped hair model (2.11.0) into inference/models: 2.3.0's FP32 file, frames of
# the five training generators (blind-1, -2, -3, -6, -7) with their cut tips, then the
# fine-tune on the twin's crops (a quarter of each batch) and those frames (three quarters, their
# tips training the tip map; count mass on cut tips and the twin's shafts priced at weight
# 0.5, "hard negatives"), 8,000 steps at lr 1e-3 (docs/model_card.md, "2.11.0"), on the twin's
# synth-v15 looks (--looks 15: labyrinth networks, deep, thin creases and dark skin marks among
# them).
# On the CPU (the default) ~55 min on two cores once the twin's training renders and the frames
# are cached (~35 min more the first time; ~5 GB of memory for the frames); with a GPU, add
# --device cuda (the steps take minutes; the files differ a little, the tables do not: model
# card). The last step resumes its checkpoint if stopped. Extra arguments go to the last step,
# scripts/train_model.py (e.g. --out DIR to write elsewhere; a clinic's own annotated images
# go into the frames folder beside them, not as a second --real-dir, which would replace it).
# Options for the frames export go in FRAMES_OPTS (e.g. FRAMES_OPTS="--bare-roots 0.5", see
# scripts/export_generator_frames.py --help); such frames get a folder of their own
# (generators5--bare-roots-0.5), so the shipped recipe's frames are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BASE_COMMIT=05a3899  # a commit that shipped 2.3.0
BASE_SHA=1b40399d40b2cacb421d3deddefb9929716bfb15fb8f40c650f7b2c0838dcb4d  # its FP32 file
work=${TMPDIR:-/tmp}/dermocap-train
read -r -a frames_opts <<< "${FRAMES_OPTS:-}"
frames=$work/generators5
if [ ${#frames_opts[@]} -gt 0 ]; then
  frames=$frames$(printf '%s' "${frames_opts[*]}" | tr -c 'A-Za-z0-9.' '-')
fi
base=$work/2.3.0/hair_density_fp32.onnx
mkdir -p "$work/2.3.0"
if [ ! -f "$base" ]; then
  if git cat-file -e "$BASE_COMMIT:inference/models/hair_density_fp32.onnx" 2>/dev/null; then
    echo "== 2.3.0's FP32 file from git ($BASE_COMMIT)"
    git show "$BASE_COMMIT:inference/models/hair_density_fp32.onnx" > "$base.tmp"
    mv "$base.tmp" "$base"
  else
    echo "== no git history here: training 2.1.0 from scratch, then the 2.2.0 and 2.3.0" \
      "fine-tunes (~95 min; their own bytes, not the shipped files', so the result will" \
      "differ a little from 2.11.0)"
    "$PY" scripts/train_model.py --out "$work/2.1.0" --checkpoint "$work/2.1.0.pt" \
      --workers 2 --steps 9000 --threads 1
    "$PY" scripts/train_model.py --out "$work/2.2.0" \
      --init-onnx "$work/2.1.0/hair_density_fp32.onnx" --checkpoint "$work/2.2.0.pt" \
      --steps 3000 --lr 3e-4 --threads 1 --workers 2 --count-weight 1 --count-norm relative \
      --fit-count-gain frames
    "$PY" scripts/train_model.py --out "$work/2.3.0" \
      --init-onnx "$work/2.2.0/hair_density_fp32.onnx" --checkpoint "$work/2.3.0.pt" \
      --steps 2000 --lr 3e-4 --threads 1 --workers 2 --count-weight 1 --count-norm relative \
      --fit-count-gain frames --fit-diameter-gain --blend 0.5
  fi
fi
if [ "$(sha256sum "$base" | cut -d' ' -f1)" != "$BASE_SHA" ]; then
  echo "note: $base is not the shipped 2.3.0 file (SHA-256 differs); the manifest records which"
fi
echo "== frames of the training generators (heldout-1, blind-4, -5, -8 and -9 are never trained on)"
"$PY" scripts/export_generator_frames.py --out "$frames" --n 300 --hairless 30 \
  --workers 2 --generators blind,blind2,blind3,blind6,blind7 "${frames_opts[@]}"
"$PY" scripts/train_model.py --out inference/models --init-onnx "$base" \
  --checkpoint "$work/2.11.0.pt" --steps 8000 --lr 1e-3 --threads 1 --workers 2 \
  --count-weight 1 --count-norm abs --fit-count-gain frames --fit-diameter-gain \
  --real-dir "$frames" --real-share 0.75 --frame-tips --negative-weight 0.5 \
  --looks 15 "$@"
