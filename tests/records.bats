#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# records.bats: the page records of fixed runs (a file, a pipe that floods,
# a pipe that trickles, append, offset, sparse sources, 1 KiB blocks,
# nodelalloc, bigalloc, 16 KiB pages) are those of pcwrite before the write
# path was made faster (commit 8c78e52): the loop's iterations, offsets,
# copied counts and reservations do not depend on how the data reaches the
# page or when it is written back.  tests/records.sums holds their SHA-256;
# tests/records.sh makes them.

load test_helper

@test "the page records of fixed runs are unchanged (tests/records.sums)" {
	command -v python3 >/dev/null || skip "python3 not installed"
	run "$BATS_TEST_DIRNAME/records.sh" "$PCWRITE" "$BATS_TEST_TMPDIR/r"
	echo "$output"
	[ "$status" -eq 0 ]
	diff <(grep -v "^#" "$BATS_TEST_DIRNAME/records.sums" | sort -k3) <(echo "$output" | sort -k3)
}
