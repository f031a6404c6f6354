#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# casefold.bats: casefolded directories (chattr +F, EXT4_CASEFOLD_FL on a
# filesystem made with -O casefold): a name that differs only in case is the
# same name, hashed and compared as the kernel does, in linear and indexed
# directories; strict mode; +F inherited; encrypted directories refused.
#
# debugfs looks names up byte for byte, so every read-back here names a
# file as the directory spells it; e2fsck -fn checks the casefolded htree
# hashes and, in strict mode, the names' encoding.

load test_helper
load kernel_helper

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	W=$BATS_TEST_TMPDIR/work
	mkdir -p "$W"
}

teardown() {
	kernel_teardown
	detach_attached
}

# setflags IMAGE PATH FLAGS: OR FLAGS into the inode's i_flags.
setflags() {
	local cur
	cur=$(flags_of "$1" "$2")
	debugfs -w -R "set_inode_field $2 flags $(printf '0x%x' $((cur | $3)))" "$1" 2>/dev/null
}

flags_of() {
	debugfs -R "stat $2" "$1" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p'
}

# cfimg [mke2fs options...]: a casefold filesystem (1 KiB blocks) with an
# empty directory /d made casefolded, as chattr +F does on an empty one.
cfimg() {
	mkimg "$IMG" 32M -t ext4 -O casefold -b 1024 "$@"
	debugfs -w -R "mkdir /d" "$IMG" 2>/dev/null
	setflags "$IMG" /d 0x40000000
	[ $(($(flags_of "$IMG" /d) & 0x40000000)) -ne 0 ]
	fsck_clean "$IMG"
}

# names DIR: the names in DIR as debugfs lists them, "." and ".." left out.
names() {
	debugfs -R "ls -l $1" "$IMG" 2>/dev/null |
		awk 'NF >= 9 && $NF != "." && $NF != ".." { print $NF }'
}

# only_name DIR NAME: DIR holds NAME, and no other name equal to it but
# for case.
only_name() {
	local got
	got=$(names "$1" | grep -ix -- "$2" || true)
	if [ "$got" != "$2" ]; then
		echo "$1: wanted exactly '$2', found: $(echo $got)" >&2
		return 1
	fi
}

# cat_is PATH TEXT: debugfs cat PATH prints TEXT.
cat_is() {
	local got
	got=$(debugfs -R "cat $1" "$IMG" 2>/dev/null)
	if [ "$got" != "$2" ]; then
		echo "$1: '$got', wanted '$2'" >&2
		return 1
	fi
}

# put DEST TEXT [options...]: pcwrite TEXT (a line) to DEST, exit 0.
put() {
	local dest=$1 text=$2
	shift 2
	run -0 "$PCWRITE" "$@" "$IMG" "$dest" < <(echo "$text")
}

# indexed DIR: debugfs htree reads DIR's index.
indexed() {
	debugfs -R "htree $1" "$IMG" 2>/dev/null | grep -q "Root node dump"
}

# refused STATUS PATTERN DEST [options...]: one line matching PATTERN,
# STATUS, the image byte-identical.
refused() {
	local want=$1 pattern=$2 dest=$3
	shift 3
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run "-$want" --separate-stderr "$PCWRITE" "$@" "$IMG" "$dest" < <(echo new)
	echo "stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "${stderr_lines[0]}" =~ $pattern ]]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	[ -n "${NO_FSCK:-}" ] || fsck_clean "$IMG"
}

# kernel_casefold: skip (counted) where the kernel cannot mount a casefold
# filesystem (no CONFIG_UNICODE).
kernel_casefold() {
	kernel_require
	[ -e /sys/fs/ext4/features/casefold ] ||
		skip "kernel oracle: this kernel has no casefold support (/sys/fs/ext4/features/casefold missing: CONFIG_UNICODE)"
}

# ---- linear directories -----------------------------------------------------

@test "linear: a name differing only in case is overwritten in place and keeps its spelling" {
	cfimg
	put /d/abc one
	fsck_clean "$IMG"
	put /d/ABC two
	only_name /d abc
	cat_is /d/abc two
	fsck_clean "$IMG"
	put /d/aBc three -a
	only_name /d abc
	cat_is /d/abc "$(printf 'two\nthree')"
	fsck_clean "$IMG"
	[ "$(names /d | wc -l)" -eq 1 ]
}

