#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# messages.bats: every message says which thing failed (coreutils' way:
# "cannot open source 'x'", "IMAGE: ...", "IMAGE:DEST: ..."), one condition
# has one wording, an offset or a partition that holds no filesystem says
# so, sizes take the same suffixes everywhere, and an error writing
# standard output is an error of the run (close_stdout).
bats_require_minimum_version 1.5.0

load test_helper

setup_file() {
	setup_file_image 32M
}

teardown() {
	tmpfs_umount "${MNT:-}"
	detach_attached
}

setup() {
	MNT=
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	mkdata "$BATS_TEST_TMPDIR/data" 5000
	cd "$BATS_TEST_TMPDIR"
}

# one_line STATUS EXPECTED ARGS...: pcwrite ARGS exits STATUS with exactly
# the line EXPECTED on standard error; the image is untouched and clean.
one_line() {
	local want_status=$1 want=$2
	shift 2
	run --separate-stderr "$PCWRITE" "$@" <"$BATS_TEST_TMPDIR/data"
	echo "status $status, stderr: $stderr"
	echo "expected: $want"
	[ "$status" -eq "$want_status" ]
	[ "$stderr" = "$want" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	fsck_clean "$IMG"
}

@test "a missing SOURCE, IMAGE, report file, undo file, archive, source directory: each says which" {
	one_line 1 "pcwrite: cannot open source 'nosuch.txt': No such file or directory" \
		"$IMG" /f nosuch.txt
	one_line 1 "pcwrite: nosuch.img: No such file or directory" \
		nosuch.img /f data
	one_line 1 "pcwrite: cannot open report file 'no/r.json': No such file or directory" \
		-r json --report-file=no/r.json "$IMG" /f data
	one_line 1 "pcwrite: cannot open undo file 'no/u': No such file or directory" \
		--undo=no/u "$IMG" /f data
	one_line 1 "pcwrite: cannot open archive 'nosuch.tar': No such file or directory" \
		-x "$IMG" / nosuch.tar
	one_line 1 "pcwrite: cannot open source directory 'nosuchdir': No such file or directory" \
		-R "$IMG" / nosuchdir
	mkdir dir
	one_line 1 "pcwrite: cannot read source 'dir': Is a directory (use -R for a directory)" \
		"$IMG" /f dir
	one_line 1 "pcwrite: cannot open source directory 'data': Not a directory" \
		-R "$IMG" / data
}

@test "a name inside a sentence is always quoted; one with a quote or a control byte in C form" {
	one_line 1 "pcwrite: cannot open source \"it's\": No such file or directory" \
		"$IMG" /f "it's"
	one_line 1 'pcwrite: cannot open source "a\nb": No such file or directory' \
		"$IMG" /f $'a\nb'
}

@test "a missing parent reads the same with one SOURCE, several, and standard input" {
	cp data other
	one_line 1 "pcwrite: $IMG:/no/f: parent directory does not exist (use --parents)" \
		"$IMG" /no/f data
	one_line 1 "pcwrite: $IMG:/no/f: parent directory does not exist (use --parents)" \
		"$IMG" /no/f
	one_line 1 "pcwrite: $IMG:/no/data: parent directory does not exist (use --parents)" \
		"$IMG" /no data other
	# deeper: DEST's own parent is missing, with one SOURCE or several
	one_line 1 "pcwrite: $IMG:/a/b/c: parent directory does not exist (use --parents)" \
		"$IMG" /a/b/c data
	one_line 1 "pcwrite: $IMG:/a/b/c: parent directory does not exist (use --parents)" \
		"$IMG" /a/b/c data other
}

@test "--image-offset past the end of the image, or where no filesystem is, says so" {
	one_line 1 "pcwrite: $IMG: the filesystem's offset is past the end of the image (--image-offset=1073741824)" \
		--image-offset=1G "$IMG" /f data
	one_line 1 "pcwrite: $IMG: no ext2/ext3/ext4 filesystem at this offset of the image (--image-offset=1048576)" \
		--image-offset=1M "$IMG" /f data
	# the listing says the same
	one_line 1 "pcwrite: $IMG: the filesystem's offset is past the end of the image (--image-offset=1073741824)" \
		--list --image-offset=1G "$IMG" /
	# no offset: not a filesystem at all
	head -c 1M /dev/zero >zeros
	run -1 --separate-stderr "$PCWRITE" zeros /f data
	[ "$stderr" = "pcwrite: zeros: not an ext2/ext3/ext4 filesystem" ]
}

@test "--offset takes the size suffixes --image-offset and --dirty-limit take" {
	mkdata big 10000
	run -0 "$PCWRITE" "$IMG" /f big
	run -0 "$PCWRITE" --offset=4K "$IMG" /f data
	run -0 "$PCWRITE" --offset=1KiB "$IMG" /g data
	cp big expect
	dd if=data of=expect bs=4096 seek=1 conv=notrunc status=none
	readback "$IMG" /f expect
	head -c 1024 /dev/zero >expect_g
	cat data >>expect_g
	readback "$IMG" /g expect_g
	run -0 "$PCWRITE" -o 1M "$IMG" /h data
	[ "$(inode_size "$IMG" /h)" -eq $((1048576 + 5000)) ]
	fsck_clean "$IMG"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -2 --separate-stderr "$PCWRITE" --offset=4X "$IMG" /f data
	[ "${stderr_lines[0]}" = "pcwrite: invalid --offset '4X' (bytes, with K, M, G or T)" ]
	run -2 --separate-stderr "$PCWRITE" --offset=8E "$IMG" /f data
	run -2 --separate-stderr "$PCWRITE" --offset=-4K "$IMG" /f data
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

@test "--help, --version, --usage into a full disk: exit 1 and a message, not 0" {
	[ -w /dev/full ] || skip "no /dev/full"
	local opt
	for opt in --help --version --usage; do
		run --separate-stderr bash -c '"$1" "$2" >/dev/full' _ "$PCWRITE" "$opt"
		echo "$opt: status $status, stderr '$stderr'"
		[ "$status" -eq 1 ]
		[ "$stderr" = "pcwrite: write error on standard output: No space left on device" ]
	done
}

@test "the JSON report into a full disk: exit 1, one message, the filesystem consistent" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr bash -c '"$1" -r json "$2" /f <"$3" >/dev/full' _ "$PCWRITE" "$IMG" data
	echo "status $status, stderr '$stderr'"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: write error on standard output: No space left on device" ]
	fsck_clean "$IMG"
	readback "$IMG" /f data
	# a listing too
	run --separate-stderr bash -c '"$1" --list "$2" / >/dev/full' _ "$PCWRITE" "$IMG"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: write error on standard output: No space left on device" ]
}

@test "a report file that cannot be written names it" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -1 --separate-stderr "$PCWRITE" -r json --report-file=/dev/full "$IMG" /f data
	[ "$stderr" = "pcwrite: write error on report file '/dev/full': No space left on device" ]
	fsck_clean "$IMG"
}

