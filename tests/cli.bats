#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# cli.bats: options, write modes and attributes, as CLI.md describes them.

load test_helper

setup_file() {
	setup_file_image 64M
}

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

setup() {
	copy_image
	IMG=$BATS_TEST_TMPDIR/img
	mkdata "$BATS_TEST_TMPDIR/data" 10000
}

# usage_error ARGS...: exit 2, "pcwrite: ..." then the --help hint, image unchanged
usage_error() {
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -2 --separate-stderr "$PCWRITE" "$@" <"$BATS_TEST_TMPDIR/data"
	echo "$stderr"
	[[ "${stderr_lines[0]}" == pcwrite:\ * ]]
	[ "${stderr_lines[1]}" = "Try 'pcwrite --help' for more information." ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

@test "usage errors exit 2 and leave the image alone" {
	usage_error
	usage_error "$IMG"
	usage_error --bogus "$IMG" /f
	usage_error --append --offset=0 "$IMG" /f
	usage_error --append --no-clobber "$IMG" /f
	usage_error --report=xml "$IMG" /f
	usage_error --sparse=maybe "$IMG" /f
	usage_error --dirty-limit=lots "$IMG" /f
	usage_error --dirty-limit=0 "$IMG" /f
	usage_error --dirty-limit=1T "$IMG" /f
	usage_error --page-size=3000 "$IMG" /f
	usage_error --page-size=131072 "$IMG" /f
	usage_error --offset=-1 "$IMG" /f
	usage_error --mode=999 "$IMG" /f
	usage_error --owner=-1 "$IMG" /f
	usage_error --owner=4294967296 "$IMG" /f
	usage_error --mtime=yesterday "$IMG" /f
	usage_error "$IMG" /f - "$BATS_TEST_TMPDIR/data"
	usage_error --undo "$BATS_TEST_TMPDIR/u" --image-offset=1M "$IMG" /f
}

@test "a page size below the image's block size is a usage error" {
	usage_error --page-size=2048 "$IMG" /f
	[[ "${stderr_lines[0]}" =~ block\ size\ \(4096\) ]]
}

@test "an invalid SOURCE_DATE_EPOCH is a usage error" {
	SOURCE_DATE_EPOCH=soon usage_error "$IMG" /f
	SOURCE_DATE_EPOCH=-1 usage_error "$IMG" /f
	# past 2^34 - 1 seconds (2514-05-30T01:53:03Z)
	SOURCE_DATE_EPOCH=17179869184 usage_error "$IMG" /f
	SOURCE_DATE_EPOCH=15032385535 run -0 "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[[ "$(dstat "$IMG" /f)" =~ mtime:\ 0x7fffffff:00000003 ]]
	# past what an inode holds (2446-05-10T22:38:55Z): clamped to it, as the
	# kernel clamps, and said once; never wrapped to 1969
	local t
	for t in 15032385536 17179869183; do
		SOURCE_DATE_EPOCH=$t run -0 --separate-stderr "$PCWRITE" "$IMG" "/c$t" <"$BATS_TEST_TMPDIR/data"
		[ "$stderr" = "pcwrite: $IMG: warning: timestamps outside what the inodes hold were clamped to 1901-12-13 20:45:52 .. 2446-05-10 22:38:55 UTC" ]
		[[ "$(dstat "$IMG" "/c$t")" =~ mtime:\ 0x7fffffff:00000003 ]]
	done
	fsck_clean "$IMG"
}

@test "--report=summary prints one line a file on stderr" {
	run -0 --separate-stderr "$PCWRITE" -r summary "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[ -z "$output" ]
	[ "$stderr" = "/f: 10000 bytes written, size 10000, 3 pages, 1 extent: ok" ]
}

@test "--report=pages prints a row per iteration and the writeback" {
	run -0 --separate-stderr "$PCWRITE" --report=pages "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[ "${#stderr_lines[@]}" -eq 6 ]
	[[ "${stderr_lines[0]}" =~ ^FILE\ +SEQ\ +INDEX\ +POS ]]
	[[ "${stderr_lines[3]}" =~ ^/f\ +2\ +2\ +8192\ +0\ +1808\ +1808\ +1808\ +no\ +1\ +no$ ]]
	[[ "${stderr_lines[4]}" =~ writeback\ lblk\ 0\ pblk\ [0-9]+\ len\ 3 ]]
	[ "${stderr_lines[5]}" = "/f: 10000 bytes written, size 10000, 3 pages, 1 extent: ok" ]
}

@test "--report-file sends the report to a file; stdout stays empty" {
	run -0 --separate-stderr "$PCWRITE" -r json --report-file "$BATS_TEST_TMPDIR/rep" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[ -z "$output" ] && [ -z "$stderr" ]
	[ "$(grep -c '"event":"page"' "$BATS_TEST_TMPDIR/rep")" -eq 3 ]
	run -1 --separate-stderr "$PCWRITE" -r json --report-file /nonexistent/dir/rep "$IMG" /g <"$BATS_TEST_TMPDIR/data"
	[ "$stderr" = "pcwrite: cannot open report file '/nonexistent/dir/rep': No such file or directory" ]
}

@test "-v says what was written; -q says nothing, even when stopped" {
	run -0 --separate-stderr "$PCWRITE" -v "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ img:/f:\ 10000\ bytes\ written ]]
	run -0 --separate-stderr "$PCWRITE" -q "$IMG" /g <"$BATS_TEST_TMPDIR/data"
	[ -z "$stderr" ]
}

@test "--append adds to a non-page-aligned file, reading its tail page first" {
	head -c 5000 "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/a"
	tail -c +5001 "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/b"
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/a"
	run -0 "$PCWRITE" -a -r json "$IMG" /f <"$BATS_TEST_TMPDIR/b"
	grep -q '"seq":0,"index":1,"pos":5000,"offset":904,"bytes":3192,"copied":3192,"status":3192,"read_before":true,"reserved":0' <<<"$output"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
	run -0 "$PCWRITE" --append "$IMG" /new <"$BATS_TEST_TMPDIR/a"
	verify "$IMG" /new "$BATS_TEST_TMPDIR/a"
}

@test "--offset overwrites in place without truncating; past EOF leaves a hole" {
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	cp "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/expect"
	printf 'PATCH' >"$BATS_TEST_TMPDIR/patch"
	run -0 "$PCWRITE" --offset=4094 "$IMG" /f <"$BATS_TEST_TMPDIR/patch"
	dd if="$BATS_TEST_TMPDIR/patch" of="$BATS_TEST_TMPDIR/expect" bs=1 seek=4094 conv=notrunc status=none
	verify "$IMG" /f "$BATS_TEST_TMPDIR/expect"
	run -0 "$PCWRITE" -o 100000 "$IMG" /f <"$BATS_TEST_TMPDIR/patch"
	dd if="$BATS_TEST_TMPDIR/patch" of="$BATS_TEST_TMPDIR/expect" bs=1 seek=100000 conv=notrunc status=none
	verify "$IMG" /f "$BATS_TEST_TMPDIR/expect"
	# the hole between has no blocks: 3 data blocks + 1 at the end
	[ "$(dstat "$IMG" /f | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')" -eq 32 ]
}

@test "--mode, --owner, --group with 32-bit ids; an existing file keeps them" {
	run -0 "$PCWRITE" -m 0750 -u 4000000000 -g 3000000001 "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	st=$(dstat "$IMG" /f)
	[[ "$st" =~ Mode:\ +0750 ]]
	# debugfs prints ids as signed 32-bit numbers
	[[ "$st" =~ User:\ +-294967296\ +Group:\ +-1294967295 ]]
	run -0 "$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	st=$(dstat "$IMG" /f)
	[[ "$st" =~ Mode:\ +0750 ]]
	[[ "$st" =~ User:\ +-294967296 ]]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
	# the kernel reads the same ids (verify skipped where it cannot mount)
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o ro,loop "$IMG" "$MNT"
	ids=$(stat -c '%u %g %a' "$MNT/f")
	umount "$MNT"
	[ "$ids" = "4000000000 3000000001 750" ]
}

@test "a new file from a host SOURCE gets the source's mode; from stdin 0644" {
	chmod 0604 "$BATS_TEST_TMPDIR/data"
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[[ "$(dstat "$IMG" /f)" =~ Mode:\ +0604 ]]
	run -0 "$PCWRITE" "$IMG" /g <"$BATS_TEST_TMPDIR/data"
	[[ "$(dstat "$IMG" /g)" =~ Mode:\ +0644 ]]
}

@test "--mtime and SOURCE_DATE_EPOCH make byte-identical images" {
	cp "$IMG" "$BATS_TEST_TMPDIR/img2"
	cp "$IMG" "$BATS_TEST_TMPDIR/img3"
	run -0 "$PCWRITE" --mtime=1700000000 -p "$IMG" /a/b/f <"$BATS_TEST_TMPDIR/data"
	sleep 1.1
	run -0 "$PCWRITE" --mtime=1700000000 -p "$BATS_TEST_TMPDIR/img2" /a/b/f <"$BATS_TEST_TMPDIR/data"
	cmp "$IMG" "$BATS_TEST_TMPDIR/img2"
	SOURCE_DATE_EPOCH=1700000000 run -0 "$PCWRITE" -p "$BATS_TEST_TMPDIR/img3" /a/b/f <"$BATS_TEST_TMPDIR/data"
	cmp "$IMG" "$BATS_TEST_TMPDIR/img3"
	[[ "$(dstat "$IMG" /a/b/f)" =~ mtime:\ 0x6553f100 ]]
	verify "$IMG" /a/b/f "$BATS_TEST_TMPDIR/data"
}

@test "--parents makes missing directories 0755; intermediate symlinks resolve inside the image" {
	run -0 "$PCWRITE" --parents -u 1000 "$IMG" /usr/lib/x/f <"$BATS_TEST_TMPDIR/data"
	[[ "$(dstat "$IMG" /usr/lib/x)" =~ Mode:\ +0755 ]]
	[[ "$(dstat "$IMG" /usr/lib/x)" =~ User:\ +1000 ]]
	# a merged-/usr image: /lib -> usr/lib and an absolute link /abs -> /usr
	debugfs -w -R "symlink lib usr/lib" "$IMG" 2>/dev/null
	debugfs -w -R "symlink abs /usr" "$IMG" 2>/dev/null
	run -0 "$PCWRITE" "$IMG" /lib/g <"$BATS_TEST_TMPDIR/data"
	run -0 "$PCWRITE" "$IMG" /abs/lib/h <"$BATS_TEST_TMPDIR/data"
	verify "$IMG" /usr/lib/g "$BATS_TEST_TMPDIR/data"
	verify "$IMG" /usr/lib/h "$BATS_TEST_TMPDIR/data"
}

@test "--image-offset writes into a filesystem inside a partitioned disk image" {
	disk=$BATS_TEST_TMPDIR/disk
	truncate -s 40M "$disk"
	mkimg "$BATS_TEST_TMPDIR/part" 32M -t ext4
	dd if="$BATS_TEST_TMPDIR/part" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
	run -0 "$PCWRITE" --image-offset=1M "$disk" /f <"$BATS_TEST_TMPDIR/data"
	dd if="$disk" of="$BATS_TEST_TMPDIR/part2" bs=1M skip=1 count=32 status=none
	verify "$BATS_TEST_TMPDIR/part2" /f "$BATS_TEST_TMPDIR/data"
}

@test "--no-sync still commits everything" {
	run -0 "$PCWRITE" --no-sync "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "a file and a directory named by the same run: several sources need a directory" {
	"$PCWRITE" "$IMG" /file <"$BATS_TEST_TMPDIR/data"
	cp "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/other"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /file "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/other"
	[[ "$stderr" =~ not\ a\ directory ]]
	run -0 "$PCWRITE" -p "$IMG" /newdir "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/other"
	verify "$IMG" /newdir/other "$BATS_TEST_TMPDIR/other"
}

@test "--undo: e2undo rolls the run back to a byte-identical image; a refused run makes no undo file" {
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	mkdata "$BATS_TEST_TMPDIR/big" $((2 * 1024 * 1024))
	run -0 "$PCWRITE" --undo "$BATS_TEST_TMPDIR/undo" -p "$IMG" /d/f "$BATS_TEST_TMPDIR/big"
	verify "$IMG" /d/f "$BATS_TEST_TMPDIR/big"
	run -0 e2undo "$BATS_TEST_TMPDIR/undo" "$IMG"
	cmp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 "$PCWRITE" --undo "$BATS_TEST_TMPDIR/undo2" "$IMG" /missing/f <"$BATS_TEST_TMPDIR/data"
	[ ! -e "$BATS_TEST_TMPDIR/undo2" ]
	cmp "$IMG" "$BATS_TEST_TMPDIR/before"
}

@test "--progress draws a bar on a terminal and nothing elsewhere" {
	command -v script >/dev/null || skip "script (util-linux) missing"
	mkdata "$BATS_TEST_TMPDIR/big" $((3 * 1024 * 1024))
	run -0 script -qec "'$PCWRITE' --progress '$IMG' /f '$BATS_TEST_TMPDIR/big'" /dev/null
	[[ "$output" =~ /f\ \[####################\]\ 100%\ 3.0\ MiB\ /\ 3.0\ MiB ]]
	run -0 script -qec "cat '$BATS_TEST_TMPDIR/big' | '$PCWRITE' --progress '$IMG' /g" /dev/null
	[[ "$output" =~ /g\ 3.0\ MiB ]]
	run -0 --separate-stderr "$PCWRITE" --progress "$IMG" /h "$BATS_TEST_TMPDIR/big"
	[ -z "$stderr" ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/big"
	verify "$IMG" /g "$BATS_TEST_TMPDIR/big"
}

@test "a new entry sets its directory's mtime and ctime, from --mtime too" {
	run -0 "$PCWRITE" --mtime=1700000000 "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	st=$(dstat "$IMG" /)
	[[ "$st" =~ ctime:\ 0x6553f100:00000000 ]]
	[[ "$st" =~ mtime:\ 0x6553f100:00000000 ]]
}

@test "a DEST ending in '/' names a directory: -p makes it and puts the file in it, never a file of that name" {
	local src=$BATS_TEST_TMPDIR/data
	# parents missing: /d and /d/e made, the file is /d/e/data
	run -0 --separate-stderr "$PCWRITE" -p "$IMG" /d/e/ "$src"
	[ -z "$stderr" ]
	[[ "$(dstat "$IMG" /d/e)" =~ Type:\ directory ]]
	[[ "$(dstat "$IMG" /d/e)" =~ Mode:\ +0755 ]]
	# the parent exists, the last directory does not
	run -0 "$PCWRITE" -p "$IMG" /d/g/ "$src"
	[[ "$(dstat "$IMG" /d/g)" =~ Type:\ directory ]]
	# several sources into a missing DEST/
	cp "$src" "$BATS_TEST_TMPDIR/other"
	run -0 "$PCWRITE" -p "$IMG" /m/n/ "$src" "$BATS_TEST_TMPDIR/other"
	fsck_clean "$IMG"
	readback "$IMG" /d/e/data "$src"
	readback "$IMG" /d/g/data "$src"
	readback "$IMG" /m/n/other "$BATS_TEST_TMPDIR/other"
	kernel_readback "$IMG" /d/e/data "$src"
}

@test "a missing DEST ending in '/' without -p is 'not a directory', as cp says; stdin into one is refused; the image unchanged" {
	local src=$BATS_TEST_TMPDIR/data
	"$PCWRITE" -p "$IMG" /d/f "$src"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	# cp: "cannot create regular file 'nodir/': Not a directory"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /d/e/ "$src"
	[ "$stderr" = "pcwrite: $IMG:/d/e/: not a directory (a DEST that ends in '/' names a directory; --parents makes it)" ]
	run -1 --separate-stderr "$PCWRITE" "$IMG" /d/f/ "$src"
	[ "$stderr" = "pcwrite: $IMG:/d/f/: a path component is not a directory" ]
	run -1 --separate-stderr "$PCWRITE" "$IMG" /d/e/ <"$src"
	[[ "$stderr" == *"not a directory"* ]]
	# standard input has no name to put in the directory: nothing is made
	run -1 --separate-stderr "$PCWRITE" -p "$IMG" /x/y/ <"$src"
	[ "$stderr" = "pcwrite: $IMG:/x/y/: destination is a directory (standard input needs a file name)" ]
	run -1 --separate-stderr "$PCWRITE" -p "$IMG" /d/z/ <"$src"
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	fsck_clean "$IMG"
}

@test "--report-file=- is standard output, for the text report too; no file named '-'" {
	cd "$BATS_TEST_TMPDIR"
	run -0 --separate-stderr "$PCWRITE" -r summary --report-file=- "$IMG" /f <data
	[ "$output" = "/f: 10000 bytes written, size 10000, 3 pages, 1 extent: ok" ]
	[ -z "$stderr" ]
	run -0 --separate-stderr "$PCWRITE" -r json --report-file - "$IMG" /g <data
	[ -z "$stderr" ]
	[ "$(grep -c '"event":"page"' <<<"$output")" -eq 3 ]
	[ ! -e ./- ]
	# standard output that is the image is refused for it, as for JSON
	cp "$IMG" before
	run -2 --separate-stderr bash -c '"$1" -r summary --report-file=- "$2" /h <data 1<>"$2"' _ "$PCWRITE" "$IMG"
	[ "$stderr" = "pcwrite: standard output: names the image being written" ]
	unchanged "$IMG" before
	# closed standard output: the report cannot go there
	run -2 --separate-stderr bash -c '"$1" -r summary --report-file=- "$2" /h <data >&-' _ "$PCWRITE" "$IMG"
	[ "${stderr_lines[0]}" = "pcwrite: standard output is closed, and the report goes there (--report-file=-)" ]
	unchanged "$IMG" before
}

# mode_of IMAGE PATH: the permission bits debugfs shows, octal without
# leading zeros (as stat -c %a prints them).
mode_of() {
	local m
	m=$(dstat "$1" "$2" | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p' | head -n1)
	printf '%o\n' "$((8#$m))"
}

# mtime_of IMAGE PATH: seconds, from the inode's 32 signed bits and the
# two epoch bits of its extra field (ext4's encoding past 2038).
mtime_of() {
	local l
	l=$(dstat "$1" "$2" | sed -n 's/^ *mtime: 0x\([0-9a-f]*\):\([0-9a-f]*\).*/\1 \2/p')
	set -- $l
	local base=$((16#$1))
	[ "$base" -ge 2147483648 ] && base=$((base - 4294967296))
	echo $((base + ((16#${2:-0} & 3) << 32)))
}

@test "-m takes symbolic modes as chmod(1) does, from the SOURCE's mode (0644 for stdin)" {
	local m n=0 src=$BATS_TEST_TMPDIR/data host=$BATS_TEST_TMPDIR/host
	umask 0
	for m in u+x,go-w a=rX =644 +644 -022 u=rwx,g=u-w,o= g=u 'u+s,+t' a-X \
		 u+X go-rwx,u+X '=' u= a+rwxst 0755 4755 07755 'u=rw+x' \
		 'o=g' '+t' 'g+s' '=rwx,g-w' 'ug=rx,o=' 'a+r,u+w'; do
		for base in 0640 0751; do
			n=$((n + 1))
			chmod "$base" "$src"
			run -0 "$PCWRITE" -m "$m" "$IMG" "/f$n" "$src"
			cp "$src" "$host"
			chmod "$base" "$host"
			chmod -- "$m" "$host"
			echo "-m $m on $base: chmod $(stat -c %a "$host"), pcwrite $(mode_of "$IMG" "/f$n")"
			[ "$(mode_of "$IMG" "/f$n")" = "$(stat -c %a "$host")" ]
		done
	done
	# standard input's base is 0644
	run -0 "$PCWRITE" -m u+x,o-r "$IMG" /stdin <"$src"
	[ "$(mode_of "$IMG" /stdin)" = 740 ]
	# an existing file: the base is still the SOURCE's
	chmod 0600 "$src"
	run -0 "$PCWRITE" -m g+r "$IMG" /f1 "$src"
	[ "$(mode_of "$IMG" /f1)" = 640 ]
	fsck_clean "$IMG"
}

@test "-m: what chmod(1) refuses is a usage error" {
	local m
	for m in '' u , u+r, ,u+r 8 =8 u=644 17777 u=gx u=go 'u +x' U+x u+R =644x +64400; do
		usage_error -m "$m" "$IMG" /f
		chmod -- "$m" "$BATS_TEST_TMPDIR/data" 2>/dev/null && { echo "chmod takes '$m'"; false; }
		[[ "${stderr_lines[0]}" == "pcwrite: invalid --mode '$m' (octal, at most 7777, or symbolic as chmod takes it: u+x,go-w)" ]]
	done
}

@test "--mtime takes @SECONDS and ISO 8601 with a zone, as date -d and touch -d read them" {
	local s n=0 host=$BATS_TEST_TMPDIR/host want
	# a date alone is midnight UTC (date -d: local midnight; compared in UTC)
	export TZ=UTC
	for s in 1700000000 @1700000000 @0 2024-01-02 2024-02-29 \
		 2024-01-02T03:04:05Z '2024-01-02 03:04:05+02:00' \
		 2024-01-02T03:04:05-0700 '2024-01-02 03:04:05 +05:30' \
		 2024-01-02T03:04Z 2024-01-02T03:04+01 1970-01-01T00:00:00Z \
		 2038-01-19T03:14:08Z 2106-02-07T06:28:16Z 2446-05-10T22:38:55Z; do
		n=$((n + 1))
		run -0 "$PCWRITE" --mtime="$s" "$IMG" "/f$n" <"$BATS_TEST_TMPDIR/data"
		case $s in [0-9]*[0-9]) [[ $s == *-* ]] || s=@$s ;; esac
		want=$(date -d "$s" +%s)
		touch -d "$s" "$host"
		[ "$(stat -c %Y "$host")" = "$want" ]
		echo "$s: date -d $want, pcwrite $(mtime_of "$IMG" "/f$n")"
		[ "$(mtime_of "$IMG" "/f$n")" = "$want" ]
	done
	fsck_clean "$IMG"
}

@test "--mtime refuses a time of day without a zone, fractions, days the calendar lacks, and past 34 bits; past 2446 it clamps" {
	local s
	for s in yesterday 2024-01-02T03:04:05 '2024-01-02 03:04' 2024-01-02T03:04:05.5Z \
		 2023-02-29 2024-02-30 2024-13-01 2024-01-02T24:00:00Z 2024-01-02T23:59:60Z \
		 1969-12-31 @-1 -5 2514-05-30T01:53:04Z @17179869184 17179869184 '' @ 1e9 0x10; do
		usage_error --mtime="$s" "$IMG" /f
		[[ "${stderr_lines[0]}" == "pcwrite: invalid --mtime '$s' (seconds, @SECONDS, or ISO 8601 with a zone: "* ]]
	done
	# what an inode cannot hold is clamped to what it can, as the kernel
	# clamps (times.bats), whichever form names the time
	for s in 2446-05-10T22:38:56Z 2514-05-30T01:53:03Z @17179869183; do
		run -0 --separate-stderr "$PCWRITE" --mtime="$s" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
		[ "$stderr" = "pcwrite: $IMG: warning: timestamps outside what the inodes hold were clamped to 1901-12-13 20:45:52 .. 2446-05-10 22:38:55 UTC" ]
		[[ "$(dstat "$IMG" /f)" =~ mtime:\ 0x7fffffff:00000003 ]]
	done
	fsck_clean "$IMG"
}
