#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# tarpath.bats: tar's path options under -x and -R (--strip-components,
# --exclude, --exclude-from/-X, --transform/--xform) and the -v/-vv listing.
#
# The oracle is GNU tar itself: the same archive and the same options, tar
# extracting into a kernel mount of one copy of the fresh image, pcwrite
# into another copy; the two trees are compared entry by entry, both ways
# (tests/treecmp.py --exact: type, mode, owner, size, mtime, link targets,
# hard-link groups, content).  For -R, tar's side is `tar -C SRC -c . |
# tar -x OPTIONS`.  Where tar 1.34 has a bug (a transform's match number, an
# empty match in a global transform) the oracle is sed, whose rules tar's
# manual gives.  e2fsck -fn after every run.

load test_helper
load kernel_helper

TREECMP="$BATS_TEST_DIRNAME/treecmp.py"

# mktree DIR: files, directories, hard links across directories, relative
# and absolute symlinks, a name with a space, a hidden directory, devices
# and a FIFO (root), owners and modes, fixed times.
mktree() {
	local t=$1
	mkdir -p "$t/etc/sub/deep" "$t/usr/bin" "$t/usr/lib" "$t/usr/share/doc" \
		"$t/cache/sub" "$t/skip" "$t/with space" "$t/.hidden" "$t/dev" \
		"$t/var/empty"
	printf 'hello\n' >"$t/etc/hosts"
	printf 'root:x:0:0\n' >"$t/etc/passwd"
	printf 'deep\n' >"$t/etc/sub/deep/file"
	head -c 70000 /dev/urandom >"$t/usr/bin/tool"
	chmod 4755 "$t/usr/bin/tool"
	printf 'lib\n' >"$t/usr/lib/libA.so.1"
	ln -s libA.so.1 "$t/usr/lib/libA.so"
	ln -s /etc/hosts "$t/usr/lib/hosts"
	printf 'readme\n' >"$t/usr/share/doc/README"
	ln "$t/etc/hosts" "$t/usr/share/doc/hosts.link"
	ln "$t/usr/bin/tool" "$t/usr/share/doc/tool.link"
	ln -s usr/bin "$t/bin"
	ln -s /etc/hosts "$t/abs"
	ln -s ./usr/bin/tool "$t/runtool"
	printf 'a\n' >"$t/cache/a.tmp"
	printf 'b\n' >"$t/cache/sub/b.tmp"
	printf 'keep\n' >"$t/cache/keep"
	printf 'k\n' >"$t/skip/keep.txt"
	printf 's\n' >"$t/with space/file"
	printf 'x\n' >"$t/.hidden/x"
	chmod 700 "$t/.hidden"
	chmod 1777 "$t/var/empty"
	if [ "$(id -u)" -eq 0 ]; then
		mknod "$t/dev/null" c 1 3
		mkfifo "$t/dev/fifo"
		chown 1000:1001 "$t/etc/passwd" "$t/usr/lib/libA.so.1"
		chown -h 7:8 "$t/usr/lib/libA.so"
	fi
	find "$t" -exec touch -h -d '2020-05-06 07:08:09' {} +
	touch -d '2001-02-03 04:05:06.123456789' "$t/etc/hosts"
}

setup_file() {
	FIX=$BATS_FILE_TMPDIR
	mkdir -p "$FIX/tree"
	mktree "$FIX/tree"
	# The order pcwrite -R reads a tree in (each directory by name), so
	# that both sides name the same first link of each inode.
	tar --format=pax --sort=name -C "$FIX/tree" -cf "$FIX/tree.tar" .
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
	[ -z "${FEEDER:-}" ] || kill -9 "$FEEDER" 2>/dev/null || true
	kunmount_all
	kernel_teardown
}

# kmount IMAGE [rw]: a kernel mount of IMAGE (read-only unless rw); prints
# where.  Every mount is undone in teardown (kunmount_all).
kmount() {
	local img=$1 mnt loop opts=ro,noload
	mnt=$(mktemp -d "$BATS_TEST_TMPDIR/kmnt.XXXXXX")
	if [ "${2:-ro}" = rw ]; then
		loop=$(losetup -f --show "$img") || return 1
		opts=rw
	else
		loop=$(losetup -f --show -r "$img") || return 1
	fi
	echo "$loop $mnt" >>"$BATS_TEST_TMPDIR/kmounts"
	mount -t ext4 -o "$opts" "$loop" "$mnt" || return 1
	echo "$mnt"
}

