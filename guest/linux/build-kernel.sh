#!/bin/bash
# Build the kvmini guest kernel from Debian's linux-source-6.1.
#
# Usage: guest/linux/build-kernel.sh [OUT_DIR]        (default: guest/out)
#
# Produces OUT_DIR/vmlinux (uncompressed ELF with the PVH entry note) and
# OUT_DIR/bzImage. The tarball is extracted once into OUT_DIR/linux-source-6.1
# and never modified; each build uses a hard-linked copy of it with the patches
# applied (patch(1) replaces the files it changes, so the links break there) and
# builds out of tree, so a change of patches rebuilds only what it touches.
# Nothing is done when the config fragment, the patches, this script and the
# compiler are the same as for the last build.
#
# Environment:
#   GUEST_EXTRA_PATCHES=DIR  also apply DIR/*.patch after guest/linux/patches/.
#       Meant for workarounds kept outside the repository, e.g. to validate the
#       kernel under QEMU, which does not absorb the int3/fwait emulation
#       failures the CI host's KVM raises (kvmini does). Such a build goes to
#       OUT_DIR/linux-extra/{vmlinux,bzImage} and leaves the normal one alone.
#   LINUX_TARBALL            source tarball (default /usr/src/linux-source-6.1.tar.xz)
#   JOBS                     parallel jobs (default: nproc)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-guest/out}
tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
jobs=${JOBS:-$(nproc)}
fragment=$here/kvmini.config
extra=${GUEST_EXTRA_PATCHES:-}

die() {
	echo "build-kernel: error: $*" >&2
	exit 1
}

[[ -r $tarball ]] || die "$tarball not found (apt-get install linux-source-6.1)"
[[ -z $extra || -d $extra ]] || die "GUEST_EXTRA_PATCHES=$extra is not a directory"

mkdir -p "$out"
out=$(cd "$out" && pwd)
pristine=$out/linux-source-6.1
if [[ -n $extra ]]; then
	work=$out/linux-extra
	vmlinux=$work/vmlinux
	bzimage=$work/bzImage
else
	work=$out/linux
	vmlinux=$out/vmlinux
	bzimage=$out/bzImage
fi
src=$work/src
objdir=$work/build

patches=("$here"/patches/*.patch)
[[ -e ${patches[0]} ]] || patches=()
if [[ -n $extra ]]; then
	extra_patches=("$extra"/*.patch)
	[[ -e ${extra_patches[0]} ]] || die "no *.patch in $extra"
	patches+=("${extra_patches[@]}")
fi

# Everything that decides the result, hashed; the tarball by identity only.
inputs_hash() {
	{
		stat -c '%n %s %Y' "$tarball"
		gcc --version | head -n1
		cat "${BASH_SOURCE[0]}" "$fragment"
		for p in "${patches[@]}"; do
			echo "patch $(basename "$p")"
			cat "$p"
		done
	} | sha256sum | cut -d' ' -f1
}
hash=$(inputs_hash)

if [[ -f $work/stamp && $(cat "$work/stamp") == "$hash" && -f $vmlinux && -f $bzimage ]]; then
	touch "$vmlinux" "$bzimage"
	echo "build-kernel: $vmlinux is up to date"
	exit 0
fi

start=$SECONDS

# 1. Pristine source, extracted once (into a temporary name, so that an
#    interrupted extraction is never mistaken for a complete one).
pristine_id=$(stat -c '%n %s %Y' "$tarball")
if [[ ! -f $pristine/.kvmini-pristine ||
	$(cat "$pristine/.kvmini-pristine") != "$pristine_id" ]]; then
	echo "build-kernel: extracting $tarball"
	rm -rf "$pristine" "$out/.extract"
	mkdir -p "$out/.extract"
	tar -xf "$tarball" -C "$out/.extract"
	[[ -d $out/.extract/linux-source-6.1 ]] || die "$tarball has no linux-source-6.1/"
	mv "$out/.extract/linux-source-6.1" "$pristine"
	rmdir "$out/.extract"
	echo "$pristine_id" >"$pristine/.kvmini-pristine"
	rm -rf "$out/linux" "$out/linux-extra"
fi

# 2. Patched tree. Files patched last time but not now get a fresh copy (new
#    mtime), or kbuild would keep their objects from the patched version.
mkdir -p "$work"
rm -rf "$src"
cp -al "$pristine" "$src"
if [[ -f $work/patched-files ]]; then
	while IFS= read -r f; do
		[[ -f $pristine/$f ]] && cp --remove-destination "$pristine/$f" "$src/$f"
	done <"$work/patched-files"
fi
: >"$work/patched-files.new"
for p in "${patches[@]}"; do
	echo "build-kernel: applying $(basename "$p")"
	patch -d "$src" -p1 -s --no-backup-if-mismatch <"$p" || die "$p does not apply"
	sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p" >>"$work/patched-files.new"
done
mv "$work/patched-files.new" "$work/patched-files"

# 3. Config: tinyconfig, the fragment on top, then defaults for the rest.
kmake() {
	nice make -C "$src" O="$objdir" ARCH=x86_64 -s "$@"
}
mkdir -p "$objdir"
kmake tinyconfig >/dev/null
# Their "override" warnings are expected; what matters is checked below.
if ! log=$(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$objdir" "$objdir/.config" \
	"$fragment" 2>&1); then
	echo "$log" >&2
	die "merge_config.sh failed"
fi
if ! log=$(kmake olddefconfig 2>&1); then
	echo "$log" >&2
	die "make olddefconfig failed"
fi

# tinyconfig drops, without a word, options whose dependencies are not set.
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		if ! grep -qxF -- "$line" "$objdir/.config"; then
			got=$(grep -E "^(# )?${line%%=*}[= ]" "$objdir/.config" || echo "absent")
			echo "build-kernel: wanted $line, got: $got" >&2
			bad=1
		fi
		;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		if grep -q "^$sym=" "$objdir/.config"; then
			echo "build-kernel: wanted $sym unset, got: $(grep "^$sym=" "$objdir/.config")" >&2
			bad=1
		fi
		;;
	esac
done <"$fragment"
((bad == 0)) || die "config fragment not honoured (missing dependencies?), see above"

# 4. Build.
echo "build-kernel: building with -j$jobs in $objdir"
kmake -j"$jobs" vmlinux bzImage

# The PVH entry is an ELF note of owner "Xen", type XEN_ELFNOTE_PHYS32_ENTRY (18).
readelf -n "$objdir/vmlinux" | grep -A1 -w Xen | grep -q '0x00000012' ||
	die "$objdir/vmlinux has no PVH entry note"

cp "$objdir/vmlinux" "$vmlinux.tmp"
cp "$objdir/arch/x86/boot/bzImage" "$bzimage.tmp"
mv "$vmlinux.tmp" "$vmlinux"
mv "$bzimage.tmp" "$bzimage"
echo "$hash" >"$work/stamp"
echo "build-kernel: built $vmlinux and $bzimage in $((SECONDS - start)) s"
