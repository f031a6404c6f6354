#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# extract.bats: -x (archives) and -R (host trees).  The oracle is the
# kernel: the image is loop-mounted read-only and compared entry by entry
# with the source tree (tests/treecmp.py: type, mode, owner, size, mtime,
# device numbers, link targets, hard-link groups, xattrs and ACLs, content
# hash); e2fsck -fn after every run.

load test_helper
load kernel_helper

TREECMP="$BATS_TEST_DIRNAME/treecmp.py"

# mktree DIR: every entry type, attributes and xattrs (root: owners,
# devices and file capabilities).
mktree() {
	local t=$1
	mkdir -p "$t/etc/sub" "$t/empty" "$t/bin" "$t/usr/share/doc" "$t/dev"
	printf 'hello\n' >"$t/etc/hosts"
	head -c 100000 /dev/urandom >"$t/bin/tool"
	chmod 4755 "$t/bin/tool"
	ln -s ../etc/hosts "$t/bin/link"
	ln -s "$(printf 'x%.0s' $(seq 1 100))" "$t/longlink"
	ln "$t/etc/hosts" "$t/etc/hosts2"
	ln "$t/etc/hosts" "$t/usr/share/doc/hosts3"
	mkfifo "$t/fifo"
	chmod 1777 "$t/empty"
	chmod 2750 "$t/usr/share"
	truncate -s 10M "$t/sparse"
	printf 'x' | dd of="$t/sparse" bs=1 seek=5000000 conv=notrunc 2>/dev/null
	for i in $(seq 1 40); do printf '%s\n' "$i" >"$t/usr/share/doc/f$i"; done
	setfattr -n user.test -v value "$t/etc/hosts"
	setfattr -n trusted.x -v secret "$t/etc/hosts" 2>/dev/null || true
	setfacl -m u:1234:rw "$t/etc/sub"
	setfacl -d -m g:55:rx "$t/etc/sub"
	if [ "$(id -u)" -eq 0 ]; then
		mknod "$t/dev/null" c 1 3
		mknod "$t/dev/big" b 259 100000
		chown 4000000000:3000000001 "$t/etc/hosts"
		chown -h 7:8 "$t/bin/link"
		setcap cap_net_raw+ep "$t/bin/tool"
	fi
	printf 'nanoseconds\n' >"$t/etc/ns"
	find "$t" -exec touch -h -d '2020-05-06 07:08:09' {} +
	touch -d '2001-02-03 04:05:06.123456789' "$t/etc/hosts" "$t/etc/ns"
}

# dcat IMAGE PATH: the file's bytes, as debugfs reads them.
dcat() {
	debugfs -R "cat $2" "$1" 2>/dev/null
}

setup_file() {
	FIX=$BATS_FILE_TMPDIR
	mkdir -p "$FIX/tree"
	mktree "$FIX/tree"
	tar --xattrs --xattrs-include='*' --acls --sparse --format=pax \
		-cf "$FIX/tree.tar" -C "$FIX/tree" .
	mkimg "$FIX/base.img" 64M -t ext4 -I 256
	export FIX
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	cp --sparse=always "$FIX/base.img" "$IMG"
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	[ -z "${PID:-}" ] || kill -9 "$PID" 2>/dev/null || true
	[ -z "${FEEDER:-}" ] || pkill -P "$FEEDER" 2>/dev/null || true
	kernel_teardown
}

# compare IMAGE DIR SRCTREE [treecmp options]: the kernel's view of DIR is
# the source tree.
compare() {
	local img=$1 dir=$2 src=$3
	shift 3
	fsck_clean "$img"
	kernel_mount "$img" || skip "no root or loop devices"
	run python3 "$TREECMP" "$src" "$KMNT$dir" "$@"
	echo "$output"
	kernel_umount
	[ "$status" -eq 0 ]
}

@test "-x: a pax tar from a pipe, every entry type and attribute, as the kernel reads it" {
	run -0 "$PCWRITE" -x "$IMG" / <"$FIX/tree.tar"
	compare "$IMG" / "$FIX/tree"
}

@test "-x into a directory made with -p; entries' report records carry their type" {
	run -0 --separate-stderr "$PCWRITE" -x -p -r json "$IMG" /srv/root "$FIX/tree.tar"
	[[ "$output" =~ '"file":"/srv/root/etc/hosts2","ftype":"hardlink"' ]]
	[[ "$output" =~ '"file":"/srv/root/fifo","ftype":"fifo"' ]]
	[[ "$output" =~ '"file":"/srv/root/bin/tool","ftype":"file","bytes":100000' ]]
	[[ "$output" =~ '"event":"page","file":"/srv/root/bin/tool"' ]]
	compare "$IMG" /srv/root "$FIX/tree"
}