kunmount_all() {
	local loop mnt
	[ -f "$BATS_TEST_TMPDIR/kmounts" ] || return 0
	while read -r loop mnt; do
		! mountpoint -q "$mnt" || umount "$mnt"
		losetup -d "$loop" 2>/dev/null || true
	done < <(tac "$BATS_TEST_TMPDIR/kmounts")
	rm -f "$BATS_TEST_TMPDIR/kmounts"
}

# against_tar x|R OPTION...: GNU tar and pcwrite with the same OPTIONs
# into /dst of two copies of the fresh image: tar -x through a kernel
# mount (for R: `tar -C tree -c . | tar -x`, pax for the nanoseconds),
# pcwrite -x (-R) without one.
# With PRE set, both first extract the archive into /dst with no option.
# The two /dst trees must be the same entry by entry ($CMPOPTS: more
# treecmp options).
against_tar() {
	local mode=$1 t p
	shift
	kernel_require
	cp --sparse=always "$FIX/base.img" tar.img
	t=$(kmount tar.img rw)
	mkdir "$t/dst"
	[ -z "${PRE:-}" ] || tar -x --numeric-owner -C "$t/dst" -f "$FIX/tree.tar"
	if [ "$mode" = x ]; then
		run --separate-stderr tar -x --numeric-owner -C "$t/dst" \
			-f "$FIX/tree.tar" "$@"
	else
		run --separate-stderr bash -c 'tar --format=pax --sort=name -C "$1" -cf - . |
			tar -x --numeric-owner -C "$2" -f - "${@:3}"' _ \
			"$FIX/tree" "$t/dst" "$@"
	fi
	echo "tar: status $status, stderr: $stderr"
	[ "$status" -eq 0 ]
	kunmount_all
	[ -z "${PRE:-}" ] || "$PCWRITE" -x -p "$IMG" /dst "$FIX/tree.tar"
	if [ "$mode" = x ]; then
		run --separate-stderr "$PCWRITE" -x -p "$@" "$IMG" /dst "$FIX/tree.tar"
	else
		run --separate-stderr "$PCWRITE" -R -p "$@" "$IMG" /dst "$FIX/tree"
	fi
	echo "pcwrite: status $status, stderr: $stderr"
	[ "$status" -eq 0 ]
	fsck_clean "$IMG"
	fsck_clean tar.img
	t=$(kmount tar.img)
	p=$(kmount "$IMG")
	# shellcheck disable=SC2086
	run python3 "$TREECMP" "$t/dst" "$p/dst" --exact ${CMPOPTS:-}
	echo "$output"
	[ "$status" -eq 0 ]
	# what tar made, for the test's own checks
	(cd "$t/dst" && find . -mindepth 1 | sort) >tar.list
	kunmount_all
}

# in_image PATH / not_in_image PATH: debugfs finds PATH in $IMG, or not.
in_image() {
	debugfs -R "stat $1" "$IMG" 2>&1 | grep -q '^Inode:' ||
		{ echo "$1 is not in the image" >&2; return 1; }
}
not_in_image() {
	! debugfs -R "stat $1" "$IMG" 2>&1 | grep -q '^Inode:' ||
		{ echo "$1 is in the image" >&2; return 1; }
}

# tar_names DIR: tar's names on stdin ("./a/", "b") as pcwrite lists them
# (DIR/a, DIR/b; "./" is DIR itself).
tar_names() {
	python3 -c '
import sys
d = sys.argv[1]
for l in sys.stdin.read().split("\n"):
    if not l:
        continue
    parts = [p for p in l.rstrip("/").split("/") if p not in ("", ".")]
    print(d + ("/" + "/".join(parts) if parts else ""))' "$1"
}

# ---- --strip-components --------------------------------------------------------

@test "-x --strip-components=2: as tar, hard-link targets stripped, symlink targets not, names stripped to nothing skipped" {
	against_tar x --strip-components=2
	# ./usr/share/doc/hosts.link -> share/doc/hosts.link, a link to hosts
	in_image /dst/share/doc/hosts.link
	in_image /dst/hosts
	[ "$(debugfs -R 'stat /dst/hosts' "$IMG" 2>/dev/null | sed -n 's/.*Links: \([0-9]*\).*/\1/p')" = 2 ]
	# a symlink keeps its target: lib/hosts -> /etc/hosts
	debugfs -R 'stat /dst/lib/hosts' "$IMG" 2>/dev/null | grep -q 'Fast link dest: "/etc/hosts"'
	# top-level names (./abs, ./etc) are gone
	not_in_image /dst/abs
	not_in_image /dst/etc
}

