#!/usr/bin/env bash
# Installs what running notebooks under Jupyter needs, idempotently:
#   1. Debian's nbconvert + Jupyter client (no JupyterLab/notebook server: headless execution only),
#   2. the dotnet-interactive tool pinned in <repo>/.config/dotnet-tools.json (`dotnet tool restore`),
#   3. the .NET kernels (.net-csharp, .net-fsharp, .net-powershell) in the user's Jupyter kernel folder.
# Usage: environment/install-jupyter.sh            (root, or a user allowed to apt-get through sudo)
# Re-running is cheap: apt is skipped when the packages are there, restore and kernel install are no-ops.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

apt_packages=(jupyter-nbconvert jupyter-client jupyter-core python3-nbclient)
sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${apt_packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-jupyter: apt-get install ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-jupyter: Debian Jupyter packages already installed"
fi

# The kernel spec runs `dotnet interactive ...` in the notebook's folder, so the tool is found through the
# manifest at <repo>/.config (dotnet searches the working folder and its parents). Restore it here.
export DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet tool restore

# Registers the kernels with `jupyter kernelspec install --user` (folder ~/.local/share/jupyter/kernels).
# (list into a variable first: `grep -q` closing the pipe early fails the pipeline under pipefail)
kernels="$(jupyter kernelspec list 2>/dev/null)"
if grep -q '^ *\.net-csharp ' <<<"$kernels"; then
  echo "install-jupyter: .NET kernels already registered"
else
  dotnet interactive jupyter install
fi

# The kernel serves an HTTP API (for its JavaScript helpers) on every network interface by default, and
# the setup cell's output then carries a script that probes those addresses. --http-local-only keeps
# both on loopback. Added to each .NET kernel spec; idempotent.
/usr/bin/python3 - <<'PY'
import json, os, sys
from jupyter_client.kernelspec import KernelSpecManager
for name, path in KernelSpecManager().find_kernel_specs().items():
    if not name.startswith(".net-"):
        continue
    spec_file = os.path.join(path, "kernel.json")
    spec = json.load(open(spec_file))
    if "--http-local-only" not in spec["argv"]:
        spec["argv"].insert(spec["argv"].index("{connection_file}") + 1, "--http-local-only")
        json.dump(spec, open(spec_file, "w"), indent=2)
        print(f"install-jupyter: {name}: added --http-local-only")
PY
jupyter kernelspec list 2>/dev/null
echo "install-jupyter: done ($(jupyter nbconvert --version 2>/dev/null | sed 's/^/nbconvert /'), dotnet-interactive $(dotnet interactive --version))"
