# SPDX-License-Identifier: GPL-2.0-or-later
# journal_helper.bash: fixtures and judges for tests/journal.bats.
#
# A transaction is made by tools we did not write: debugfs -w changes a copy
# of the image (STATE), and tests/test_journal commits the blocks that differ
# between two states through lib/journal.c.  The judges are e2fsck, debugfs
# logdump, dumpe2fs, cmp and the kernel's own replay.

TJ=${PCW_TEST_JOURNAL:-$(dirname "$PCWRITE")/tests/test_journal}

JLOOP=
JMNT=

# fixture NAME: a fresh image of that kind, made once per file and copied.
#   ext4_1k       64 MiB ext4 (1 KiB blocks), journal as mke2fs leaves it
#   ext4_1k_v3    the same after a kernel mount has written a transaction
#                 (journal_64bit, journal_checksum_v3)
#   ext4_4k       128 MiB ext4, 4 KiB blocks; ext4_4k_v3 likewise
#   ext4_32bit    ext4 without 64bit
#   ext3, ext3_v1 ext3; ext3 mounted once with journal_checksum (csum v1)
#   bigalloc      ext4 with 16 KiB clusters
#   orphan        ext4 with orphan_file
#   small         16 MiB ext4 with a 1 MiB journal (1024 blocks); small_v3
fixture() {
	local name=$1 img="$BATS_FILE_TMPDIR/fixture.$1.img"
	if [ ! -e "$img" ]; then
		case $name in
		ext4_1k) mkimg "$img" 64M -t ext4 ;;
		ext4_4k) mkimg "$img" 128M -t ext4 -b 4096 ;;
		ext4_32bit) mkimg "$img" 64M -t ext4 -O ^64bit ;;
		ext3) mkimg "$img" 64M -t ext3 ;;
		bigalloc) mkimg "$img" 128M -t ext4 -b 4096 -O bigalloc -C 16384 ;;
		orphan) mkimg "$img" 64M -t ext4 -O orphan_file ;;
		small) mkimg "$img" 16M -t ext4 -J size=1 ;;
		ext4_1k_v3 | ext4_4k_v3 | ext3_v1 | small_v3)
			kernel_require
			cp --sparse=always "$(fixture "${name%_v?}")" "$img.tmp"
			kernel_touch "$img.tmp" "$([ "$name" = ext3_v1 ] && echo journal_checksum)"
			mv "$img.tmp" "$img" ;;
		*) echo "no fixture $name" >&2; return 1 ;;
		esac
	fi
	echo "$img"
}

# kernel_touch IMAGE [OPTIONS]: mount read-write, make a directory, unmount:
# the kernel's first commit writes its journal features.  Whatever fails,
# the mount and the loop device are gone on return.
kernel_touch() {
	local img=$1 opts=${2:+,$2} loop mnt rc=0
	mnt=$(mktemp -d "$BATS_FILE_TMPDIR/kt.XXXXXX")
	loop=$(losetup -f --show "$img") || { rmdir "$mnt"; return 1; }
	if mount -t ext4 -o "rw$opts" "$loop" "$mnt"; then
		mkdir "$(mktemp -u "$mnt/kernel.XXXXXX")" || rc=1
		umount "$mnt" || rc=1
	else
		rc=1
	fi
	losetup -d "$loop" || rc=1
	rmdir "$mnt" || rc=1
	return $rc
}

# state FROM TO COMMAND...: TO is FROM after debugfs -w runs the commands.
state() {
	local from=$1 to=$2
	shift 2
	cp --sparse=always "$from" "$to"
	printf '%s\n' "$@" | debugfs -w -f - "$to" >/dev/null 2>&1
}

fs_bs() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block size: *//p'
}

jfield() {	# jfield IMAGE "Journal start"
	dumpe2fs -h "$1" 2>/dev/null | sed -n "s/^$2: *//p"
}

# diff_blocks A B: the blocks (of A's block size) where A and B differ.
diff_blocks() {
	local bs
	bs=$(fs_bs "$1")
	cmp -l "$1" "$2" | awk -v bs="$bs" '{ print int(($1 - 1) / bs) }' | uniq
}

