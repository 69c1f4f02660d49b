#!/usr/bin/env bash
# Checks that every Plotly chart in executed notebooks draws with no network access:
#   environment/check-charts-offline.sh out/notebooks/jupyter/smoke.ipynb [more.ipynb ...]
# For each notebook: nbconvert --to html (Debian's template loads require.js, like a Jupyter page), load the
# page in headless Chromium with networking off, dump the DOM, and require that every chart div
# (id="ola-plot-...") holds a drawn <svg class="main-svg">, and that no output loads a script from http(s).
# Writes <name>.html and <name>.dom.html to <repo>/out/notebooks/html/. Exit 1 if a chart stayed blank.
# Installs chromium and libjs-requirejs with apt-get when missing (needs root or sudo).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${OLA_HTML_OUT:-$repo/out/notebooks/html}"
[ $# -gt 0 ] || { echo "usage: $0 executed.ipynb [...]" >&2; exit 2; }

missing=()
for p in chromium libjs-requirejs jupyter-nbconvert python3-lxml; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
mkdir -p "$out"

status=0
for nb in "$@"; do
  [ -f "$nb" ] || { echo "check-charts-offline: no such notebook: $nb" >&2; status=1; continue; }
  name="$(basename "${nb%.ipynb}")"
  jupyter nbconvert --to html --output-dir "$out" --output "$name" "$nb" >/dev/null 2>&1 \
    || { echo "check-charts-offline: nbconvert --to html failed for $nb" >&2; status=1; continue; }
  profile_dir="$(mktemp -d)"
  # --virtual-time-budget lets timers and Plotly's async work finish before the DOM is dumped.
  # The proxy (a closed loopback port) and the resolver rule make every non-loopback request fail at once:
  # the page really is offline, and nothing in it (e.g. the kernel's probe script) reaches another host.
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile_dir" \
    --proxy-server="http://127.0.0.1:9" --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE localhost" \
    --virtual-time-budget=15000 --dump-dom "file://$out/$name.html" >"$out/$name.dom.html" 2>"$out/$name.chromium.log" \
    || { echo "check-charts-offline: chromium failed for $nb (log $out/$name.chromium.log)" >&2; status=1; }
  rm -rf "$profile_dir"
  /usr/bin/python3 - "$nb" "$out/$name.dom.html" <<'PY' || status=1
import json, re, sys
from lxml import html
nb_path, dom_path = sys.argv[1], sys.argv[2]
nb = json.load(open(nb_path, encoding="utf-8"))
outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
htmls = ["".join(o["data"]["text/html"]) if isinstance(o["data"]["text/html"], list) else o["data"]["text/html"]
         for o in outputs if "text/html" in o.get("data", {})]
expected = sorted({m for h in htmls for m in re.findall(r'id="(ola-plot-[0-9a-f]+)"', h)})
cdn = [m for h in htmls for m in re.findall(r'<script[^>]*\bsrc=["\']https?://[^"\']+', h)]
dom = html.fromstring(open(dom_path, encoding="utf-8").read())
blank = [i for i in expected
         if not dom.xpath(f'//div[@id="{i}"]//*[local-name()="svg" and contains(concat(" ", @class, " "), " main-svg ")]')]
svgs = len(dom.xpath('//*[local-name()="svg" and contains(concat(" ", @class, " "), " main-svg ")]'))
ok = not blank and not cdn
print(f"check-charts-offline: {nb_path}: {len(expected) - len(blank)}/{len(expected)} charts drew offline "
      f"({svgs} main-svg elements){'' if ok else ' FAILED'}")
for i in blank: print(f"  blank chart: {i}", file=sys.stderr)
for u in cdn: print(f"  output loads a remote script: {u}", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
done
exit $status
