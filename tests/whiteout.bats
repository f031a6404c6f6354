#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# whiteout.bats: container layers (--whiteouts=oci|overlay|literal, issue
# 16 item 6).  Three layer tars made by GNU tar (whiteout_helper.bash) are
# applied in order into one image; the judge is the same layers applied by
# hand with GNU tar and rm -rf on a host tree, compared with the image
# through a read-only kernel mount (treecmp.py); e2fsck -fn after every
# run, debugfs for inode fields.

load test_helper
load kernel_helper
load whiteout_helper

setup_file() {
	make_layers "$BATS_FILE_TMPDIR/w" >/dev/null
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	W=$BATS_FILE_TMPDIR/w
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	kernel_teardown
}

# free KIND: the free blocks or inodes of $IMG, from its superblock.
nfree() {
	dumpe2fs -h "$IMG" 2>/dev/null | sed -n "s/^Free $1: *//p"
}

# links PATH: the link count debugfs reads.
links() {
	dstat "$IMG" "$1" | sed -n 's/.*Links: \([0-9]*\).*/\1/p'
}

@test "three layers with --whiteouts=oci equal the layers applied by hand" {
	mkimg "$IMG" 64M -t ext4 -b 4096
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / "$W/l1.tar"
	fsck_clean "$IMG"
	# the sparse file is several extents, the cache an indexed directory
	[ "$(extent_count "$IMG" /big)" -gt 4 ]
	dstat "$IMG" /var/cache | grep -q 'Flags: 0x.*1...'
	local blocks1 inodes1
	blocks1=$(nfree blocks)
	inodes1=$(nfree inodes)
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / "$W/l2.tar"
	fsck_clean "$IMG"
	# 1 MiB of /big, 200 KB of sh, 40 x 5000 bytes of deep, 600 files
	echo "free blocks $blocks1 -> $(nfree blocks), inodes $inodes1 -> $(nfree inodes)"
	[ "$(nfree blocks)" -ge $((blocks1 + 256 + 49 + 40)) ]
	[ "$(nfree inodes)" -ge $((inodes1 + 600 + 120 + 2)) ]
	# one name of a hard link pair went: the other has one link
	[ "$(links /usr/lib/libx.so.1)" = 1 ]
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / "$W/l3.tar"
	fsck_clean "$IMG"
	[ "$(links /usr/lib/f05.link)" = 1 ]

	# the judge: each layer's whiteouts applied by hand, then GNU tar
	mkdir -p want/lost+found && chmod 700 want/lost+found
	apply_by_hand want "$W/l1.tar"
	apply_by_hand want "$W/l2.tar"
	apply_by_hand want "$W/l3.tar"
	[ -f want/opq/mine1 ] && [ ! -e want/opq/old1 ] && [ ! -e want/etc/passwd ]
	kernel_mount "$IMG" || skip "no loop devices"
	run -0 python3 "$BATS_TEST_DIRNAME/treecmp.py" want "$KMNT" --exact \
		--no-dir-times
	echo "$output"
}

@test "an opaque marker keeps what its layer wrote before and after it; a whiteout never removes its own layer's name" {
	mkimg "$IMG" 64M -t ext4 -b 4096
	for l in 1 2 3; do
		run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / "$W/l$l.tar"
		fsck_clean "$IMG"
	done
	run -0 debugfs -R "ls /opq" "$IMG"
	echo "$output"
	[[ $output == *mine1* && $output == *mine3* && $output == *sub* ]]
	[[ $output != *old1* && $output != *old2* && $output != *keep* ]]
	[[ $output != *.wh.* ]]
	# a directory this layer wrote before the marker stays, emptied of
	# what the layers below put in it
	run -0 debugfs -R "ls /opq/sub" "$IMG"
	[[ $output == *mine2* && $output != *old3* ]]
	run -0 debugfs -R "ls /opq2" "$IMG"
	[[ $output == *mine4* && $output != *old5* ]]
	[ "$(debugfs -R "cat /etc/motd" "$IMG" 2>/dev/null)" = 'welcome (layer 3)' ]
	run -0 debugfs -R "ls /" "$IMG"
	[[ $output != *.wh.* && $output != *big* ]]
	# opq had two subdirectories (sub, keep), now one: its link count
	[ "$(links /opq)" = 3 ]
}

