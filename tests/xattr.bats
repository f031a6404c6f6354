#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# xattr.bats: extended-attribute values in inodes of their own (ea_inode):
# charged to their owner's i_blocks as the kernel charges them, freed when
# their last holder goes, a shared attribute block copied with references
# of its own.  Judges: e2fsck -fn after every run (failed ones too), debugfs
# ea_get, and the kernel's getfattr through a read-only loop mount.

load test_helper
load kernel_helper

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	kernel_teardown
}

# xvalue SIZE [SEED]: SIZE bytes of attribute value (letters), different
# for each size and seed.
XVALUE='def xvalue(size, seed=0):
    return "".join(chr(65 + (i * 7 + size + seed) % 26) for i in range(size))'

xvalue() {
	python3 -c "$XVALUE
import sys
sys.stdout.write(xvalue(int(sys.argv[1]), int(sys.argv[2])))" "$1" "${2:-0}"
}

# mkxtar TAR SPEC...: a pax archive.  SPEC is PATH[=SIZE[:NAME[:SEED]]]: a
# directory when PATH ends in '/', else a file holding "hi"; with SIZE, an
# attribute NAME (user.big) of xvalue SIZE SEED.
mkxtar() {
	python3 -c "$XVALUE
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    for spec in sys.argv[2:]:
        path, _, rest = spec.partition('=')
        size, name, seed = (rest.split(':') + ['', '', ''])[:3]
        ti = tarfile.TarInfo(path.rstrip('/'))
        ti.mtime = 1600000000
        data = None
        if path.endswith('/'):
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        else:
            data, ti.mode = b'hi\n', 0o644
            ti.size = len(data)
        if size:
            ti.pax_headers = {'SCHILY.xattr.' + (name or 'user.big'):
                              xvalue(int(size), int(seed or 0))}
        t.addfile(ti, io.BytesIO(data) if data else None)" "$@"
}

# ea_is IMAGE PATH NAME SIZE [SEED]: debugfs reads the value back.
ea_is() {
	xvalue "$4" "${5:-0}" >want
	debugfs -R "ea_get -f got $2 $3" "$1" >/dev/null 2>&1
	if ! cmp got want; then
		echo "debugfs ea_get $2 $3: not the $4-byte value" >&2
		return 1
	fi
}

# kernel_ea_is IMAGE PATH NAME SIZE SEED...: the kernel reads the values
# back (groups of four arguments after IMAGE); the test is skipped where
# there is no kernel oracle.
kernel_ea_is() {
	local img=$1 rc=0
	shift
	kernel_mount "$img" || skip "no root or loop devices"
	while [ $# -ge 4 ]; do
		xvalue "$3" "${4:-0}" >want
		if ! getfattr --only-values -n "$2" "$KMNT$1" >got ||
		   ! cmp got want; then
			echo "kernel: $1 $2 is not the $3-byte value" >&2
			rc=1
		fi
		shift 4
	done
	kernel_umount
	return $rc
}

free_inodes() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Free inodes: *//p'
}

# The owner's i_blocks, in 512-byte units.
blockcount() {
	dstat "$1" "$2" | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p'
}

@test "a value in an EA inode is charged to its owner: 4 KiB, 1 KiB blocks, -I 128, bigalloc" {
	mkxtar a.tar f=32000 d/=32000 d/g=70:user.small
	for opts in "" "-b 1024" "-I 128" "-O bigalloc -C 16384"; do
		# shellcheck disable=SC2086
		mkimg "$IMG" 64M -t ext4 -O ea_inode $opts 2>/dev/null
		run -0 "$PCWRITE" -x "$IMG" / a.tar
		echo "mke2fs $opts"
		fsck_clean "$IMG"
		ea_is "$IMG" /f user.big 32000
		ea_is "$IMG" /d user.big 32000
		ea_is "$IMG" /d/g user.small 70
		kernel_ea_is "$IMG" /f user.big 32000 0 /d user.big 32000 0
	done
}