# A full filesystem under a host file the run writes is that file's error,
# with its role and name, never an image entry's.  (The undo file's:
# undo.bats.)
@test "a report file whose filesystem fills during -x: named as the report file, the image consistent" {
	MNT=$BATS_TEST_TMPDIR/mnt
	tmpfs_mount "$MNT" 16k
	mkdir src
	for i in $(seq 1 40); do
		mkdata "src/f$i" 20000
	done
	tar -cf a.tar -C src .
	run --separate-stderr "$PCWRITE" -x -r json --report-file="$MNT/report" "$IMG" / a.tar
	tmpfs_umount "$MNT"
	echo "status $status, stderr: $stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: write error on report file '$MNT/report': No space left on device" ]
	fsck_clean "$IMG"
	readback "$IMG" /f40 src/f40
}

# The image is a block device (the file size limit does not apply to one);
# the report file meets the limit.  Before: SIGXFSZ killed the run (status
# 153, no message) at the report's first write.
@test "a report file that meets the file size limit: named, with the limit" {
	kernel_require
	mkdata "$BATS_TEST_TMPDIR/data" 100000	# 25 page records: 3 KiB of report
	dev=$(attach "$IMG")
	limited() {
		(ulimit -f 1; exec "$PCWRITE" "$@")
	}
	run --separate-stderr limited -r json --report-file="$BATS_TEST_TMPDIR/report" "$dev" /f "$BATS_TEST_TMPDIR/data"
	detach_attached
	echo "status $status, stderr: $stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: write error on report file '$BATS_TEST_TMPDIR/report': File too large (the file size limit, ulimit -f, is 1024 bytes)" ]
	fsck_clean "$IMG"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

