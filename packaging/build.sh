#!/usr/bin/env bash
# `make package`: the one-folder PyInstaller bundle, then a .deb and a plain tar.gz of it, all in dist/.
#
#   dist/selfie-desk/                          the bundle (run dist/selfie-desk/selfie-desk)
#   dist/selfie-desk_VERSION_ARCH.deb          installs it under /opt/selfie-desk, /usr/bin/selfie-desk,
#                                              a menu entry and an icon
#   dist/selfie-desk-VERSION-linux-MACHINE.tar.gz   the bundle as one folder, for any Linux
#
# Needs the venv (`make setup`) and dpkg-deb; build/ and dist/ are git-ignored. Compression is chosen for
# speed (a ~4 GB bundle, mostly CUDA libraries that barely compress): see docs/packaging.md for the
# measurements. Override with DEB_COMPRESS (dpkg-deb -Z/-z flags) and TAR_GZIP (gzip level flag).
#   SKIP_PYINSTALLER=1  reuse an existing dist/selfie-desk (only the .deb and tar.gz are made again)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
NAME=$($PY -c 'from selfie_desk.core.paths import APP_NAME; print(APP_NAME)')
VERSION=$($PY -c 'from selfie_desk import __version__; print(__version__)')
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
MACHINE=$(uname -m)
DEB_COMPRESS=${DEB_COMPRESS:--Zzstd -z3}  # needs dpkg >= 1.21.18 to install (Debian 12; Ubuntu since 21.10)
TAR_GZIP=${TAR_GZIP:--1}
MAINTAINER=${SELFIE_DESK_MAINTAINER:-Selfie Desk maintainers <maintainers@selfie-desk.invalid>}  # set for a release
BUNDLE=dist/$NAME
DEB=dist/${NAME}_${VERSION}_${ARCH}.deb
TARBALL=dist/$NAME-$VERSION-linux-$MACHINE.tar.gz

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)" >&2; }
took() { printf '   %s: %d s\n' "$1" $((SECONDS - $2)) >&2; }

start=$SECONDS
if [[ -z "${SKIP_PYINSTALLER:-}" || ! -x "$BUNDLE/$NAME" ]]; then
  step "PyInstaller: $BUNDLE"
  t=$SECONDS
  .venv/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build packaging/selfie_desk.spec
  took "bundle" $t
fi
[[ -x "$BUNDLE/$NAME" ]] || { echo "build: no $BUNDLE/$NAME after PyInstaller" >&2; exit 1; }
echo "   bundle: $(du -sh "$BUNDLE" | cut -f1)" >&2

# ---- the .deb -------------------------------------------------------------------------------------------
step "dpkg-deb: $DEB"
t=$SECONDS
root=build/deb/root
rm -rf build/deb
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
  "$root/usr/share/icons/hicolor/256x256/apps" "$root/usr/share/icons/hicolor/scalable/apps" \
  "$root/usr/share/doc/$NAME"
# Hard links, not a 4 GB copy: dpkg-deb only reads the tree.
cp -al "$BUNDLE" "$root/opt/$NAME"
# Relative, so that the command also works in a tree unpacked somewhere else (packaging/smoke-deb.sh).
ln -s "../../opt/$NAME/$NAME" "$root/usr/bin/$NAME"
install -m 644 resources/icons/selfie-desk.png "$root/usr/share/icons/hicolor/256x256/apps/$NAME.png"
install -m 644 resources/icons/selfie-desk.svg "$root/usr/share/icons/hicolor/scalable/apps/$NAME.svg"
install -m 644 packaging/linux/selfie-desk.desktop "$root/usr/share/applications/$NAME.desktop"
install -m 644 resources/demo/README.md "$root/usr/share/doc/$NAME/demo-photos.md"
install -m 644 models/README.md "$root/usr/share/doc/$NAME/models.md"
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
# Depends: the system libraries Qt's xcb platform needs, the same list as tools/setup-system.sh
# (t64 names first: Debian 13 / Ubuntu 24.04 renamed libglib2.0-0).
sed -e "s/@NAME@/$NAME/" -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@MAINTAINER@/$MAINTAINER/" \
  -e "s/@INSTALLED_KB@/$installed_kb/" packaging/linux/control.in > "$root/DEBIAN/control"
# shellcheck disable=SC2086  # DEB_COMPRESS is a list of flags
dpkg-deb --root-owner-group $DEB_COMPRESS --build "$root" "$DEB" >/dev/null
rm -rf build/deb
took "deb" $t
echo "   $DEB: $(du -h "$DEB" | cut -f1)" >&2

# ---- the tar.gz -----------------------------------------------------------------------------------------
step "tar.gz: $TARBALL"
t=$SECONDS
tar -C dist --owner=0 --group=0 -cf - "$NAME" | gzip "$TAR_GZIP" > "$TARBALL.tmp"
mv "$TARBALL.tmp" "$TARBALL"
took "tar.gz" $t
echo "   $TARBALL: $(du -h "$TARBALL" | cut -f1)" >&2

printf '\nbuilt in %d s: %s, %s, %s\n' $((SECONDS - start)) "$BUNDLE" "$DEB" "$TARBALL" >&2