@test "-x without -p: a missing DIR is refused, the image unchanged" {
	cp "$IMG" before
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" /nope "$FIX/tree.tar"
	[[ "$stderr" =~ "directory does not exist" ]]
	unchanged "$IMG" before
}

@test "-x: GNU tar, compressed with gzip, xz, zstd, bzip2 and lz4" {
	# GNU format: no xattrs or ACLs, times in seconds.
	tar --format=gnu -cf gnu.tar -C "$FIX/tree" .
	for z in gzip xz zstd bzip2 lz4; do
		command -v $z >/dev/null || continue
		cp --sparse=always "$FIX/base.img" "$IMG"
		$z -c <gnu.tar >"archive.$z"
		run -0 "$PCWRITE" -x -p "$IMG" /d "archive.$z"
		compare "$IMG" /d "$FIX/tree" --no-xattrs --no-nsec
	done
}

@test "-x: cpio (newc) carries no xattrs; the rest is kept, hard links included" {
	(cd "$FIX/tree" && find . | cpio -o -H newc 2>/dev/null) >tree.cpio
	run -0 "$PCWRITE" -x "$IMG" / tree.cpio
	compare "$IMG" / "$FIX/tree" --no-xattrs --no-nsec
}

@test "-x: zip (files, directories, symlinks)" {
	command -v bsdtar >/dev/null || skip "bsdtar not installed"
	# Zip keeps no owners, ACLs or hard links: a tree without them.
	mkdir -p z/etc/sub z/bin
	printf 'hello\n' >z/etc/hosts
	head -c 70000 /dev/urandom >z/bin/tool
	chmod 755 z/bin/tool
	chmod 700 z/etc/sub
	ln -s ../etc/hosts z/bin/link
	bsdtar --format=zip -cf tree.zip -C z .
	run -0 "$PCWRITE" -x -p "$IMG" /z tree.zip
	compare "$IMG" /z z --no-xattrs --no-owner --no-times
}

# mkmtree TREE MANIFEST CONTENTS-PREFIX: a manifest of TREE whose files take
# their data from contents=PREFIX/path.
mkmtree() {
	python3 - "$1" "$3" >"$2" <<'EOF'
import os, stat, sys
root, prefix = sys.argv[1], sys.argv[2]
print("#mtree")
def esc(s):
    return "".join(c if c.isalnum() or c in "._-/" else "\\%03o" % ord(c) for c in s)
seen = {}
for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for n in [""] + sorted(dirs + files) if dirpath == root else sorted(dirs + files):
        p = os.path.join(dirpath, n) if n else dirpath
        rel = "./" + os.path.relpath(p, root) if n else "."
        st = os.lstat(p)
        kw = ["uid=%d" % st.st_uid, "gid=%d" % st.st_gid,
              "mode=%o" % stat.S_IMODE(st.st_mode),
              "time=%d.%09d" % (st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9)]
        if stat.S_ISDIR(st.st_mode):
            kw.insert(0, "type=dir")
        elif stat.S_ISLNK(st.st_mode):
            kw.insert(0, "type=link link=%s" % esc(os.readlink(p)))
        elif stat.S_ISREG(st.st_mode):
            kw.insert(0, "type=file size=%d contents=%s" % (st.st_size, esc(os.path.join(prefix, os.path.relpath(p, root)))))
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            kw.insert(0, "type=%s device=native,%d,%d" % ("char" if stat.S_ISCHR(st.st_mode) else "block", os.major(st.st_rdev), os.minor(st.st_rdev)))
        elif stat.S_ISFIFO(st.st_mode):
            kw.insert(0, "type=fifo")
        else:
            continue
        print(esc(rel), " ".join(kw))
EOF
}

@test "-x: an mtree manifest, data from contents= relative to the manifest's directory" {
	mkdir -p m/data
	cp -a "$FIX/tree/." m/data/
	mkmtree m/data m/manifest data
	mkdir elsewhere
	cd elsewhere
	run -0 "$PCWRITE" -x "$IMG" / ../m/manifest
	cd ..
	# libarchive links the entries whose contents= files are one inode.
	compare "$IMG" / "$FIX/tree" --no-xattrs
}