# ---- --partition ------------------------------------------------------------

# disk LABEL: a 48 MiB disk image with three partitions from sfdisk (MBR
# "dos": 1, 2, an extended 3 holding the logical 5; GPT: 1, 2, 3) and an
# ext4 filesystem made in partition 2 (and in 5 on MBR).
disk() {
	command -v sfdisk >/dev/null || skip "no sfdisk (Debian: fdisk)"
	truncate -s 48M disk
	if [ "$1" = dos ]; then
		printf 'label: dos\n2048,8192,83\n10240,24576,83\n34816,,5\n36864,,83\n' |
			sfdisk -q disk >/dev/null
	else
		printf 'label: gpt\n2048,8192\n10240,24576\n34816,40000\n' |
			sfdisk -q disk >/dev/null
	fi
	mkimg part2 12M -t ext4
	dd if=part2 of=disk bs=512 seek=10240 conv=notrunc,sparse status=none
}

# partition_readback START_SECTOR SECTORS PATH EXPECTED: the filesystem in
# that part of the disk, read back.
partition_readback() {
	dd if=disk of=back bs=512 skip="$1" count="$2" status=none
	fsck_clean back
	readback back "$3" "$4"
}

@test "--partition=N finds the filesystem in an MBR or a GPT disk image" {
	local label
	for label in dos gpt; do
		disk "$label"
		run -0 --separate-stderr "$PCWRITE" --partition=2 disk /f data
		[ -z "$stderr" ]
		partition_readback 10240 24576 /f data
		run -0 "$PCWRITE" --list --partition=2 disk /
		[ "$output" = "$(printf 'f\nlost+found/')" ]
	done
	# a logical partition of an MBR's extended one
	disk dos
	mkimg part5 6M -t ext4
	dd if=part5 of=disk bs=512 seek=36864 conv=notrunc status=none
	run -0 "$PCWRITE" --partition=5 disk /g data
	partition_readback 36864 12288 /g data
}

@test "--partition: no table, no such partition, an extended one, a filesystem larger than its partition" {
	one_line 1 "pcwrite: $IMG: no partition table (MBR or GPT) in the image (--partition=1)" \
		--partition=1 "$IMG" /f data
	disk dos
	cp disk disk.before
	run -1 --separate-stderr "$PCWRITE" --partition=4 disk /f data
	[ "$stderr" = "pcwrite: disk: no such partition in the partition table (--partition=4)" ]
	run -1 --separate-stderr "$PCWRITE" --partition=3 disk /f data
	[ "$stderr" = "pcwrite: disk: no such partition in the partition table (--partition=3)" ]
	run -1 --separate-stderr "$PCWRITE" --partition=1 disk /f data
	[ "$stderr" = "pcwrite: disk: no ext2/ext3/ext4 filesystem at this offset of the image (--partition=1, at byte 1048576)" ]
	# 12 MiB of filesystem in partition 1's 4 MiB: it would spill into 2
	dd if=part2 of=disk bs=512 seek=2048 conv=notrunc status=none
	cp disk disk.before
	run -1 --separate-stderr "$PCWRITE" --partition=1 disk /f data
	[ "$stderr" = "pcwrite: disk: the filesystem is larger than its partition (--partition=1, at byte 1048576)" ]
	cmp disk disk.before
}

@test "--partition excludes --image-offset and --undo; N is a number from 1" {
	local args
	for args in "--partition=1 --image-offset=1M" "--partition=1 --undo=u" \
		    "--partition=0" "--partition=x" "--partition=-1"; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr "$PCWRITE" $args "$IMG" /f data
		echo "$args: $stderr"
		[ "${#stderr_lines[@]}" -eq 2 ]
		[ "${stderr_lines[1]}" = "Try 'pcwrite --help' for more information." ]
	done
	run -2 --separate-stderr "$PCWRITE" --partition=1 --image-offset=1M "$IMG" /f data
	[ "${stderr_lines[0]}" = "pcwrite: --image-offset and --partition exclude each other" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}
