#!/usr/bin/env bash
# Measure every fixture on an NVIDIA GPU in one go (about 8 minutes), in two steps:
#
#   scripts/gpu_verify.sh prepare        # here, with greenlint installed: writes gpu_pairs/
#   scripts/gpu_verify.sh run OUT_DIR    # on the GPU box: needs only python, torch, nvidia-ml-py
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
        out="${2:?usage: scripts/gpu_verify.sh run OUT_DIR}"
        mkdir -p "$out"
        nvidia-smi --query-gpu=name,driver_version,power.limit,temperature.gpu --format=csv | tee "$out/gpu.csv"
        PYTHONPATH=src python -m greenlint.energy info | tee "$out/meters.txt"
        # ~40 s per rule across 10 rules leaves room inside an 8-minute slot.
        PYTHONPATH=src python -m greenlint.energy run gpu_pairs --size gpu --budget 400 \
            --json "$out/verify-gpu.json" | tee "$out/verify-gpu.txt"
        ;;
    *)
        echo "usage: scripts/gpu_verify.sh prepare | run OUT_DIR" >&2
        exit 2
        ;;
esac
