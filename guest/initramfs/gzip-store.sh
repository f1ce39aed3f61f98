#!/bin/bash
# Copy stdin to stdout as a gzip file (RFC 1952) made of stored, uncompressed
# deflate blocks (RFC 1951 section 3.2.4, BTYPE=00).
#
# Why: the guest kernel inflates its initramfs in ring 0, which hosts like the
# kvmini CI machine run in KVM's instruction emulator. Unpacking the busybox
# archive took about 190 s there as gzip -9, 60 s as stored blocks, 45 s
# uncompressed. Stored blocks keep a valid .cpio.gz (any gunzip, the
# kernel's RD_GZIP) for those who need one.
set -euo pipefail

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/data"

# A 16-bit little-endian field.
le16() {
	printf '%b' "$(printf '\\x%02x\\x%02x' $(($1 & 0xff)) $((($1 >> 8) & 0xff)))"
}

# Header: magic, CM=8 (deflate), no flags, MTIME 0 (reproducible), XFL 0, OS 3 (Unix).
printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03'
# A stored block holds at most 65535 bytes; an empty input is one empty final block.
split -b 65535 -a 6 -d "$tmp/data" "$tmp/blk."
shopt -s nullglob
blocks=("$tmp"/blk.*)
if ((${#blocks[@]} == 0)); then
	printf '\x01'
	le16 0
	le16 0xffff
fi
for ((i = 0; i < ${#blocks[@]}; i++)); do
	len=$(stat -c %s "${blocks[i]}")
	if ((i == ${#blocks[@]} - 1)); then
		printf '\x01' # BFINAL=1, BTYPE=00
	else
		printf '\x00'
	fi
	le16 "$len"
	le16 $((~len & 0xffff))
	cat "${blocks[i]}"
done
# Trailer: CRC-32 and ISIZE of the data, which gzip computes the same way
# whatever the compression.
gzip -1 -c <"$tmp/data" | tail -c 8
