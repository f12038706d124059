#!/usr/bin/env bash
# `make package`: two one-folder PyInstaller bundles (docs/packaging.md), each then as a .deb and a plain tar.gz,
# all in dist/:
#
#   cpu (the default download): every network in ONNX Runtime, no torch
#     dist/cpu/selfie-desk/                         the bundle (run dist/cpu/selfie-desk/selfie-desk)
#     dist/selfie-desk_VERSION_ARCH.deb             package `selfie-desk`: /opt/selfie-desk, /usr/bin/selfie-desk,
#                                                   a menu entry and an icon
#     dist/selfie-desk-VERSION-linux-MACHINE.tar.gz the bundle as one folder, for any Linux
#   gpu: torch with its CUDA libraries for an NVIDIA GPU (and ONNX Runtime where there is none)
#     dist/gpu/selfie-desk/, dist/selfie-desk-gpu_VERSION_ARCH.deb (package `selfie-desk-gpu`, the same paths:
#     the two packages replace each other), dist/selfie-desk-gpu-VERSION-linux-MACHINE.tar.gz
#
# Needs the venv (`make setup`) and dpkg-deb; build/ and dist/ are git-ignored. Compression is chosen for
# speed (the GPU bundle is ~4.5 GB, mostly CUDA libraries that barely compress): see docs/packaging.md for the
# measurements. Override with DEB_COMPRESS (dpkg-deb -Z/-z flags) and TAR_GZIP (gzip level flag).
#   VARIANTS="cpu"      build only these (default: "cpu gpu")
#   SKIP_PYINSTALLER=1  reuse an existing dist/VARIANT/selfie-desk (only the .deb and tar.gz are made again)
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
VARIANTS=${VARIANTS:-cpu gpu}

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)" >&2; }
took() { printf '   %s: %d s\n' "$1" $((SECONDS - $2)) >&2; }

build_variant() {
  local variant=$1 package bundle deb tarball other note
  if [[ $variant == cpu ]]; then
    package=$NAME other=$NAME-gpu
    note="Every network runs in ONNX Runtime on the CPU: no PyTorch, no CUDA."
  else
    package=$NAME-gpu other=$NAME
    note="PyTorch with CUDA for an NVIDIA GPU; ONNX Runtime on a computer without one."
  fi
  bundle=dist/$variant/$NAME
  deb=dist/${package}_${VERSION}_${ARCH}.deb
  tarball=dist/$package-$VERSION-linux-$MACHINE.tar.gz

  if [[ -z "${SKIP_PYINSTALLER:-}" || ! -x "$bundle/$NAME" ]]; then
    step "PyInstaller ($variant): $bundle"
    local t=$SECONDS
    rm -rf "build/$variant"  # ~4 GB of intermediate files for the GPU build: never kept between builds
    SELFIE_DESK_VARIANT=$variant .venv/bin/pyinstaller --noconfirm --log-level WARN --distpath "dist/$variant" \
      --workpath "build/$variant" packaging/selfie_desk.spec
    rm -rf "build/$variant"
    took "bundle" $t
  fi
  [[ -x "$bundle/$NAME" ]] || { echo "build: no $bundle/$NAME after PyInstaller" >&2; exit 1; }
  echo "   bundle: $(du -sh "$bundle" | cut -f1)" >&2

  # ---- the .deb -----------------------------------------------------------------------------------------
  step "dpkg-deb: $deb"
  local t=$SECONDS root=build/deb-$variant/root
  rm -rf "build/deb-$variant"
  mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
    "$root/usr/share/icons/hicolor/256x256/apps" "$root/usr/share/icons/hicolor/scalable/apps" \
    "$root/usr/share/doc/$NAME"
  # Hard links, not a copy: dpkg-deb only reads the tree.
  cp -al "$bundle" "$root/opt/$NAME"
  # Relative, so that the command also works in a tree unpacked somewhere else (packaging/smoke-deb.sh).
  ln -s "../../opt/$NAME/$NAME" "$root/usr/bin/$NAME"
  install -m 644 resources/icons/selfie-desk.png "$root/usr/share/icons/hicolor/256x256/apps/$NAME.png"
  install -m 644 resources/icons/selfie-desk.svg "$root/usr/share/icons/hicolor/scalable/apps/$NAME.svg"
  install -m 644 packaging/linux/selfie-desk.desktop "$root/usr/share/applications/$NAME.desktop"
  install -m 644 resources/demo/README.md "$root/usr/share/doc/$NAME/demo-photos.md"
  install -m 644 models/README.md "$root/usr/share/doc/$NAME/models.md"
  local installed_kb
  installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  # Depends: the system libraries Qt's xcb platform needs, the same list as tools/setup-system.sh
  # (t64 names first: Debian 13 / Ubuntu 24.04 renamed libglib2.0-0).
  sed -e "s/@PACKAGE@/$package/" -e "s/@OTHER@/$other/g" -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" \
    -e "s/@MAINTAINER@/$MAINTAINER/" -e "s/@INSTALLED_KB@/$installed_kb/" -e "s|@NOTE@|$note|" \
    packaging/linux/control.in > "$root/DEBIAN/control"
  # shellcheck disable=SC2086  # DEB_COMPRESS is a list of flags
  dpkg-deb --root-owner-group $DEB_COMPRESS --build "$root" "$deb" >/dev/null
  rm -rf "build/deb-$variant"
  took "deb" $t
  echo "   $deb: $(du -h "$deb" | cut -f1)" >&2

  # ---- the tar.gz ---------------------------------------------------------------------------------------
  step "tar.gz: $tarball"
  t=$SECONDS
  tar -C "dist/$variant" --owner=0 --group=0 -cf - "$NAME" | gzip "$TAR_GZIP" > "$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
  took "tar.gz" $t
  echo "   $tarball: $(du -h "$tarball" | cut -f1)" >&2
}