@test "-x: mtree entries that share a contents= file but declare different modes are separate files" {
	mkdir -p m/data
	printf 'root:x:0:0::/root:/bin/sh\n' >m/data/passwd
	ln m/data/passwd m/data/passwd.orig	# the host file has two links
	printf '#mtree\n./passwd type=file mode=0644 contents=data/passwd\n./shadow type=file mode=0600 contents=data/passwd\n./copy type=file mode=0644 contents=data/passwd.orig\n' >m/manifest
	run -0 "$PCWRITE" -x "$IMG" / m/manifest
	fsck_clean "$IMG"
	run -0 debugfs -R "stat /shadow" "$IMG"
	[[ "$output" =~ "Mode:  0600" ]]
	[[ "$output" =~ "Links: 1" ]]
	[ "$(dcat "$IMG" /shadow)" = "root:x:0:0::/root:/bin/sh" ]
	# the same inode with the same attributes: one file, two names
	run -0 debugfs -R "stat /passwd" "$IMG"
	[[ "$output" =~ "Mode:  0644" ]]
	[[ "$output" =~ "Links: 2" ]]
	[ "$(debugfs -R "ls -l /" "$IMG" 2>/dev/null | awk '$NF == "passwd" || $NF == "copy" {print $1}' | uniq | wc -l)" = 1 ]
}

@test "-x: an mtree time=-1 is kept (1969-12-31 23:59:59), and that entry stays apart from one declaring no time" {
	mkdir -p m/data
	printf 'x\n' >m/data/f
	ln m/data/f m/data/g
	printf '#mtree\n./a type=file mode=0644 uid=0 gid=0 time=-1.0 contents=data/f\n./b type=file mode=0644 uid=0 gid=0 contents=data/g\n' >m/manifest
	run -0 "$PCWRITE" -x "$IMG" / m/manifest
	fsck_clean "$IMG"
	run -0 debugfs -R "stat /a" "$IMG"
	[[ "$output" =~ "Links: 1" ]]
	[[ "$output" =~ "mtime: 0xffffffff:00000000" ]]
	run -0 debugfs -R "stat /b" "$IMG"
	[[ "$output" =~ "Links: 1" ]]
}

@test "-x: mtree from standard input takes contents= from the current directory" {
	mkdir -p m/data
	cp -a "$FIX/tree/etc" m/data/
	mkmtree m/data m/manifest data
	cd m
	run -0 "$PCWRITE" -x -p "$IMG" /m <manifest
	cd ..
	[ "$(dcat "$IMG" /m/etc/hosts)" = hello ]
}

@test "-x: an mtree file whose data is not the size= it declares stops the run" {
	mkdir -p m/data
	printf 'abc' >m/data/three
	printf 'ok\n' >m/data/first
	printf '#mtree\n./first type=file size=3 contents=data/first mode=0644\n./three type=file size=5 contents=data/three mode=0644\n./after type=dir\n' >m/manifest
	run -1 --separate-stderr "$PCWRITE" -x -p "$IMG" /m m/manifest
	echo "$stderr"
	[ "$stderr" = "pcwrite: archive 'm/manifest': ./three: 3 bytes read, the manifest says size=5" ]
	fsck_clean "$IMG"
	[ "$(dcat "$IMG" /m/first)" = ok ]
	run debugfs -R "stat /m/after" "$IMG"
	[[ "$output" =~ "not found" ]]
}

@test "-R: the contents of a host tree, as the kernel reads it" {
	run -0 "$PCWRITE" -R "$IMG" / "$FIX/tree"
	compare "$IMG" / "$FIX/tree"
}

@test "-R walks in sorted order: the same tree gives byte-identical images" {
	export SOURCE_DATE_EPOCH=1700000000
	run -0 "$PCWRITE" -R "$IMG" / "$FIX/tree"
	cp --sparse=always "$FIX/base.img" img2
	run -0 "$PCWRITE" -R img2 / "$FIX/tree"
	unchanged "$IMG" img2
	fsck_clean "$IMG"
}

@test "-x with SOURCE_DATE_EPOCH: byte-identical images, newer times clamped" {
	export SOURCE_DATE_EPOCH=1500000000
	run -0 "$PCWRITE" -x "$IMG" / "$FIX/tree.tar"
	cp --sparse=always "$FIX/base.img" img2
	sleep 1
	run -0 "$PCWRITE" -x img2 / "$FIX/tree.tar"
	unchanged "$IMG" img2
	run -0 debugfs -R "stat /etc/sub" "$IMG"
	[[ "$output" =~ "mtime: 0x59682f00" ]]	# 1500000000, clamped
	run -0 debugfs -R "stat /etc/hosts" "$IMG"
	[[ "$output" =~ "mtime: 0x3a7b8372:1d6f3454" ]]	# 2001, older, kept
	fsck_clean "$IMG"
}

# Through the journal, a pipe that runs dry cuts a transaction where a file
# does not: the log is wiped at the end of a reproducible run.
@test "-x with SOURCE_DATE_EPOCH from a pipe that runs dry: byte-identical to -x from the file (the journal's log wiped)" {
	export SOURCE_DATE_EPOCH=1500000000
	run -0 "$PCWRITE" -x "$IMG" / "$FIX/tree.tar"
	cp --sparse=always "$FIX/base.img" img2
	{ head -c 3000; sleep 0.3; head -c 20000; sleep 0.3; cat; } <"$FIX/tree.tar" |
		"$PCWRITE" -x img2 /
	unchanged "$IMG" img2
	[ "$(dumpe2fs -h img2 2>/dev/null | sed -n 's/^Journal start: *//p')" = 0 ]
	fsck_clean img2
}

