#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# skipbad.bats: a bad entry does not end a -x or -R run (issue 16, item 5).
#
# Each archive (python3's tarfile) holds a good entry before the bad one and
# one after it.  Without --stop-on-error: exit 1, one message line for the
# bad entry, both good ones in the image with their content (debugfs cat),
# nothing of the bad one, e2fsck -fn clean.  With --stop-on-error: the run
# stops there as before (exit 1, one line, the entry after it absent).  An
# entry made and then refused (its xattrs do not fit) leaves the free inode
# and block counts of a run without it.  -R over a tree that changes while
# it is read is made deterministic by tests/eio_shim.c's open hook.

load test_helper

setup_file() {
	cc -shared -fPIC -o "$BATS_FILE_TMPDIR/eio_shim.so" \
		"$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	mkimg "$BATS_FILE_TMPDIR/base.img" 32M -t ext4 -b 1024 -I 256
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

# mktar NAME: before, the entry python3 code $BAD adds (t: the tarfile,
# f(name, data, **attrs): a regular file), after.
mktar() {
	BAD=$BAD python3 - "$1" <<'PY'
import io, os, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def f(name, data=b"bad\n", kind=None, link="", xattrs=None, **kw):
    ti = tarfile.TarInfo(name)
    if kind:
        ti.type = kind
        ti.linkname = link
    ti.size = len(data) if kind in (None, tarfile.LNKTYPE) else 0
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    for k, v in kw.items():
        setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data) if ti.size else None)
f("before", b"before\n")
exec(os.environ["BAD"])
f("after", b"after\n")
t.close()
PY
}

# skips NAME MESSAGE [OPTION...]: bad.tar into /d; NAME (under /d) is
# skipped with MESSAGE, the run goes on; with --stop-on-error it stops there.
skips() {
	local name=$1 msg=$2
	shift 2
	cp "$IMG" fresh.img
	run -1 --separate-stderr "$PCWRITE" -x -p "$@" "$IMG" /d bad.tar
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "$msg" ]]
	[ "$(dcat "$IMG" /d/before)" = before ]
	[ "$(dcat "$IMG" /d/after)" = after ]
	fsck_clean "$IMG"
	# --stop-on-error: as before this option, the first bad entry ends it
	cp fresh.img "$IMG"
	run -1 --separate-stderr "$PCWRITE" -x -p --stop-on-error "$@" "$IMG" /d bad.tar
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "$msg" ]]
	[ "$(dcat "$IMG" /d/before)" = before ]
	absent "$IMG" /d/after
	fsck_clean "$IMG"
}

@test "a '..' entry is skipped, the run goes on, exit 1; --stop-on-error stops there" {
	BAD='f("a/../../escape")' mktar bad.tar
	skips x "pcwrite: $IMG:/d/a/../../escape: path has a '..' component"
	absent "$IMG" /escape
	absent "$IMG" /d/a
}

@test "a 256-byte name is skipped" {
	BAD='f("x" * 256)' mktar bad.tar
	skips x "pcwrite: $IMG:/d/$(printf 'x%.0s' $(seq 256)): file name longer than 255 bytes"
}

@test "a hard link whose target is missing is skipped, and makes no parent" {
	BAD='f("sub/hl", kind=tarfile.LNKTYPE, link="missing", data=b"")' mktar bad.tar
	skips x "pcwrite: $IMG:/d/sub/hl: hard link target does not exist in the image, or is a directory"
	absent "$IMG" /d/sub
}

@test "a hard link escaping DIR (../outside) is skipped" {
	printf 'secret\n' | "$PCWRITE" "$IMG" /outside
	BAD='f("hl", kind=tarfile.LNKTYPE, link="../outside", data=b"")' mktar bad.tar
	skips x "pcwrite: $IMG:/d/hl: path has a '..' component"
	absent "$IMG" /d/hl
	run -0 debugfs -R "stat /outside" "$IMG"
	[[ "$output" == *"Links: 1"* ]]
}

@test "a file over a directory is skipped, the directory kept" {
	BAD='f("sub", kind=tarfile.DIRTYPE); f("sub/in", b"in\n"); f("sub")' mktar bad.tar
	skips x "pcwrite: $IMG:/d/sub: destination is a directory"
	run -0 debugfs -R "stat /d/sub" "$IMG"
	[[ "$output" == *"Type: directory"* ]]
	[ "$(dcat "$IMG" /d/sub/in)" = in ]
}