# Disk first: a GPU build that runs out of space fails minutes into PyInstaller with a bare ENOSPC on a CUDA
# library. What each variant needs on the disk that holds build/ and dist/, at its peak (PyInstaller's work
# folder beside the bundle, then bundle + .deb + tar.gz: docs/packaging.md "Checks"), less the old bundle, which
# PyInstaller removes before it writes the new one (an old .deb and tar.gz stay until they are replaced, so they
# are not counted as room). Not checked with SKIP_PYINSTALLER (the bundles exist; only the .deb and tar.gz are made).
# Measured on a fresh clone's `.ci/run` (2026-12-07): the CPU build's peak 0.9 GB, the GPU build's 10.4 GB.
# EXTRA_SPACE_MB: what the caller needs beside the installers afterwards (packaging/ci-check.sh's smoke test
# unpacks each .deb under build/: 4.5 GB for the GPU one).
need_mb() { if [[ $1 == cpu ]]; then echo 1500; else echo 11500; fi; }
space_check() {
  local need=${EXTRA_SPACE_MB:-0} replaced=0 variant free
  for variant in $VARIANTS; do
    need=$((need + $(need_mb "$variant")))
    if [[ -d "dist/$variant" ]]; then replaced=$((replaced + $(du -sm "dist/$variant" | cut -f1))); fi
  done
  mkdir -p dist
  free=$(df -Pm dist 2>/dev/null | awk 'NR == 2 { print $4 }' || true)
  if [[ ! $free =~ ^[0-9]+$ ]]; then
    echo "build: cannot tell the free space on the disk that holds dist/ (df: '$free'); not checked" >&2
    return 0
  fi
  if (( free + replaced < need )); then
    printf 'build: not enough disk space for %s: it needs about %d MB on the disk that holds dist/ and build/, and %d MB is free (%d MB more once the old bundles are replaced). Free some space%s.\n' \
      "$VARIANTS" "$need" "$free" "$replaced" "$([[ $VARIANTS == *gpu* ]] && echo ', or build the CPU installer only (VARIANTS=cpu)')" >&2
    exit 1
  fi
  echo "build: disk: $free MB free, about $need MB needed for $VARIANTS" >&2
}

start=$SECONDS
for variant in $VARIANTS; do
  [[ $variant == cpu || $variant == gpu ]] || { echo "build: VARIANTS holds cpu and/or gpu, not '$variant'" >&2; exit 1; }
done
[[ -n "${SKIP_PYINSTALLER:-}" ]] || space_check
for variant in $VARIANTS; do
  build_variant "$variant"
done
printf '\nbuilt %s in %d s\n' "$VARIANTS" $((SECONDS - start)) >&2
