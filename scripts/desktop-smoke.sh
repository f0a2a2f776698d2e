#!/usr/bin/env bash
# Desktop smoke test: start the built app under Xvfb with a fresh data directory, wait for its
# window, take a screenshot of it and check that the web UI rendered (not a blank frame): the
# window must show many colours, and the app's first screen must differ from an empty window.
set -euo pipefail
APP=$(realpath "${1:-target/debug/rookery-desktop}")
OUT=${SMOKE_OUT:-ui/e2e/out}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT

xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -u
  ROOKERY_DATA_DIR="$2" "$1" --offline >"$3/desktop.log" 2>&1 &
  pid=$!
  win=""
  for _ in $(seq 1 60); do
    win=$(xdotool search --name "^Rookery$" 2>/dev/null | head -1 || true)
    [ -n "$win" ] && break
    kill -0 $pid 2>/dev/null || { echo "the app exited early:"; cat "$3/desktop.log"; exit 1; }
    sleep 0.5
  done
  [ -n "$win" ] || { echo "no window titled Rookery after 30 s"; cat "$3/desktop.log"; kill $pid; exit 1; }
  # The window exists; give the web view time to load and render the UI, then shoot it,
  # retrying until it shows the app (a blank web view is one flat colour).
  ok=1
  for _ in $(seq 1 20); do
    sleep 1
    import -window "$win" "$3/desktop.png" 2>/dev/null || continue
    colours=$(convert "$3/desktop.png" -format "%k" info:)
    if [ "$colours" -gt 50 ]; then ok=0; break; fi
  done
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  if [ $ok -ne 0 ]; then echo "the window stayed blank ($colours colours)"; cat "$3/desktop.log"; exit 1; fi
  echo "desktop smoke: window $win rendered the app ($colours colours), screenshot $3/desktop.png"
' smoke "$APP" "$DATA" "$OUT"
