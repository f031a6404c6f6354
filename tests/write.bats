#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# write.bats: the central job: data into a default ext4 image, read back by
# debugfs, e2fsck and the kernel.

load test_helper

setup_file() {
	setup_file_image 64M
}

setup() {
	copy_image
	IMG=$BATS_TEST_TMPDIR/img
}

@test "sizes around a page boundary, from a pipe, read back exactly" {
	for n in 0 1 4095 4096 4097 8191 8193; do
		mkdata "$BATS_TEST_TMPDIR/d$n" $n
		run -0 --separate-stderr sh -c "cat '$BATS_TEST_TMPDIR/d$n' | '$PCWRITE' '$IMG' /f$n"
		[ -z "$stderr" ]
	done
	fsck_clean "$IMG"
	for n in 0 1 4095 4096 4097 8191 8193; do
		readback "$IMG" /f$n "$BATS_TEST_TMPDIR/d$n"
		[ "$(inode_size "$IMG" /f$n)" = "$n" ]
	done
	for n in 0 1 4095 4096 4097 8191 8193; do
		kernel_readback "$IMG" /f$n "$BATS_TEST_TMPDIR/d$n"
	done
}

@test "a few MiB from a host file argument" {
	mkdata "$BATS_TEST_TMPDIR/data" $((5 * 1024 * 1024 + 123))
	run -0 "$PCWRITE" "$IMG" /data.bin "$BATS_TEST_TMPDIR/data"
	verify "$IMG" /data.bin "$BATS_TEST_TMPDIR/data"
	[ "$(extent_count "$IMG" /data.bin)" -eq 1 ]
}

@test "a slow pipe gives the same page records as a file" {
	mkdata "$BATS_TEST_TMPDIR/data" 20000
	cp "$IMG" "$BATS_TEST_TMPDIR/img2"
	run -0 "$PCWRITE" -r json "$IMG" /f "$BATS_TEST_TMPDIR/data"
	fast=$(grep '"event":"page"' <<<"$output")
	# 1000 bytes at a time, with pauses, through a pipe
	run -0 bash -c "for i in \$(seq 0 19); do dd if='$BATS_TEST_TMPDIR/data' bs=1000 skip=\$i count=1 status=none; sleep 0.05; done | '$PCWRITE' -r json '$BATS_TEST_TMPDIR/img2' /f"
	slow=$(grep '"event":"page"' <<<"$output")
	[ "$fast" = "$slow" ]
	[ "$(grep -c '"event":"page"' <<<"$slow")" -eq 5 ]
	verify "$BATS_TEST_TMPDIR/img2" /f "$BATS_TEST_TMPDIR/data"
}

@test "stdin as a regular file (redirect) and '-' as the SOURCE" {
	mkdata "$BATS_TEST_TMPDIR/data" 100000
	run -0 "$PCWRITE" "$IMG" /a <"$BATS_TEST_TMPDIR/data"
	run -0 "$PCWRITE" "$IMG" /b - <"$BATS_TEST_TMPDIR/data"
	verify "$IMG" /a "$BATS_TEST_TMPDIR/data"
	verify "$IMG" /b "$BATS_TEST_TMPDIR/data"
}

