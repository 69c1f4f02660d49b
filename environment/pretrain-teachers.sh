#!/usr/bin/env bash
# Reproduces the shipped teachers in data/teachers: the default profile's three mini teachers (depth ViT, seg and
# gen conv pyramids) trained from scratch on the default world's PT scenes with fixed seeds, each file's SHA-256
# in data/teachers/teachers.json. About 1.5-2 minutes on 2 idle cores. Notebooks 03-06 load data/teachers when
# its config, training knobs and world match (else they train the teachers under out/ as before).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run --project src/OlaCheck -c Release -- teachers "$@"