@test "-x --strip-components=1, and =3 with --exclude matching the original names: as tar" {
	against_tar x --strip-components=1
	in_image /dst/etc/hosts
	# (hosts.link's target, ./etc/hosts, has no 4th component)
	cp --sparse=always "$FIX/base.img" "$IMG"
	against_tar x --strip-components=3 --exclude=./usr/share/doc/hosts.link
	in_image /dst/doc/tool.link
	not_in_image /dst/doc/hosts.link
	in_image /dst/deep/file
}

@test "-R --strip-components=2: as tar -c . | tar -x" {
	against_tar R --strip-components=2
	in_image /dst/share/doc/tool.link
	in_image /dst/bin/tool
}

@test "--strip-components: a hard link whose target is stripped to nothing stops the run, as tar cannot make it either" {
	# ./z/x links to ./a: with 2 stripped the name is x, the target empty
	mkdir -p t/z
	printf 'y\n' >t/a
	ln t/a t/z/x
	tar --sort=name -C t -cf l.tar .
	tar -tvf l.tar | grep -q 'z/x link to ./a$'
	run -1 --separate-stderr "$PCWRITE" -x --strip-components=2 "$IMG" / l.tar
	echo "$stderr"
	[[ "$stderr" =~ "x: " ]]
	mkdir o
	run tar -x -C o --strip-components=2 -f l.tar
	[ "$status" -ne 0 ]
	fsck_clean "$IMG"
}

# ---- --exclude, --exclude-from ------------------------------------------------------

@test "-x --exclude: a directory and what is under it, wildcards matching '/', unanchored, leading ./, as tar" {
	against_tar x --exclude=cache --exclude='*/deep' --exclude='./skip' \
		--exclude='usr/*/README' --exclude='.hidden' --exclude='d?v'
	not_in_image /dst/cache
	not_in_image /dst/cache/keep
	not_in_image /dst/etc/sub/deep
	not_in_image /dst/skip
	not_in_image /dst/usr/share/doc/README
	not_in_image /dst/dev
	in_image /dst/etc/sub
	in_image /dst/usr/share/doc/hosts.link
}

@test "-x --exclude: a trailing slash matches nothing; a pattern is not a substring; case counts, as tar" {
	against_tar x --exclude='cache/' --exclude='./skip/' --exclude='ach' \
		--exclude='ETC'
	in_image /dst/cache/keep
	in_image /dst/skip/keep.txt
	in_image /dst/etc/hosts
}

@test "-x --exclude of the archive's root ('.') leaves nothing; of '*.tmp' the files only, as tar" {
	against_tar x --exclude='*.tmp' --exclude='with space'
	not_in_image /dst/cache/a.tmp
	not_in_image /dst/cache/sub/b.tmp
	in_image /dst/cache/sub
	not_in_image "/dst/with space"
	cp --sparse=always "$FIX/base.img" "$IMG"
	against_tar x --exclude=.
	[ ! -s tar.list ]
}

@test "-R --exclude: as tar -c . | tar -x; an excluded directory is not read" {
	against_tar R --exclude=cache --exclude='*/deep' --exclude='*.link' \
		--exclude='sub/'
	not_in_image /dst/cache
	not_in_image /dst/usr/share/doc/tool.link
	# an excluded directory is never opened (tar -c --exclude does not
	# descend either)
	command -v strace >/dev/null || skip "strace not installed"
	mkdir -p t/ok t/excluded/deeper
	printf 'x\n' >t/ok/f
	printf 'y\n' >t/excluded/deeper/f
	cp --sparse=always "$FIX/base.img" "$IMG"
	# (LeakSanitizer cannot run under ptrace: off in the sanitizer build)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run -0 strace -f -e trace=open,openat -o trace "$PCWRITE" -R \
		--exclude=excluded "$IMG" / t
	in_image /ok/f
	not_in_image /excluded
	# (opened relative to its parent's descriptor: openat(FD, "ok"))
	grep -Eq '"(t/)?ok"' trace
	! grep -q 'excluded' trace
}