@test "merging values onto an existing directory keeps its charge: set, replaced, moved into the inode, grown again" {
	mkimg "$IMG" 64M -t ext4 -O ea_inode
	mkxtar a.tar d/ d/f
	run -0 "$PCWRITE" -x "$IMG" / a.tar
	free=$(free_inodes "$IMG")
	for size in 32000 20000 100 40000 10; do
		mkxtar m.tar "d/=$size"
		run -0 "$PCWRITE" -x "$IMG" / m.tar
		echo "value of $size bytes"
		fsck_clean "$IMG"
	done
	# The last value is small: every EA inode is gone.
	[ "$(free_inodes "$IMG")" -eq "$free" ]
	ea_is "$IMG" /d user.big 10
}

@test "replacing a file whose value lives in an EA inode frees the EA inode" {
	mkimg "$IMG" 64M -t ext4 -O ea_inode
	free=$(free_inodes "$IMG")
	mkxtar a.tar f=32000 g=32000:user.big:1 d/
	mkxtar b.tar f g=50
	run -0 "$PCWRITE" -x "$IMG" / a.tar
	fsck_clean "$IMG"
	[ "$(free_inodes "$IMG")" -eq $((free - 5)) ]
	run -0 "$PCWRITE" -x "$IMG" / b.tar
	fsck_clean "$IMG"
	[ "$(free_inodes "$IMG")" -eq $((free - 3)) ]
	ea_is "$IMG" /g user.big 50
}

@test "a hard link keeps the EA inode until its last name is replaced" {
	mkimg "$IMG" 64M -t ext4 -O ea_inode -I 128 2>/dev/null
	free=$(free_inodes "$IMG")
	mkxtar a.tar f=32000
	run -0 "$PCWRITE" -x "$IMG" / a.tar
	debugfs -w -R "ln /f /h" "$IMG"
	debugfs -w -R "sif /f links_count 2" "$IMG"
	fsck_clean "$IMG"
	mkxtar b.tar f
	run -0 "$PCWRITE" -x "$IMG" / b.tar
	fsck_clean "$IMG"
	ea_is "$IMG" /h user.big 32000
	mkxtar c.tar h
	run -0 "$PCWRITE" -x "$IMG" / c.tar
	fsck_clean "$IMG"
	[ "$(free_inodes "$IMG")" -eq $((free - 2)) ]
}

@test "a file truncated by a single-file write keeps the charge of its EA-inode value" {
	mkimg "$IMG" 64M -t ext4 -O ea_inode
	mkxtar a.tar f=32000
	run -0 "$PCWRITE" -x "$IMG" / a.tar
	head -c 50000 /dev/urandom >data
	run -0 "$PCWRITE" "$IMG" /f <data
	fsck_clean "$IMG"
	printf 'abc\n' >data
	run -0 "$PCWRITE" "$IMG" /f <data
	fsck_clean "$IMG"
	readback "$IMG" /f data
	ea_is "$IMG" /f user.big 32000
}

@test "EA inodes the kernel made and shared by hash lose one reference per replaced owner" {
	kernel_require
	mkimg "$IMG" 64M -t ext4 -O ea_inode
	kernel_mount "$IMG" rw || skip "no root or loop devices"
	xvalue 30000 >v
	for n in f g; do
		printf 'hi\n' >"$KMNT/$n"
		setfattr -n user.big -v "$(cat v)" "$KMNT/$n"
	done
	kernel_umount
	fsck_clean "$IMG"
	free=$(free_inodes "$IMG")
	mkxtar b.tar f
	run -0 "$PCWRITE" -x "$IMG" / b.tar
	fsck_clean "$IMG"
	ea_is "$IMG" /g user.big 30000
	[ "$(free_inodes "$IMG")" -eq "$free" ]
	mkxtar c.tar g
	run -0 "$PCWRITE" -x "$IMG" / c.tar
	fsck_clean "$IMG"
	[ "$(free_inodes "$IMG")" -eq $((free + 1)) ]
}