@test "-n: an existing file is refused and kept, the run goes on (tar's --keep-old-files)" {
	printf 'old\n' | "$PCWRITE" -p "$IMG" /d/exists
	BAD='f("exists")' mktar bad.tar
	skips x "pcwrite: $IMG:/d/exists: destination exists (--no-clobber)" -n
	[ "$(dcat "$IMG" /d/exists)" = old ]
}

@test "a device number out of range is skipped" {
	BAD='f("dev", kind=tarfile.CHRTYPE, devmajor=4096, devminor=1)' mktar bad.tar
	skips x "pcwrite: $IMG:/d/dev: device number does not fit an inode (major above 4095 or minor above 1048575)"
	absent "$IMG" /d/dev
}

@test "an entry of a type pcwrite cannot make, and an owner out of range, refused by the archive reader, are skipped" {
	BAD='f("sl", kind=tarfile.SYMTYPE, link="")' mktar bad.tar
	skips x "pcwrite: archive 'bad.tar': sl: entry of a type pcwrite cannot make"
	absent "$IMG" /d/sl
	# the report says it was skipped, and why
	run -1 "$PCWRITE" -x -r entries "$IMG" /d bad.tar
	[[ "$output" == *'{"event":"file","file":"/d/sl","bytes":0,"size":0,"pages":0,"extents":0,"status":"skipped","error":"EOPNOTSUPP","message":"entry of a type pcwrite cannot make"}'* ]]
	cp "$BATS_FILE_TMPDIR/base.img" "$IMG"
	BAD='f("own", uid=4294967295)' mktar bad.tar
	skips x "pcwrite: archive 'bad.tar': own: owner or group outside 0..4294967294"
	absent "$IMG" /d/own
}

@test "an xattr over 64 KiB is skipped, and so is every entry with xattrs on a filesystem without ext_attr" {
	BAD='f("big", xattrs={"user.big": "v" * 70000})' mktar bad.tar
	skips x "pcwrite: $IMG:/d/big: extended attribute value larger than 64 KiB (the kernel's limit)"
	absent "$IMG" /d/big
	mkimg "$IMG" 32M -t ext4 -O ^ext_attr
	BAD='f("x1", xattrs={"user.a": "1"}); f("mid", b"mid\n"); f("x2", xattrs={"user.b": "2"})' mktar two.tar
	run -1 --separate-stderr "$PCWRITE" -x -p "$IMG" /d two.tar
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ "${stderr_lines[0]}" == "pcwrite: $IMG:/d/x1: filesystem cannot hold extended attributes"* ]]
	[[ "${stderr_lines[1]}" == "pcwrite: $IMG:/d/x2: filesystem cannot hold extended attributes"* ]]
	[ "$(dcat "$IMG" /d/mid)" = mid ]
	[ "$(dcat "$IMG" /d/after)" = after ]
	absent "$IMG" /d/x1
	absent "$IMG" /d/x2
	fsck_clean "$IMG"
}

# counts IMAGE: its free blocks and inodes, as dumpe2fs reads them.
counts() {
	dumpe2fs -h "$1" 2>/dev/null | grep -E '^Free (blocks|inodes):'
}

