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

# The kernel oracle: mount read-only and compare.  Skips where loop devices
# or mounting are not available.
kernel_available() {
	[ "$(id -u)" -eq 0 ] || return 1
	command -v losetup >/dev/null || return 1
	[ -e /dev/loop-control ] || return 1
	return 0
}

# kernel_readback IMAGE PATH EXPECTED-FILE: mount -o ro,loop and cmp.
kernel_readback() {
	local img=$1 path=$2 expect=$3 mnt loop rc=0
	if ! kernel_available; then
		echo "# kernel oracle skipped: no root or loop devices" >&3
		return 0
	fi
	mnt=$(mktemp -d "$BATS_TEST_TMPDIR/mnt.XXXXXX")
	loop=$(losetup -f --show -r "$img" 2>/dev/null) || { echo "# kernel oracle skipped: losetup failed" >&3; rmdir "$mnt"; return 0; }
	if ! mount -t "${PCW_FSTYPE:-ext4}" -o ro,noload "$loop" "$mnt" 2>/dev/null; then
		losetup -d "$loop"
		rmdir "$mnt"
		echo "# kernel oracle skipped: mount failed" >&3
		return 0
	fi
	cmp "$mnt$path" "$expect" || rc=1
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
