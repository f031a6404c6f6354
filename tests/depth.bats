#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# depth.bats: depth costs what the path costs (issue 17, item 3).
#
# -R walks a host tree through descriptors relative to their parent, so a
# tree deeper than PATH_MAX is copied; a directory moved while the walk is
# below it is "file changed as we read it" (tests/eio_shim.c's open hook
# moves it at a chosen open; ulimit -n makes the ring of descriptors small,
# so the walk must come back up to a directory it closed).  -x resolves an
# entry's directory from the stack of the previous entry's directories: a
# whiteout that removes directories on that stack, and a symlink on it
# replaced by a file, must not leave the stack pointing at what is gone.
# Nothing here measures time (bench/scale.sh -d does).

load test_helper

setup_file() {
	cc -shared -fPIC -o "$BATS_FILE_TMPDIR/eio_shim.so" \
		"$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	mkimg "$BATS_FILE_TMPDIR/base.img" 64M -t ext4 -b 1024 -N 8192
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	cp --sparse=always "$BATS_FILE_TMPDIR/base.img" "$IMG"
	cd "$BATS_TEST_TMPDIR"
}

dcat() {
	debugfs -R "cat $2" "$1" 2>/dev/null
}

# absent IMAGE PATH: debugfs finds no such name.
absent() {
	run debugfs -R "stat $2" "$1"
	[[ "$output" == *"File not found"* ]]
}

# counts IMAGE: "DIRS FILES SYMLINKS" as e2fsck -fnv counts them.
counts() {
	e2fsck -fnv "$1" 2>/dev/null | awk '
		/ directories$/ { d = $1 } / regular files?$/ { f = $1 }
		/ symbolic links? / { s = $1 } END { print d, f, s }'
}

# tarpy OUT CODE: a GNU tar written by python3's tarfile, in CODE's order
# (d(name), f(name, data), l(name, target), h(name, target)).
tarpy() {
	python3 - "$1" <<PY
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT)
def add(name, kind, data=b'', link=''):
    i = tarfile.TarInfo(name); i.type = kind; i.mtime = 1700000000
    i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    i.linkname = link; i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data else None)
d = lambda n: add(n, tarfile.DIRTYPE)
f = lambda n, b: add(n, tarfile.REGTYPE, b)
l = lambda n, s: add(n, tarfile.SYMTYPE, link=s)
$2
t.close()
PY
}

@test "-R copies a tree deeper than PATH_MAX (2,100 levels, paths of 4,200 bytes)" {
	mkdir src
	python3 "$BATS_TEST_DIRNAME/../bench/gentar.py" depth 2100 chain.tar src
	run --separate-stderr "$PCWRITE" -R -p "$IMG" /r src
	echo "status $status: ${stderr:0:300}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	fsck_clean "$IMG"
	# the chain, /r and lost+found; the file at the bottom
	[ "$(counts "$IMG")" = "2103 1 0" ]
	{ echo "cd /r"; for _ in $(seq 2100); do echo "cd a"; done; echo "cat f"; } >cmds
	[ "$(debugfs -f cmds "$IMG" 2>/dev/null | tail -n 1)" = "the bottom" ]
	# the same tree as -x of the same chain as a tar makes it
	cp "$BATS_FILE_TMPDIR/base.img" x.img
	"$PCWRITE" -x -p x.img /r chain.tar
	fsck_clean x.img
	[ "$(counts x.img)" = "2103 1 0" ]
}

