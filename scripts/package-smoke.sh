#!/usr/bin/env bash
# Packaging smoke test: the .deb made from the debug build `make test` already has (Tauri's
# bundler packages it; nothing is compiled again) carries both programs, installs on this
# machine with its declared dependencies, and the installed programs run: `rookery --version`,
# and the installed desktop app opens its window and renders the UI under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
TAURI=ui/node_modules/.bin/tauri
# The release package (`make package`) names the release CLI; this one, the debug build's.
"$TAURI" bundle --debug --bundles deb \
  --config '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/rookery":"../target/debug/rookery"}}}}}'
DEB=$(ls -1t target/debug/bundle/deb/Rookery_*_amd64.deb | head -1)
LISTING=$(dpkg-deb -c "$DEB")
for bin in rookery rookery-desktop; do
  grep -Eq " (\./)?usr/bin/$bin\$" <<<"$LISTING" || { echo "$DEB holds no /usr/bin/$bin"; exit 1; }
done
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "./$DEB" >/dev/null
/usr/bin/rookery --version
SMOKE_OUT=ui/e2e/out/installed scripts/desktop-smoke.sh /usr/bin/rookery-desktop
echo "package smoke: $DEB installed; both programs run"
