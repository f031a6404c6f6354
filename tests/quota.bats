#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# quota.bats: quota usage kept by pcwrite (user, group and project quota
# files of mke2fs -O quota[,project]).  The oracles: e2fsck -fn, which
# computes every id's usage from the inodes and fails on a difference with
# the quota files ("[QUOTA WARNING] Usage inconsistent"); the quota files
# rebuilt from scratch by tune2fs (-O ^quota, then -O quota), listed with
# debugfs's list_quota, which must list the same ids with the same usage;
# debugfs stat for project ids and flags; the kernel's own accounting
# (repquota on a read-write mount) where the kernel has the v2 quota format.

load test_helper
load kernel_helper

QTYPES=usrquota:grpquota:prjquota

setup() {
	IMG=$BATS_TEST_TMPDIR/img
}

teardown() {
	kernel_teardown
}

# qimg SIZE [mke2fs options...]: ext4 with user, group and project quota.
qimg() {
	local size=$1
	shift
	mkimg "$IMG" "$size" -t ext4 -O quota,project -E "quotatype=$QTYPES" "$@"
}

# mktar OUT N BASE SIZE: N files in 7 directories, file i owned by
# BASE+i:2*BASE+(i%50), every 5th with a 300-byte xattr (an attribute
# block), every 11th hard-linked from another directory.
mktar() {
	python3 - "$@" <<'EOF'
import io, os, sys, tarfile
out, n, base, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = tarfile.open(out, 'w', format=tarfile.PAX_FORMAT)
for i in range(n):
    if i < 7:
        d = tarfile.TarInfo('d%d' % i); d.type = tarfile.DIRTYPE
        d.mode = 0o755; d.uid = base + i; d.gid = 2 * base + i
        t.addfile(d)
    data = os.urandom((i * 977) % size)
    f = tarfile.TarInfo('d%d/f%d' % (i % 7, i)); f.size = len(data)
    f.mode = 0o644; f.uid = base + i; f.gid = 2 * base + i % 50
    if i % 5 == 0:
        f.pax_headers = {'SCHILY.xattr.user.note': 'x' * 300}
    t.addfile(f, io.BytesIO(data))
    if i % 11 == 0:
        h = tarfile.TarInfo('d%d/h%d' % ((i + 1) % 7, i))
        h.type = tarfile.LNKTYPE; h.linkname = 'd%d/f%d' % (i % 7, i)
        t.addfile(h)
t.close()
EOF
}

# lq IMAGE TYPE: debugfs's list of TYPE's quota entries, sorted.
lq() {
	debugfs -R "lq $2" "$1" 2>/dev/null | sort -n
}

# quota_recomputed IMAGE: the quota files tune2fs builds from the inodes
# list the same ids and usage as the image's (and e2fsck -fn is clean).
quota_recomputed() {
	local img=$1 re=$BATS_TEST_TMPDIR/recomputed t
	fsck_clean "$img"
	cp --sparse=always "$img" "$re"
	tune2fs -O ^quota "$re" >/dev/null
	tune2fs -O quota -Q "${2:-usrquota,grpquota,prjquota}" "$re" >/dev/null
	for t in ${3:-user group project}; do
		if ! diff <(lq "$img" "$t") <(lq "$re" "$t"); then
			echo "$t quota differs from tune2fs's recomputed one" >&2
			return 1
		fi
	done
}

# usage IMAGE TYPE ID: "space inodes" of ID, or nothing.
usage() {
	lq "$1" "$2" | awk -v id="$3" '$1 == id { print $2, $5 }'
}

# ---- usage after -x -------------------------------------------------------------

quota_runs() {
	local bs=$1
	qimg 128M -b "$bs"
	mktar "$BATS_TEST_TMPDIR/a.tar" 600 1000 20000
	mktar "$BATS_TEST_TMPDIR/b.tar" 300 3000 9000
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	[ "$status" -eq 0 ]
	quota_recomputed "$IMG"
	[ "$(lq "$IMG" user | grep -c '^ *1[0-9][0-9][0-9] ')" -eq 600 ]
	# The second run replaces half the files (their inodes and attribute
	# blocks freed) and merges the directories with new owners.
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/b.tar"
	[ "$status" -eq 0 ]
	quota_recomputed "$IMG"
	# The old owners of replaced files have no entry left (the kernel
	# deletes an entry with neither usage nor limits).
	[ -z "$(usage "$IMG" user 1005)" ]
	[ -n "$(usage "$IMG" user 1400)" ]
	[ -n "$(usage "$IMG" user 3005)" ]
	# Hundreds of ids: the tree grew blocks (mke2fs makes 6).
	[ "$(inode_size "$IMG" '<3>')" -gt 6144 ]
}