@test "linear: -n refuses a name that exists in another case" {
	cfimg
	put /d/abc one
	refused 1 "/d/ABC: destination exists" /d/ABC -n
	only_name /d abc
	cat_is /d/abc one
}

@test "linear: paths walk through a casefolded directory in any case" {
	cfimg
	put /d/Sub/f one -p
	only_name /d Sub
	put /d/SUB/F two
	put /d/sub/G three
	[ "$(names /d/Sub | sort | tr '\n' ' ')" = "G f " ]
	cat_is /d/Sub/f two
	cat_is /d/Sub/G three
	fsck_clean "$IMG"
}

@test "linear: two SOURCEs whose names differ only in case are one name, refused before the first write" {
	cfimg
	mkdir -p "$W/x" "$W/y"
	echo upper >"$W/x/A"
	echo lower >"$W/y/a"
	cp "$IMG" "$W/before"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /d "$W/x/A" "$W/y/a"
	[[ "$stderr" =~ /d/a:\ File\ exists ]]
	unchanged "$IMG" "$W/before"
	fsck_clean "$IMG"
	# one of them existing already
	put /d/a one
	cp "$IMG" "$W/before"
	run -1 "$PCWRITE" "$IMG" /d "$W/x/A" "$W/y/a"
	unchanged "$IMG" "$W/before"
	only_name /d a
	fsck_clean "$IMG"
}

@test "linear: --atomic over a name in another case keeps the existing spelling" {
	cfimg
	put /d/abc one
	put /d/ABC two --atomic
	only_name /d abc
	cat_is /d/abc two
	fsck_clean "$IMG"
}

@test "linear: -x of a tar with A then a: one name, the archive's last spelling and content" {
	cfimg
	mkdir -p "$W/x/d" "$W/y/d"
	echo upper >"$W/x/d/A"
	echo lower >"$W/y/d/a"
	tar -C "$W/x" -cf "$W/t.tar" d/A
	tar -C "$W/y" -rf "$W/t.tar" d/a
	run -0 "$PCWRITE" -x "$IMG" / "$W/t.tar"
	only_name /d a
	cat_is /d/a lower
	fsck_clean "$IMG"
	# and the other way round, over what is there
	tar -C "$W/x" -cf "$W/u.tar" d/A
	run -0 "$PCWRITE" -x "$IMG" / "$W/u.tar"
	only_name /d A
	cat_is /d/A upper
	fsck_clean "$IMG"
	# -n: the archive's A exists as A, a as well (the run opened the image
	# for writing: its superblock's s_wtime may change, nothing else)
	run -1 "$PCWRITE" -x -n "$IMG" / "$W/t.tar"
	[[ "$output" =~ /d/A:\ destination\ exists ]]
	only_name /d A
	cat_is /d/A upper
	fsck_clean "$IMG"
}

@test "linear: -x hard link whose target is spelled in another case" {
	cfimg
	python3 - "$W/h.tar" <<-'EOF'
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
	    d = tarfile.TarInfo("d/Target"); d.size = 5
	    t.addfile(d, io.BytesIO(b"data\n"))
	    l = tarfile.TarInfo("d/link"); l.type = tarfile.LNKTYPE
	    l.linkname = "d/TARGET"
	    t.addfile(l)
	EOF
	run -0 "$PCWRITE" -x "$IMG" / "$W/h.tar"
	[ "$(names /d | sort | tr '\n' ' ')" = "Target link " ]
	cat_is /d/link data
	[ "$(debugfs -R "stat /d/Target" "$IMG" 2>/dev/null | sed -n 's/.*Links: \([0-9]*\).*/\1/p')" -eq 2 ]
	fsck_clean "$IMG"
}

@test "linear: -R replaces a name in another case with the tree's spelling" {
	cfimg
	put /d/abc one
	mkdir -p "$W/t/d"
	echo two >"$W/t/d/ABC"
	run -0 "$PCWRITE" -R "$IMG" / "$W/t"
	only_name /d ABC
	cat_is /d/ABC two
	fsck_clean "$IMG"
}

@test "linear: names that are the same once casefolded and normalized (é, E + combining acute)" {
	cfimg
	put $'/d/caf\xc3\xa9' one
	put $'/d/CAFE\xcc\x81' two
	[ "$(names /d | wc -l)" -eq 1 ]
	cat_is $'/d/caf\xc3\xa9' two
	fsck_clean "$IMG"
}

