#!/bin/bash
# Build the kvmini guest initramfs: Debian's static busybox, one link per
# applet, and guest/initramfs/init as /init.
#
# Usage: guest/initramfs/build-initramfs.sh OUTPUT.cpio.gz|OUTPUT.cpio
#   (the name decides: a .cpio is left uncompressed, the fastest to unpack)
#
# The archive is written by the kernel's own usr/gen_init_cpio (compiled once
# into the output's directory from linux-source-6.1), so that /dev/console and
# root ownership need neither root nor fakeroot: the kernel opens /dev/console
# for PID 1 before init can mount devtmpfs.
#
# Environment:
#   BUSYBOX=PATH        static busybox (default /bin/busybox, package busybox-static)
#   LINUX_TARBALL=PATH  where gen_init_cpio.c comes from when guest/out has no
#                       extracted kernel source (default /usr/src/linux-source-6.1.tar.xz)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
output=${1:?usage: build-initramfs.sh OUTPUT.cpio.gz|OUTPUT.cpio}
busybox=${BUSYBOX:-/bin/busybox}
tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}

die() {
	echo "build-initramfs: error: $*" >&2
	exit 1
}

[[ -x $busybox ]] || die "$busybox not found (apt-get install busybox-static)"
if readelf -l "$busybox" | grep -q INTERP; then
	die "$busybox is dynamically linked; a static busybox is needed (busybox-static)"
fi

outdir=$(dirname "$output")
mkdir -p "$outdir"
gen=$outdir/tools/gen_init_cpio
if [[ ! -x $gen ]]; then
	mkdir -p "$outdir/tools"
	src=$outdir/linux-source-6.1/usr/gen_init_cpio.c
	if [[ -f $src ]]; then
		cc -O2 -o "$gen.tmp" "$src"
	else
		[[ -r $tarball ]] || die "$tarball not found (apt-get install linux-source-6.1)"
		tar -xOf "$tarball" linux-source-6.1/usr/gen_init_cpio.c | cc -O2 -x c -o "$gen.tmp" -
	fi
	mv "$gen.tmp" "$gen"
fi

# gen_init_cpio's list format: see usr/gen_init_cpio.c (usage()).
list=$(mktemp)
trap 'rm -f "$list" "$output.tmp"' EXIT
{
	for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp /root /etc; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "file /init $here/init 0755 0 0"
	"$busybox" --list-full | while read -r applet; do
		[[ $applet == bin/busybox ]] && continue
		echo "slink /$applet /bin/busybox 0777 0 0"
	done
} >"$list"

# Stored, not compressed: see gzip-store.sh. A fixed timestamp keeps the
# archive reproducible.
case $output in
*.cpio) "$gen" -t 0 "$list" >"$output.tmp" ;;
*) "$gen" -t 0 "$list" | "$here/gzip-store.sh" >"$output.tmp" ;;
esac
mv "$output.tmp" "$output"
echo "build-initramfs: built $output ($(stat -c %s "$output") bytes)"