@test "-x -u -g --mtime: every entry's owner and times" {
	run -0 "$PCWRITE" -x -u 0 -g 0 --mtime=1234567890 "$IMG" / "$FIX/tree.tar"
	kernel_mount "$IMG" || skip "no root or loop devices"
	run -0 stat -c '%u %g %Y %X %Z' "$KMNT/etc/hosts" "$KMNT/etc/sub" "$KMNT/bin/link"
	kernel_umount
	[ "${lines[0]}" = "0 0 1234567890 1234567890 1234567890" ]
	[ "${lines[1]}" = "0 0 1234567890 1234567890 1234567890" ]
	[ "${lines[2]}" = "0 0 1234567890 1234567890 1234567890" ]
}

@test "-x: a sparse entry stays sparse" {
	run -0 "$PCWRITE" -x "$IMG" / "$FIX/tree.tar"
	run -0 debugfs -R "ex /sparse" "$IMG"
	echo "$output"
	[ "$(extent_count "$IMG" /sparse)" -eq 1 ]
	[ "$(dstat "$IMG" /sparse | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')" -le 8 ]
}

@test "--no-xattrs drops extended attributes and ACLs" {
	run -0 "$PCWRITE" -x --no-xattrs "$IMG" / "$FIX/tree.tar"
	fsck_clean "$IMG"
	kernel_mount "$IMG" || skip "no root or loop devices"
	run getfattr -d -m - "$KMNT/etc/hosts" "$KMNT/etc/sub" "$KMNT/bin/tool"
	kernel_umount
	[ -z "$output" ]
}