@test "--exclude-from and -X: one pattern a line, trailing blanks off, empty lines skipped, as tar" {
	printf 'cache  \n\n   \n*/deep\t\r\n  etc\n./skip' >patterns
	against_tar x --exclude-from=patterns
	not_in_image /dst/cache
	not_in_image /dst/etc/sub/deep
	not_in_image /dst/skip
	# "  etc": leading blanks are part of the pattern
	in_image /dst/etc/hosts
	cp --sparse=always "$FIX/base.img" "$IMG"
	against_tar R -X patterns --exclude='*.link'
	not_in_image /dst/usr/share/doc/hosts.link
}

@test "--exclude-from=- reads standard input; with an archive on standard input it is a usage error" {
	run -0 --separate-stderr "$PCWRITE" -x --exclude-from=- "$IMG" / "$FIX/tree.tar" <<<'cache'
	not_in_image /cache
	in_image /etc/hosts
	cp "$IMG" before
	run -2 --separate-stderr "$PCWRITE" -x -X - "$IMG" / <"$FIX/tree.tar"
	[ "${stderr_lines[0]}" = "pcwrite: --exclude-from=- reads standard input, which is the archive" ]
	run -2 --separate-stderr "$PCWRITE" -x -X - "$IMG" / - <"$FIX/tree.tar"
	run -2 --separate-stderr "$PCWRITE" -x -X nope "$IMG" / "$FIX/tree.tar"
	[ "${stderr_lines[0]}" = "pcwrite: cannot open exclude file 'nope': No such file or directory" ]
	unchanged "$IMG" before
}

# ---- --transform ------------------------------------------------------------------

@test "-x --transform: names, hard-link targets and symlink targets (the default scope), as tar" {
	# ./usr and everything under it to ./opt: the hard link
	# ./usr/share/doc/tool.link -> ./usr/bin/tool and the symlink
	# runtool -> ./usr/bin/tool follow it
	against_tar x --transform='s,^\./usr\($\|/\),./opt\1,'
	not_in_image /dst/usr
	in_image /dst/opt/share/doc/tool.link
	debugfs -R 'stat /dst/runtool' "$IMG" 2>/dev/null | grep -q 'Fast link dest: "./opt/bin/tool"'
}

@test "-R --transform: as tar -c . | tar -x" {
	against_tar R --transform='s,^\./usr\($\|/\),./opt\1,'
	in_image /dst/opt/bin/tool
}

@test "--transform scope flags: S leaves symlink targets, R leaves names, H leaves hard-link targets, flags= sets the default, as tar" {
	# S: names and hard-link targets change, symlink targets do not
	against_tar x --transform='s,usr,USR,gS'
	in_image /dst/USR/share/doc/tool.link
	debugfs -R 'stat /dst/bin' "$IMG" 2>/dev/null | grep -q 'Fast link dest: "usr/bin"'
	# R: only the targets: the hard link now names ./etc/passwd
	cp --sparse=always "$FIX/base.img" "$IMG"
	against_tar x --transform='s,^\./etc/hosts$,./etc/passwd,R'
	[ "$(debugfs -R 'cat /dst/usr/share/doc/hosts.link' "$IMG" 2>/dev/null)" = "root:x:0:0" ]
	# flags=: the same through the default scope of the expressions after it
	cp --sparse=always "$FIX/base.img" "$IMG"
	against_tar x --transform='flags=hs;s,^\./etc/hosts$,./etc/passwd,'
	[ "$(debugfs -R 'cat /dst/usr/share/doc/hosts.link' "$IMG" 2>/dev/null)" = "root:x:0:0" ]
	# H: the hard link keeps naming ./etc/hosts, already in DIR
	cp --sparse=always "$FIX/base.img" "$IMG"
	PRE=1 against_tar x --transform='s,^\./etc,./conf,H'
	in_image /dst/conf/hosts
	[ "$(debugfs -R 'stat /dst/etc/hosts' "$IMG" 2>/dev/null | sed -n 's/.*Inode: \([0-9]*\) .*/\1/p')" = \
	  "$(debugfs -R 'stat /dst/usr/share/doc/hosts.link' "$IMG" 2>/dev/null | sed -n 's/.*Inode: \([0-9]*\) .*/\1/p')" ]
}