@test "entries refused half-way (made, then their xattrs did not fit) leave no trace: free counts of a run without them" {
	# 1 KiB blocks, 128-byte inodes, no ea_inode: 3 x 600 bytes fit nowhere
	mkimg "$IMG" 32M -t ext4 -b 1024 -I 128
	cp "$IMG" without.img
	local x='xattrs={"user.%d" % i: "v" * 600 for i in range(3)}'
	BAD="f('file', b'y' * 5000, $x)
f('dir', kind=tarfile.DIRTYPE, $x)
f('link', kind=tarfile.SYMTYPE, link='t' * 200, $x)
f('fifo', kind=tarfile.FIFOTYPE, $x)
f('first', b'')
f('second', b'z' * 3000, kind=tarfile.LNKTYPE, link='first', $x)" mktar bad.tar
	BAD="f('first', b'')" mktar good.tar
	run -1 --separate-stderr "$PCWRITE" -x -p "$IMG" /d bad.tar
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 5 ]
	local n
	for n in file dir link fifo second; do
		[[ "$stderr" == *"pcwrite: $IMG:/d/$n: no room for the extended attributes in the inode or its attribute block"* ]]
		absent "$IMG" /d/$n
	done
	[ "$(dcat "$IMG" /d/before)" = before ]
	[ "$(dcat "$IMG" /d/after)" = after ]
	run -0 debugfs -R "stat /d/first" "$IMG"
	[[ "$output" == *"Links: 1"* ]]
	fsck_clean "$IMG"
	run -0 "$PCWRITE" -x -p without.img /d good.tar
	# the hard link's data stays with the inode its first name holds
	[ "$(dcat "$IMG" /d/first | wc -c)" -eq 3000 ]
	printf 'z%.0s' $(seq 3000) | "$PCWRITE" --append without.img /d/first
	echo "with: $(counts "$IMG") without: $(counts without.img)"
	[ "$(counts "$IMG")" = "$(counts without.img)" ]
}

# A regular file replaced by an entry refused half-way: with the journal
# the entry went into an unnamed inode (swapped in only at the end), so the
# old file stays, whole; --no-journal removes it first, as tar does.
@test "a replacement refused half-way (its xattrs do not fit) leaves the old file as it was; --no-journal has removed it" {
	mkimg "$IMG" 32M -t ext4 -b 1024 -I 128
	printf 'old%.0s' $(seq 2000) >old
	"$PCWRITE" -p "$IMG" /d/file <old
	cp "$IMG" nj.img
	BAD='f("file", b"y" * 5000, xattrs={"user.%d" % i: "v" * 600 for i in range(3)})' mktar bad.tar
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" /d bad.tar
	[[ "$stderr" == "pcwrite: $IMG:/d/file: no room for the extended attributes"* ]]
	fsck_clean "$IMG"
	[ "$(dcat "$IMG" /d/file)" = "$(cat old)" ]
	[ "$(dcat "$IMG" /d/after)" = after ]
	[ "$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^First orphan inode: *//p')" = "" ]
	run -1 --separate-stderr "$PCWRITE" --no-journal -x nj.img /d bad.tar
	fsck_clean nj.img
	absent nj.img /d/file
}

@test "--stop-on-error after an entry refused half-way: the run ends there, the entry undone" {
	mkimg "$IMG" 32M -t ext4 -b 1024 -I 128
	BAD='f("file", b"y" * 5000, xattrs={"user.%d" % i: "v" * 600 for i in range(3)})' mktar bad.tar
	run -1 --separate-stderr "$PCWRITE" -x -p --stop-on-error "$IMG" /d bad.tar
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "pcwrite: $IMG:/d/file: no room for the extended attributes"* ]]
	absent "$IMG" /d/file
	absent "$IMG" /d/after
	[ "$(dcat "$IMG" /d/before)" = before ]
	fsck_clean "$IMG"
}

@test "the JSON report: a skipped record with the reason, the end record counts it, schema 2" {
	BAD='f("a/../x"); f("y" * 256)' mktar bad.tar
	run -1 --separate-stderr "$PCWRITE" -x -p -r json "$IMG" /d bad.tar
	python3 - "$output" <<'PY'
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
assert recs[0]["event"] == "start" and recs[0]["schema"] == 2, recs[0]
files = [r for r in recs if r["event"] == "file"]
assert [r["status"] for r in files] == ["ok", "skipped", "skipped", "ok"], files
assert files[1]["file"] == "/d/a/../x" and files[1]["error"] == "EXDEV", files[1]
assert files[2]["error"] == "ENAMETOOLONG", files[2]
assert "ino" not in files[1] and "action" not in files[1], files[1]
end = recs[-1]
assert end["event"] == "end" and end["status"] == 1, end
assert end["skipped"] == 2 and end["ok"] == 2 and end["failed"] == 0, end
assert "error" not in end, end
PY
	fsck_clean "$IMG"
}

