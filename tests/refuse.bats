#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# refuse.bats: every refusal is one line, a documented exit status, and an
# image that is byte-identical afterwards.

load test_helper

setup_file() {
	setup_file_image 32M
}

setup() {
	copy_image
	IMG=$BATS_TEST_TMPDIR/img
	printf 'hello\n' >"$BATS_TEST_TMPDIR/data"
}

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
	if [ -n "${LOCKPID:-}" ]; then
		kill "$LOCKPID" 2>/dev/null || true
		wait "$LOCKPID" 2>/dev/null || true
	fi
	detach_attached
}

# on_terminal CMD...: CMD on a pseudo-terminal for its input and output, as
# typed in a shell (script(1)); its status and what it printed.
on_terminal() {
	command -v script >/dev/null || skip "no script(1)"
	run script -qec "$(printf '%q ' "$@")" /dev/null </dev/null
}

# refused STATUS PATTERN DEST [options...]: run pcwrite with stdin data, expect
# STATUS, a one-line message matching PATTERN, and the image unchanged.
refused() {
	local want=$1 pattern=$2 dest=$3
	shift 3
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run "-$want" --separate-stderr "$PCWRITE" "$@" "$IMG" "$dest" <"$BATS_TEST_TMPDIR/data"
	echo "stderr: $stderr"
	[ "${stderr_lines[0]}" != "" ]
	[[ "${stderr_lines[0]}" == pcwrite:\ * ]]
	[[ "${stderr_lines[0]}" =~ $pattern ]]
	if [ "$want" -ne 2 ]; then
		[ "${#stderr_lines[@]}" -eq 1 ]
	fi
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

@test "a mounted image is refused" {
	kernel_require
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o loop "$IMG" "$MNT"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ mounted ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	umount "$MNT"
	fsck_clean "$IMG"
	[ -z "$(debugfs -R 'ls /' "$IMG" 2>/dev/null | grep -w f)" ]
}

@test "a mounted block device is refused" {
	kernel_require
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o loop "$IMG" "$MNT"
	dev=$(findmnt -n -o SOURCE "$MNT")
	run -1 --separate-stderr "$PCWRITE" "$dev" /f <"$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ mounted|in\ use ]]
}

@test "a journal that needs recovery is refused" {
	debugfs -w -R "feature needs_recovery" "$IMG" 2>/dev/null
	refused 1 "journal needs recovery; mount it or run e2fsck -E journal_only first$" /f
}

# The refusal says what replays a log and changes nothing else (e2fsck -f
# would check everything, and -fn cannot replay); each of its two ways is
# followed here and the write then goes through.
@test "a log left by a killed run: refused saying to mount or run e2fsck -E journal_only; after either, the write goes through" {
	local shim=$BATS_FILE_TMPDIR/eio_shim.so w
	command -v cc >/dev/null || skip "no C compiler for the shim"
	[ -f "$shim" ] || cc -shared -fPIC -o "$shim" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	# killed after the write that makes the log live (s_start set)
	for w in $(seq 1 30); do
		copy_image "$IMG"
		run env LD_PRELOAD="$shim" PCW_KILL_WRITE=$w "$PCWRITE" "$IMG" /big "$BATS_TEST_TMPDIR/big"
		[ "$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Journal start: *//p')" = 0 ] || break
	done
	[ "$w" -lt 30 ]
	cp "$IMG" "$BATS_TEST_TMPDIR/killed"
	refused 1 "^pcwrite: $IMG: journal needs recovery; mount it or run e2fsck -E journal_only first$" /f

	# as the message says, typed on a terminal (e2fsck wants one without
	# -p, -y or -n): it replays and asks nothing
	on_terminal e2fsck -E journal_only "$IMG"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"recovering journal"* ]]
	run -0 "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/data"
	fsck_clean "$IMG"

	kernel_available || skip "no kernel mount here"
	cp "$BATS_TEST_TMPDIR/killed" "$IMG"
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o loop "$IMG" "$MNT"
	umount "$MNT"
	run -0 "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/data"
	fsck_clean "$IMG"
}