@test "a large removal spans journal transactions and frees every block and inode" {
	mkdir -p big/a/x/sub/deeper big/b
	for i in $(seq 1 3000); do
		echo "$i" >"big/a/x/file-with-a-long-name-$i"
	done
	head -c 3M /dev/urandom >big/a/x/sub/deeper/data
	: >big/b/.wh.x
	tar -C big/a -cf A.tar .
	tar -C big/b -cf B.tar .
	# 1 KiB blocks and the smallest journal: many transactions
	mkimg "$IMG" 64M -t ext4 -b 1024 -J size=1
	local blocks0 inodes0 seq1 seq2
	blocks0=$(nfree blocks)
	inodes0=$(nfree inodes)
	run -0 "$PCWRITE" -x "$IMG" / A.tar
	fsck_clean "$IMG"
	seq1=$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Journal sequence: *//p')
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / B.tar
	fsck_clean "$IMG"
	seq2=$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Journal sequence: *//p')
	echo "journal sequence $seq1 -> $seq2; free blocks $blocks0 -> $(nfree blocks), inodes $inodes0 -> $(nfree inodes)"
	[ $((seq2 - seq1)) -ge 4 ]
	[ "$(nfree blocks)" = "$blocks0" ]
	[ "$(nfree inodes)" = "$inodes0" ]
	run -0 debugfs -R "ls /" "$IMG"
	[[ $output != *x* ]]
}

@test "--no-journal: the same removal, in place, frees every block and inode" {
	mkdir -p t/a/x/y t/b
	for i in $(seq 1 500); do echo "$i" >"t/a/x/y/f$i"; done
	: >t/b/.wh.x
	tar -C t/a -cf A.tar .
	tar -C t/b -cf B.tar .
	mkimg "$IMG" 32M -t ext2 -b 1024
	local blocks0 inodes0
	blocks0=$(nfree blocks)
	inodes0=$(nfree inodes)
	run -0 "$PCWRITE" -x "$IMG" / A.tar
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / B.tar
	fsck_clean "$IMG"
	[ "$(nfree blocks)" = "$blocks0" ]
	[ "$(nfree inodes)" = "$inodes0" ]
}

@test "--whiteouts=overlay writes 0/0 character devices and trusted.overlay.opaque" {
	mkimg "$IMG" 64M -t ext4 -b 4096
	run -0 "$PCWRITE" -x --whiteouts=overlay "$IMG" / "$W/l2.tar"
	fsck_clean "$IMG"
	run -0 "$PCWRITE" -x --whiteouts=overlay "$IMG" / "$W/l3.tar"
	fsck_clean "$IMG"
	run -0 dstat "$IMG" /etc/passwd
	echo "$output"
	[[ $output == *"Type: character special"* ]]
	[[ $output == *"Mode:  0000"* ]]
	[[ $output == *"major/minor number: 00:00"* ]]
	run -0 dstat "$IMG" /var/cache
	[[ $output == *"Type: character special"* ]]
	run -0 debugfs -R "ea_list /opq" "$IMG"
	echo "$output"
	[[ $output == *'trusted.overlay.opaque (1) = "y"'* ]]
	run -0 debugfs -R "ea_list /opq2" "$IMG"
	[[ $output == *'trusted.overlay.opaque (1) = "y"'* ]]
	# the markers and AUFS's names are not files
	run -0 debugfs -R "ls /opq" "$IMG"
	[[ $output == *mine1* && $output == *mine3* && $output != *.wh.* ]]
	run -0 debugfs -R "ls /" "$IMG"
	[[ $output != *.wh.* ]]
	kernel_mount "$IMG" || skip "no loop devices"
	[ "$(stat -c '%F %t:%T %a' "$KMNT/etc/passwd")" = "character special file 0:0 0" ]
	[ "$(getfattr --only-values -n trusted.overlay.opaque "$KMNT/opq")" = y ]
}

