#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# valgrind.bats: the core cases under valgrind memcheck.  Any invalid
# access, use of uninitialised memory, or definite/indirect leak makes
# valgrind exit 99, and the test fails; the exit status pcwrite itself
# means is asserted too.  Skips (counted) where valgrind is not installed.
# tests/valgrind.supp holds the one leak that is libext2fs's, not ours.

load test_helper

setup_file() {
	setup_file_image 32M
}

setup() {
	command -v valgrind >/dev/null || skip "valgrind not installed (Debian package valgrind)"
	# a sanitizer build cannot run under valgrind
	if ldd "$PCWRITE" 2>/dev/null | grep -q libasan; then
		skip "pcwrite is a sanitizer build"
	fi
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	mkdata "$BATS_TEST_TMPDIR/data" 100000
	VG=(valgrind -q --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite,indirect
	    --show-leak-kinds=definite,indirect
	    --suppressions="$BATS_TEST_DIRNAME/valgrind.supp")
}

@test "valgrind: a new file from a pipe" {
	run -0 --separate-stderr bash -c "cat '$BATS_TEST_TMPDIR/data' | ${VG[*]} '$PCWRITE' '$IMG' /f"
	echo "stderr: $stderr"
	[ -z "$stderr" ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "valgrind: overwrite, then append" {
	"$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	mkdata "$BATS_TEST_TMPDIR/two" 5000
	run -0 --separate-stderr "${VG[@]}" "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/two"
	echo "stderr: $stderr"
	[ -z "$stderr" ]
	run -0 --separate-stderr "${VG[@]}" "$PCWRITE" -a "$IMG" /f "$BATS_TEST_TMPDIR/data"
	echo "stderr: $stderr"
	[ -z "$stderr" ]
	cat "$BATS_TEST_TMPDIR/two" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/expect"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/expect"
}

@test "valgrind: --no-delalloc, --offset, --parents, every string option" {
	run -0 --separate-stderr "${VG[@]}" "$PCWRITE" --no-delalloc --parents \
		-o 3000 -m 0640 -u 7 -g 8 --mtime=1700000000 --sparse=always \
		--page-size=8192 --dirty-limit=64K -r summary \
		--report-file="$BATS_TEST_TMPDIR/report" --undo="$BATS_TEST_TMPDIR/undo" \
		"$IMG" /a/b/f "$BATS_TEST_TMPDIR/data"
	echo "stderr: $stderr"
	[ -z "$stderr" ]
	{ head -c 3000 /dev/zero; cat "$BATS_TEST_TMPDIR/data"; } >"$BATS_TEST_TMPDIR/expect"
	verify "$IMG" /a/b/f "$BATS_TEST_TMPDIR/expect"
}

@test "valgrind: ENOSPC" {
	mkimg "$IMG" 4M -t ext4 -b 1024
	mkdata "$BATS_TEST_TMPDIR/big" 8000000
	run -1 --separate-stderr "${VG[@]}" "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/big"
	[[ "$stderr" =~ ^pcwrite:\ .*No\ space\ left\ on\ device\ \(([0-9]+)\ bytes\ written\)$ ]]
	head -c "${BASH_REMATCH[1]}" "$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/prefix"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/prefix"
}

@test "valgrind: a refusal (missing parent) and a usage error" {
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "${VG[@]}" "$PCWRITE" "$IMG" /no/such/f "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ ^pcwrite:\ .*parent ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	run -2 --separate-stderr "${VG[@]}" "$PCWRITE" --report=bogus -m 0600 "$IMG" /f
	[[ "$stderr" =~ invalid\ --report ]]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	fsck_clean "$IMG"
}

@test "valgrind: --report=json with several SOURCEs" {
	mkdata "$BATS_TEST_TMPDIR/s1" 7000
	mkdata "$BATS_TEST_TMPDIR/s2" 70000
	run -0 --separate-stderr "${VG[@]}" "$PCWRITE" --parents --report=json \
		"$IMG" /d "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2"
	echo "stderr: $stderr"
	[ -z "$stderr" ]
	[ "$(grep -c '"event":"file"' <<<"$output")" -eq 2 ]
	fsck_clean "$IMG"
	readback "$IMG" /d/s1 "$BATS_TEST_TMPDIR/s1"
	readback "$IMG" /d/s2 "$BATS_TEST_TMPDIR/s2"
}
