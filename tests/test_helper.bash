# SPDX-License-Identifier: GPL-2.0-or-later
# test_helper.bash: shared setup for pcwrite's bats suites.
#
# Every write is read back only through tools pcwrite did not write:
# debugfs (cat, stat, ex), e2fsck -fn, and the kernel (a read-only loop
# mount) where loop devices work.
bats_require_minimum_version 1.5.0

PCWRITE=${PCWRITE:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)/pcwrite}
SHARED=${PCW_SHARED:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/shared}
export PATH="/sbin:/usr/sbin:$PATH"

# mkimg PATH SIZE [mke2fs options...]: a fresh filesystem image.
mkimg() {
	local img=$1 size=$2
	shift 2
	rm -f "$img"
	truncate -s "$size" "$img"
	mke2fs -q -F -E nodiscard "$@" "$img" >/dev/null
}

# An ext4 image made once per file, copied per test.
setup_file_image() {
	mkimg "$BATS_FILE_TMPDIR/base.img" "${1:-64M}" -t ext4 -b 4096 "${@:2}"
}
copy_image() {
	cp --sparse=always "$BATS_FILE_TMPDIR/base.img" "${1:-$BATS_TEST_TMPDIR/img}"
}

# fsck_clean IMAGE: e2fsck -fn must exit 0.
fsck_clean() {
	run e2fsck -fn "$1"
	if [ "$status" -ne 0 ]; then
		echo "e2fsck -fn $1 exited $status:" >&2
		echo "$output" >&2
		return 1
	fi
}

# readback IMAGE PATH EXPECTED-FILE: debugfs cat equals the file.
readback() {
	local out="$BATS_TEST_TMPDIR/readback.$$"
	debugfs -R "cat $2" "$1" >"$out" 2>/dev/null
	if ! cmp "$out" "$3"; then
		echo "debugfs cat $2 differs from $3 ($(stat -c %s "$out") vs $(stat -c %s "$3") bytes)" >&2
		return 1
	fi
}

# inode_field IMAGE PATH FIELD: a value from debugfs stat ("Size", "Blockcount", ...)
dstat() {
	debugfs -R "stat $2" "$1" 2>/dev/null
}
inode_size() {
	dstat "$1" "$2" | sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -n1
}

# extents IMAGE PATH: the number of leaf extents debugfs shows.
extent_count() {
	debugfs -R "ex $2" "$1" 2>/dev/null |
		sed -n 's|^ *\([0-9]*\)/ *\([0-9]*\) .*|\1 \2|p' |
		awk '$1 == $2 { n++ } END { print n + 0 }'
}

# The kernel oracle: mount read-only and compare.  Where the machine has no
# root, no loop devices or no ext4 in the kernel, the test is skipped (a
# counted skip, with the reason); where it has them, a losetup or mount that
# fails is a failure: the oracle never passes without having looked.
kernel_available() {
	[ "$(id -u)" -eq 0 ] || return 1
	command -v losetup >/dev/null || return 1
	[ -e /dev/loop-control ] || return 1
	return 0
}

# kernel_require: skip the test (counted) where the kernel oracle cannot run.
kernel_require() {
	[ "$(id -u)" -eq 0 ] || skip "kernel oracle: needs root"
	command -v losetup >/dev/null || skip "kernel oracle: no losetup"
	[ -e /dev/loop-control ] || skip "kernel oracle: no loop devices (/dev/loop-control)"
	grep -qw "${PCW_FSTYPE:-ext4}" /proc/filesystems 2>/dev/null ||
		modprobe "${PCW_FSTYPE:-ext4}" 2>/dev/null ||
		skip "kernel oracle: the kernel has no ${PCW_FSTYPE:-ext4}"
}

# kernel_readback IMAGE PATH EXPECTED-FILE: mount -o ro,loop and cmp.
kernel_readback() {
	local img=$1 path=$2 expect=$3 mnt loop rc=0
	kernel_require
	mnt=$(mktemp -d "$BATS_TEST_TMPDIR/mnt.XXXXXX")
	if ! loop=$(losetup -f --show -r "$img" 2>"$mnt.err"); then
		echo "kernel oracle: losetup -r $img failed: $(cat "$mnt.err")" >&2
		rmdir "$mnt"
		return 1
	fi
	if ! mount -t "${PCW_FSTYPE:-ext4}" -o ro,noload "$loop" "$mnt" 2>"$mnt.err"; then
		echo "kernel oracle: mount -o ro,noload $img failed: $(cat "$mnt.err")" >&2
		losetup -d "$loop"
		rmdir "$mnt"
		return 1
	fi
	if ! cmp "$mnt$path" "$expect"; then
		echo "kernel oracle: $path read through the kernel differs from $expect" >&2
		rc=1
	fi
	umount "$mnt"
	losetup -d "$loop"
	rmdir "$mnt"
	return $rc
}

# unchanged IMAGE COPY: byte-identical
unchanged() {
	if ! cmp -s "$1" "$2"; then
		echo "image $1 changed" >&2
		return 1
	fi
}

# The whole oracle for a successful write.
verify() {
	local img=$1 path=$2 expect=$3
	fsck_clean "$img"
	readback "$img" "$path" "$expect"
	kernel_readback "$img" "$path" "$expect"
}

# Deterministic data of N bytes.
mkdata() {
	head -c "$2" /dev/urandom >"$1"
}

# Loop devices a test attaches: attach FILE [losetup options...] prints the
# device and records it; detach_attached (in teardown) detaches only those
# still backed by the test's file, the last attached first (a loop device
# over another one holds it).
attach() {
	local file=$1 dev
	shift
	dev=$(losetup -f --show "$@" "$file") || return 1
	echo "$dev $(realpath "$file")" >>"$BATS_TEST_TMPDIR/loops"
	echo "$dev"
}
detach_attached() {
	local dev file
	[ -f "$BATS_TEST_TMPDIR/loops" ] || return 0
	while read -r dev file; do
		if [ "$(losetup -n -O BACK-FILE "$dev" 2>/dev/null)" = "$file" ]; then
			losetup -d "$dev"
		fi
	done < <(tac "$BATS_TEST_TMPDIR/loops")
}

# only_undo_rewrites IMAGE ORIGINAL: the images are byte-identical but for
# the fields of the primary superblock that e2undo (for an undo file that was
# not finished) and e2fsck rewrite: s_wtime, s_lastcheck, s_kbytes_written
# and s_checksum.
only_undo_rewrites() {
	cmp -l "$1" "$2" | awk '
		{ o = $1 - 1 - 1024
		  if (!((o >= 48 && o < 52) || (o >= 64 && o < 68) ||
			(o >= 376 && o < 384) || (o >= 1020 && o < 1024))) {
			if (bad++ < 5) print "byte " $1 - 1 " differs"
		  } }
		END { if (bad) { print bad " bytes differ outside them"; exit 1 } }' >&2
}

# tmpfs_mount DIR SIZE: a small tmpfs for a host file that must fill
# (skipped where it cannot be mounted); tmpfs_umount DIR in teardown.
tmpfs_mount() {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	mkdir -p "$1"
	mount -t tmpfs -o size="$2" pcwrite-test "$1" 2>/dev/null ||
		skip "cannot mount a tmpfs"
}
tmpfs_umount() {
	if [ -n "${1:-}" ] && mountpoint -q "$1"; then
		umount "$1"
	fi
}