@test "ext4 4 KiB: usage after two -x runs (600 ids, replacements, hard links, attribute blocks) is what e2fsck and tune2fs compute" {
	quota_runs 4096
}

@test "ext4 1 KiB: usage after two -x runs is what e2fsck and tune2fs compute" {
	quota_runs 1024
}

@test "bigalloc: usage counts clusters; the quota file grows by clusters" {
	qimg 256M -O bigalloc -C 16384
	mktar "$BATS_TEST_TMPDIR/a.tar" 400 1000 50000
	mktar "$BATS_TEST_TMPDIR/b.tar" 200 3000 9000
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	[ "$status" -eq 0 ]
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/b.tar"
	[ "$status" -eq 0 ]
	quota_recomputed "$IMG"
	# A one-byte file costs a whole 16 KiB cluster.
	printf x | "$PCWRITE" -u 77 "$IMG" /one
	[ "$(usage "$IMG" user 77)" = "16384 1" ]
	quota_recomputed "$IMG"
}

@test "ext3 and ext2 (block-mapped quota files): the files grow with indirect blocks" {
	local fs
	mktar "$BATS_TEST_TMPDIR/a.tar" 600 1000 20000
	for fs in ext3 ext2; do
		mkimg "$IMG" 256M -t "$fs" -O quota
		run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
		[ "$status" -eq 0 ]
		quota_recomputed "$IMG" usrquota,grpquota "user group"
		dstat "$IMG" '<3>' | grep -q '(IND)'
	done
}

@test "user and group quota only (no project feature): usage kept" {
	mkimg "$IMG" 64M -t ext4 -O quota
	mktar "$BATS_TEST_TMPDIR/a.tar" 50 1000 20000
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	[ "$status" -eq 0 ]
	quota_recomputed "$IMG" usrquota,grpquota "user group"
}

# ---- single files, owners, deletions ------------------------------------------------

