#!/usr/bin/env bats
# devices.bats: IMAGE as a block device (loop devices over image files):
# writing through the device, refusing a mounted one, and --image-offset on
# the device of a partitioned disk.  Every test skips where loop devices do
# not work; teardown unmounts and detaches whatever the test attached.

load test_helper

setup_file() {
	setup_file_image 64M
}

setup() {
	kernel_require
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	LOOPS=$BATS_TEST_TMPDIR/loops
	: >"$LOOPS"
}

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
	# detach only the devices this test attached, if still backed by its files
	local dev file
	while read -r dev file; do
		if [ "$(losetup -n -O BACK-FILE "$dev" 2>/dev/null)" = "$file" ]; then
			losetup -d "$dev"
		fi
	done <"${LOOPS:-/dev/null}"
}

# pcw_ok ARGS...: pcwrite must exit 0 and print nothing; on failure the test
# output shows what it said.
pcw_ok() {
	run --separate-stderr "$PCWRITE" "$@"
	echo "pcwrite $*: exit $status, stderr: $stderr"
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
}

# attach FILE [losetup options...]: print the loop device; teardown detaches it.
attach() {
	local file=$1 dev
	shift
	dev=$(losetup -f --show "$@" "$file") || return 1
	echo "$dev $(realpath "$file")" >>"$LOOPS"
	echo "$dev"
}

# wait_for_node PATH: up to 2 s for udev or devtmpfs to create a device node.
wait_for_node() {
	local _
	for _ in $(seq 20); do
		[ -b "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

@test "a loop device as IMAGE: create, then append; the image reads back after detaching" {
	loop=$(attach "$IMG")
	mkdata "$BATS_TEST_TMPDIR/one" $((3 * 1024 * 1024 + 7))
	mkdata "$BATS_TEST_TMPDIR/two" 70001
	pcw_ok "$loop" /f < <(cat "$BATS_TEST_TMPDIR/one")
	pcw_ok --append "$loop" /f <"$BATS_TEST_TMPDIR/two"
	losetup -d "$loop"
	cat "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two" >"$BATS_TEST_TMPDIR/expect"
	[ "$(inode_size "$IMG" /f)" -eq "$(stat -c %s "$BATS_TEST_TMPDIR/expect")" ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/expect"
}

@test "a mounted loop device is refused: exit 1, one line, nothing written" {
	loop=$(attach "$IMG")
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount "$loop" "$MNT"
	mkdata "$BATS_TEST_TMPDIR/data" 10000
	run -1 --separate-stderr "$PCWRITE" "$loop" /f <"$BATS_TEST_TMPDIR/data"
	echo "stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == pcwrite:\ * ]]
	[[ "$stderr" =~ mounted|in\ use|busy ]]
	umount "$MNT"
	losetup -d "$loop"
	fsck_clean "$IMG"
	[ -z "$(debugfs -R 'ls /' "$IMG" 2>/dev/null | grep -w f)" ]
}

@test "--image-offset=1M on a loop device of a disk image; the bytes before the offset are untouched" {
	disk=$BATS_TEST_TMPDIR/disk
	mkdata "$BATS_TEST_TMPDIR/boot" $((1024 * 1024))
	cp "$BATS_TEST_TMPDIR/boot" "$disk"
	mkimg "$BATS_TEST_TMPDIR/part" 32M -t ext4 -b 4096
	dd if="$BATS_TEST_TMPDIR/part" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
	truncate -s 40M "$disk"
	loop=$(attach "$disk")
	mkdata "$BATS_TEST_TMPDIR/data" 100000
	pcw_ok --image-offset=1M "$loop" /f <"$BATS_TEST_TMPDIR/data"
	losetup -d "$loop"
	cmp -n $((1024 * 1024)) "$disk" "$BATS_TEST_TMPDIR/boot"
	dd if="$disk" of="$BATS_TEST_TMPDIR/part2" bs=1M skip=1 count=32 status=none
	verify "$BATS_TEST_TMPDIR/part2" /f "$BATS_TEST_TMPDIR/data"
}

@test "a disk with a partition table: write through the partition device, and through the disk with --image-offset" {
	command -v sfdisk >/dev/null || skip "sfdisk not installed (Debian package fdisk)"
	disk=$BATS_TEST_TMPDIR/disk
	truncate -s 80M "$disk"
	printf 'label: dos\nstart=2048, size=16384, type=83\nstart=20480, type=83\n' |
		sfdisk -q "$disk"
	start=$(partx -g -o START -n 2 "$disk" | tr -d ' ')
	sectors=$(partx -g -o SECTORS -n 2 "$disk" | tr -d ' ')
	[ "$start" -eq 20480 ]
	mkimg "$BATS_TEST_TMPDIR/part" $((sectors * 512)) -t ext4 -b 4096
	dd if="$BATS_TEST_TMPDIR/part" of="$disk" bs=512 seek="$start" conv=notrunc,sparse status=none
	head -c $((start * 512)) "$disk" >"$BATS_TEST_TMPDIR/before-p2"
	mkdata "$BATS_TEST_TMPDIR/one" 100000
	mkdata "$BATS_TEST_TMPDIR/two" 200003

	# the partition device of losetup -P (partx -a where the kernel lacks the
	# partition table parser)
	loop=$(attach "$disk" -P)
	if ! wait_for_node "${loop}p2"; then
		partx -a "$loop" 2>/dev/null || true
		wait_for_node "${loop}p2" || skip "no partition devices for $loop"
	fi
	pcw_ok "${loop}p2" /viapart <"$BATS_TEST_TMPDIR/one"
	losetup -d "$loop"

	# the whole disk, the offset taken from the partition table
	loop=$(attach "$disk")
	pcw_ok --image-offset=$((start * 512)) "$loop" /viaoffset <"$BATS_TEST_TMPDIR/two"
	losetup -d "$loop"

	# the partition table and partition 1 are untouched; both files in partition 2
	cmp -n $((start * 512)) "$disk" "$BATS_TEST_TMPDIR/before-p2"
	[ "$(partx -g -o START -n 2 "$disk" | tr -d ' ')" -eq "$start" ]
	dd if="$disk" of="$BATS_TEST_TMPDIR/p2" bs=512 skip="$start" count="$sectors" status=none
	verify "$BATS_TEST_TMPDIR/p2" /viapart "$BATS_TEST_TMPDIR/one"
	verify "$BATS_TEST_TMPDIR/p2" /viaoffset "$BATS_TEST_TMPDIR/two"
}