@test "an attribute block the kernel shares, holding an EA-inode reference: copied before a change, its references dropped with its last owner" {
	kernel_require
	mkimg "$IMG" 64M -t ext4 -O ea_inode -I 128 2>/dev/null
	kernel_mount "$IMG" rw || skip "no root or loop devices"
	xvalue 30000 >v
	mkdir "$KMNT/d"
	printf 'hi\n' | tee "$KMNT/f1" "$KMNT/f2" >/dev/null
	for n in d f1 f2; do
		setfattr -n user.big -v "$(cat v)" "$KMNT/$n"
	done
	kernel_umount
	# One block for the three, one EA inode.  The kernel counts the EA
	# inode's references per owner of the block, e2fsck 1.47 per block:
	# take e2fsck's count.
	[ "$(dstat "$IMG" /d | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')" = \
	  "$(dstat "$IMG" /f2 | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')" ]
	e2fsck -fy "$IMG" >/dev/null 2>&1 || true
	fsck_clean "$IMG"
	free=$(free_inodes "$IMG")
	# d gets a block of its own, and a reference for it.
	mkxtar a.tar d/=10:user.small
	run -0 "$PCWRITE" -x "$IMG" / a.tar
	fsck_clean "$IMG"
	ea_is "$IMG" /d user.big 30000
	ea_is "$IMG" /f1 user.big 30000
	# The shared block loses an owner, then its last one.
	for n in f1 f2; do
		mkxtar b.tar $n
		run -0 "$PCWRITE" -x "$IMG" / b.tar
		fsck_clean "$IMG"
	done
	[ "$(free_inodes "$IMG")" -eq "$free" ]
	# d's value replaced: the EA inode has no holder left.
	mkxtar c.tar d/=100
	run -0 "$PCWRITE" -x "$IMG" / c.tar
	fsck_clean "$IMG"
	[ "$(free_inodes "$IMG")" -eq $((free + 1)) ]
	kernel_ea_is "$IMG" /d user.big 100 0 /d user.small 10 0
}

@test "an inline directory and an inline file sharing such a block: moved out of the inode, the block copied first" {
	kernel_require
	mkimg "$IMG" 64M -t ext4 -O inline_data,ea_inode
	kernel_mount "$IMG" rw || skip "no root or loop devices"
	xvalue 30000 >v
	xvalue 44 >m
	mkdir "$KMNT/d1" "$KMNT/d2"
	printf 'hi\n' | tee "$KMNT/f1" "$KMNT/f2" >/dev/null
	# user.m fills the inode's room: user.big goes to the shared block.
	for n in d1 d2 f1 f2; do
		setfattr -n user.m -v "$(cat m)" "$KMNT/$n"
		setfattr -n user.big -v "$(cat v)" "$KMNT/$n"
	done
	kernel_umount
	[ "$(dstat "$IMG" /d1 | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')" = \
	  "$(dstat "$IMG" /f2 | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')" ]
	e2fsck -fy "$IMG" >/dev/null 2>&1 || true
	fsck_clean "$IMG"
	mkxtar a.tar d1/x
	run -0 "$PCWRITE" -x "$IMG" / a.tar
	fsck_clean "$IMG"
	printf 'new\n' >data
	run -0 "$PCWRITE" "$IMG" /f1 <data
	fsck_clean "$IMG"
	readback "$IMG" /f1 data
	kernel_ea_is "$IMG" /d1 user.big 30000 0 /f1 user.big 30000 0 \
		/d2 user.big 30000 0 /f1 user.m 44 0
}

@test "no room for a value's EA inode: exit 1, nothing leaked" {
	mkimg "$IMG" 4M -t ext4 -O ea_inode -b 1024
	free=$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Free blocks: *//p')
	head -c $(((free - 30) * 1024)) /dev/zero | "$PCWRITE" "$IMG" /fill
	mkxtar a.tar f=60000
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / a.tar
	[[ "$stderr" =~ img:/f:\ No\ space\ left\ on\ device ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	fsck_clean "$IMG"
}

@test "a value of 64 KiB is kept, a larger one refused as setxattr(2) refuses it" {
	mkimg "$IMG" 64M -t ext4 -O ea_inode
	mkxtar a.tar f=65536
	run -0 "$PCWRITE" -x "$IMG" / a.tar
	fsck_clean "$IMG"
	ea_is "$IMG" /f user.big 65536
	mkxtar b.tar g=65537
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / b.tar
	[[ "$stderr" =~ img:/g:\ extended\ attribute\ value\ larger\ than\ 64\ KiB ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	fsck_clean "$IMG"
	kernel_ea_is "$IMG" /f user.big 65536 0
}