@test "single files: new, overwritten, appended, owner changed with -u/-g: the usage moves" {
	qimg 64M -b 1024
	head -c 10000 /dev/urandom >"$BATS_TEST_TMPDIR/data"
	"$PCWRITE" -u 5 -g 50 "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[ "$(usage "$IMG" user 5)" = "10240 1" ]
	quota_recomputed "$IMG"
	"$PCWRITE" -a "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[ "$(usage "$IMG" user 5)" = "20480 1" ]
	# An overwrite by another owner: the file's usage moves to uid 6.
	"$PCWRITE" -u 6 "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[ -z "$(usage "$IMG" user 5)" ]
	[ "$(usage "$IMG" user 6)" = "10240 1" ]
	[ "$(usage "$IMG" group 50)" = "10240 1" ]
	quota_recomputed "$IMG"
	# Many files in one run: the directory grows, its blocks charged to root.
	for i in $(seq 1 60); do echo "$i" >"$BATS_TEST_TMPDIR/s$i"; done
	mkdir "$BATS_TEST_TMPDIR/many" && mv "$BATS_TEST_TMPDIR"/s* "$BATS_TEST_TMPDIR/many/"
	"$PCWRITE" -p -u 9 "$IMG" /dir "$BATS_TEST_TMPDIR"/many/*
	quota_recomputed "$IMG"
}

@test "a slow symlink's block, a directory's growth and an extent tree's blocks are charged" {
	qimg 64M -b 1024
	local d=$BATS_TEST_TMPDIR/t i
	mkdir -p "$d/dir"
	ln -s "$(printf 'y%.0s' $(seq 1 300))" "$d/slow"
	for i in $(seq 1 300); do : >"$d/dir/name-$i-$(printf 'z%.0s' $(seq 1 40))"; done
	# A fragmented file: many extents need tree blocks of their own.
	head -c 3000000 /dev/urandom >"$d/big"
	run "$PCWRITE" -R -u 42 -g 43 "$IMG" / "$d"
	[ "$status" -eq 0 ]
	quota_recomputed "$IMG"
	[ -n "$(usage "$IMG" user 42)" ]
}

@test "a failed run (no space left) leaves quota usage that matches the inodes" {
	qimg 8M -b 1024
	mktar "$BATS_TEST_TMPDIR/a.tar" 120 1000 300000
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	[ "$status" -eq 1 ]
	[[ $output == *"No space left"* ]]
	quota_recomputed "$IMG"
}

@test "a new id's quota entry needs blocks: on a full filesystem its inode is refused (ENOSPC) before it is written" {
	local bs
	python3 - "$BATS_TEST_TMPDIR/tiny.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w')
for i in range(2000):
    f = tarfile.TarInfo('t%d' % i); f.uid = 50000 + 300 * i; f.gid = 70000 + 300 * i
    t.addfile(f, io.BytesIO(b''))
t.close()
EOF
	for bs in 1024 4096; do
		qimg 16M -b "$bs"
		head -c 20M /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/fill"
		run "$PCWRITE" "$IMG" /fill "$BATS_TEST_TMPDIR/fill"
		[ "$status" -eq 1 ]
		run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/tiny.tar"
		[ "$status" -eq 1 ]
		[[ $output == *"/t"*": No space left on device"* ]]
		quota_recomputed "$IMG"
	done
}

@test "ea_inode: values in attribute inodes cost their owner an inode and their clusters, and go with it" {
	mkimg "$IMG" 64M -t ext4 -b 4096 -O quota,ea_inode
	python3 - "$BATS_TEST_TMPDIR/ea.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
f = tarfile.TarInfo('f'); data = b'hello\n'; f.size = len(data); f.uid = 500
f.pax_headers = {'SCHILY.xattr.user.big': 'x' * 6000}
t.addfile(f, io.BytesIO(data))
t.close()
EOF
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/ea.tar"
	[ "$status" -eq 0 ]
	# 4 KiB of data and two blocks of value; the value's inode counts.
	# (Not checked against tune2fs: 1.47.0's quota_compute_usage counts
	# an attribute inode as an inode of its own owner, e2fsck and the
	# kernel charge it to the inode that holds the attribute.)
	[ "$(usage "$IMG" user 500)" = "12288 2" ]
	fsck_clean "$IMG"
	# Replaced: the old file's attribute inode is freed with it.
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/ea.tar"
	[ "$status" -eq 0 ]
	fsck_clean "$IMG"
	[ "$(usage "$IMG" user 500)" = "12288 2" ]
}

@test "ea_inode without quota: the owner's i_blocks holds its values' clusters; a replaced owner frees its attribute inode" {
	mkimg "$IMG" 64M -t ext4 -b 4096 -O ea_inode
	python3 - "$BATS_TEST_TMPDIR/ea.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
f = tarfile.TarInfo('f'); data = b'hello\n'; f.size = len(data)
f.pax_headers = {'SCHILY.xattr.user.big': 'x' * 6000}
t.addfile(f, io.BytesIO(data))
t.close()
EOF
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/ea.tar"
	[ "$status" -eq 0 ]
	fsck_clean "$IMG"
	dstat "$IMG" /f | grep -q 'Blockcount: 24$'
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/ea.tar"
	[ "$status" -eq 0 ]
	fsck_clean "$IMG"
	debugfs -R "ea_get /f user.big" "$IMG" 2>/dev/null | grep -q xxxx
}

# set_limits IMAGE ID: soft and hard limits 100 and 200 (blocks and
# inodes) in ID's user quota entry, written into the image by hand (no
# tool sets limits without a mount with quota on).
set_limits() {
	local img=$1 id=$2 bs qf=$BATS_TEST_TMPDIR/aquota.user off
	bs=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Block size: *//p')
	debugfs -R "dump <3> $qf" "$img" 2>/dev/null
	# The entry: 72 bytes at 16 + 72k in a 1 KiB data block, its id first.
	off=$(python3 - "$qf" "$id" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
want = int(sys.argv[2])
blocks = struct.unpack_from('<I', d, 20)[0]
for b in range(2, blocks):
    for k in range(14):
        o = b * 1024 + 16 + 72 * k
        e = d[o:o + 72]
        if any(e) and struct.unpack_from('<I', e)[0] == want:
            print(o); sys.exit(0)
sys.exit(1)
EOF
)
	local pblk
	pblk=$(debugfs -R "bmap <3> $((off / bs))" "$img" 2>/dev/null)
	# ihardlimit, isoftlimit at 8; bhardlimit, bsoftlimit at 32.
	python3 - "$img" $((pblk * bs + off % bs)) <<'EOF'
import struct, sys
f = open(sys.argv[1], 'r+b'); o = int(sys.argv[2])
f.seek(o + 8); f.write(struct.pack('<QQ', 200, 100))
f.seek(o + 32); f.write(struct.pack('<QQ', 200, 100))
EOF
}

