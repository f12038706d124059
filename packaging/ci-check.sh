#!/usr/bin/env bash
# CI's packaging step (.ci/run calls it after `make test`): build the installers from this clone, run the
# frozen executable's --self-test headless, and check the .deb's metadata and contents. When Xvfb, xdotool
# and ImageMagick are installed it also starts the unpacked .deb's launcher (packaging/smoke-deb.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
fail() { echo "ci-check: FAILED: $*" >&2; exit 1; }
step() { printf '\n== ci-check: %s (%d s so far)\n' "$1" $((SECONDS - start)) >&2; }

step "make package"
make package

NAME=$(.venv/bin/python -c 'from selfie_desk.core.paths import APP_NAME; print(APP_NAME)')
VERSION=$(.venv/bin/python -c 'from selfie_desk import __version__; print(__version__)')
ARCH=$(dpkg --print-architecture)
exe=dist/$NAME/$NAME
deb=dist/${NAME}_${VERSION}_${ARCH}.deb
tarball=dist/$NAME-$VERSION-linux-$(uname -m).tar.gz
[[ -f "$deb" && -f "$tarball" ]] || fail "missing $deb or $tarball"

step "frozen --self-test (no display)"
out=$(env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM "$exe" --self-test 2>&1) || { echo "$out" >&2; fail "--self-test"; }
echo "$out"
grep -q "frozen bundle" <<< "$out" || fail "--self-test did not run from the frozen bundle"
grep -q "self-test passed" <<< "$out" || fail "--self-test did not pass"
[[ "$("$exe" --version)" == "$NAME $VERSION" ]] || fail "--version is not '$NAME $VERSION'"

step "dpkg-deb --info $deb"
info=$(dpkg-deb --info "$deb")
echo "$info"
field() { dpkg-deb --field "$deb" "$1"; }
[[ "$(field Package)" == "$NAME" ]] || fail "Package is not $NAME"
[[ "$(field Version)" == "$VERSION" ]] || fail "Version is not $VERSION"
[[ "$(field Architecture)" == "$ARCH" ]] || fail "Architecture is not $ARCH"
for f in Maintainer Installed-Size Description; do [[ -n "$(field "$f")" ]] || fail "no $f"; done
for lib in libxcb-cursor0 libxkbcommon-x11-0 libegl1 libfontconfig1; do  # Qt's xcb platform needs these
  field Depends | grep -q "$lib" || fail "Depends lacks $lib"
done

step "dpkg-deb --contents $deb"
contents=$(dpkg-deb --contents "$deb" | awk '{ $1=$2=$3=$4=$5=""; sub(/^ +/, ""); print }')
expect=(
  "./opt/$NAME/$NAME"
  "./opt/$NAME/_internal/models/mobilenet_v2-b0353104.pth"
  "./opt/$NAME/_internal/models/retinaface_mobilenet0.25.pth"
  "./opt/$NAME/_internal/models/score_head.pt"
  "./opt/$NAME/_internal/resources/demo/astronaut.png"
  "./opt/$NAME/_internal/resources/icons/selfie-desk.png"
  "./opt/$NAME/_internal/torchvision/_C_stable.so"
  "./usr/bin/$NAME -> ../../opt/$NAME/$NAME"
  "./usr/share/applications/$NAME.desktop"
  "./usr/share/icons/hicolor/256x256/apps/$NAME.png"
  "./usr/share/icons/hicolor/scalable/apps/$NAME.svg"
)
for path in "${expect[@]}"; do
  grep -qxF "$path" <<< "$contents" || fail "the .deb lacks $path"
  echo "  ok  $path"
done
if grep -q "^./opt/$NAME/_internal/triton/" <<< "$contents"; then fail "triton is in the .deb (it is excluded)"; fi
echo "  ok  no triton"
echo "  $(wc -l <<< "$contents") entries; .deb $(du -h "$deb" | cut -f1), tar.gz $(du -h "$tarball" | cut -f1)"

step "tar.gz"
first=$(tar -tzf "$tarball" 2>/dev/null | head -1 || true)
[[ "$first" == "$NAME/"* ]] || fail "$tarball does not start with $NAME/ (got '$first')"
echo "  ok  $tarball starts with $first"

if command -v Xvfb >/dev/null && command -v xdotool >/dev/null && [[ -x /usr/bin/import ]]; then
  step "smoke test: the unpacked .deb's launcher under Xvfb"
  shots=$(mktemp -d)
  bash packaging/smoke-deb.sh "$deb" "$shots/installed.png"
  rm -rf "$shots"
else
  echo "ci-check: Xvfb/xdotool/ImageMagick not installed: skipped packaging/smoke-deb.sh" >&2
fi

printf '\nci-check: packaging ok in %d s\n' $((SECONDS - start)) >&2
