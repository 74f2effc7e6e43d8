#!/usr/bin/env bash
# make gpu-deps: fetches the Debian packages that `make gpu-check` needs on a GPU machine whose image lacks
# them and that has no package registry: hwloc, SQLite and cmocka (headers, pkg-config files, libraries),
# and pkgconf in case the image has no pkg-config.
# Run it on a machine where apt works; it only downloads (apt-get download, no root, nothing installed) into
# .gpu-deps/, which is copied to the GPU machine with the working tree. scripts/gpu_check.sh unpacks them
# with dpkg -x into a private prefix only for the packages pkg-config cannot find there.
#   scripts/gpu_deps.sh [DIR]   (default .gpu-deps)
set -euo pipefail
dir=${1:-.gpu-deps}
pkgs=(libhwloc-dev libhwloc15 libsqlite3-dev libsqlite3-0 libcmocka-dev libcmocka0 pkgconf-bin libpkgconf3)
mkdir -p "$dir"
cd "$dir"
if ! apt-get download "${pkgs[@]}" >/dev/null 2>download.log; then
    # A fresh image may have empty package lists: update them once and try again.
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq
    apt-get download "${pkgs[@]}" >/dev/null 2>download.log || { cat download.log >&2; exit 1; }
fi
rm -f download.log
# Only the newest file of each package stays, so the folder is what gpu_check.sh unpacks.
for p in "${pkgs[@]}"; do
    ls -1 "${p}"_*.deb 2>/dev/null | sort -V | head -n -1 | xargs -r rm -f
done
ls -l ./*.deb | awk '{print $5, $NF}'
echo "gpu-deps: $(ls ./*.deb | wc -l) packages in $dir ($(du -sh . | cut -f1))" >&2