# The journal inode's data blocks, one a line.
journal_blocks() {
	debugfs -R "blocks <8>" "$1" 2>/dev/null | tr ' ' '\n' | sed '/^$/d'
}

# logged IMAGE: "FS block N" of every tag logdump -a reads, one a line.
logged() {
	debugfs -R "logdump -a" "$1" 2>/dev/null |
		sed -n 's/^ *FS block \([0-9]*\) logged at.*/\1/p'
}

# tids IMAGE: the sequence numbers of the commit blocks logdump finds.
tids() {
	debugfs -R "logdump" "$1" 2>/dev/null |
		sed -n 's/^Found expected sequence \([0-9]*\), type 2 (commit block).*/\1/p'
}

# only_differ A B ALLOWED-FILE: A and B differ only in the listed blocks.
only_differ() {
	local extra
	extra=$(diff_blocks "$1" "$2" | grep -vxF -f "$3" || true)
	if [ -n "$extra" ]; then
		echo "$1 and $2 differ outside the allowed blocks: $(echo $extra | head -c 300)" >&2
		return 1
	fi
}

# allowed_blocks IMAGE OUT: the journal's blocks and the superblock's.
allowed_blocks() {
	{ journal_blocks "$1"; echo $((1024 / $(fs_bs "$1"))); } >"$2"
}

# fsck_only IMAGE [WARNING]: e2fsck -fn finds nothing (but WARNING, which
# it must print).  No allowance for orphan_present on orphan_file: the
# journal never sets it (lib/journal.c says why), so e2fsck 1.47.0's
# "orphan_present is set but orphan file is clean" is a failure here.
fsck_only() {
	local img=$1 warning=$2 other
	run e2fsck -fn "$img"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	if [ -n "$warning" ]; then
		[[ "$output" == *"$warning"* ]]
	fi
	other=$(echo "$output" | grep -v -e '^e2fsck [0-9]' -e '^Pass [1-5]:' \
		-e 'files (.*blocks$' -e '^$' ${warning:+-e "$warning"} || true)
	[ -z "$other" ]
}

# fsck_needs_recovery IMAGE: e2fsck -fn says only that recovery is needed.
fsck_needs_recovery() {
	fsck_only "$1" "Warning: skipping journal recovery because doing a read-only filesystem check."
}

# replay_e2fsck IMAGE: replay the journal (and nothing else), then -fn
# clean.
replay_e2fsck() {
	run e2fsck -y -E journal_only "$1"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"recovering journal"* ]]
	fsck_only "$1"
	[ "$(jfield "$1" "Journal start")" = 0 ]
	! dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'
}

# jmount IMAGE: the kernel replays IMAGE (a read-only mount of a writable
# loop device) and it is mounted on $JMNT; the kernel's recovery message
# for this filesystem must be in dmesg.
jmount() {
	local img=$1 uuid dev
	kernel_require
	uuid=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p')
	JMNT=$(mktemp -d "$BATS_TEST_TMPDIR/jmnt.XXXXXX")
	JLOOP=$(losetup -f --show "$img")
	if ! mount -t ext4 -o ro "$JLOOP" "$JMNT"; then
		# jbd2's messages do not name the device: the last lines of dmesg
		echo "kernel refused to mount $img: $(dmesg | tail -n 12)" >&2
		losetup -d "$JLOOP"
		JLOOP=
		return 1
	fi
	dev=${JLOOP##*/}
	# The last mount of this loop device: recovery complete, then mounted
	# with our UUID.
	dmesg | awk -v d="($dev):" -v u="$uuid" '
		index($0, d) && /recovery complete/ { rec = 1 }
		index($0, d) && /mounted filesystem/ { ok = rec && index($0, u); rec = 0 }
		END { exit !ok }' || {
		echo "no 'recovery complete' for $uuid on $dev in dmesg" >&2
		return 1
	}
}

jumount() {
	if [ -n "$JMNT" ] && mountpoint -q "$JMNT"; then
		umount "$JMNT"
	fi
	if [ -n "$JLOOP" ]; then
		losetup -d "$JLOOP"
	fi
	JLOOP=
	JMNT=
}