@test "inline: a name in an inline casefolded directory is found in another case" {
	mkimg "$IMG" 32M -t ext4 -O casefold,inline_data -b 1024
	debugfs -w -R "mkdir /d" "$IMG" 2>/dev/null
	setflags "$IMG" /d 0x40000000
	echo hi >"$W/h"
	debugfs -w -R "write $W/h /d/abc" "$IMG" >/dev/null 2>&1
	[ $(($(flags_of "$IMG" /d) & 0x10000000)) -ne 0 ]	# still inline
	fsck_clean "$IMG"
	put /d/ABC two
	[ $(($(flags_of "$IMG" /d) & 0x10000000)) -ne 0 ]	# not moved to a block
	only_name /d abc
	cat_is /d/abc two
	refused 1 "/d/Abc: destination exists" /d/Abc -n
	put /d/Other three
	only_name /d abc
	only_name /d Other
	fsck_clean "$IMG"
}

@test "linear and htree: an ASCII name and a non-ASCII one that folds to it (KELVIN SIGN, k) are one name" {
	cfimg
	put /d/k one
	put $'/d/\xe2\x84\xaa' two
	only_name /d k
	cat_is /d/k two
	fsck_clean "$IMG"
	mkdir -p "$W/t/d"
	for i in $(seq 1 300); do echo "$i" >"$W/t/d/name_$i"; done
	run -0 "$PCWRITE" -R "$IMG" / "$W/t"
	indexed /d
	put $'/d/NAME_\xe2\x84\xaa' three
	put /d/name_K four
	[ "$(names /d | grep -ic '^name_')" -eq 301 ]
	cat_is $'/d/NAME_\xe2\x84\xaa' four
	fsck_clean "$IMG"
}

# ---- indexed directories ----------------------------------------------------

@test "htree: 300 names make an indexed directory; other cases replace, -n refuses" {
	cfimg
	mkdir -p "$W/t/d"
	for i in $(seq 1 300); do echo "$i" >"$W/t/d/name_$i"; done
	run -0 "$PCWRITE" -R "$IMG" / "$W/t"
	indexed /d
	[ "$(names /d | wc -l)" -eq 300 ]
	fsck_clean "$IMG"
	put /d/NAME_150 new
	only_name /d name_150
	cat_is /d/name_150 new
	fsck_clean "$IMG"
	refused 1 "/d/Name_299: destination exists" /d/Name_299 -n
	# a tar replacing 50 of them in upper case: unlink and create
	mkdir -p "$W/u/d"
	for i in $(seq 1 50); do echo "up$i" >"$W/u/d/NAME_$i"; done
	tar -C "$W/u" -cf "$W/u.tar" d
	run -0 "$PCWRITE" -x "$IMG" / "$W/u.tar"
	[ "$(names /d | wc -l)" -eq 300 ]
	only_name /d NAME_7
	only_name /d name_51
	cat_is /d/NAME_7 up7
	indexed /d
	fsck_clean "$IMG"
	# and names added to the index in another case than ones there
	for i in $(seq 301 400); do echo "$i" >"$W/u/d/Name_$i"; done
	run -0 "$PCWRITE" -R "$IMG" / "$W/u"
	[ "$(names /d | wc -l)" -eq 400 ]
	put /d/NAME_350 last
	only_name /d Name_350
	cat_is /d/Name_350 last
	fsck_clean "$IMG"
}

@test "htree: a linear directory turned indexed by new names keeps finding them in any case" {
	cfimg
	local num
	# (not "i": bats' run uses it)
	for num in $(seq 1 80); do put "/d/Longer_File_Name_$num" "$num"; done
	indexed /d
	fsck_clean "$IMG"
	for num in 3 17 29 41 53 64 71 77 79 80; do
		put "/d/LONGER_FILE_NAME_$num" "again $num"
		only_name /d "Longer_File_Name_$num"
		cat_is "/d/Longer_File_Name_$num" "again $num"
	done
	[ "$(names /d | wc -l)" -eq 80 ]
	fsck_clean "$IMG"
}

# ---- strict mode and names that are not UTF-8 -------------------------------

