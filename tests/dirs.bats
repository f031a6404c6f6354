#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# dirs.bats: names into directories: indexed (htree) and linear directories
# grown the way the kernel grows them, inline directories moved into a
# block, and every failure on the way (a full index, no space, no inodes)
# leaving the directory as it was.  Read back through e2fsck -fn, debugfs
# and the kernel's own lookup (a read-only loop mount).

load test_helper
load kernel_helper

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	SRC=$BATS_TEST_TMPDIR/src
}

teardown() {
	kernel_teardown
}

# mksources N [PREFIX]: N small files in $SRC, their names PREFIX-1..N
mksources() {
	local n=$1 prefix=${2:-name}
	mkdir -p "$SRC"
	python3 - "$SRC" "$n" "$prefix" <<'EOF'
import os, sys
d, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(1, n + 1):
    with open(os.path.join(d, "%s-%d" % (prefix, i)), "w") as f:
        f.write("%d\n" % i)
EOF
}

# fill_fs IMAGE: no free block left (a stream until ENOSPC, then one-block
# files from debugfs for the blocks pcwrite keeps as slack).
fill_fs() {
	local img=$1 free k n=0
	head -c 64M /dev/urandom | "$PCWRITE" -q --no-sync "$img" /fill 2>/dev/null && return 1
	head -c 1024 /dev/urandom >"$BATS_TEST_TMPDIR/blk"
	for k in 1 2 3 4; do
		free=$(dumpe2fs -h "$img" 2>/dev/null | awk '/^Free blocks/ { print $3 }')
		[ "$free" -gt 0 ] || break
		for ((i = 0; i < free; i++)); do
			n=$((n + 1))
			echo "write $BATS_TEST_TMPDIR/blk /k$n"
		done >"$BATS_TEST_TMPDIR/fill.cmds"
		debugfs -w -f "$BATS_TEST_TMPDIR/fill.cmds" "$img" >/dev/null 2>&1
	done
	[ "$(dumpe2fs -h "$img" 2>/dev/null | awk '/^Free blocks/ { print $3 }')" -eq 0 ]
}

# kernel_names IMAGE DIR SRCDIR: the kernel finds every name of SRCDIR in
# DIR by lookup and reads the same bytes, and lists no other name.
kernel_names() {
	local img=$1 dir=$2 src=$3
	kernel_mount "$img" || return 0
	python3 - "$KMNT$dir" "$src" <<'EOF'
import os, sys
d, src = sys.argv[1], sys.argv[2]
want = sorted(os.listdir(src))
for n in want:
    with open(os.path.join(d, n), "rb") as a, open(os.path.join(src, n), "rb") as b:
        if a.read() != b.read():
            sys.exit("content of %s differs" % n)
got = sorted(os.listdir(d))
extra = set(got) - set(want)
if extra:
    sys.exit("names not in the source: %s" % sorted(extra)[:5])
EOF
	local rc=$?
	kernel_umount
	return $rc
}

