#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# times.bats: timestamps as ext4 stores them.  An entry's times before 1970
# are kept (a signed 32-bit base, epoch 0), times past what an inode holds
# are clamped as the kernel clamps them (2446-05-10 with the extra time
# fields, 2038-01-19 without: 128-byte inodes), and the run says so once.
# The oracle is GNU tar extracting the same archive on a kernel mount of an
# identical image: the raw fields debugfs shows must be the same.  Times
# pcwrite sets itself carry nanoseconds, but not in a reproducible run.

load test_helper
load kernel_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	kernel_teardown
}

# rawtime IMAGE PATH FIELD: the field as debugfs shows it, "0xBASE:0xEXTRA"
# (or "0xBASE" without the extra word).
rawtime() {
	debugfs -R "stat $2" "$1" 2>/dev/null |
		sed -n "s/^ *$3: \(0x[0-9a-f:]*\) .*/\1/p"
}

# The pax times of the archive: "name seconds", a decimal number each, as
# POSIX reads it (-315619199.75 is 0.25 s after -315619200).
PAX_TIMES='min -2147483648
y1960 -315619199.75
neg -1.5
y2038 2147483648.5
max 15032385535.999999999
past 15032385536
y3000 32503680000
low -2147483649
y2310 10737418240
y2378 12884901888'

# paxtar FILE: an archive of empty files, one for each of PAX_TIMES, with
# mtime and atime as pax records (GNU tar reads the same numbers).
paxtar() {
	python3 - "$1" <<-EOF
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
	    for line in """$PAX_TIMES""".splitlines():
	        name, when = line.split()
	        ti = tarfile.TarInfo(name)
	        ti.pax_headers = {"mtime": when, "atime": when}
	        t.addfile(ti, io.BytesIO(b""))
	EOF
}

# The fields debugfs must show: 256-byte inodes (base:extra), 128-byte.
EXPECT_256='min 0x80000000:00000000
y1960 0xed300880:3b9aca00
neg 0xfffffffe:77359400
y2038 0x80000000:77359401
max 0x7fffffff:00000003
past 0x7fffffff:00000003
y3000 0x7fffffff:00000003
low 0x80000000:00000000
y2310 0x80000000:00000003
y2378 0x00000000:00000003'
EXPECT_128='min 0x80000000
y1960 0xed300880
neg 0xfffffffe
y2038 0x7fffffff
max 0x7fffffff
past 0x7fffffff
y3000 0x7fffffff
low 0x80000000
y2310 0x7fffffff
y2378 0x7fffffff'

# check_fields IMAGE FIELD EXPECTED: every name's FIELD as EXPECTED says.
check_fields() {
	local img=$1 field=$2 name want got bad=0
	while read -r name want; do
		got=$(rawtime "$img" "/$name" "$field")
		if [ "$got" != "$want" ]; then
			echo "$name: $field $got, want $want" >&2
			bad=1
		fi
	done <<<"$3"
	return $bad
}

@test "-x: pax times before 1970 are kept, times past 2446 clamped, 256-byte inodes" {
	paxtar t.tar
	mkimg img 16M -t ext4 -I 256
	run -0 --separate-stderr "$PCWRITE" -x img / t.tar
	check_fields img mtime "$EXPECT_256"
	check_fields img atime "$EXPECT_256"
	# One line for the run, however many times were clamped.
	[ "$(grep -c 'warning: timestamps outside what the inodes hold were clamped to 1901-12-13 20:45:52 .. 2446-05-10 22:38:55 UTC' <<<"$stderr")" -eq 1 ]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	# e2fsck 1.47 asks about the kernel's encoding of 2310..2378 (epoch 3,
	# top bit set), taking it for an old kernel's pre-1970 time; it is
	# not an error (exit 0).
	run -0 e2fsck -fn img
	[[ "$output" == *"Timestamp(s) on inode $(debugfs -R 'stat /y2310' img 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p') beyond 2310-04-04 are likely pre-1970."* ]]
	[ "$(grep -c 'likely pre-1970' <<<"$output")" -eq 1 ]
}