@test "-R: a directory moved while the walk is below it is 'file changed as we read it'; the rest is copied" {
	# src/a/d01/.../d30/f, and a file zz beside d15 in d14
	p=src/a
	for i in $(seq -w 1 30); do
		p=$p/d$i
		[ "$i" = 15 ] && { mkdir -p "${p%/d15}"; echo zz >"${p%/d15}/zz"; }
	done
	mkdir -p "$p"
	echo bottom >"$p/f"
	d15=src/a/$(printf 'd%02d/' $(seq 1 15))
	d15=${d15%/}
	# f is opened at the bottom, where the ring of descriptors (a quarter
	# of 40) no longer holds d15: it is moved away then
	run --separate-stderr bash -c 'ulimit -n 40; exec env LD_PRELOAD="$1" \
		PCW_OPEN_HOOK=f PCW_OPEN_DO="rename=$2:$PWD/src/moved" \
		"$3" -R -p "$4" /r src' _ "$BATS_FILE_TMPDIR/eio_shim.so" \
		"$PWD/$d15" "$PCWRITE" "$IMG"
	echo "status $status: $stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: source directory 'src': $d15: file changed as we read it" ]
	fsck_clean "$IMG"
	# read before it moved (src was listed before it came back as moved)
	[ "$(dcat "$IMG" "/r/${d15#src/}/$(printf 'd%02d/' $(seq 16 30))f")" = bottom ]
	absent "$IMG" /r/moved
	# and what came after it in its parent
	[ "$(dcat "$IMG" "/r/${d15#src/}/../zz")" = zz ]
}

@test "-R with a small ring of descriptors: a deep tree with files on the way back up, the same image as with the default ring" {
	p=src
	for i in $(seq -w 1 60); do
		p=$p/d$i
		mkdir -p "$p"
		echo "$i" >"$p/z$i"
	done
	run bash -c 'ulimit -n 40; exec "$1" -R -p "$2" /r src' _ "$PCWRITE" "$IMG"
	[ "$status" -eq 0 ]
	fsck_clean "$IMG"
	[ "$(counts "$IMG")" = "63 60 0" ]
	[ "$(dcat "$IMG" "/r/$(printf 'd%02d/' $(seq 1 60))z60")" = 60 ]
	[ "$(dcat "$IMG" /r/d01/z01)" = 01 ]
	cp "$BATS_FILE_TMPDIR/base.img" big.img
	"$PCWRITE" -R -p big.img /r src
	cmp <(debugfs -R "ls -l /r/d01/d02" "$IMG" 2>/dev/null | awk '{ print $1, $NF }') \
	    <(debugfs -R "ls -l /r/d01/d02" big.img 2>/dev/null | awk '{ print $1, $NF }')
}

# The entry before the whiteout is refused by -n (it exists), so its layer
# made nothing in the directories its path went through: the whiteout
# removes them all.

@test "-x --whiteouts=oci: a whiteout removing the directories of the previous entry's path" {
	tarpy l1.tar "d('a'); d('a/b'); d('a/b/c'); f('a/b/c/f', b'one\n')"
	tarpy l2.tar "f('a/b/c/f', b'two\n'); f('a/.wh.b', b''); f('a/b/c/h', b'three\n')"
	"$PCWRITE" -x "$IMG" / l1.tar
	run --separate-stderr "$PCWRITE" -x -n --whiteouts=oci "$IMG" / l2.tar
	echo "status $status: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"/a/b/c/f: "* ]]
	fsck_clean "$IMG"
	[ "$(dcat "$IMG" /a/b/c/h)" = three ]
	absent "$IMG" /a/b/c/f
}

@test "-x --whiteouts=oci: a whiteout reached through a symlink to '..' removes a directory the stack spells otherwise" {
	tarpy l1.tar "d('a'); d('a/x'); f('a/x/f', b'one\n'); l('a/up', '..')"
	tarpy l2.tar "f('a/x/f', b'two\n'); f('a/up/.wh.a', b''); f('a/x/h', b'three\n')"
	"$PCWRITE" -x "$IMG" / l1.tar
	run --separate-stderr "$PCWRITE" -x -n --whiteouts=oci "$IMG" / l2.tar
	echo "status $status: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"/a/x/f: "* ]]
	fsck_clean "$IMG"
	[ "$(dcat "$IMG" /a/x/h)" = three ]
	absent "$IMG" /a/x/f
	absent "$IMG" /a/up
}

@test "-x: a symlink on the previous entry's path replaced by a file is not gone through again" {
	tarpy l1.tar "d('d'); d('d/s'); l('l', 'd')"
	tarpy l2.tar "f('l/s/f', b'one\n'); f('l', b'now a file\n'); f('l/s/g', b'two\n'); f('e', b'after\n')"
	"$PCWRITE" -x "$IMG" / l1.tar
	run --separate-stderr "$PCWRITE" -x "$IMG" / l2.tar
	echo "status $status: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"/l/s/g: a path component is not a directory" ]]
	fsck_clean "$IMG"
	[ "$(dcat "$IMG" /d/s/f)" = one ]
	[ "$(dcat "$IMG" /l)" = "now a file" ]
	[ "$(dcat "$IMG" /e)" = after ]
	absent "$IMG" /d/s/g
}

@test "-x in a casefolded directory: the previous entry's path spelled in another case is the same directories" {
	mkimg "$IMG" 32M -t ext4 -O casefold -b 1024
	debugfs -w -R "mkdir /d" "$IMG" 2>/dev/null
	cur=$(debugfs -R "stat /d" "$IMG" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	debugfs -w -R "set_inode_field /d flags $(printf '0x%x' $((cur | 0x40000000)))" "$IMG" 2>/dev/null
	tarpy l.tar "d('d/Sub'); d('d/Sub/x'); f('d/Sub/x/f1', b'1\n'); f('d/sub/X/f2', b'2\n'); f('d/SUB/x/f3', b'3\n'); f('d/Sub/x/f4', b'4\n')"
	run "$PCWRITE" -x "$IMG" / l.tar
	echo "$output"
	[ "$status" -eq 0 ]
	fsck_clean "$IMG"
	[ "$(debugfs -R "ls /d" "$IMG" 2>/dev/null | tr -s ' \n' '\n\n' | grep -ci '^sub$')" -eq 1 ]
	for k in 1 2 3 4; do
		[ "$(dcat "$IMG" "/d/Sub/x/f$k")" = "$k" ]
	done
}

@test "-x --whiteouts=oci: a whiteout removes a 3,000-deep chain, every inode and block given back" {
	python3 "$BATS_TEST_DIRNAME/../bench/gentar.py" depth 3000 chain.tar >/dev/null
	tarpy wh.tar "f('.wh.a', b'')"
	free_counts() {
		dumpe2fs -h "$1" 2>/dev/null | grep -E '^Free (blocks|inodes):'
	}
	before=$(free_counts "$IMG")
	"$PCWRITE" -x "$IMG" / chain.tar
	[ "$(counts "$IMG")" = "3002 1 0" ]
	run "$PCWRITE" -x --whiteouts=oci "$IMG" / wh.tar
	[ "$status" -eq 0 ]
	fsck_clean "$IMG"
	absent "$IMG" /a
	[ "$(free_counts "$IMG")" = "$before" ]
}