@test "an xattr the image cannot hold skips the entry, naming it (--stop-on-error: stops the run)" {
	mkimg "$IMG" 32M -t ext4 -O ^ext_attr
	cp "$IMG" fresh.img
	run -1 --separate-stderr "$PCWRITE" -x --stop-on-error "$IMG" / "$FIX/tree.tar"
	[[ "$stderr" =~ ^pcwrite:\ .*img:/.*:\ filesystem\ cannot\ hold\ extended\ attributes ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	fsck_clean "$IMG"
	# Without it (issue 16): each entry with xattrs is skipped, one line
	# each, the rest of the archive written.
	cp fresh.img "$IMG"
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / "$FIX/tree.tar"
	echo "$stderr"
	[ "${#stderr_lines[@]}" -ge 2 ]
	! printf '%s\n' "${stderr_lines[@]}" | grep -v ': filesystem cannot hold extended attributes'
	[ "$(dcat "$IMG" /etc/ns)" = nanoseconds ]
	[ "$(dcat "$IMG" /usr/share/doc/f40)" = 40 ]
	fsck_clean "$IMG"
}

@test "an existing file is replaced, an existing directory merged, -n stops at a file" {
	printf 'old\n' | "$PCWRITE" -p "$IMG" /etc/hosts
	printf 'keep\n' | "$PCWRITE" -p "$IMG" /etc/keep
	run -0 "$PCWRITE" -x "$IMG" / "$FIX/tree.tar"
	[ "$(dcat "$IMG" /etc/hosts)" = hello ]
	[ "$(dcat "$IMG" /etc/keep)" = keep ]
	fsck_clean "$IMG"
	cp "$IMG" before
	run -1 --separate-stderr "$PCWRITE" -x -n "$IMG" / "$FIX/tree.tar"
	[[ "$stderr" =~ "destination exists" ]]
	fsck_clean "$IMG"
}

@test "a directory is never replaced by a non-directory; a directory replaces a file" {
	mkdir -p a/x
	printf 'file\n' >a/y
	tar -cf one.tar -C a .
	rm -rf a && mkdir -p a/y
	printf 'file\n' >a/x
	tar -cf two.tar -C a ./x
	tar -cf three.tar -C a ./y
	run -0 "$PCWRITE" -x -p "$IMG" /t one.tar
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" /t two.tar
	[[ "$stderr" =~ img:/t/x:\ destination\ is\ a\ directory ]]
	fsck_clean "$IMG"
	run -0 "$PCWRITE" -x "$IMG" /t three.tar
	run -0 debugfs -R "stat /t/y" "$IMG"
	[[ "$output" =~ "Type: directory" ]]
	fsck_clean "$IMG"
}

# mkarchive NAME: a pax tar made with python's tarfile module, one entry a
# line on standard input: "file NAME [DATA]", "dir NAME", "symlink NAME
# TARGET", "hardlink NAME TARGET".
mkarchive() {
	python3 -c '
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for line in sys.stdin.read().splitlines():
        kind, name, *rest = line.split(" ", 2)
        ti = tarfile.TarInfo(name)
        if kind == "file":
            data = (rest[0] if rest else "data").encode() + b"\n"
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
            continue
        ti.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                   "hardlink": tarfile.LNKTYPE}[kind]
        if rest:
            ti.linkname = rest[0]
        t.addfile(ti)
' "$1"
}

@test "hostile: a '..' component is refused, naming the entry; what came before is committed" {
	mkarchive evil.tar <<'EOF'
file ok first
file a/../../escape
file after
EOF
	cp "$IMG" fresh.img
	run -1 --separate-stderr "$PCWRITE" -x -p --stop-on-error "$IMG" /d evil.tar
	[[ "$stderr" =~ img:/d/a/../../escape:\ path\ has\ a\ \'..\'\ component ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$(dcat "$IMG" /d/ok)" = first ]
	run debugfs -R "stat /escape" "$IMG"
	[[ "$output" =~ "not found" ]]
	run debugfs -R "stat /d/after" "$IMG"
	[[ "$output" =~ "not found" ]]
	fsck_clean "$IMG"
	# Without --stop-on-error (issue 16) the run goes on past it, exit 1.
	cp fresh.img "$IMG"
	run -1 --separate-stderr "$PCWRITE" -x -p "$IMG" /d evil.tar
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$(dcat "$IMG" /d/after)" = data ]
	run debugfs -R "stat /escape" "$IMG"
	[[ "$output" =~ "not found" ]]
	fsck_clean "$IMG"
}

@test "hostile: a symlink the archive made is never followed (link -> /etc, then link/passwd)" {
	printf 'root:x:0:0\n' | "$PCWRITE" -p "$IMG" /etc/passwd
	cp "$IMG" before
	mkarchive evil.tar <<'EOF'
symlink link /etc
file link/passwd owned
EOF
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / evil.tar
	[[ "$stderr" =~ img:/link/passwd:\ path\ goes\ through\ a\ symbolic\ link\ this\ run\ made ]]
	[ "$(dcat "$IMG" /etc/passwd)" = "root:x:0:0" ]
	fsck_clean "$IMG"
	# A relative one, and a hard link through one, are refused too.
	mkarchive evil2.tar <<'EOF'
symlink up ../../../etc
hardlink x up/passwd
EOF
	run -1 --separate-stderr "$PCWRITE" -x -p "$IMG" /d evil2.tar
	[[ "$stderr" =~ "hard link target does not exist" ]] || [[ "$stderr" =~ "symbolic link this run made" ]]
	run -0 debugfs -R "stat /etc/passwd" "$IMG"
	[[ "$output" =~ "Links: 1" ]]
	fsck_clean "$IMG"
}

@test "hostile: leading '/' is stripped; a hard link outside DIR is refused" {
	mkarchive abs.tar <<'EOF'
file /etc/abs absolute
hardlink inside ../outside
EOF
	run -1 --separate-stderr "$PCWRITE" -x -p "$IMG" /d abs.tar
	[ "$(dcat "$IMG" /d/etc/abs)" = absolute ]
	[[ "$stderr" =~ "'..' component" ]]
	fsck_clean "$IMG"
}

@test "symlinks already in the image are followed: a merged-/usr image takes lib/ entries" {
	debugfs -w -R "mkdir /usr" "$IMG" 2>/dev/null
	debugfs -w -R "mkdir /usr/lib" "$IMG" 2>/dev/null
	debugfs -w -R "symlink /lib usr/lib" "$IMG" 2>/dev/null
	fsck_clean "$IMG"
	mkarchive pkg.tar <<'EOF'
dir lib
file lib/libfoo.so.1 elf
EOF
	run -0 "$PCWRITE" -x "$IMG" / pkg.tar
	[ "$(dcat "$IMG" /usr/lib/libfoo.so.1)" = elf ]
	run -0 debugfs -R "stat /lib" "$IMG"
	[[ "$output" =~ "Type: symlink" ]]
	fsck_clean "$IMG"
}

@test "a truncated or corrupt archive is an error naming the archive and the entry" {
	head -c 150000 "$FIX/tree.tar" >cut.tar
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / cut.tar
	echo "$stderr"
	[[ "$stderr" =~ ^pcwrite:\ archive\ \'cut.tar\':\ .*:\ .*[Tt]runcated ]]
	fsck_clean "$IMG"
	head -c 4096 /dev/urandom >junk.tar
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / junk.tar
	[[ "$stderr" =~ ^pcwrite:\ archive\ \'junk.tar\':\  ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	fsck_clean "$IMG"
}

@test "ENOSPC part-way: earlier entries whole, the failing one holds what the message says" {
	mkimg "$IMG" 8M -t ext4 -b 1024
	mkdir big
	for i in 1 2 3 4 5; do head -c 2M /dev/urandom >big/f$i; done
	tar -cf big.tar -C big .
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / big.tar
	echo "$stderr"
	[[ "$stderr" =~ img:/(f[0-9]):\ No\ space\ left\ on\ device\ \(([0-9]+)\ bytes\ written\)$ ]]
	failed=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]}
	fsck_clean "$IMG"
	for f in $(tar -tf big.tar | sed 's|^\./||' | grep .); do
		if [ "$f" = "$failed" ]; then
			head -c "$n" "big/$f" >prefix
			readback "$IMG" "/$f" prefix
			break
		fi
		readback "$IMG" "/$f" "big/$f"
	done
}

# stall_feed N: a pax tar of N files f0..f(N-1) (5000 bytes each) on
# standard output, then a stall (the pipe stays open, empty) until killed.
stall_feed() {
	python3 - "$1" <<'PY'
import io, sys, tarfile, time
buf = io.BytesIO()
t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
for k in range(int(sys.argv[1])):
    data = (chr(97 + k % 26) * 5000).encode()
    ti = tarfile.TarInfo("f%d" % k); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
sys.stdout.buffer.write(buf.getvalue()); sys.stdout.flush()
time.sleep(60)
PY
}

@test "-x from a pipe that stalls: what came before is committed and reported while pcwrite waits; kill -9 there loses nothing reported" {
	command -v python3 >/dev/null || skip "python3 not installed"
	mkfifo fifo
	stall_feed 40 >fifo &
	FEEDER=$!
	"$PCWRITE" -x -r summary --report-file=report "$IMG" / <fifo &
	PID=$!
	local k
	for k in $(seq 100); do
		[ "$(grep -c ': ok$' report 2>/dev/null)" = 40 ] && break
		sleep 0.1
	done
	cat report
	[ "$(grep -c ': ok$' report)" = 40 ]
	# pcwrite waits for more input: kill it where it cannot clean up
	kill -9 "$PID"
	wait "$PID" || true
	PID=
	run e2fsck -fy "$IMG"
	[ "$status" -lt 4 ]
	fsck_clean "$IMG"
	for k in $(seq 0 39); do
		python3 -c 'import sys; k = int(sys.argv[1]); sys.stdout.write(chr(97 + k % 26) * 5000)' "$k" >expect
		readback "$IMG" "/f$k" expect
	done
}

@test "-R skips the image itself (and says so) when the tree holds it" {
	mkdir t
	printf 'a\n' >t/a
	mv "$IMG" t/the.img
	run -0 --separate-stderr "$PCWRITE" -R t/the.img / t
	[[ "$stderr" =~ t/the.img:\ file\ is\ the\ image ]]
	[ "$(dcat t/the.img /a)" = a ]
	run debugfs -R "stat /the.img" t/the.img
	[[ "$output" =~ "not found" ]]
	fsck_clean t/the.img
}

@test "10000 names from a tar stream into one directory: e2fsck clean, every name found" {
	python3 - <<'EOF'
import io, tarfile
with tarfile.open("many.tar", "w") as t:
    for i in range(10000):
        ti = tarfile.TarInfo("d/file-%05d" % i)
        t.addfile(ti, io.BytesIO(b""))
EOF
	mkimg "$IMG" 64M -t ext4 -N 12000
	run -0 "$PCWRITE" -x "$IMG" / <many.tar
	fsck_clean "$IMG"
	kernel_mount "$IMG" || skip "no root or loop devices"
	run python3 -c "
import os, sys
d = sys.argv[1]
for i in range(10000):
    os.stat(os.path.join(d, 'file-%05d' % i))
print(len(os.listdir(d)))" "$KMNT/d"
	kernel_umount
	[ "$output" = 10000 ]
}

@test "an xattr with no room in the inode or its block stops the run, naming the entry" {
	mkimg "$IMG" 32M -t ext4 -b 1024 -I 128
	mkdir big
	printf 'a\n' >big/a
	printf 'b\n' >big/b
	setfattr -n user.big -v "$(head -c 1500 /dev/zero | tr '\0' x)" big/b
	tar --xattrs --xattrs-include='*' --format=pax -cf big.tar -C big ./a ./b
	run -1 --separate-stderr "$PCWRITE" -x -p "$IMG" /d big.tar
	[[ "$stderr" =~ img:/d/b:\ no\ room\ for\ the\ extended\ attributes ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$(dcat "$IMG" /d/a)" = a ]
	fsck_clean "$IMG"
}

@test "pax names in UTF-8 under LANG=C: no libarchive conversion warning, the names byte-exact" {
	python3 - <<'PY'
import io, tarfile
with tarfile.open("u.tar", "w", format=tarfile.PAX_FORMAT, encoding="utf-8") as t:
    for name in ("naïve-日本語", "dir-é/😀"):
        ti = tarfile.TarInfo(name)
        ti.size = 2
        t.addfile(ti, io.BytesIO(b"ok"))
# a name that is not UTF-8, as pax says it (hdrcharset=BINARY)
with tarfile.open("b.tar", "w", format=tarfile.PAX_FORMAT,
                  encoding="utf-8", errors="surrogateescape") as t:
    ti = tarfile.TarInfo(b"lat\xe9".decode("utf-8", "surrogateescape"))
    ti.size = 2
    t.addfile(ti, io.BytesIO(b"ok"))
PY
	local loc
	for loc in C POSIX C.UTF-8; do
		cp "$IMG" img.$loc
		run -0 --separate-stderr env -u LANG -u LANGUAGE LC_ALL=$loc "$PCWRITE" -x "img.$loc" / u.tar b.tar
		echo "$loc: $stderr"
		[ -z "$stderr" ]
		fsck_clean "img.$loc"
		[ "$(dcat "img.$loc" "/naïve-日本語")" = ok ]
		[ "$(dcat "img.$loc" "/dir-é/😀")" = ok ]
		[ "$(dcat "img.$loc" "$(printf '/lat\xe9')")" = ok ]
	done
	# messages keep their words whatever the locale
	run -1 --separate-stderr env LC_ALL=C "$PCWRITE" -x img.C /nope u.tar
	[ "$stderr" = "pcwrite: img.C:/nope: directory does not exist (use --parents)" ]
}

@test "a device number beyond what an inode holds is refused as such, never wrapped" {
	python3 - <<'PY'
import tarfile
with tarfile.open("big.tar", "w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("big"); ti.type = tarfile.CHRTYPE
    ti.devmajor = 4096; ti.devminor = 1; t.addfile(ti)
with tarfile.open("minor.tar", "w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("minor"); ti.type = tarfile.BLKTYPE
    ti.devmajor = 8; ti.devminor = 1048576; t.addfile(ti)
# 2^32 + 5: a 32-bit field would keep 5
with tarfile.open("wrap.tar", "w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("wrap"); ti.type = tarfile.CHRTYPE
    ti.devmajor = 5; ti.devminor = 1
    ti.pax_headers = {"SCHILY.devmajor": "4294967301"}; t.addfile(ti)
with tarfile.open("max.tar", "w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("max"); ti.type = tarfile.CHRTYPE
    ti.devmajor = 4095; ti.devminor = 1048575; t.addfile(ti)
PY
	local t
	for t in big minor wrap; do
		run -1 --separate-stderr "$PCWRITE" -x "$IMG" / $t.tar
		[ "$stderr" = "pcwrite: $IMG:/$t: device number does not fit an inode (major above 4095 or minor above 1048575)" ]
		! debugfs -R "stat /$t" "$IMG" 2>&1 | grep -q Type
	done
	run -0 "$PCWRITE" -x "$IMG" / max.tar
	fsck_clean "$IMG"
	debugfs -R "stat /max" "$IMG" 2>/dev/null | grep -q "Device major/minor number: 4095:1048575"
}

@test "-x -m and -R -m apply MODE to every entry, as GNU tar --mode does (and chmod with umask 0)" {
	mkdir -p src/d src/sg src/priv
	printf a >src/f; chmod 0640 src/f
	printf b >src/x; chmod 0750 src/x
	printf c >src/s; chmod 4755 src/s
	chmod 2755 src/sg; chmod 0700 src/priv; chmod 1777 src/d
	ln -s f src/l
	local m p
	for m in a+rX,o-w go-rwx,u+X 755 =644 u=rwX,go=rX g+s a-s 0; do
		cp "$IMG" "img.m"
		tar -C src -cf t.tar .
		run -0 "$PCWRITE" -x -m "$m" img.m / t.tar
		# GNU tar applies --mode when it writes the archive
		tar --mode="$m" -C src -cf tm.tar .
		rm -rf out && mkdir out && tar -C out --same-permissions -xf tm.tar
		for p in f x s d sg priv; do
			echo "-m $m: $p tar $(stat -c %a "out/$p"), pcwrite $(debugfs -R "stat /$p" img.m 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p')"
			[ "$(printf '%o' "$((8#$(debugfs -R "stat /$p" img.m 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p')))")" = "$(stat -c %a "out/$p")" ]
		done
		fsck_clean img.m
	done
	# -R: the same, from the host tree
	run -0 "$PCWRITE" -R -m go-w,a+rX "$IMG" / src
	(umask 0; cp -a src chm && find chm ! -type l -exec chmod go-w,a+rX {} +)
	for p in f x s d sg priv; do
		[ "$(printf '%o' "$((8#$(debugfs -R "stat /$p" "$IMG" 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p')))")" = "$(stat -c %a "chm/$p")" ]
	done
	fsck_clean "$IMG"
	# -a and -o stay usage errors with a tree
	run -2 --separate-stderr "$PCWRITE" -x -a "$IMG" / t.tar
	[ "${stderr_lines[0]}" = "pcwrite: --append and --offset cannot be used with -x or -R" ]
}

# ---- chattr flags: entries the kernel refuses (link, unlink, chmod EPERM) ----

# entries_tar FILE SPEC...: a pax tar; SPEC is NAME (a file "hi\n"),
# NAME/ (a directory), NAME=TARGET (a hard link), NAME@TARGET (a symlink).
entries_tar() {
	python3 - "$@" <<-'EOF'
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
	    for spec in sys.argv[2:]:
	        if "=" in spec or "@" in spec:
	            sep = "=" if "=" in spec else "@"
	            name, target = spec.split(sep)
	            ti = tarfile.TarInfo(name)
	            ti.type = tarfile.LNKTYPE if sep == "=" else tarfile.SYMTYPE
	            ti.linkname = target
	            t.addfile(ti)
	        elif spec.endswith("/"):
	            ti = tarfile.TarInfo(spec.rstrip("/"))
	            ti.type = tarfile.DIRTYPE
	            ti.mode = 0o755
	            t.addfile(ti)
	        else:
	            ti = tarfile.TarInfo(spec)
	            ti.size = 3
	            t.addfile(ti, io.BytesIO(b"hi\n"))
	EOF
}

# setflags IMAGE PATH FLAGS: OR FLAGS (0x10 immutable, 0x20 append-only)
# into the inode's i_flags, as chattr +i/+a on a mount would.
setflags() {
	local cur
	cur=$(debugfs -R "stat $2" "$1" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	debugfs -w -R "set_inode_field $2 flags $(printf '0x%x' $((cur | $3)))" "$1" 2>/dev/null
}

@test "-x: chattr +i/+a refuse what link(2), unlink(2) and chmod refuse, as GNU tar meets it on a kernel mount" {
	entries_tar base.tar imm/ imm/x app/ app/x fi fa plain
	run -0 "$PCWRITE" -x "$IMG" / base.tar
	setflags "$IMG" /imm 0x10
	setflags "$IMG" /app 0x20
	setflags "$IMG" /fi 0x10
	setflags "$IMG" /fa 0x20
	fsck_clean "$IMG"
	cp "$IMG" flagged.img
	local kernel=
	if kernel_available; then kernel=1; fi
	# spec of the refused entry, and the words of its message
	while IFS='|' read -r spec msg; do
		entries_tar case.tar before "$spec"
		cp flagged.img "$IMG"
		run -1 --separate-stderr "$PCWRITE" -x "$IMG" / case.tar
		echo "$spec: $stderr"
		[ "${#stderr_lines[@]}" -eq 1 ]
		name=${spec%%[=@]*}
		[[ "$stderr" == "pcwrite: $IMG:/${name%/}: $msg"* ]]
		[ "$(dcat "$IMG" /before)" = hi ]	# what came before is committed
		fsck_clean "$IMG"
		if [ -n "$kernel" ]; then
			# GNU tar on a kernel mount fails there too (exit 2).
			cp flagged.img k.img
			kernel_mount_rw k.img
			run -2 tar -xf case.tar -C "$KMNT"
			echo "GNU tar: $output"
			[[ "$output" == *"Operation not permitted"* || "$output" == *"File exists"* ]]
			kernel_umount
		fi
	done <<-'CASES'
	l=fi|file is immutable or append-only (chattr +i, +a)
	l=fa|file is immutable or append-only (chattr +i, +a)
	imm/l=plain|directory '/imm' is immutable (chattr +i)
	imm/y|directory '/imm' is immutable (chattr +i)
	imm/s@x|directory '/imm' is immutable (chattr +i)
	imm/d/|directory '/imm' is immutable (chattr +i)
	app/x|directory '/app' is append-only (chattr +a): no name can be removed from it
	fi|file is immutable or append-only (chattr +i, +a)
	imm/|file is immutable or append-only (chattr +i, +a)
	app/|file is immutable or append-only (chattr +i, +a)
	CASES
	# New names in an append-only directory are allowed, as the kernel allows them.
	entries_tar ok.tar app/new app/l=plain app/d/
	cp flagged.img "$IMG"
	run -0 --separate-stderr "$PCWRITE" -x "$IMG" / ok.tar
	[ -z "$stderr" ]
	[ "$(dcat "$IMG" /app/new)" = hi ]
	fsck_clean "$IMG"
}