@test "limits are kept; an id with limits keeps its entry when its usage drops to nothing" {
	qimg 64M -b 4096
	echo x | "$PCWRITE" -u 1000 "$IMG" /f
	set_limits "$IMG" 1000
	fsck_clean "$IMG"
	lq "$IMG" user | grep -qE '^ +1000 +4096 +100 +200 +1 +100 +200$'
	# Over the soft limit: still written (pcwrite writes as root).
	head -c 200000 /dev/urandom | "$PCWRITE" -u 1000 "$IMG" /g
	lq "$IMG" user | grep -qE '^ +1000 +204800 +100 +200 +2 +100 +200$'
	# Both files go to another owner: 1000 keeps its entry, empty.
	echo y | "$PCWRITE" -u 2000 "$IMG" /f
	head -c 10 /dev/zero | "$PCWRITE" -u 2000 "$IMG" /g
	quota_recomputed "$IMG" usrquota,grpquota,prjquota "group project"
	lq "$IMG" user | grep -qE '^ +1000 +0 +100 +200 +0 +100 +200$'
	fsck_clean "$IMG"
}

# ---- project ids ------------------------------------------------------------------------

@test "--project sets the project id of every inode made, and charges it" {
	qimg 64M -b 4096
	mkdir -p "$BATS_TEST_TMPDIR/t/sub"
	echo data >"$BATS_TEST_TMPDIR/t/sub/file"
	run "$PCWRITE" --project=7 -p -R "$IMG" /p7 "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 0 ]
	dstat "$IMG" /p7/sub/file | grep -q 'Project: *7 '
	dstat "$IMG" /p7 | grep -q 'Project: *7 '
	[ "$(usage "$IMG" project 7)" = "12288 3" ]
	echo x | "$PCWRITE" --project=8 "$IMG" /single
	dstat "$IMG" /single | grep -q 'Project: *8 '
	quota_recomputed "$IMG"
}

@test "a directory with the project-inherit flag gives new inodes its id, and new directories the flag" {
	qimg 64M
	# /proj: flag 0x20000000 (EXT4_PROJINHERIT_FL), project 42; e2fsck
	# recomputes the quota debugfs does not keep.
	debugfs -w -R "mkdir /proj" "$IMG" 2>/dev/null
	debugfs -w -R "sif /proj flags 0x20080000" "$IMG" 2>/dev/null
	debugfs -w -R "sif /proj projid 42" "$IMG" 2>/dev/null
	e2fsck -fy "$IMG" >/dev/null || true
	fsck_clean "$IMG"
	mkdir -p "$BATS_TEST_TMPDIR/t/sub"
	echo data >"$BATS_TEST_TMPDIR/t/sub/file"
	ln -s file "$BATS_TEST_TMPDIR/t/sub/link"
	run "$PCWRITE" -R "$IMG" /proj "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 0 ]
	dstat "$IMG" /proj/sub/file | grep -q 'Project: *42 '
	dstat "$IMG" /proj/sub/link | grep -q 'Project: *42 '
	dstat "$IMG" /proj/sub | grep -q 'Project: *42 '
	# The flag goes to directories only (EXT4_REG_FLMASK drops it).
	dstat "$IMG" /proj/sub | grep -q 'Flags: 0x20080000'
	dstat "$IMG" /proj/sub/file | grep -q 'Flags: 0x80000$'
	# Outside it, project 0.
	echo y | "$PCWRITE" "$IMG" /outside
	dstat "$IMG" /outside | grep -q 'Project: *0 '
	quota_recomputed "$IMG"
	[ "$(usage "$IMG" project 42 | cut -d' ' -f2)" -eq 4 ]
}

