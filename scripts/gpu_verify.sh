#!/usr/bin/env bash
# Measure every fixture on an NVIDIA GPU in one go (about 8 minutes), in two steps:
#
#   scripts/gpu_verify.sh prepare        # here, with greenlint installed: writes gpu_pairs/
#   scripts/gpu_verify.sh run OUT_DIR [RULE ...]   # on the GPU box: needs only python3, torch,
#                                        # nvidia-ml-py; GPU_BUDGET=seconds (default 400) is shared
#                                        # equally by the rules measured
#                                        # (gpu_pairs/ is git-ignored: carry it to that machine)
#
# `prepare` runs greenlint's own fixer on each fixture (the after-files are never hand-written,
# except for display-only rules). `run` imports nothing but greenlint.energy from src/, reads the
# NVML energy counter around >= 2 s windows, never changes any GPU setting, and writes
# OUT_DIR/verify-gpu.json and verify-gpu.txt; commit them under docs/ with the card and date.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    prepare)
        rm -rf gpu_pairs
        greenlint verify --size gpu --prepare gpu_pairs
        ;;
    run)
        out="${2:?usage: scripts/gpu_verify.sh run OUT_DIR [RULE ...]}"
        shift 2
        rules=()
        for r in "$@"; do rules+=(--rule "$r"); done
        py="${PYTHON:-python3}"
        mkdir -p "$out"
        nvidia-smi --query-gpu=name,driver_version,power.limit,temperature.gpu --format=csv | tee "$out/gpu.csv" || echo "no nvidia-smi here"
        PYTHONPATH=src "$py" -m greenlint.energy info | tee "$out/meters.txt"
        # Six pairs (the fewest for which the Wilcoxon test can reach p < 0.05) take about 70 s
        # per rule on a GPU box, so name the rules when the slot is short.
        PYTHONPATH=src "$py" -m greenlint.energy run gpu_pairs --size gpu --budget "${GPU_BUDGET:-400}" \
            "${rules[@]}" --json "$out/verify-gpu.json" 2>&1 | tee "$out/verify-gpu.txt"
        ;;
    *)
        echo "usage: scripts/gpu_verify.sh prepare | run OUT_DIR" >&2
        exit 2
        ;;
esac