@test "an existing file is truncated, keeps its inode, and frees its blocks" {
	mkdata "$BATS_TEST_TMPDIR/big" $((3 * 1024 * 1024))
	mkdata "$BATS_TEST_TMPDIR/small" 5000
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/big"
	ino1=$(debugfs -R "stat /f" "$IMG" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
	free1=$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Free blocks: *//p')
	run -0 "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/small"
	ino2=$(debugfs -R "stat /f" "$IMG" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
	free2=$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Free blocks: *//p')
	[ "$ino1" = "$ino2" ]
	# 768 blocks freed, 2 used
	[ $((free2 - free1)) -eq 766 ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/small"
	[ "$(dstat "$IMG" /f | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')" -eq 16 ]
}

@test "the JSON report: one page record per iteration, copied sums to the input, writeback records" {
	n=$((300 * 1024 + 77))
	mkdata "$BATS_TEST_TMPDIR/data" $n
	run -0 --separate-stderr "$PCWRITE" --report=json "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	json=$output
	pages=$(grep -c '"event":"page"' <<<"$json")
	[ "$pages" -eq 76 ]
	sum=$(grep '"event":"page"' <<<"$json" | sed 's/.*"copied":\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s }')
	[ "$sum" -eq $n ]
	# seq counts iterations, index is pos / 4096
	run -0 awk -F'[:,]' '/"event":"page"/ { for (i = 1; i < NF; i++) { if ($i == "\"seq\"") s = $(i+1); if ($i == "\"index\"") x = $(i+1); if ($i == "\"pos\"") p = $(i+1) } if (s != NR - 1 || x != s || p != s * 4096) { print "bad record " NR; exit 1 } }' <<<"$(grep '"event":"page"' <<<"$json")"
	grep -q '"event":"page","file":"/f","seq":75,"index":75,"pos":307200,"offset":0,"bytes":77,"copied":77,"status":77,"read_before":false,"reserved":1,"retry":false}' <<<"$json"
	# writeback maps all 76 blocks; the file record, then the end record
	wb=$(grep '"event":"writeback"' <<<"$json" | sed 's/.*"len":\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s }')
	[ "$wb" -eq 76 ]
	tail -n2 <<<"$json" | head -n1 | grep -q "{\"event\":\"file\",\"file\":\"/f\",\"bytes\":$n,\"size\":$n,\"pages\":76,\"extents\":1,\"status\":\"ok\",\"action\":\"created\","
	tail -n1 <<<"$json" | grep -q "{\"event\":\"end\",\"status\":0,\"files\":1,\"committed\":1,\"ok\":1,\"partial\":0,\"failed\":0,\"refused\":0,\"skipped\":0,\"bytes\":$n}"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "a small dirty limit writes back many times and still makes one extent" {
	mkdata "$BATS_TEST_TMPDIR/data" $((4 * 1024 * 1024))
	run -0 "$PCWRITE" --dirty-limit=256K -r json "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[ "$(grep -c '"event":"writeback"' <<<"$output")" -eq 16 ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[ "$(extent_count "$IMG" /f)" -eq 1 ]
}

@test "--no-delalloc allocates in write_begin and gives the same data" {
	mkdata "$BATS_TEST_TMPDIR/data" $((1024 * 1024 + 5))
	run -0 "$PCWRITE" --no-delalloc -r json "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	# nothing is reserved: blocks are allocated, not delayed
	! grep '"event":"page"' <<<"$output" | grep -v '"reserved":0'
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[ "$(extent_count "$IMG" /f)" -eq 1 ]
}

@test "--page-size 16384 on 4 KiB blocks: four blocks reserved per page" {
	mkdata "$BATS_TEST_TMPDIR/data" 40000
	run -0 "$PCWRITE" --page-size=16384 -r json "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[ "$(grep -c '"event":"page"' <<<"$output")" -eq 3 ]
	grep -q '"seq":0,"index":0,"pos":0,"offset":0,"bytes":16384,"copied":16384,"status":16384,"read_before":false,"reserved":4' <<<"$output"
	grep -q '"seq":2,"index":2,"pos":32768,"offset":0,"bytes":7232,"copied":7232,"status":7232,"read_before":false,"reserved":2' <<<"$output"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "1 KiB blocks: four blocks per page, each reserved" {
	mkimg "$IMG" 32M -t ext4 -b 1024
	mkdata "$BATS_TEST_TMPDIR/data" 10000
	run -0 "$PCWRITE" -r json "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	grep -q '"seq":2,"index":2,"pos":8192,"offset":0,"bytes":1808,"copied":1808,"status":1808,"read_before":false,"reserved":2' <<<"$output"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "several host files into a directory in one run; DEST a directory takes the basename" {
	mkdata "$BATS_TEST_TMPDIR/one" 1000
	mkdata "$BATS_TEST_TMPDIR/two" 70000
	debugfs -w -R "mkdir /dir" "$IMG" 2>/dev/null
	run -0 "$PCWRITE" "$IMG" /dir "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	verify "$IMG" /dir/one "$BATS_TEST_TMPDIR/one"
	verify "$IMG" /dir/two "$BATS_TEST_TMPDIR/two"
	run -0 "$PCWRITE" "$IMG" / "$BATS_TEST_TMPDIR/two"
	verify "$IMG" /two "$BATS_TEST_TMPDIR/two"
}

@test "many files fill a directory block and the directory grows" {
	mkdata "$BATS_TEST_TMPDIR/data" 10
	debugfs -w -R "mkdir /d" "$IMG" 2>/dev/null
	for i in $(seq 1 150); do
		"$PCWRITE" --no-sync "$IMG" "/d/a-rather-long-file-name-to-fill-the-directory-$i" <"$BATS_TEST_TMPDIR/data"
	done
	fsck_clean "$IMG"
	readback "$IMG" /d/a-rather-long-file-name-to-fill-the-directory-150 "$BATS_TEST_TMPDIR/data"
}

@test "ENOSPC on a small image: exit 1, i_size is what was written, the data is a prefix of the input" {
	mkimg "$IMG" 8M -t ext4 -b 4096
	mkdata "$BATS_TEST_TMPDIR/data" $((20 * 1024 * 1024))
	run -1 --separate-stderr "$PCWRITE" -r json "$IMG" /big <"$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ ^pcwrite:\ .*img:/big:\ No\ space\ left\ on\ device\ \(([0-9]+)\ bytes\ written\)$ ]]
	n=${BASH_REMATCH[1]}
	[ "$n" -gt $((3 * 1024 * 1024)) ]
	[ "$(inode_size "$IMG" /big)" = "$n" ]
	grep -q '"status":-28' <<<"$output"
	grep '"event":"file"' <<<"$output" | tail -n1 | grep -q "\"bytes\":$n,\"size\":$n,.*\"status\":\"partial\""
	fsck_clean "$IMG"
	head -c "$n" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/prefix"
	readback "$IMG" /big "$BATS_TEST_TMPDIR/prefix"
	kernel_readback "$IMG" /big "$BATS_TEST_TMPDIR/prefix"
	# nearly every free block went to data
	free=$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Free blocks: *//p')
	[ "$free" -lt 16 ]
}

@test "ENOSPC with --no-delalloc leaves a consistent image too" {
	mkimg "$IMG" 8M -t ext4 -b 4096
	mkdata "$BATS_TEST_TMPDIR/data" $((20 * 1024 * 1024))
	run -1 --separate-stderr "$PCWRITE" --no-delalloc "$IMG" /big <"$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ \(([0-9]+)\ bytes\ written\)$ ]]
	n=${BASH_REMATCH[1]}
	[ "$(inode_size "$IMG" /big)" = "$n" ]
	fsck_clean "$IMG"
	head -c "$n" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/prefix"
	readback "$IMG" /big "$BATS_TEST_TMPDIR/prefix"
}

@test "64 MiB from a pipe into a 1 GiB image: exact, and no more extents than the kernel makes" {
	mkimg "$IMG" 1G -t ext4
	cp --sparse=always "$IMG" "$BATS_TEST_TMPDIR/kimg"
	mkdata "$BATS_TEST_TMPDIR/data" $((64 * 1024 * 1024))
	run -0 bash -c "cat '$BATS_TEST_TMPDIR/data' | '$PCWRITE' '$IMG' /f"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
	ours=$(extent_count "$IMG" /f)
	kernel_require
	mnt=$BATS_TEST_TMPDIR/mnt
	mkdir "$mnt"
	mount -o loop "$BATS_TEST_TMPDIR/kimg" "$mnt"
	dd if="$BATS_TEST_TMPDIR/data" of="$mnt/f" bs=64M status=none
	umount "$mnt"
	theirs=$(extent_count "$BATS_TEST_TMPDIR/kimg" /f)
	echo "extents: pcwrite $ours, kernel $theirs"
	[ "$ours" -le "$theirs" ]
}

@test "bigalloc: whole clusters, logical and physical offsets equal, i_blocks in clusters" {
	mkimg "$IMG" 128M -t ext4 -b 4096 -O bigalloc -C 65536
	mkdata "$BATS_TEST_TMPDIR/data" 100000
	run -0 "$PCWRITE" -r json "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	# 16 blocks a cluster: a page reserves a cluster only at a cluster start
	[ "$(grep '"event":"page"' <<<"$output" | grep -c '"reserved":1')" -eq 2 ]
	[ "$(grep '"event":"page"' <<<"$output" | grep -c '"reserved":0')" -eq 23 ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
	# 2 clusters of 16 4 KiB blocks
	[ "$(dstat "$IMG" /f | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')" -eq 256 ]
	cat "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/twice"
	run -0 "$PCWRITE" --append "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/twice"
	[ "$(extent_count "$IMG" /f)" -eq 1 ]
}

@test "a deep extent tree: holes every other page, then an overwrite across them" {
	mkimg "$IMG" 256M -t ext4 -b 4096
	# 3000 pages, every odd one zero: 1500 extents, a tree of depth 2
	for i in $(seq 0 1499); do
		head -c 4096 /dev/urandom
		head -c 4096 /dev/zero
	done >"$BATS_TEST_TMPDIR/alt"
	run -0 "$PCWRITE" --sparse=always -r summary "$IMG" /f "$BATS_TEST_TMPDIR/alt"
	[[ "$output" =~ 1500\ extents ]]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/alt"
	[ "$(debugfs -R "ex /f" "$IMG" 2>/dev/null | sed -n 2p | awk '{print $1 $2}')" = "0/2" ]
	# fill the holes and run past the end: every hole must be found again
	mkdata "$BATS_TEST_TMPDIR/patch" $((20 * 1024 * 1024))
	run -0 "$PCWRITE" --offset=6000 "$IMG" /f "$BATS_TEST_TMPDIR/patch"
	cp "$BATS_TEST_TMPDIR/alt" "$BATS_TEST_TMPDIR/expect"
	dd if="$BATS_TEST_TMPDIR/patch" of="$BATS_TEST_TMPDIR/expect" bs=1M seek=6000 oflag=seek_bytes conv=notrunc status=none
	verify "$IMG" /f "$BATS_TEST_TMPDIR/expect"
}

@test "free space only in 2-block gaps: the file is written in pieces, no hang" {
	mkimg "$IMG" 8M -t ext4 -b 4096
	mkdata "$BATS_TEST_TMPDIR/small" 8192
	for i in $(seq 1 40); do
		"$PCWRITE" --no-sync "$IMG" /s$i "$BATS_TEST_TMPDIR/small"
	done
	# fill the rest, then free every other small file
	head -c 20M /dev/zero | "$PCWRITE" -q --no-sync "$IMG" /fill 2>/dev/null || true
	for i in $(seq 1 2 40); do
		debugfs -w -R "rm /s$i" "$IMG" >/dev/null 2>&1
	done
	fsck_clean "$IMG"
	mkdata "$BATS_TEST_TMPDIR/data" 65536
	run -0 --separate-stderr timeout -s KILL 60 "$PCWRITE" -r summary "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ ([0-9]+)\ extents ]]
	[ "${BASH_REMATCH[1]}" -ge 8 ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

# Writeback in pieces of 4 MiB: a piece whose free range ends at a block
# group's metadata writes up to there and carries its tail into the next
# piece, so no piece is written in two writes.  On 1 KiB blocks (8 MiB
# groups, backups in groups 1, 3, 5 and 7) 64 MiB is 16 writes of its data.
@test "a stream across block groups' metadata: its data in 16 writes of about 4 MiB for 64 MiB" {
	command -v strace >/dev/null || skip "strace not installed"
	local img=$BATS_TEST_TMPDIR/k1
	mkimg "$img" 256M -t ext4 -b 1024
	mkdata "$BATS_TEST_TMPDIR/in" $((64 << 20))
	# (LeakSanitizer cannot run under ptrace: off for this run)
	cat "$BATS_TEST_TMPDIR/in" | ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
		strace -f -qq -o "$BATS_TEST_TMPDIR/st" -e trace=pwrite64 "$PCWRITE" "$img" /f
	fsck_clean "$img"
	readback "$img" /f "$BATS_TEST_TMPDIR/in"
	awk '$NF + 0 >= 65536 { print $NF }' "$BATS_TEST_TMPDIR/st" | sort -n | uniq -c
	[ "$(awk '$NF + 0 >= 65536' "$BATS_TEST_TMPDIR/st" | wc -l)" -eq 16 ]
	# a piece cut short by metadata wrote at least half of itself
	[ "$(awk '$NF + 0 >= 65536 { print $NF }' "$BATS_TEST_TMPDIR/st" | sed '$d' |
		awk '$1 < 2097152' | wc -l)" -eq 0 ]
	# the file crosses group metadata: more than one extent
	[ "$(extent_count "$img" /f)" -ge 2 ]
}
