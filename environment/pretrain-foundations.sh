#!/usr/bin/env bash
# Reproduces the shipped foundations in data/foundation: the default profile's world, mini CLIP and mini LLM
# (packed text, then reasoning about scenes in words with the one-hop-first curriculum), trained from scratch
# with fixed seeds, with the text oracle's score and every file's SHA-256 in data/foundation/foundation.json.
# About 30-40 minutes on 2 idle cores. Notebooks load data/foundation when its config and world match theirs.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run --project src/OlaCheck -c Release -- foundations "$@"