@test "a filesystem marked with errors is refused" {
	debugfs -w -R "ssv state 3" "$IMG" 2>/dev/null
	refused 1 "marked with errors; run e2fsck -f first" /f
}

@test "a filesystem not cleanly unmounted is refused" {
	debugfs -w -R "ssv state 0" "$IMG" 2>/dev/null
	refused 1 "not cleanly unmounted; run e2fsck -f first" /f
}

@test "orphan inodes to process are refused, saying to mount or run e2fsck -E journal_only; after it, the write goes through" {
	local ino
	"$PCWRITE" "$IMG" /o <"$BATS_TEST_TMPDIR/data"
	ino=$(debugfs -R "stat /o" "$IMG" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
	# an unlinked file still open when the system went down
	debugfs -w -f - "$IMG" >/dev/null 2>&1 <<-EOF
		unlink /o
		sif <$ino> links_count 0
		sif <$ino> dtime 0
		ssv last_orphan $ino
	EOF
	refused 1 "^pcwrite: $IMG: filesystem has orphan inodes to process; mount it or run e2fsck -E journal_only first$" /f
	on_terminal e2fsck -E journal_only "$IMG"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Clearing orphaned inode $ino"* ]]
	run -0 "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	fsck_clean "$IMG"
}

@test "the read-only feature is refused" {
	tune2fs -O read-only "$IMG" >/dev/null
	refused 1 "read-only" /f
}

@test "an unknown incompatible feature is refused" {
	debugfs -w -R "feature FEATURE_I31" "$IMG" 2>/dev/null
	refused 1 "unsupported feature" /f
}

@test "a quota file in another format than v2r1 is refused" {
	mkimg "$IMG" 32M -t ext4 -b 4096 -O quota
	# The header's version: 0 (v2r0, 32-bit limits), not 1.
	local blk
	blk=$(debugfs -R "bmap <3> 0" "$IMG" 2>/dev/null)
	printf '\0' | dd of="$IMG" bs=1 seek=$((blk * 4096 + 4)) conv=notrunc 2>/dev/null
	refused 1 "quota file is not one pcwrite can update" /f
}

@test "an unknown read-only-compatible feature is refused" {
	debugfs -w -R "feature FEATURE_R31" "$IMG" 2>/dev/null
	refused 1 "unsupported read-only feature" /f
}

@test "not an ext2/3/4 image is refused" {
	rm "$IMG"
	head -c 4M /dev/zero >"$IMG"
	refused 1 "not an ext2/ext3/ext4 filesystem" /f
}

@test "a missing image is an error" {
	rm "$IMG"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ No\ such\ file ]]
}

@test "a relative DEST is a usage error" {
	refused 2 "absolute path" f
}

@test "a missing parent is refused without --parents" {
	refused 1 "parent directory does not exist \(use --parents\)" /no/such/f
	fsck_clean "$IMG"
}

@test "standard input into a directory is refused" {
	debugfs -w -R "mkdir /d" "$IMG" 2>/dev/null
	refused 1 "is a directory" /d
	refused 1 "is a directory" /
	fsck_clean "$IMG"
}

@test "a DEST that is a symlink is refused" {
	debugfs -w -R "symlink /link /target" "$IMG" 2>/dev/null
	refused 1 "symbolic link" /link
	fsck_clean "$IMG"
}

@test "a DEST that is not a regular file is refused" {
	debugfs -w -R "mknod fifo p" "$IMG" 2>/dev/null
	refused 1 "not a regular file" /fifo
	fsck_clean "$IMG"
}

@test "a name longer than 255 bytes is refused" {
	long=$(printf 'x%.0s' $(seq 1 256))
	refused 1 "longer than 255" "/$long"
	fsck_clean "$IMG"
}