@test "-v lists the good entries; a bad one gets its line and no listing" {
	BAD='f("a/../x")' mktar bad.tar
	run -1 --separate-stderr "$PCWRITE" -x -p -v "$IMG" /d bad.tar
	echo "out: $output"
	echo "err: $stderr"
	[[ "$output$stderr" == *before* && "$output$stderr" == *after* ]]
	[ "$(printf '%s\n%s\n' "$output" "$stderr" | grep -c "'\.\.' component")" -eq 1 ]
}

# rtree: a host tree a (1 byte), b, c, d, e, read in that order.
rtree() {
	mkdir -p src
	printf '1\n' >src/a
	printf 'bbbb\n' >src/b
	printf 'grow\n' >src/c
	printf 'shrinkme\n' >src/d
	printf 'e\n' >src/e
}

# shim_run HOOK DO: -R src into /r with tests/eio_shim.c's open hook.
shim_run() {
	run --separate-stderr env LD_PRELOAD="$BATS_FILE_TMPDIR/eio_shim.so" \
		PCW_OPEN_HOOK="$1" PCW_OPEN_DO="$2" "$PCWRITE" -R -p "$IMG" /r src
	echo "status $status: $stderr"
}

@test "-R: a file removed before it is read is warned about, the rest written, exit 1" {
	rtree
	# b is listed with its directory, then removed as a is opened
	shim_run a "unlink=$PWD/src/b"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: source directory 'src': src/b: file removed before we read it" ]
	absent "$IMG" /r/b
	[ "$(dcat "$IMG" /r/a)" = 1 ]
	[ "$(dcat "$IMG" /r/e)" = e ]
	fsck_clean "$IMG"
	# a directory removed after its parent was listed: made from the
	# listing's stat (as tar writes its header), then not read
	cp "$BATS_FILE_TMPDIR/base.img" "$IMG"
	rm -rf src && rtree && mkdir src/sub
	shim_run a "rmdir=$PWD/src/sub"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: source directory 'src': src/sub: file removed before we read it" ]
	[ "$(dcat "$IMG" /r/e)" = e ]
	fsck_clean "$IMG"
}

@test "-R: a file that grows or shrinks while it is read is written as read, warned about, exit 1" {
	rtree
	shim_run c "append=5000"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: source directory 'src': src/c: file changed as we read it" ]
	cmp <(dcat "$IMG" /r/c) src/c
	[ "$(stat -c %s src/c)" -eq 5005 ]
	[ "$(dcat "$IMG" /r/e)" = e ]
	fsck_clean "$IMG"
	cp "$BATS_FILE_TMPDIR/base.img" "$IMG"
	rm -rf src && rtree
	shim_run d "truncate=3"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pcwrite: source directory 'src': src/d: file changed as we read it" ]
	[ "$(dcat "$IMG" /r/d)" = shr ]
	[ "$(dcat "$IMG" /r/e)" = e ]
	fsck_clean "$IMG"
	# an unchanged tree: no word, exit 0
	cp "$BATS_FILE_TMPDIR/base.img" "$IMG"
	rm -rf src && rtree
	shim_run nothing-named-so "append=1"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "--stop-on-error goes with -x or -R only" {
	run -2 --separate-stderr "$PCWRITE" --stop-on-error "$IMG" /f </dev/null
	[[ "$stderr" == "pcwrite: --stop-on-error goes with -x or -R"* ]]
}

@test "an existing directory whose entry's xattrs do not fit is skipped and keeps its mode, owner and times" {
	mkimg "$IMG" 32M -t ext4 -b 1024 -I 128
	python3 - <<'PY'
import tarfile
t = tarfile.open('m.tar', 'w', format=tarfile.PAX_FORMAT)
ti = tarfile.TarInfo('d'); ti.type = tarfile.DIRTYPE; ti.mode = 0o700
ti.uid = ti.gid = 1000; ti.mtime = 1000000000
ti.pax_headers = {'SCHILY.xattr.user.big': 'v' * 6000}
t.addfile(ti)
t.close()
PY
	run -0 "$PCWRITE" -p "$IMG" /d/f < /dev/null
	before=$(dstat "$IMG" /d | grep -E "Mode:|User:|mtime:")
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / m.tar
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "pcwrite: $IMG:/d: "* ]]
	[ "$(dstat "$IMG" /d | grep -E "Mode:|User:|mtime:")" = "$before" ]
	fsck_clean "$IMG"
}