@test "--project on a filesystem without the project feature is refused, the image unchanged" {
	mkimg "$IMG" 32M -t ext4
	local before
	before=$(md5sum <"$IMG")
	run "$PCWRITE" --project=5 "$IMG" /a <<<hi
	[ "$status" -eq 1 ]
	[ "$output" = "pcwrite: $IMG: filesystem has no project feature (tune2fs -O project) for a project id" ]
	[ "$(md5sum <"$IMG")" = "$before" ]
	run "$PCWRITE" --project=x "$IMG" /a <<<hi
	[ "$status" -eq 2 ]
	[[ ${lines[0]} == "pcwrite: invalid --project 'x' (a numeric id)" ]]
}

# ---- refusals ---------------------------------------------------------------------------

@test "a quota file pcwrite cannot update (bad magic) is refused before the first write" {
	qimg 64M -b 4096
	local blk before
	blk=$(debugfs -R "bmap <3> 0" "$IMG" 2>/dev/null)
	printf '\0\0\0\0' | dd of="$IMG" bs=1 seek=$((blk * 4096)) conv=notrunc 2>/dev/null
	before=$(md5sum <"$IMG")
	run "$PCWRITE" "$IMG" /a <<<hi
	[ "$status" -eq 1 ]
	[[ $output == *"quota file is not one pcwrite can update"* ]]
	[ "$(md5sum <"$IMG")" = "$before" ]
}

@test "a quota file with a block mapped past its size is refused before the first write" {
	mkimg "$IMG" 64M -t ext3 -b 1024 -O quota
	# mke2fs's file is 6 KiB, blocks 0-5: block 11 names another block,
	# which a growing file would then overwrite.
	debugfs -w -R "sif <3> block[11] 2000" "$IMG" 2>/dev/null
	local before
	before=$(md5sum <"$IMG")
	run "$PCWRITE" "$IMG" /a <<<hi
	[ "$status" -eq 1 ]
	[[ $output == *"quota file is not one pcwrite can update"* ]]
	[ "$(md5sum <"$IMG")" = "$before" ]
}

# ---- the kernel ------------------------------------------------------------------------

@test "kernel: a read-write mount with quota reports the usage pcwrite wrote (repquota)" {
	kernel_require
	command -v repquota >/dev/null || skip "repquota not installed (Debian's quota package)"
	if [ -r /proc/config.gz ] && ! zgrep -q '^CONFIG_QFMT_V2=[ym]' /proc/config.gz; then
		skip "kernel oracle: this kernel has no v2 quota format (CONFIG_QFMT_V2)"
	fi
	qimg 64M
	mktar "$BATS_TEST_TMPDIR/a.tar" 100 1000 20000
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	[ "$status" -eq 0 ]
	kernel_mount_rw "$IMG"
	# repquota: "#ID -- KiB-used soft hard inodes soft hard".
	repquota -u -n "$KMNT" | awk '$1 ~ /^#/ { sub("#", "", $1); print $1, $3 * 1024, $6 }' |
		sort -n >"$BATS_TEST_TMPDIR/kernel"
	kernel_umount
	lq "$IMG" user | awk '$1 ~ /^[0-9]+$/ { print $1, $2, $5 }' | sort -n >"$BATS_TEST_TMPDIR/ours"
	diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/kernel"
}

@test "kernel: the image mounts (read-only) and reads back after quota updates" {
	kernel_require
	qimg 64M
	mktar "$BATS_TEST_TMPDIR/a.tar" 100 1000 20000
	run "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
	[ "$status" -eq 0 ]
	mkdir "$BATS_TEST_TMPDIR/src"
	tar -xf "$BATS_TEST_TMPDIR/a.tar" -C "$BATS_TEST_TMPDIR/src"
	kernel_mount "$IMG"
	diff -r "$BATS_TEST_TMPDIR/src" "$KMNT" -x lost+found
	[ "$(stat -c %u "$KMNT/d3/f10")" -eq 1010 ]
	kernel_umount
}

@test "README: the quota example runs as written" {
	local src=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	cd "$BATS_TEST_TMPDIR"
	mkdir bin && ln -s "$PCWRITE" bin/pcwrite
	sed -n '/^## Quota filesystems/,/^## /p' "$src/README.md" | sed -n 's/^    //p' >example.sh
	[ "$(grep -c pcwrite example.sh)" -eq 1 ]
	run -0 env PATH="$PWD/bin:$PATH" bash -e -o pipefail example.sh
	echo "$output"
	grep -qE '^ +100 +4096 +0 +0 +4 ' <<<"$output"
	fsck_clean quota.img
}
