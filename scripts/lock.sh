#!/usr/bin/env bash
# Regenerate the pinned versions: the lock files systemd/install.sh installs from (pip install
# --require-hashes -r), one per Raspberry Pi OS release, for 64-bit ARM: dermocap's runtime
# dependencies from pyproject.toml under requirements/<release>.in, every version pinned with
# the SHA-256 of each of its files; and requirements/test.txt, the tested versions that
# scripts/test.sh and scripts/demo.sh install (below). Run after changing a dependency; commit
# requirements/*.lock and requirements/test.txt with the release.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
UV_VERSION=0.13.9  # pinned: another uv may resolve or write the lock files differently
if [ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  .venv/bin/python -m pip install -q "uv==$UV_VERSION"
fi
# release:python  (bookworm ships Python 3.11, trixie 3.13; glibc 2.36 and 2.41, which uv names up to 2_40)
for pair in bookworm:3.11:2_36 trixie:3.13:2_40; do
  IFS=: read -r release python glibc <<<"$pair"
  .venv/bin/uv pip compile pyproject.toml -q --generate-hashes \
    --constraint "requirements/$release.in" \
    --python-version "$python" --python-platform "aarch64-manylinux_$glibc" \
    --custom-compile-command "bash scripts/lock.sh" \
    --output-file "requirements/$release.lock"
  echo "requirements/$release.lock: $(grep -c '==' "requirements/$release.lock") packages"
done
# The tested versions (scripts/test.sh and scripts/demo.sh install with them as
# PIP_CONSTRAINT): every dependency of the dev and train extras, one resolution for any
# platform and Python >= 3.11, so a new release of a linter or a library cannot turn a fresh
# clone's tests red overnight. No hashes: the CPU build of torch comes from a local index on
# some machines.
.venv/bin/uv pip compile pyproject.toml -q --extra dev --extra train --universal \
  --python-version 3.11 --custom-compile-command "bash scripts/lock.sh" \
  --output-file requirements/test.txt
echo "requirements/test.txt: $(grep -c '==' requirements/test.txt) packages"
