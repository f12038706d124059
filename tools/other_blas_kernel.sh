#!/usr/bin/env bash
# Prints an OpenBLAS core type other than the one OpenBLAS picks on this machine, for OPENBLAS_CORETYPE: the
# perturbed test run (`make test-perturbed`) runs the suite on it, so a test that asserts one machine's numerics
# (a t-SNE layout, a k-means split) fails here, not on a newcomer's machine. The choice runs on any CPU of its
# family: Haswell needs AVX2 (every x86-64 that picks SkylakeX, Zen or Cooperlake has it), Sandybridge only AVX,
# ARMV8 is the generic ARM kernel.
set -euo pipefail
py=${1:-python3}
picked=$("$py" -c "
from threadpoolctl import threadpool_info
import numpy  # noqa: F401  loads OpenBLAS
print(next((i.get('architecture') or '') for i in threadpool_info() if i.get('internal_api') == 'openblas'))" 2>/dev/null || true)
case "$(uname -m)" in
  x86_64|amd64)
    if [[ "$picked" == "Haswell" ]]; then echo Sandybridge; else echo Haswell; fi ;;
  aarch64|arm64)
    if [[ "$picked" == "ARMV8" ]]; then echo NEOVERSEN1; else echo ARMV8; fi ;;
  *) echo "" ;;
esac
