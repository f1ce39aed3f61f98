#!/bin/bash
# Append kernel modules to a kvmini initramfs, to boot a stock distribution
# kernel (e.g. Debian's linux-image-*-cloud-amd64, whose virtio drivers are
# modules) with the kvmini init.
#
# Usage: guest/initramfs/add-modules.sh KVER|MODDIR BASE.cpio.gz OUTPUT.cpio.gz [MODULE...]
#   KVER      a kernel version installed under /lib/modules
#   MODDIR    a module directory (.../lib/modules/<version>, with modules.dep)
#   MODULE    modules to load (default: virtio_pci virtio_net); their
#             dependencies are taken from modules.dep
#
# The modules go into a second cpio archive appended to BASE: the kernel
# unpacks concatenated (and separately compressed) archives in order. Its
# /etc/kvmini-modules lists them in load order and the init insmods them.
# Compressed modules (.ko.xz, .ko.zst, .ko.gz) are stored decompressed, as
# busybox insmod may not read them.
set -euo pipefail

die() {
	echo "add-modules: error: $*" >&2
	exit 1
}

(($# >= 3)) || die "usage: add-modules.sh KVER|MODDIR BASE.cpio.gz OUTPUT.cpio.gz [MODULE...]"
moddir=$1
base=$2
output=$3
shift 3
modules=("$@")
((${#modules[@]})) || modules=(virtio_pci virtio_net)

[[ -d $moddir ]] || moddir=/lib/modules/$moddir
[[ -f $moddir/modules.dep ]] || die "$moddir/modules.dep not found (not a module directory?)"
[[ -f $base ]] || die "$base not found (make guest-initramfs)"
kver=$(basename "$moddir")

# modules.dep: "<path>: <dep> <dep> ...", with every dependency listed, the
# one to load last first; so the load order is the reversed list, then <path>.
dep_line() {
	local name=$1 alt
	alt=${name//-/_}
	grep -E "(^|/)(${name}|${alt}|${alt//_/-})\.ko(\.(xz|zst|gz))?:" "$moddir/modules.dep" |
		head -n1
}

order=()
add_once() {
	local m
	for m in "${order[@]}"; do
		[[ $m == "$1" ]] && return 0
	done
	order+=("$1")
}

for name in "${modules[@]}"; do
	line=$(dep_line "$name")
	if [[ -z $line ]]; then
		if grep -qE "/${name//-/_}\.ko$" "$moddir/modules.builtin" 2>/dev/null; then
			echo "add-modules: $name is built into $kver"
			continue
		fi
		die "module $name not found in $moddir/modules.dep"
	fi
	path=${line%%:*}
	read -r -a deps <<<"${line#*:}"
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		add_once "${deps[i]}"
	done
	add_once "$path"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage" "$output.tmp"' EXIT
dest=lib/modules/$kver
mkdir -p "$stage/$dest" "$stage/etc"
: >"$stage/etc/kvmini-modules"
for rel in "${order[@]}"; do
	src=$moddir/$rel
	[[ -f $src ]] || die "$src listed in modules.dep but missing"
	ko=$(basename "$rel")
	case $ko in
	*.ko.xz) xz -dc "$src" >"$stage/$dest/${ko%.xz}" ;;
	*.ko.zst) zstd -qdc "$src" >"$stage/$dest/${ko%.zst}" ;;
	*.ko.gz) gzip -dc "$src" >"$stage/$dest/${ko%.gz}" ;;
	*) cp "$src" "$stage/$dest/$ko" ;;
	esac
	ko=${ko%.xz}
	ko=${ko%.zst}
	ko=${ko%.gz}
	echo "/$dest/$ko" >>"$stage/etc/kvmini-modules"
	echo "add-modules: $ko"
done

# Directories first, as the kernel creates each entry in archive order.
cp "$base" "$output.tmp"
(cd "$stage" && find lib etc | sort | cpio --quiet -o -H newc -R 0:0) |
	"$(dirname "${BASH_SOURCE[0]}")/gzip-store.sh" >>"$output.tmp"
mv "$output.tmp" "$output"
echo "add-modules: wrote $output (${#order[@]} modules for $kver)"