@test "--transform then --strip-components: the transform runs first, on hard-link targets too, as tar" {
	CMPOPTS=--no-dir-times against_tar x --transform='s,^\./usr/share/,./usr/lib/share/,' \
		--strip-components=2
	in_image /dst/lib/share/doc/tool.link
	in_image /dst/bin/tool
	cp --sparse=always "$FIX/base.img" "$IMG"
	CMPOPTS=--no-dir-times against_tar R --xform='s,^\./etc,./a/b/etc,' --strip-components=3
	in_image /dst/etc/hosts
}

@test "--transform in order, several in one option, any delimiter, x, i, g, \\N, & and case conversions: the names tar gives" {
	local e
	while IFS= read -r e; do
		cp --sparse=always "$FIX/base.img" "$IMG"
		tar -tf "$FIX/tree.tar" --transform="$e" --show-transformed-names |
			tar_names /dst >expect
		run -0 --separate-stderr "$PCWRITE" -x -v -p --transform="$e" "$IMG" /dst "$FIX/tree.tar"
		echo "$e: $stderr"
		printf '%s\n' "$output" | diff -u expect -
		fsck_clean "$IMG"
	done <<'EOF'
s/e/E/
s/e/E/g
s,/\([^/]*\)$,/pre-\1,
s,([^/]*)\.([a-z]+)$,\2.\1,x
s/ETC/sys/i
s/[a-z]/\u&/g
s/\(.*\)/\U\1/
s,^\./,,
s,^,top/,
s/o/0/g;s/e/3/g
s|usr\|etc|sys|g
s/\(o\)\(c\)\?/[\2\1]/g
s/o/\U&\Ex\uy\lZ/g
s/t\(oo\)l/\u\1\l\UXx\E-&/
s/t\(o\)\(o\)/\u\u\1\2\l\u\Ux&/g
s/x*/-/
s/$/.new/
s/\(s\)\|\(k\)/<\u\2>/g
EOF
	# two options apply in order
	cp --sparse=always "$FIX/base.img" "$IMG"
	tar -tf "$FIX/tree.tar" --transform='s/etc/X/' --transform='s/X/Y/' \
		--show-transformed-names | tar_names /dst >expect
	run -0 "$PCWRITE" -x -v -p --transform='s/etc/X/' --xform='s/X/Y/' "$IMG" /dst "$FIX/tree.tar"
	printf '%s\n' "$output" | diff -u expect -
	in_image /dst/Y/hosts
}

@test "--transform with a match number, and empty matches in a global one: sed's result (tar 1.34 gets these wrong)" {
	local e
	while IFS= read -r e; do
		cp --sparse=always "$FIX/base.img" "$IMG"
		tar -tf "$FIX/tree.tar" | sed 's,/$,,' | sed "$e" | tar_names /dst >expect
		run -0 --separate-stderr "$PCWRITE" -x -v -p --transform="$e" "$IMG" /dst "$FIX/tree.tar"
		echo "$e: $stderr"
		printf '%s\n' "$output" | diff -u expect -
	done <<'EOF'
s/s/S/2
s/s/S/2g
s/[ae]/\U&/3
s/q*/-/g
s/s*/-/g
EOF
	fsck_clean "$IMG"
}

