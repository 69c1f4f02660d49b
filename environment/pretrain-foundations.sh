#!/usr/bin/env bash
# Reproduces the shipped foundations in data/foundation: the default profile's world, mini CLIP and mini LLM
# (packed text, then reasoning about scenes in words with the one-hop-first curriculum), trained from scratch
# with fixed seeds, with the text oracle's score and every file's SHA-256 in data/foundation/foundation.json.
# About 35-40 minutes on 2 idle cores (CLIP 4, LLM 32). Notebooks load data/foundation when its config and world match.
# After a change to the CLIP's recipe alone, `--llm-from data/foundation` takes the LLM over from the shipped
# foundation instead of training it again (checked: same LLM knobs, world and LLM code; found-9 was made so).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run --project src/OlaCheck -c Release -- foundations "$@"
