#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
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
	printf 'hello\n' >"$BATS_TEST_TMPDIR/data"
}

teardown() {
	exec 8>&- 9<&-
	if [ -n "${BLOCKED:-}" ]; then
		kill "$BLOCKED" 2>/dev/null || :
		wait "$BLOCKED" 2>/dev/null || :
	fi
	if [ -n "${NSPID:-}" ]; then
		kill "$NSPID" 2>/dev/null || :
		wait "$NSPID" 2>/dev/null || :
	fi
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
	# detach only the devices this test attached, if still backed by its files
	detach_attached
}

# pcw_ok ARGS...: pcwrite must exit 0 and print nothing; on failure the test
# output shows what it said.
pcw_ok() {
	run --separate-stderr "$PCWRITE" "$@"
	echo "pcwrite $*: exit $status, stderr: $stderr"
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
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

# ---- one filesystem, one writer, whatever its name ---------------------------

# holds_lock PID FILE: PID holds a flock(2) on FILE, as /proc/locks says.
holds_lock() {
	local ino
	ino=$(stat -L -c %i "$2") || return 1
	awk -v pid="$1" -v ino="$ino" '
		$2 == "FLOCK" && $5 == pid && $6 ~ (":" ino "$") { found = 1 }
		END { exit !found }' /proc/locks
}

# start_blocked ARGS...: run pcwrite in the background on a FIFO that stays
# open and empty, so that it holds its locks until release_blocked.
start_blocked() {
	FIFO=$BATS_TEST_TMPDIR/fifo
	rm -f "$FIFO"
	mkfifo "$FIFO"
	exec 8<>"$FIFO"
	"$PCWRITE" "$@" <"$FIFO" 8>&- &
	BLOCKED=$!
	# Until it holds the flock of its IMAGE and, for a loop device, of the
	# backing file.  Watched in /proc/locks: a probing `flock -n IMAGE`
	# would hold the lock for a moment and could be what pcwrite meets.
	local target=${*: -2:1} backing= _
	[ -b "$target" ] && backing=$(losetup -n -O BACK-FILE "$target" 2>/dev/null)
	for _ in $(seq 100); do
		if holds_lock "$BLOCKED" "$target" &&
		   { [ -z "$backing" ] || holds_lock "$BLOCKED" "$backing"; }; then
			return 0
		fi
		kill -0 "$BLOCKED" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
release_blocked() {
	printf 'late data\n' >&8
	exec 8>&-
	wait "$BLOCKED"
}

@test "pcwrite on a loop device and on its backing file exclude each other" {
	loop=$(attach "$IMG") || skip "losetup failed"
	start_blocked "$loop" /first
	run -1 --separate-stderr "$PCWRITE" "$IMG" /second <"$BATS_TEST_TMPDIR/data"
	echo "stderr: $stderr"
	[ "$stderr" = "pcwrite: $IMG: image is locked by another pcwrite" ]
	# a second device node for the same device
	read -r maj min < <(stat -c '%t %T' "$loop")
	mknod "$BATS_TEST_TMPDIR/alias" b $((16#$maj)) $((16#$min))
	run -1 --separate-stderr "$PCWRITE" "$BATS_TEST_TMPDIR/alias" /second <"$BATS_TEST_TMPDIR/data"
	echo "stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" =~ ^pcwrite:\ .*alias:\ (image\ is\ locked|device\ is\ in\ use) ]]
	release_blocked
	# the other way round
	start_blocked "$IMG" /third
	run -1 --separate-stderr "$PCWRITE" "$loop" /second <"$BATS_TEST_TMPDIR/data"
	[ "$stderr" = "pcwrite: $loop: image is locked by another pcwrite" ]
	release_blocked
	losetup -d "$loop"
	printf 'late data\n' >"$BATS_TEST_TMPDIR/late"
	verify "$IMG" /first "$BATS_TEST_TMPDIR/late"
	verify "$IMG" /third "$BATS_TEST_TMPDIR/late"
	debugfs -R "ls /" "$IMG" 2>/dev/null | grep -vq second
}

@test "a loop device over the image, open but not mounted: its page cache is dropped, it reads what pcwrite wrote" {
	loop=$(attach "$IMG") || skip "losetup failed"
	# The kernel drops a block device's page cache at its last close:
	# keep it open, as a reader or a partition tool might.
	exec 9<"$loop"
	cat "$loop" >/dev/null		# its page cache now holds the old image
	mkdata "$BATS_TEST_TMPDIR/data" 300000
	pcw_ok "$IMG" /f "$BATS_TEST_TMPDIR/data"
	cmp "$loop" "$IMG"
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o ro,noload "$loop" "$MNT" || skip "mount failed"
	cmp "$MNT/f" "$BATS_TEST_TMPDIR/data"
	umount "$MNT"
	exec 9<&-
	fsck_clean "$IMG"
}

@test "a loop device over the image mounted in another mount namespace: refused as held" {
	command -v unshare >/dev/null || skip "no unshare"
	loop=$(attach "$IMG") || skip "losetup failed"
	mkdir "$BATS_TEST_TMPDIR/mnt"
	unshare -m sh -c 'mount -o ro,noload "$1" "$2" && exec sleep 30' _ "$loop" "$BATS_TEST_TMPDIR/mnt" &
	NSPID=$!
	for _ in $(seq 50); do
		python3 -c 'import os,sys; os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)' "$loop" 2>/dev/null || break
		sleep 0.1
	done
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	kill "$NSPID"
	wait "$NSPID" || :
	echo "stderr: $stderr"
	[ "$stderr" = "pcwrite: $IMG: device is in use ($loop is held open exclusively)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	fsck_clean "$IMG"
}

# ---- partitions: a mounted one is found however the disk is named ------------

# two_partitions: $DISK with ext4 in partition 1 (P1, bytes) and 2 (P2).
two_partitions() {
	command -v sfdisk >/dev/null || skip "sfdisk not installed (Debian package fdisk)"
	DISK=$BATS_TEST_TMPDIR/disk
	truncate -s 80M "$DISK"
	printf 'label: dos\nstart=2048, size=16384, type=83\nstart=20480, type=83\n' |
		sfdisk -q "$DISK"
	P1=$((2048 * 512))
	P2=$((20480 * 512))
	mke2fs -q -F -t ext4 -E nodiscard,offset=$P1 "$DISK" 8M >/dev/null
	mke2fs -q -F -t ext4 -E nodiscard,offset=$P2 "$DISK" 60M >/dev/null
}

# partition_of DISK-OFFSET-BYTES SIZE OUT: the partition's bytes as a file
partition_of() {
	dd if="$DISK" of="$3" bs=512 skip=$(($1 / 512)) count=$(($2 / 512)) status=none
}

@test "a mounted partition of a losetup -P device is found through the disk image, the whole device and a second loop device" {
	two_partitions
	loop=$(attach "$DISK" -P) || skip "losetup -P failed"
	if ! wait_for_node "${loop}p2"; then
		partx -a "$loop" 2>/dev/null || :
		wait_for_node "${loop}p2" || skip "no partition devices for $loop"
	fi
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o ro "${loop}p2" "$MNT" || skip "mount failed"
	cp "$DISK" "$BATS_TEST_TMPDIR/before"
	loop2=$(attach "$DISK" -o $P2) || skip "losetup -o failed"
	for image in "--image-offset=$P2 $DISK" "--image-offset=$P2 $loop" "${loop}p2" "$loop2"; do
		# shellcheck disable=SC2086
		run -1 --separate-stderr "$PCWRITE" $image /h <"$BATS_TEST_TMPDIR/data"
		echo "pcwrite $image: $stderr"
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ "$stderr" == "pcwrite: ${image##* }: filesystem is mounted; unmount it first (${loop}p2, mounted on $MNT)" ]]
	done
	losetup -d "$loop2"
	cmp "$DISK" "$BATS_TEST_TMPDIR/before"
	# partition 1 does not overlap the mounted one: written, and the
	# devices over it show it
	mkdata "$BATS_TEST_TMPDIR/data" 100000
	pcw_ok --image-offset=$P1 "$DISK" /h "$BATS_TEST_TMPDIR/data"
	cmp -n $((16384 * 512)) "${loop}p1" <(tail -c +$((P1 + 1)) "$DISK")
	umount "$MNT"
	partition_of $P2 $((60 * 1024 * 1024)) "$BATS_TEST_TMPDIR/p2"
	fsck_clean "$BATS_TEST_TMPDIR/p2"
	partition_of $P1 $((8 * 1024 * 1024)) "$BATS_TEST_TMPDIR/p1"
	verify "$BATS_TEST_TMPDIR/p1" /h "$BATS_TEST_TMPDIR/data"
}

@test "a mounted loop device with an offset stops a write into its range, not one elsewhere in the file" {
	two_partitions
	loop=$(attach "$DISK" -o $P1 --sizelimit $((8 * 1024 * 1024))) || skip "losetup failed"
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o ro "$loop" "$MNT" || skip "mount failed"
	cp "$DISK" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" --image-offset=$P1 "$DISK" /h <"$BATS_TEST_TMPDIR/data"
	[ "$stderr" = "pcwrite: $DISK: filesystem is mounted; unmount it first ($loop, mounted on $MNT)" ]
	cmp "$DISK" "$BATS_TEST_TMPDIR/before"
	pcw_ok --image-offset=$P2 "$DISK" /h "$BATS_TEST_TMPDIR/data"
	umount "$MNT"
	partition_of $P2 $((60 * 1024 * 1024)) "$BATS_TEST_TMPDIR/p2"
	verify "$BATS_TEST_TMPDIR/p2" /h "$BATS_TEST_TMPDIR/data"
	partition_of $P1 $((8 * 1024 * 1024)) "$BATS_TEST_TMPDIR/p1"
	fsck_clean "$BATS_TEST_TMPDIR/p1"
}

@test "--undo on a loop device: the run is rolled back by e2undo" {
	loop=$(attach "$IMG") || skip "losetup failed"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	mkdata "$BATS_TEST_TMPDIR/data" 200000
	pcw_ok --undo="$BATS_TEST_TMPDIR/u" "$loop" /f "$BATS_TEST_TMPDIR/data"
	losetup -d "$loop"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/data"
	run -0 e2undo "$BATS_TEST_TMPDIR/u" "$IMG"
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

@test "a loop device over a loop device over the image, mounted: found through both" {
	loop=$(attach "$IMG") || skip "losetup failed"
	outer=$(losetup -f --show "$loop") || skip "losetup over a loop device failed"
	echo "$outer $loop" >>"$BATS_TEST_TMPDIR/loops"
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o ro,noload "$outer" "$MNT" || skip "mount failed"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	for image in "$IMG" "$loop"; do
		run -1 --separate-stderr "$PCWRITE" "$image" /f <"$BATS_TEST_TMPDIR/data"
		[ "$stderr" = "pcwrite: $image: filesystem is mounted; unmount it first ($outer, mounted on $MNT)" ]
	done
	umount "$MNT"
	losetup -d "$outer"
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	fsck_clean "$IMG"
}