@test "a path through a non-directory is refused" {
	"$PCWRITE" "$IMG" /file <"$BATS_TEST_TMPDIR/data"
	refused 1 "not a directory" /file/x
	fsck_clean "$IMG"
}

@test "an image locked by another pcwrite is refused" {
	flock "$IMG" sleep 30 &
	LOCKPID=$!
	for i in $(seq 50); do
		flock -n "$IMG" true 2>/dev/null || break
		sleep 0.1
	done
	refused 1 "locked by another pcwrite" /f
}

@test "--no-clobber refuses an existing DEST and writes a new one" {
	"$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	refused 1 "exists" /f --no-clobber
	run -0 "$PCWRITE" --no-clobber "$IMG" /g <"$BATS_TEST_TMPDIR/data"
	verify "$IMG" /g "$BATS_TEST_TMPDIR/data"
}

@test "several sources: every DEST is checked before the first write" {
	printf 'x' >"$BATS_TEST_TMPDIR/a"
	printf 'y' >"$BATS_TEST_TMPDIR/b"
	debugfs -w -R "mkdir /d" "$IMG" 2>/dev/null
	debugfs -w -R "symlink /d/b /elsewhere" "$IMG" 2>/dev/null
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /d "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[[ "$stderr" =~ /d/b:\ destination\ is\ a\ symbolic\ link$ ]]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}
@test "a missing host SOURCE is an error and the image is untouched" {
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/nonexistent"
	[[ "$stderr" =~ ^pcwrite:\ cannot\ open\ source\ \'.*nonexistent\':\ No\ such\ file\ or\ directory$ ]]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

@test "a block bitmap that marks metadata free is refused, not trusted" {
	# Clear the bits of the inode table's first blocks: an allocator
	# trusting the bitmap would hand them out and data would overwrite it.
	itable=$(dumpe2fs "$IMG" 2>/dev/null | sed -n 's/.*Inode table at \([0-9]*\)-.*/\1/p' | head -n1)
	debugfs -w -R "freeb $itable 4" "$IMG" 2>/dev/null
	refused 1 "metadata is inconsistent; run e2fsck -f first" /f
}

@test "an inode bitmap that offers a live inode: the live file is not overwritten" {
	"$PCWRITE" "$IMG" /a <"$BATS_TEST_TMPDIR/data"
	debugfs -w -R "freei /a" "$IMG" 2>/dev/null
	run -1 --separate-stderr "$PCWRITE" "$IMG" /b <"$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ metadata\ is\ inconsistent ]]
	readback "$IMG" /a "$BATS_TEST_TMPDIR/data"
	[ -z "$(debugfs -R 'ls /' "$IMG" 2>/dev/null | grep -w b)" ]
}

@test "no free inodes: refused before the first write, the image byte-identical" {
	mkimg "$IMG" 8M -t ext4 -N 16
	free=$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Free inodes: *//p')
	for i in $(seq 1 "$free"); do
		"$PCWRITE" --no-sync "$IMG" /f$i <"$BATS_TEST_TMPDIR/data"
	done
	refused 1 "no free inodes left" /one-too-many
	fsck_clean "$IMG"
}

@test "group descriptors pointing two bitmaps at one block are refused" {
	ibm=$(dumpe2fs "$IMG" 2>/dev/null | sed -n 's/.*Inode bitmap at \([0-9]*\).*/\1/p' | head -n1)
	debugfs -w -R "set_bg 0 block_bitmap $ibm" "$IMG" 2>/dev/null
	debugfs -w -R "set_bg 0 checksum calc" "$IMG" 2>/dev/null
	refused 1 "metadata is inconsistent" /f
}

# Found by tests/fuzz/run (seed 2, cases 430 and 638): a superblock whose
# first data block is wrong made ext2fs_check_desc mark blocks outside the
# filesystem; libext2fs printed two warnings before pcwrite's line, and on
# bigalloc with first_data_block 1 the image was written.
@test "a wrong first data block is refused with one line (bigalloc, 16383)" {
	mkimg "$IMG" 16M -t ext4 -b 1024 -O bigalloc -C 4096
	debugfs -w -R "ssv first_data_block 16383" "$IMG" 2>/dev/null
	refused 1 "inconsistent" /f
}

@test "a wrong first data block is refused (bigalloc, 1: e2fsck finds it, libext2fs did not)" {
	mkimg "$IMG" 16M -t ext4 -b 1024 -O bigalloc -C 4096
	debugfs -w -R "ssv first_data_block 1" "$IMG" 2>/dev/null
	refused 1 "inconsistent" /f
}

@test "a wrong first data block is refused (1 KiB blocks, 0)" {
	mkimg "$IMG" 16M -t ext4 -b 1024
	debugfs -w -R "ssv first_data_block 0" "$IMG" 2>/dev/null
	refused 1 "inconsistent" /f
}

@test "group geometry that does not add up is refused (inodes_count)" {
	mkimg "$IMG" 16M -t ext4 -b 1024
	debugfs -w -R "ssv inodes_count 4000" "$IMG" 2>/dev/null
	refused 1 "inconsistent|corrupt" /f
}

# ---- chattr flags: what the kernel refuses for +i and +a, pcwrite refuses ----

# setflags IMAGE PATH FLAGS: OR FLAGS (0x10 immutable, 0x20 append-only,
# 0x40000000 casefold, 0x800 encrypted) into the inode's i_flags.
setflags() {
	local cur
	cur=$(debugfs -R "stat $2" "$1" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	debugfs -w -R "set_inode_field $2 flags $(printf '0x%x' $((cur | $3)))" "$1" 2>/dev/null
}

# flagged_image: /imm (+i) and /app (+a) directories, each with a file x,
# and files /fi (+i) and /fa (+a).
flagged_image() {
	local d=$BATS_TEST_TMPDIR/data
	run -0 "$PCWRITE" -p "$IMG" /imm/x "$d"
	run -0 "$PCWRITE" -p "$IMG" /app/x "$d"
	run -0 "$PCWRITE" "$IMG" /fi "$d"
	run -0 "$PCWRITE" "$IMG" /fa "$d"
	setflags "$IMG" /imm 0x10
	setflags "$IMG" /app 0x20
	setflags "$IMG" /fi 0x10
	setflags "$IMG" /fa 0x20
	fsck_clean "$IMG"
}

@test "chattr +i, +a files: writing is refused as open(2) refuses it; -a onto +a is allowed" {
	flagged_image
	refused 1 "/fi: file is immutable or append-only \(chattr \+i, \+a\)" /fi
	refused 1 "/fi: file is immutable or append-only" /fi -a
	refused 1 "/fi: file is immutable or append-only" /fi -o 1
	refused 1 "/fa: file is immutable or append-only" /fa
	refused 1 "/fa: file is immutable or append-only" /fa -o 1
	# chmod and chown of an append-only file: EPERM
	refused 1 "/fa: file is immutable or append-only" /fa -a -m 600
	refused 1 "/fa: file is immutable or append-only" /fa -a -u 5
	# O_APPEND is what an append-only file allows
	run -0 --separate-stderr "$PCWRITE" -a "$IMG" /fa <"$BATS_TEST_TMPDIR/data"
	[ -z "$stderr" ]
	cat "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/twice"
	readback "$IMG" /fa "$BATS_TEST_TMPDIR/twice"
	fsck_clean "$IMG"
}

@test "chattr +i directory: no new name (or -p directory) in it, naming the directory; +a takes new names" {
	flagged_image
	refused 1 "^pcwrite: .*:/imm/new: directory '/imm' is immutable \(chattr \+i\): no name can be added to it or removed from it$" /imm/new
	refused 1 "directory '/imm' is immutable" /imm/d/new -p
	# several sources: refused before the first is written
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	cp "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/a"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /imm "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/a"
	[[ "$stderr" == *"/imm/data: directory '/imm' is immutable"* ]]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	# The file already there is not immutable: truncating it is allowed.
	run -0 "$PCWRITE" "$IMG" /imm/x <"$BATS_TEST_TMPDIR/data"
	# An append-only directory takes new names (the kernel's may_create).
	run -0 "$PCWRITE" -p "$IMG" /app/new/f <"$BATS_TEST_TMPDIR/data"
	readback "$IMG" /app/new/f "$BATS_TEST_TMPDIR/data"
	fsck_clean "$IMG"
}

@test "the kernel refuses what pcwrite refuses for chattr flags, and allows what it allows" {
	kernel_require
	flagged_image
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	cp "$IMG" "$BATS_TEST_TMPDIR/k.img"
	mount -o loop "$BATS_TEST_TMPDIR/k.img" "$MNT"
	run ! ln "$MNT/fi" "$MNT/l1"; [[ "$output" == *"Operation not permitted"* ]]
	run ! ln "$MNT/fa" "$MNT/l2"; [[ "$output" == *"Operation not permitted"* ]]
	run ! ln "$MNT/app/x" "$MNT/imm/l3"; [[ "$output" == *"Operation not permitted"* ]]
	run ! touch "$MNT/imm/new"; [[ "$output" == *"Operation not permitted"* ]]
	run ! rm -f "$MNT/app/x"; [[ "$output" == *"Operation not permitted"* ]]
	run ! sh -c "echo > '$MNT/fa'"; [[ "$output" == *"Operation not permitted"* ]]
	run ! chmod 600 "$MNT/fa"; [[ "$output" == *"Operation not permitted"* ]]
	run -0 sh -c "echo >> '$MNT/fa'"
	run -0 ln "$MNT/imm/x" "$MNT/app/l4"	# a new name in +a, to a plain file
	run -0 mkdir "$MNT/app/new"
	umount "$MNT"
}

@test "encrypted directories: the message names the directory and the reason" {
	mkimg "$IMG" 32M -t ext4 -O encrypt
	run -0 "$PCWRITE" -p "$IMG" /a/enc/x <"$BATS_TEST_TMPDIR/data"
	# e2fsck wants an encryption policy with the flag: only the message here
	# (casefolded directories are written: casefold.bats)
	setflags "$IMG" /a/enc 0x800
	refused 1 "^pcwrite: .*:/a/enc/new: directory '/a/enc' is encrypted \(fscrypt\): its names are ciphertext, and pcwrite has no key to look up or add names in it$" /a/enc/new
	refused 1 "/a/enc/sub/new: directory '/a/enc' is encrypted" /a/enc/sub/new -p
	refused 1 "/a/enc/x: directory '/a/enc' is encrypted" /a/enc/x
}

@test "a casefolded directory on a filesystem without the casefold feature is refused, named" {
	mkimg "$IMG" 32M -t ext4
	run -0 "$PCWRITE" -p "$IMG" /cf/x <"$BATS_TEST_TMPDIR/data"
	setflags "$IMG" /cf 0x40000000
	refused 1 "^pcwrite: .*:/cf/new: directory '/cf' is casefolded \(chattr \+F\) but the filesystem has no encoding pcwrite knows" /cf/new
}

# ---- an image that cannot hold its filesystem -------------------------------

# A truncated image took the run's writes (a write past the end of a file
# just extends it): exit 0, every record "ok", and the kernel refused to
# mount the result ("bad geometry").
@test "an image file shorter than its filesystem is refused, single file and -x" {
	truncate -s 24M "$IMG"
	refused 1 "image is shorter than its filesystem" /f
	tar -cf "$BATS_TEST_TMPDIR/a.tar" -C "$BATS_TEST_TMPDIR" data
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	[ "$stderr" = "pcwrite: $IMG: the image is shorter than its filesystem (truncated?)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

@test "a device shorter than its filesystem is refused" {
	kernel_require
	dev=$(attach "$IMG" --sizelimit $((24 * 1024 * 1024)))
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" "$dev" /f "$BATS_TEST_TMPDIR/data"
	detach_attached
	[ "$stderr" = "pcwrite: $dev: the image is shorter than its filesystem (truncated?)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

# SIGXFSZ killed the run (status 153, no message) between two writes: the
# image was left not clean, and after -x e2fsck found errors.
@test "a file size limit (ulimit -f) below the filesystem's end is refused, naming the limit" {
	refused_with_limit() {
		(ulimit -f 16384; exec "$PCWRITE" "$@")
	}
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr refused_with_limit "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[ "$stderr" = "pcwrite: $IMG: the file size limit (ulimit -f) is below the end of the filesystem (16777216 bytes)" ]
	tar -cf "$BATS_TEST_TMPDIR/a.tar" -C "$BATS_TEST_TMPDIR" data
	run -1 --separate-stderr refused_with_limit -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	[ "$stderr" = "pcwrite: $IMG: the file size limit (ulimit -f) is below the end of the filesystem (16777216 bytes)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	# the limit at the filesystem's end is enough
	run -0 bash -c 'ulimit -f 32768; exec "$@"' _ "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/data"
	fsck_clean "$IMG"
}

# ---- a failed run leaves the state as it found it -------------------------------

# An extended attribute with no room (2,000 bytes on 1 KiB blocks, 128-byte
# inodes) stopped the run before it changed anything of the inode, yet the
# superblock was left "not clean": e2fsck found nothing, and every later
# run was refused until e2fsck -f.
@test "an xattr with no room: exit 1, the filesystem consistent and still clean, the next run not refused" {
	command -v setfattr >/dev/null || skip "no setfattr"
	mkimg "$IMG" 8M -t ext4 -b 1024 -I 128
	mkdir "$BATS_TEST_TMPDIR/src"
	printf 'x' >"$BATS_TEST_TMPDIR/src/f"
	setfattr -n user.big -v "0s$(head -c 2000 /dev/zero | tr '\0' a | base64 -w0)" \
		"$BATS_TEST_TMPDIR/src/f" 2>/dev/null || skip "no user xattrs on $BATS_TEST_TMPDIR"
	tar --xattrs --xattrs-include='*' -cf "$BATS_TEST_TMPDIR/a.tar" -C "$BATS_TEST_TMPDIR/src" f
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	echo "stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"no room for the extended attributes"* ]]
	fsck_clean "$IMG"
	dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem state: *clean$'
	run -0 "$PCWRITE" "$IMG" /g "$BATS_TEST_TMPDIR/data"
	readback "$IMG" /g "$BATS_TEST_TMPDIR/data"
	fsck_clean "$IMG"
}

# The refusal says what to run, one line, in every mode; --undo leaves no
# undo file behind.
@test "a filesystem left not clean is refused in every mode with one line naming e2fsck -f" {
	debugfs -w -R "ssv state 0" "$IMG" 2>/dev/null
	tar -cf "$BATS_TEST_TMPDIR/a.tar" -C "$BATS_TEST_TMPDIR" data
	mkdir "$BATS_TEST_TMPDIR/tree"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	for mode in single x R undo; do
		case $mode in
		single)	run -1 --separate-stderr "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/data" ;;
		x)	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar" ;;
		R)	run -1 --separate-stderr "$PCWRITE" -R "$IMG" / "$BATS_TEST_TMPDIR/tree" ;;
		undo)	run -1 --separate-stderr "$PCWRITE" --undo="$BATS_TEST_TMPDIR/u" "$IMG" /f "$BATS_TEST_TMPDIR/data"
			[ ! -e "$BATS_TEST_TMPDIR/u" ] ;;
		esac
		echo "$mode: $stderr"
		[ "${#stderr_lines[@]}" -eq 1 ]
		[ "$stderr" = "pcwrite: $IMG: filesystem was not cleanly unmounted; run e2fsck -f first" ]
	done
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}