@test "--whiteouts=literal (the default) writes .wh. files as they are" {
	mkimg "$IMG" 64M -t ext4 -b 4096
	run -0 "$PCWRITE" -x "$IMG" / "$W/l1.tar"
	run -0 "$PCWRITE" -x "$IMG" / "$W/l2.tar"
	run -0 "$PCWRITE" -x --whiteouts=literal "$IMG" / "$W/l3.tar"
	fsck_clean "$IMG"
	run -0 debugfs -R "ls /etc" "$IMG"
	[[ $output == *.wh.passwd* && $output == *" passwd"* ]]
	run -0 debugfs -R "ls /opq" "$IMG"
	[[ $output == *.wh..wh..opq* && $output == *old1* ]]
	dstat "$IMG" /.wh..wh.plnk/123 | grep -q 'Type: regular'
}

@test "-R --whiteouts=oci applies a host tree's whiteouts" {
	mkimg "$IMG" 32M -t ext4 -b 4096
	run -0 "$PCWRITE" -x "$IMG" / "$W/l1.tar"
	mkdir -p up/usr/lib up/opq
	: >up/usr/lib/.wh.deep
	: >up/opq/.wh..wh..opq
	echo new >up/opq/n
	run -0 "$PCWRITE" -R --whiteouts=oci "$IMG" / up
	fsck_clean "$IMG"
	run -0 debugfs -R "ls /opq" "$IMG"
	[[ $output == *" n "* || $output == *" n"$'\n'* || $output == *" n" ]]
	[[ $output != *old1* && $output != *sub* && $output != *.wh.* ]]
	run -0 debugfs -R "ls /usr/lib" "$IMG"
	[[ $output != *deep* ]]
}

@test "--whiteouts: with a single DEST, or an unknown value, is a usage error" {
	mkimg "$IMG" 16M -t ext4
	cp "$IMG" before.img
	run -2 "$PCWRITE" --whiteouts=oci "$IMG" /f /etc/hostname
	[[ $output == "pcwrite: --whiteouts goes with -x or -R"* ]]
	run -2 "$PCWRITE" -x --whiteouts=aufs "$IMG" / "$W/l2.tar"
	[[ $output == "pcwrite: invalid --whiteouts 'aufs' (literal, oci or overlay)"* ]]
	cmp "$IMG" before.img
}