@test "a bad --transform, --strip-components or path option is a usage error saying why; the image unchanged" {
	cp "$IMG" before
	local args
	while IFS='|' read -r args want; do
		run -2 --separate-stderr "$PCWRITE" -x "$args" "$IMG" / "$FIX/tree.tar"
		echo "$args: $stderr"
		[ "${stderr_lines[0]}" = "pcwrite: $want" ]
		[ "${stderr_lines[1]}" = "Try 'pcwrite --help' for more information." ]
	done <<'EOF'
--transform=s/a/b/q|invalid --transform 's/a/b/q': unknown flag 'q'
--transform=s/a/b|invalid --transform 's/a/b': not s/REGEX/REPLACEMENT/FLAGS
--transform=y/a/b/|invalid --transform 'y/a/b/': not s/REGEX/REPLACEMENT/FLAGS
--transform=flags=q|invalid --transform 'flags=q': unknown flag 'q' after flags=
--xform=s/(/x/x|invalid --transform 's/(/x/x': Unmatched ( or \(
--transform=s/a/\1/|invalid --transform "s/a/\\1/": back reference \1 out of range (the expression has 0 groups)
--strip-components=x|invalid --strip-components 'x' (a number of components)
--strip-components=-1|invalid --strip-components '-1' (a number of components)
EOF
	run -2 --separate-stderr "$PCWRITE" --exclude=a "$IMG" /f /etc/hostname
	[ "${stderr_lines[0]}" = "pcwrite: --strip-components, --exclude, --exclude-from and --transform go with -x or -R" ]
	run -2 --separate-stderr "$PCWRITE" --list --strip-components=1 "$IMG" /
	unchanged "$IMG" before
}

@test "a '..' member is refused by its own name whatever the options; an excluded one is left out silently" {
	python3 - <<'PY'
import io, tarfile
with tarfile.open("dd.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for name in ("z", "a/../../evil"):
        ti = tarfile.TarInfo(name); ti.size = 2
        t.addfile(ti, io.BytesIO(b"x\n"))
PY
	run -1 --separate-stderr "$PCWRITE" -x --strip-components=3 "$IMG" / dd.tar
	echo "$stderr"
	[ "$stderr" = "pcwrite: $IMG:/a/../../evil: path has a '..' component" ]
	not_in_image /evil
	fsck_clean "$IMG"
	run -0 --separate-stderr "$PCWRITE" -x --exclude=evil "$IMG" / dd.tar
	[ -z "$stderr" ]
	in_image /z
}

# ---- -v and -vv --------------------------------------------------------------------

@test "-v lists each entry as written in the image, one a line, in the archive's order, on standard output" {
	run -0 --separate-stderr "$PCWRITE" -x -v -p --strip-components=1 "$IMG" /dst "$FIX/tree.tar"
	[ -z "$stderr" ]
	# what tar -xv lists, the names it made
	mkdir o
	tar -x -v -C o -f "$FIX/tree.tar" --strip-components=1 \
		--show-transformed-names | tar_names /dst >expect
	printf '%s\n' "$output" | diff -u expect -
	# -R lists the same entries, the source's root as DIR itself
	cp --sparse=always "$FIX/base.img" "$IMG"
	run -0 --separate-stderr "$PCWRITE" -R -v -p "$IMG" /dst "$FIX/tree"
	tar -tf "$FIX/tree.tar" | tar_names /dst >expect
	printf '%s\n' "$output" | diff -u expect -
}

@test "-v quotes names as messages do; with the JSON report on standard output the listing goes to standard error" {
	mkdir -p t
	printf 'x\n' >"t/new"$'\n'"line"
	printf 'y\n' >'t/back\slash'
	run -0 --separate-stderr "$PCWRITE" -R -v -p "$IMG" /x t
	[ "$output" = "$(printf '/x\n"/x/back\\\\slash"\n"/x/new\\nline"')" ]
	cp --sparse=always "$FIX/base.img" "$IMG"
	run -0 --separate-stderr "$PCWRITE" -x -v -r json "$IMG" / "$FIX/tree.tar"
	[ "$(printf '%s\n' "$stderr" | grep -c .)" -eq "$(tar -tf "$FIX/tree.tar" | grep -c .)" ]
	[[ "${stderr_lines[1]}" == "/.hidden" ]]
	printf '%s\n' "$output" | python3 -c 'import json, sys; [json.loads(l) for l in sys.stdin]'
	# a text report stays on standard error, the listing on standard output
	cp --sparse=always "$FIX/base.img" "$IMG"
	run -0 --separate-stderr "$PCWRITE" -x -v -r summary "$IMG" / "$FIX/tree.tar"
	[[ "${lines[1]}" == "/.hidden" ]]
	[[ "$stderr" =~ "/etc/hosts: 6 bytes written" ]]
}

@test "-vv: type and mode, numeric owner and group, size (MAJOR,MINOR for a device), name, link targets" {
	run -0 --separate-stderr "$PCWRITE" -x -vv -p "$IMG" /dst "$FIX/tree.tar"
	echo "$output"
	[[ "$output" == *$'\n''-rw-r--r-- 0/0 6 /dst/etc/hosts'$'\n'* ]]
	[[ "$output" == *$'\n''-rwsr-xr-x 0/0 70000 /dst/usr/bin/tool'$'\n'* ]]
	[[ "$output" == *$'\n''hrw-r--r-- 0/0 0 /dst/usr/share/doc/hosts.link link to /dst/etc/hosts'$'\n'* ]]
	[[ "$output" == *$'\n''lrwxrwxrwx 0/0 0 /dst/bin -> usr/bin'$'\n'* ]]
	[[ "$output" == *$'\n''drwxrwxrwt 0/0 0 /dst/var/empty'* ]]
	[[ "$output" == *$'\n''drwxr-xr-x 0/0 0 /dst/with space'$'\n'* ]]
	if [ "$(id -u)" -eq 0 ]; then
		[[ "$output" == *$'\n''crw-r--r-- 0/0 1,3 /dst/dev/null'$'\n'* ]]
		[[ "$output" == *$'\n''prw-r--r-- 0/0 0 /dst/dev/fifo'$'\n'* ]]
		[[ "$output" == *$'\n''-rw-r--r-- 1000/1001 11 /dst/etc/passwd'$'\n'* ]]
		[[ "$output" == *$'\n''lrwxrwxrwx 7/8 0 /dst/usr/lib/libA.so -> libA.so.1'$'\n'* ]]
	fi
	# -u and -g: the owner written
	cp --sparse=always "$FIX/base.img" "$IMG"
	run -0 --separate-stderr "$PCWRITE" -x -vv -u 5 -g 6 "$IMG" / "$FIX/tree.tar"
	[[ "$output" == *$'\n''-rw-r--r-- 5/6 6 /etc/hosts'$'\n'* ]]
	# the mode and owner listed are what the kernel reads
	kernel_require
	local m
	m=$(kmount "$IMG")
	[ "$(stat -c '%A %u/%g %s' "$m/etc/hosts")" = "-rw-r--r-- 5/6 6" ]
	[ "$(stat -c '%A' "$m/usr/bin/tool")" = "-rwsr-xr-x" ]
	[ "$(stat -c '%A' "$m/var/empty")" = "drwxrwxrwt" ]
}

@test "-v lists only what was committed: the failing entry and those after it are not listed" {
	mkdir -p t/a
	printf 'x\n' >t/a/f
	printf 'y\n' >t/b
	tar --sort=name -C t -cf n.tar .
	"$PCWRITE" -p "$IMG" /d/b /etc/hostname
	run -1 --separate-stderr "$PCWRITE" -x -v -n "$IMG" /d n.tar
	[ "$output" = "$(printf '/d\n/d/a\n/d/a/f')" ]
	[[ "$stderr" =~ "/d/b: destination exists" ]]
	fsck_clean "$IMG"
}

# feed N: a pax tar of N files f0..f(N-1) on standard output, then a stall
# (the pipe stays open, empty) until killed.
feed() {
	python3 - "$1" <<'PY'
import io, sys, tarfile, time
buf = io.BytesIO()
t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
for k in range(int(sys.argv[1])):
    data = (chr(97 + k % 26) * 3000).encode()
    ti = tarfile.TarInfo("f%d" % k); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
sys.stdout.buffer.write(buf.getvalue()); sys.stdout.flush()
time.sleep(60)
PY
}

@test "-v lines come out as entries are committed: while pcwrite waits for input they are there; kill -9 there loses no entry listed" {
	command -v python3 >/dev/null || skip "python3 not installed"
	mkfifo fifo
	feed 30 >fifo &
	FEEDER=$!
	"$PCWRITE" -x -v "$IMG" / <fifo >listing &
	PID=$!
	local k
	for k in $(seq 100); do
		[ "$(grep -c . listing 2>/dev/null)" = 30 ] && break
		sleep 0.1
	done
	cat listing
	[ "$(grep -c . listing)" = 30 ]
	kill -9 "$PID"
	wait "$PID" || true
	PID=
	run e2fsck -fy "$IMG"
	[ "$status" -lt 4 ]
	fsck_clean "$IMG"
	for k in $(seq 0 29); do
		grep -qx "/f$k" listing
		python3 -c 'import sys; k = int(sys.argv[1]); sys.stdout.write(chr(97 + k % 26) * 3000)' "$k" >expect
		readback "$IMG" "/f$k" expect
	done
}

@test "-v of a single file is unchanged: one message line on standard error" {
	printf 'abc\n' >f
	run -0 --separate-stderr "$PCWRITE" -v "$IMG" /f f
	[ -z "$output" ]
	[[ "$stderr" =~ "/f: 4 bytes written" ]]
}
