#!/usr/bin/env bash
# Does the .deb work once installed? Unpacks it into a temporary root (dpkg-deb -x: no root rights, nothing
# installed on this machine), runs its `selfie-desk` command, then starts the menu launcher's Exec line
# (adjusted to the temporary root) under Xvfb and takes a screenshot of the window.
#
#   bash packaging/smoke-deb.sh [DEB] [SCREENSHOT]
#       DEB         default: the newest dist/selfie-desk_*.deb
#       SCREENSHOT  default: docs/screenshots/installed.png
#
# Needs Xvfb, xdotool and ImageMagick (`bash tools/setup-system.sh --shots`). The app's files go to a
# temporary SELFIE_DESK_HOME, deleted at the end. Exit 0 when the window showed up, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=${1:-$(ls -t dist/selfie-desk_*.deb 2>/dev/null | head -1)}
shot=${2:-docs/screenshots/installed.png}
[[ -f "$deb" ]] || { echo "smoke-deb: no .deb (run make package first)" >&2; exit 1; }
for tool in Xvfb xdotool /usr/bin/import; do
  command -v "$tool" >/dev/null || { echo "smoke-deb: $tool missing: bash tools/setup-system.sh --shots" >&2; exit 1; }
done

# Under build/ (git-ignored), not /tmp: the GPU .deb unpacks to 4.5 GB, on the disk packaging/build.sh checked
mkdir -p build
work=$(mktemp -d "$PWD/build/smoke.XXXXXX")
xvfb_pid="" app_pid=""
cleanup() {
  if [[ -n "$app_pid" ]]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  if [[ -n "$xvfb_pid" ]]; then kill "$xvfb_pid" 2>/dev/null || true; wait "$xvfb_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

root=$work/root
echo "smoke-deb: unpacking $deb into $root" >&2
dpkg-deb -x "$deb" "$root"
export SELFIE_DESK_HOME=$work/home

# 1. the command the package puts on PATH (a relative symlink into /opt), outside any display
"$root/usr/bin/selfie-desk" --version

# 2. the launcher: the .desktop file's Exec line, its command looked up in the unpacked root
desktop=$root/usr/share/applications/selfie-desk.desktop
exec_line=$(sed -n 's/^Exec=//p' "$desktop" | head -1)
read -r -a words <<< "$exec_line"
args=()
for w in "${words[@]}"; do [[ "$w" == %? ]] || args+=("$w"); done  # drop field codes (%f: no file given)
cmd=${args[0]}
if [[ "$cmd" == /* ]]; then cmd=$root$cmd; else cmd=$root/usr/bin/$cmd; fi
[[ -x "$cmd" ]] || { echo "smoke-deb: the launcher's command $cmd is not in the package" >&2; exit 1; }
echo "smoke-deb: launcher Exec=$exec_line -> $cmd ${args[*]:1}" >&2

display=""
for n in 91 92 93 94 95 96 97 98; do
  [[ -e /tmp/.X11-unix/X$n || -e /tmp/.X$n-lock ]] || { display=:$n; break; }
done
[[ -n "$display" ]] || { echo "smoke-deb: no free X display number" >&2; exit 1; }
Xvfb "$display" -screen 0 1440x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [[ -e /tmp/.X11-unix/X${display#:} ]] && break; sleep 0.1; done
export DISPLAY=$display QT_QPA_PLATFORM=xcb

t0=$SECONDS
"$cmd" "${args[@]:1}" > "$work/app.log" 2>&1 &
app_pid=$!
win=""
for _ in $(seq 120); do
  win=$(xdotool search --onlyvisible --name "Selfie Desk" 2>/dev/null | head -1 || true)
  [[ -n "$win" ]] && break
  kill -0 "$app_pid" 2>/dev/null || { echo "smoke-deb: the app exited:" >&2; cat "$work/app.log" >&2; exit 1; }
  sleep 0.5
done
[[ -n "$win" ]] || { echo "smoke-deb: no window after 60 s" >&2; cat "$work/app.log" >&2; exit 1; }
echo "smoke-deb: window '$(xdotool getwindowname "$win")' after $((SECONDS - t0)) s" >&2
xdotool windowmove "$win" 0 0 windowsize "$win" 1440 900 2>/dev/null || true

# The first start opens the bundled demo photos and scores them: wait until the catalog has every score.
catalog=$SELFIE_DESK_HOME/data/catalog.sqlite3
want=$(find "$root/opt/selfie-desk/_internal/resources/demo" -type f ! -name '*.md' | wc -l)
for _ in $(seq 180); do
  got=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from scores').fetchone()[0])" \
    "$catalog" 2>/dev/null || echo 0)
  [[ "$got" -ge "$want" ]] && break
  sleep 0.5
done
echo "smoke-deb: $got of $want demo photos scored after $((SECONDS - t0)) s" >&2
sleep 3  # the grid re-sorts when the scan ends
mkdir -p "$(dirname "$shot")"
/usr/bin/import -window root "$shot"
echo "smoke-deb: screenshot $shot" >&2
kill -0 "$app_pid" 2>/dev/null || { echo "smoke-deb: the app died:" >&2; cat "$work/app.log" >&2; exit 1; }
[[ "$got" -ge "$want" ]] || { echo "smoke-deb: the window did not score the demo photos" >&2; exit 1; }
echo "smoke-deb: ok" >&2
