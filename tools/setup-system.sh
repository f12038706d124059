#!/usr/bin/env bash
# System libraries the app and its tests need on Debian/Ubuntu, installed only when missing.
# Called by `make` before the venv is built; safe to run again (it does nothing when all are present).
#   tools/setup-system.sh          Qt's runtime libraries (offscreen tests and a real window)
#   tools/setup-system.sh --shots  also Xvfb, xdotool and ImageMagick for tools/screenshots.py
set -euo pipefail

packages=(
  # Qt 6 (PySide6): OpenGL/EGL, fonts, D-Bus, keyboard, and the xcb platform for a real window
  libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0 fonts-dejavu-core
  libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
  libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-sync1 libxkbcommon-x11-0
  # exiftool: the reference EXIF/XMP reader the export tests check our files against
  libimage-exiftool-perl
)
if [[ "${1:-}" == "--shots" ]]; then
  packages+=(xvfb xdotool imagemagick)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup-system: not a Debian-like system; install Qt 6's runtime libraries yourself" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  apt=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt=(sudo apt-get)
else
  echo "setup-system: missing ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 0
fi
echo "setup-system: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq >/dev/null
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