@test "-x: 128-byte inodes hold 1901-12-13 .. 2038-01-19, whole seconds" {
	paxtar t.tar
	mkimg img 16M -t ext4 -I 128
	run -0 --separate-stderr "$PCWRITE" -x img / t.tar
	check_fields img mtime "$EXPECT_128"
	check_fields img atime "$EXPECT_128"
	[[ "$stderr" == *"clamped to 1901-12-13 20:45:52 .. 2038-01-19 03:14:07 UTC"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	fsck_clean img
}

@test "-x: the same mtimes as GNU tar extracting the archive on a kernel mount (-I 256, -I 128)" {
	kernel_require
	paxtar t.tar
	# And GNU tar's own pax archive of host files from 1901 and 1960.
	mkdir h
	touch -d '1901-12-14 00:00:00 UTC' h/f1901
	touch -d '1960-01-01 00:00:00.5 UTC' h/f1960
	touch -d '@-1.25' h/fneg
	tar --format=pax -cf h.tar -C h .
	for isize in 256 128; do
		mkimg pcw.img 16M -t ext4 -I "$isize"
		cp pcw.img kernel.img
		run -0 "$PCWRITE" -x pcw.img / t.tar h.tar
		fsck_clean pcw.img
		kernel_mount_rw kernel.img
		tar -xf t.tar -C "$KMNT" 2>/dev/null
		tar -xf h.tar -C "$KMNT" 2>/dev/null
		kernel_umount
		for name in $(cut -d' ' -f1 <<<"$PAX_TIMES") f1901 f1960 fneg; do
			a=$(rawtime pcw.img "/$name" mtime)
			b=$(rawtime kernel.img "/$name" mtime)
			echo "-I $isize $name: pcwrite $a, kernel $b"
			[ -n "$a" ] && [ "$a" = "$b" ]
		done
	done
}

@test "-R: host files from 1901 and 1960 keep their times" {
	mkdir h
	touch -d '1901-12-14 00:00:00 UTC' h/f1901
	touch -d '1960-01-01 00:00:00.5 UTC' h/f1960
	touch -d '@-1.25' h/fneg
	mkimg img 16M -t ext4 -I 256
	run -0 --separate-stderr "$PCWRITE" -R img / h
	[ -z "$stderr" ]
	# -2147472000; -315619200 + 0.5 s; -2 + 0.75 s
	[ "$(rawtime img /f1901 mtime)" = 0x80002d80:00000000 ]
	[ "$(rawtime img /f1960 mtime)" = 0xed300880:77359400 ]
	[ "$(rawtime img /fneg mtime)" = 0xfffffffe:b2d05e00 ]
	fsck_clean img
}

@test "--mtime past what the inodes hold: clamped, and said once" {
	mkimg img 16M -t ext4 -I 256
	run -0 --separate-stderr "$PCWRITE" --mtime=17179869183 img /f </dev/null
	[ "$(rawtime img /f mtime)" = 0x7fffffff:00000003 ]
	[ "$(rawtime img /f ctime)" = 0x7fffffff:00000003 ]
	[ "$stderr" = "pcwrite: img: warning: timestamps outside what the inodes hold were clamped to 1901-12-13 20:45:52 .. 2446-05-10 22:38:55 UTC" ]
	# --quiet: no warning; nothing clamped: none either
	run -0 --separate-stderr "$PCWRITE" -q --mtime=17179869183 img /g </dev/null
	[ -z "$stderr" ]
	run -0 --separate-stderr "$PCWRITE" --mtime=15032385535 img /h </dev/null
	[ -z "$stderr" ]
	[ "$(rawtime img /h mtime)" = 0x7fffffff:00000003 ]
	fsck_clean img
}

# nsec FIELD: the nanoseconds of a "0xBASE:0xEXTRA" field.
nsec() {
	echo $(( 0x${1#*:} >> 2 ))
}

@test "times pcwrite sets itself carry nanoseconds: new files, replaced files, parents, -p directories" {
	mkimg img 16M -t ext4 -I 256
	run -0 "$PCWRITE" -p img /a/b/f </dev/null
	printf x >x
	run -0 "$PCWRITE" img /a/b/f x			# replaced: mtime, ctime
	run -0 "$PCWRITE" img /a/b/g x			# parent: mtime, ctime
	mkdir -p t/d && printf y >t/d/y && touch -d @1000000000 t t/d t/d/y
	run -0 "$PCWRITE" -R img /a t			# a new name in /a
	run -0 "$PCWRITE" -R img /a t			# /a/d/y replaced: ctime
	local f
	for f in "/a/b/f mtime" "/a/b/f ctime" "/a/b/f crtime" "/a/b mtime" \
		 "/a/b ctime" "/a ctime" "/a/d/y ctime"; do
		set -- $f
		t=$(rawtime img "$1" "$2")
		echo "$1 $2: $t"
		[ "$(nsec "$t")" -ne 0 ]
	done
	# The entries' own times stay theirs.
	[ "$(rawtime img /a/d/y mtime)" = 0x3b9aca00:00000000 ]
	fsck_clean img
}

@test "a reproducible run (--mtime, SOURCE_DATE_EPOCH) sets whole seconds" {
	mkimg img 16M -t ext4 -I 256
	run -0 "$PCWRITE" -p --mtime=1700000000 img /a/b/f </dev/null
	SOURCE_DATE_EPOCH=1700000000 run -0 "$PCWRITE" img /a/b/g </dev/null
	for f in "/a/b/f mtime" "/a/b/f ctime" "/a/b mtime" "/a ctime" \
		 "/a/b/g crtime"; do
		set -- $f
		[ "$(rawtime img "$1" "$2")" = 0x6553f100:00000000 ]
	done
}