@test "3000 names into one directory on 1 KiB blocks: a two-level htree, e2fsck clean, the kernel finds every name" {
	mkimg "$IMG" 64M -t ext4 -b 1024
	mksources 3000 a-longer-file-name-to-fill-leaves
	run -0 "$PCWRITE" -p "$IMG" /d "$SRC"/*
	fsck_clean "$IMG"
	run debugfs -R "htree /d" "$IMG"
	[[ "$output" =~ "Indirect levels: 1" ]]
	kernel_names "$IMG" /d "$SRC"
}

@test "names into an ext4 directory on 4 KiB blocks: indexed once its block fills" {
	mkimg "$IMG" 64M -t ext4
	mksources 400
	run -0 "$PCWRITE" -p "$IMG" /d "$SRC"/*
	fsck_clean "$IMG"
	run debugfs -R "htree /d" "$IMG"
	[[ "$output" =~ "Indirect levels: 0" ]]
	kernel_names "$IMG" /d "$SRC"
}

@test "without dir_index a directory grows linearly, block by block" {
	mkimg "$IMG" 32M -t ext4 -b 1024 -O ^dir_index
	mksources 600
	run -0 "$PCWRITE" -p "$IMG" /d "$SRC"/*
	fsck_clean "$IMG"
	run debugfs -R "stat /d" "$IMG"
	[[ ! "$output" =~ Indexed ]]
	kernel_names "$IMG" /d "$SRC"
}

@test "ext2 and ext3: block-mapped directories past their indirect block" {
	for t in ext2 ext3; do
		mkimg "$IMG" 32M -t $t -b 1024
		rm -rf "$SRC"
		mksources 1500 "$t"
		run -0 "$PCWRITE" -p "$IMG" /d "$SRC"/*
		fsck_clean "$IMG"
		PCW_FSTYPE=$t kernel_names "$IMG" /d "$SRC"
	done
}

@test "bigalloc: directory blocks share their cluster, e2fsck clean" {
	mkimg "$IMG" 64M -t ext4 -b 1024 -O bigalloc -C 16384
	mksources 2000
	run -0 "$PCWRITE" -p "$IMG" /d "$SRC"/*
	fsck_clean "$IMG"
	kernel_names "$IMG" /d "$SRC"
}

@test "without metadata_csum and with 64bit off" {
	mkimg "$IMG" 32M -t ext4 -b 1024 -O ^metadata_csum,^64bit
	mksources 1500
	run -0 "$PCWRITE" -p "$IMG" /d "$SRC"/*
	fsck_clean "$IMG"
	kernel_names "$IMG" /d "$SRC"
}

@test "an existing kernel-made htree directory of 20000 names takes 5000 more" {
	kernel_available || skip "no root or loop devices"
	mkimg "$IMG" 128M -t ext4 -N 40000
	mkdir -p "$SRC"
	kernel_mount_rw "$IMG"
	python3 - "$KMNT/d" 20000 <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
for i in range(n):
    os.close(os.open(os.path.join(d, "kernel-made-%d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
EOF
	kernel_umount
	fsck_clean "$IMG"
	mksources 5000 pcwrite-made
	run -0 "$PCWRITE" "$IMG" /d "$SRC"/*
	fsck_clean "$IMG"
	kernel_mount "$IMG"
	python3 - "$KMNT/d" "$SRC" <<'EOF'
import os, sys
d, src = sys.argv[1], sys.argv[2]
for n in os.listdir(src):
    with open(os.path.join(d, n), "rb") as a, open(os.path.join(src, n), "rb") as b:
        assert a.read() == b.read(), n
for i in range(20000):
    os.stat(os.path.join(d, "kernel-made-%d" % i))
assert len(os.listdir(d)) == 25000, len(os.listdir(d))
EOF
}

@test "a full htree directory (Directory index full): ENOSPC, the image unchanged" {
	kernel_available || skip "no root or loop devices"
	# 1 KiB blocks, no largedir: two levels of at most 123 x 126 leaves,
	# and names of 255 bytes fill a leaf with three.
	mkimg "$IMG" 160M -t ext4 -b 1024 -N 50000 -O ^metadata_csum
	kernel_mount_rw "$IMG"
	run python3 - "$KMNT/d" <<'EOF'
import errno, os, sys
d = sys.argv[1]
os.mkdir(d)
for i in range(100000):
    name = ("%06d" % i) * 42 + "xyz"
    try:
        os.close(os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY, 0o644))
    except OSError as e:
        if e.errno == errno.ENOSPC:
            print(name)
            sys.exit(0)
        raise
sys.exit("the index never filled")
EOF
	kernel_umount
	[ "$status" -eq 0 ]
	full_name=${lines[-1]}
	[ ${#full_name} -eq 255 ]
	fsck_clean "$IMG"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	printf 'x\n' >"$BATS_TEST_TMPDIR/data"
	sleep 1	# a superblock written in the same second could look unchanged
	run -1 --separate-stderr "$PCWRITE" "$IMG" "/d/$full_name" "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ "directory index full" ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	fsck_clean "$IMG"
}

@test "an inline directory takes a name: moved into a block, every old name kept" {
	kernel_available || skip "no root or loop devices"
	mkimg "$IMG" 16M -t ext4 -O inline_data
	mkdir -p "$SRC"
	kernel_mount_rw "$IMG"
	mkdir "$KMNT/in"
	for n in a b c; do
		printf '%s\n' $n >"$KMNT/in/$n"
		printf '%s\n' $n >"$SRC/$n"
	done
	kernel_umount
	run debugfs -R "stat /in" "$IMG"
	[[ "$output" =~ "Size of inline data" ]]
	fsck_clean "$IMG"
	mksources 50
	run -0 "$PCWRITE" "$IMG" /in "$SRC"/name-*
	fsck_clean "$IMG"
	run debugfs -R "stat /in" "$IMG"
	[[ ! "$output" =~ "Size of inline data" ]]
	kernel_names "$IMG" /in "$SRC"
}

@test "--parents into an inline directory on a full filesystem: ENOSPC, nothing half-made" {
	mkimg "$IMG" 4M -t ext4 -b 1024 -O inline_data
	debugfs -w -R "mkdir /in" "$IMG" 2>/dev/null
	run debugfs -R "stat /in" "$IMG"
	[[ "$output" =~ "Size of inline data" ]]
	fill_fs "$IMG"
	fsck_clean "$IMG"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	printf 'x\n' >"$BATS_TEST_TMPDIR/data"
	sleep 1	# a superblock written in the same second could look unchanged
	run -1 --separate-stderr "$PCWRITE" -p "$IMG" /in/a/b/c/f "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ "No space left on device" ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	fsck_clean "$IMG"
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	# Nothing is left behind to refuse a later file.
	for k in 1 2 3 4 5 6 7 8; do
		debugfs -w -R "rm /k$k" "$IMG" 2>/dev/null
	done
	run -0 "$PCWRITE" "$IMG" /small <<<"ok"
	fsck_clean "$IMG"
}

@test "--parents runs out of space part-way: the directories made are whole" {
	mkimg "$IMG" 4M -t ext4 -b 1024
	fill_fs "$IMG"
	# Free eight blocks: room for some of the directories, not all.
	size=$(inode_size "$IMG" /fill)
	last=$((size / 1024 - 1))
	debugfs -w -R "punch /fill $((last - 7)) $last" "$IMG" 2>/dev/null
	fsck_clean "$IMG"
	printf 'x\n' >"$BATS_TEST_TMPDIR/data"
	run -1 --separate-stderr "$PCWRITE" -p "$IMG" /a/b/c/d/e/f/g/h/i/j/k/l/f "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ "No space left on device" ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	fsck_clean "$IMG"
	# Some were made, each whole (e2fsck checked "." and ".." and counts).
	run -0 debugfs -R "ls -l /a" "$IMG"
}

@test "no free inodes part-way through --parents: the directories made are whole" {
	mkimg "$IMG" 8M -t ext4 -N 32
	printf 'x\n' >"$BATS_TEST_TMPDIR/data"
	free=$(dumpe2fs -h "$IMG" 2>/dev/null | awk '/^Free inodes/ { print $3 }')
	# Leave three inodes: a/b/c fit, d and the file do not.
	for k in $(seq 1 $((free - 3))); do
		"$PCWRITE" "$IMG" "/f$k" "$BATS_TEST_TMPDIR/data"
	done
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" -p "$IMG" /a/b/c/d/f "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ "no free inodes" ]]
	fsck_clean "$IMG"
	run -0 debugfs -R "ls -l /a/b/c" "$IMG"
}

# mkdirtree DIR: 3 levels (8 x 8 directories, 3 files each), a directory of
# 300 names (an htree with dir_index, many linear blocks without), hard
# links and symlinks across directories, every mtime fixed and distinct.
mkdirtree() {
	python3 - "$1" <<'EOF2'
import os, sys
top = sys.argv[1]
t = 1600000000
os.makedirs(os.path.join(top, "big"))
for i in range(300):
    with open(os.path.join(top, "big", "name-%03d" % i), "w") as f:
        f.write("%d\n" % i)
for a in range(8):
    for b in range(8):
        d = os.path.join(top, "a%d" % a, "b%d" % b)
        os.makedirs(d)
        for k in range(3):
            with open(os.path.join(d, "f%d" % k), "w") as f:
                f.write("%d %d %d\n" % (a, b, k))
        os.symlink("../b0/f0", os.path.join(d, "s"))
    os.link(os.path.join(top, "a0", "b0", "f0"),
            os.path.join(top, "a%d" % a, "hard"))
os.link(os.path.join(top, "big", "name-000"), os.path.join(top, "a7", "b7", "hard"))
for root, dirs, files in os.walk(top, topdown=False):
    for n in files + dirs:
        t += 7
        os.utime(os.path.join(root, n), ns=(t * 10**9 + 5, t * 10**9 + 5),
                 follow_symlinks=False)
EOF2
}

# The directory cache evicts (PCW_TEST_DCACHE_BYTES=1: every directory of an
# earlier entry, each time one is loaded) and loads again from the image.
# This guards the eviction's correctness (the knob is new: the code before
# it never evicted, so the case passes there too).
@test "-x through a directory cache that keeps nothing: linear and indexed directories evicted and loaded again, times set, as the kernel reads them" {
	SRC=$BATS_TEST_TMPDIR/tree
	mkdirtree "$SRC"
	tar -C "$SRC" --format=posix -cf "$BATS_TEST_TMPDIR/t.tar" .
	for opt in dir_index ^dir_index; do
		mkimg "$IMG" 16M -t ext4 -b 1024 -I 256 -O "$opt"
		# Twice: the second run replaces every file of directories it
		# loads from the image, through the same cache.
		PCW_TEST_DCACHE_BYTES=1 run -0 "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/t.tar"
		PCW_TEST_DCACHE_BYTES=1 run -0 "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/t.tar"
		fsck_clean "$IMG"
		# /big is indexed with dir_index, linear (many blocks) without.
		run debugfs -R "htree /big" "$IMG"
		if [ "$opt" = dir_index ]; then
			[[ "$output" =~ "Root node dump" ]]
		else
			[[ ! "$output" =~ "Root node dump" ]]
		fi
		kernel_mount "$IMG" || skip "no root or loop devices"
		run python3 "$BATS_TEST_DIRNAME/treecmp.py" "$SRC" "$KMNT/"
		echo "$output"
		kernel_umount
		[ "$status" -eq 0 ]
	done
}
