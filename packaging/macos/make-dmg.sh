#!/usr/bin/env bash
# macOS: build dist/Selfie Desk.app with the spec and wrap it in a drag-to-Applications disk image.
# UNTESTED: no Mac here. Run on macOS from the repository root after `make setup`:
#   bash packaging/macos/make-dmg.sh        ->  dist/selfie-desk-VERSION-macos-ARCH.dmg
# Not done (needed before handing it to people): codesign --deep with a Developer ID and notarization
# (xcrun notarytool submit ... --wait; xcrun stapler staple), without which Gatekeeper blocks the app.
# A Mac has no CUDA: the CPU build (ONNX Runtime, no torch; docs/packaging.md) is the one to ship there.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ "$(uname)" == Darwin ]] || { echo "make-dmg: run this on macOS" >&2; exit 1; }

VERSION=$(.venv/bin/python -c 'from selfie_desk import __version__; print(__version__)')
SELFIE_DESK_VARIANT=${SELFIE_DESK_VARIANT:-cpu} .venv/bin/pyinstaller --noconfirm --distpath dist --workpath build \
  packaging/selfie_desk.spec
app="dist/Selfie Desk.app"
[[ -d "$app" ]] || { echo "make-dmg: no $app after PyInstaller" >&2; exit 1; }
"$app/Contents/MacOS/selfie-desk" --self-test

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="dist/selfie-desk-$VERSION-macos-$(uname -m).dmg"
hdiutil create -volname "Selfie Desk $VERSION" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"
echo "make-dmg: $dmg"