@test "strict mode: a name that is not valid UTF-8 is refused, naming the directory" {
	cfimg -E encoding_flags=strict
	# (no ".*" over the name: a regex "." does not match a byte that is
	# not UTF-8 in a UTF-8 locale)
	refused 1 ": directory '/d' is casefolded in strict mode \\(encoding_flags=strict\\): the name is not valid UTF-8" $'/d/bad\xff'
	mkdir -p "$W/t/d"
	printf 'x\n' >"$W/t/d/"$'bad\xfe'
	tar -C "$W/t" -cf "$W/t.tar" d
	cp "$IMG" "$W/before"
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / "$W/t.tar"
	[[ "$stderr" =~ "is casefolded in strict mode" ]]
	[ -z "$(names /d)" ]
	fsck_clean "$IMG"
	# valid UTF-8 still goes in
	put $'/d/\xc3\xa9t\xc3\xa9' ok
	[ "$(names /d | wc -l)" -eq 1 ]
	fsck_clean "$IMG"
	# outside the casefolded directory any bytes are a name
	put $'/bad\xff' fine
	fsck_clean "$IMG"
}

@test "not strict: a name that is not valid UTF-8 is stored, and compared byte for byte" {
	cfimg
	put $'/d/bad\xff' one
	put $'/d/BAD\xff' two
	put $'/d/bad\xff' three
	[ "$(names /d | wc -l)" -eq 2 ]
	cat_is $'/d/bad\xff' three
	cat_is $'/d/BAD\xff' two
	fsck_clean "$IMG"
}

# ---- +F inherited -----------------------------------------------------------

@test "+F: new directories in a casefolded one inherit it; files do not" {
	cfimg
	put /d/new/sub/f one -p
	[ $(($(flags_of "$IMG" /d/new) & 0x40000000)) -ne 0 ]
	[ $(($(flags_of "$IMG" /d/new/sub) & 0x40000000)) -ne 0 ]
	[ $(($(flags_of "$IMG" /d/new/sub/f) & 0x40000000)) -eq 0 ]
	# so the new directory is casefolded too
	put /d/NEW/SUB/F two
	only_name /d/new/sub f
	cat_is /d/new/sub/f two
	mkdir -p "$W/t/d/Tree/Deeper"
	echo x >"$W/t/d/Tree/Deeper/x"
	run -0 "$PCWRITE" -R "$IMG" / "$W/t"
	[ $(($(flags_of "$IMG" /d/Tree/Deeper) & 0x40000000)) -ne 0 ]
	# a directory outside does not get it
	put /plain/f x -p
	[ $(($(flags_of "$IMG" /plain) & 0x40000000)) -eq 0 ]
	fsck_clean "$IMG"
}

# ---- encrypted directories --------------------------------------------------

@test "encrypted directory: refused, naming the directory and why" {
	mkimg "$IMG" 32M -t ext4 -O encrypt,casefold -b 1024
	debugfs -w -R "mkdir /e" "$IMG" 2>/dev/null
	setflags "$IMG" /e 0x800
	# e2fsck wants an encryption policy with the flag (refuse.bats): the
	# message and the unchanged image only
	NO_FSCK=1
	refused 1 "^pcwrite: .*:/e/f: directory '/e' is encrypted \\(fscrypt\\): its names are ciphertext, and pcwrite has no key" /e/f
	refused 1 "/e/sub/f: directory '/e' is encrypted" /e/sub/f -p
}

# ---- the kernel -------------------------------------------------------------

@test "kernel: lookup in another case finds the name, the listing has one entry" {
	kernel_casefold
	cfimg
	put /d/abc one
	put /d/ABC two
	mkdir -p "$W/t/d"
	for i in $(seq 1 300); do echo "$i" >"$W/t/d/name_$i"; done
	run -0 "$PCWRITE" -R "$IMG" / "$W/t"
	put /d/NAME_42 new
	fsck_clean "$IMG"
	kernel_mount "$IMG"
	run -0 stat -c %s "$KMNT/d/ABC"
	[ "$output" = 4 ]
	run -0 cat "$KMNT/d/Abc"
	[ "$output" = two ]
	run -0 cat "$KMNT/d/Name_42"
	[ "$output" = new ]
	[ "$(ls "$KMNT/d" | grep -ix abc)" = abc ]
	[ "$(ls "$KMNT/d" | wc -l)" -eq 301 ]
	kernel_umount
}

@test "kernel: lsattr shows F on an inherited directory" {
	kernel_casefold
	cfimg
	put /d/new/f one -p
	kernel_mount "$IMG"
	run -0 lsattr -d "$KMNT/d/new"
	[[ "${output%% *}" == *F* ]]
	run -0 cat "$KMNT/d/NEW/F"
	[ "$output" = one ]
	kernel_umount
}