@test "a removed file's attribute values in inodes of their own are released" {
	python3 - <<'PY'
import io, tarfile
with tarfile.open('A.tar', 'w', format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo('d'); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
    ti.pax_headers = {'SCHILY.xattr.user.small': 's' * 100}
    t.addfile(ti)
    ti = tarfile.TarInfo('d/f'); ti.size = 3
    ti.pax_headers = {'SCHILY.xattr.user.big': 'Q' * 20000}
    t.addfile(ti, io.BytesIO(b'hi\n'))
with tarfile.open('B.tar', 'w', format=tarfile.PAX_FORMAT) as t:
    t.addfile(tarfile.TarInfo('.wh.d'), io.BytesIO(b''))
PY
	mkimg "$IMG" 64M -t ext4 -O ea_inode
	local blocks0 inodes0
	blocks0=$(nfree blocks)
	inodes0=$(nfree inodes)
	run -0 "$PCWRITE" -x "$IMG" / A.tar
	# the directory, the file, the value's inode
	[ "$(nfree inodes)" = $((inodes0 - 3)) ]
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / B.tar
	fsck_clean "$IMG"
	[ "$(nfree blocks)" = "$blocks0" ]
	[ "$(nfree inodes)" = "$inodes0" ]
}

@test "on a quota filesystem the usage after the layers is what e2fsck counts" {
	mkimg "$IMG" 64M -t ext4 -O quota,project \
		-E quotatype=usrquota:grpquota:prjquota
	for l in 1 2 3; do
		run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / "$W/l$l.tar"
		fsck_clean "$IMG"
	done
}

# wtar TAR SPEC...: a tar made by python's tarfile; SPEC is NAME (a file
# holding NAME), NAME/ (a directory), NAME=TARGET (a hard link) or
# NAME%MODE (a directory with that octal mode).
wtar() {
	python3 - "$@" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
for s in sys.argv[2:]:
    if s.endswith('/') or '%' in s:
        name, _, mode = s.rstrip('/').partition('%')
        ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE
        ti.mode = int(mode or '755', 8); t.addfile(ti)
    elif '=' in s:
        name, target = s.split('=')
        ti = tarfile.TarInfo(name); ti.type = tarfile.LNKTYPE
        ti.linkname = target; t.addfile(ti)
    else:
        b = (s + '\n').encode(); ti = tarfile.TarInfo(s); ti.size = len(b)
        ti.mode = 0o644; t.addfile(ti, io.BytesIO(b))
t.close()
PY
}

@test "with a JSON report, a hard link this layer wrote survives its directory's opaque marker" {
	# report_made cleans a link's target into the buffer the layer's
	# noted name pointed into: the link was noted as "f" and removed.
	mkimg "$IMG" 32M -t ext4
	wtar l1.tar d/ d/x
	wtar l2.tar d/ d/f d/h=d/f d/.wh..wh..opq
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / l1.tar
	run -0 "$PCWRITE" -x --whiteouts=oci -r json --report-file=r.json "$IMG" / l2.tar
	fsck_clean "$IMG"
	run -0 debugfs -R "ls /d" "$IMG"
	echo "$output"
	[[ $output =~ [[:space:]]f[[:space:]] ]]
	[[ $output =~ [[:space:]]h[[:space:]] ]]
	[[ ! $output =~ [[:space:]]x[[:space:]] ]]
	[ "$(links /d/f)" = 2 ]
}

@test "casefold: a directory this layer merged under another spelling survives the opaque marker of its parent" {
	mkimg "$IMG" 32M -t ext4 -O casefold -b 1024
	debugfs -w -R "mkdir /p" "$IMG" 2>/dev/null
	# chattr +F on the empty /p: the casefold flag ORed into its own
	local fl
	fl=$(dstat "$IMG" /p | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	debugfs -w -R "set_inode_field /p flags $(printf '0x%x' $((fl | 0x40000000)))" "$IMG" 2>/dev/null
	wtar l1.tar p/ p/D/ p/D/x
	wtar l2.tar p/d%700 p/.wh..wh..opq
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / l1.tar
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / l2.tar
	fsck_clean "$IMG"
	# D is the layer's own (merged, its name spelled as stored): it stays,
	# emptied of what the layer below put in it, with the layer's mode.
	run -0 debugfs -R "ls /p" "$IMG"
	echo "$output"
	[[ $output =~ [[:space:]]D[[:space:]] ]]
	run -0 debugfs -R "ls /p/D" "$IMG"
	[[ ! $output =~ [[:space:]]x[[:space:]] ]]
	dstat "$IMG" /p/D | grep -q "Mode:  0700"
}

@test "an opaque marker at the filesystem's root keeps lost+found (mke2fs's, not a layer's)" {
	mkimg "$IMG" 32M -t ext4
	wtar l1.tar etc/ etc/motd top
	wtar l2.tar new .wh..wh..opq
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / l1.tar
	run -0 "$PCWRITE" -x --whiteouts=oci "$IMG" / l2.tar
	fsck_clean "$IMG"
	run -0 debugfs -R "ls /" "$IMG"
	echo "$output"
	[[ $output =~ [[:space:]]new[[:space:]] ]]
	[[ ! $output =~ [[:space:]](etc|top)[[:space:]] ]]
	# the same inode, its mode and its blocks (e2fsck puts orphans there)
	[[ $(debugfs -R "stat /lost+found" "$IMG" 2>/dev/null) == *"Inode: 11 "*"Mode:  0700"* ]]
}
