#!/usr/bin/env bash
# Executes notebooks headless in Jupyter with the .NET C# kernel, the way a person's Jupyter would:
#   environment/run-jupyter-smoke.sh [notebook.ipynb ...]     (default: environment/jupyter/smoke.ipynb)
# Executed copies go to <repo>/out/notebooks/jupyter/<name>.ipynb (OLA_NB_OUT overrides the folder).
# Env: OLA_PROFILE (quick|full, passed to the notebooks), OLA_NB_TIMEOUT (seconds per cell, default 1800).
# A cell that throws fails the run, except cells tagged `raises-exception` (nbclient's convention).
# Needs environment/install-jupyter.sh once; builds src/OlaVlm first if out/lib/OlaVlm.dll is missing.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${OLA_NB_OUT:-$repo/out/notebooks/jupyter}"
timeout="${OLA_NB_TIMEOUT:-1800}"
export DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ $# -eq 0 ]; then set -- "$repo/environment/jupyter/smoke.ipynb"; fi
command -v jupyter-nbconvert >/dev/null || { echo "run-jupyter-smoke: jupyter-nbconvert missing: run environment/install-jupyter.sh" >&2; exit 2; }
# (list into a variable first: `grep -q` closing the pipe early fails the pipeline under pipefail)
kernels="$(jupyter kernelspec list 2>/dev/null)"
grep -q '^ *\.net-csharp ' <<<"$kernels" || { echo "run-jupyter-smoke: no .net-csharp kernel: run environment/install-jupyter.sh" >&2; exit 2; }
if [ ! -f "$repo/out/lib/OlaVlm.dll" ]; then (cd "$repo" && dotnet build src/OlaVlm -v q -nologo); fi
mkdir -p "$out"

status=0
for nb in "$@"; do
  [ -f "$nb" ] || { echo "run-jupyter-smoke: no such notebook: $nb" >&2; status=1; continue; }
  name="$(basename "$nb")"
  log="$out/${name%.ipynb}.log"
  start=$(date +%s%N)
  # The kernel starts in the notebook's own folder: relative `#r` paths and the tool manifest lookup
  # (<repo>/.config/dotnet-tools.json) are resolved from there.
  if jupyter nbconvert --to notebook --execute \
       --ExecutePreprocessor.kernel_name=.net-csharp \
       --ExecutePreprocessor.timeout="$timeout" \
       --output-dir "$out" "$nb" >"$log" 2>&1; then
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf 'run-jupyter-smoke: %s OK in %d.%03d s (profile %s) -> %s\n' "$name" $((ms / 1000)) $((ms % 1000)) "${OLA_PROFILE:-full}" "$out/$name"
  else
    status=1
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf 'run-jupyter-smoke: %s FAILED after %d.%03d s; log %s\n' "$name" $((ms / 1000)) $((ms % 1000)) "$log" >&2
    grep -E 'CellExecutionError|Error|Exception' "$log" | head -20 >&2 || true
  fi
done
exit $status
