#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# memory.bats: a run's memory is bounded whatever the image's size and the
# number of entries (issue 17; the man page's MEMORY): bitmaps as trees of
# extents, a transaction's held metadata capped, the directory cache
# evicting by bytes, directory times held for the current entry's
# ancestors only.  Max RSS from GNU time (a bound on memory, never on
# time); every image checked with e2fsck -fn.

load test_helper

GENTAR="$BATS_TEST_DIRNAME/../bench/gentar.py"
BOUND_KB=$((32 * 1024))

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	[ -x /usr/bin/time ] || skip "no GNU time"
}

# maxrss CMD...: runs CMD (status 0 expected), sets RSS to its max RSS in KiB.
maxrss() {
	run -0 /usr/bin/time -f "rss=%M" -o "$BATS_TEST_TMPDIR/rss" "$@"
	RSS=$(sed -n 's/^rss=//p' "$BATS_TEST_TMPDIR/rss")
	echo "max RSS: $RSS KiB (bound $BOUND_KB)"
}

@test "a file into a 2 TiB image: max RSS under 32 MiB (bitmaps as trees, not 64 MiB arrays)" {
	mkimg "$IMG" 2T -t ext4 -E lazy_itable_init=1,lazy_journal_init=1
	printf 'hello\n' >"$BATS_TEST_TMPDIR/small"
	maxrss "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/small"
	[ "$RSS" -le "$BOUND_KB" ]
	fsck_clean "$IMG"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/small"
}

@test "-x of 20,000 entries (2,000 directories in 20 levels, hard links) into a 64 GiB image: max RSS under 32 MiB" {
	run -0 python3 "$GENTAR" tree 20000 "$BATS_TEST_TMPDIR/t.tar"
	counts=$output
	mkimg "$IMG" 64G -t ext4 -E lazy_itable_init=1,lazy_journal_init=1
	maxrss "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/t.tar"
	[ "$RSS" -le "$BOUND_KB" ]
	run -0 e2fsck -fnv "$IMG"
	# e2fsck's counts: the archive's, plus the root and lost+found.
	dirs=$(sed -n 's/.*dirs=\([0-9]*\).*/\1/p' <<<"$counts")
	[[ "$output" =~ ([0-9]+)\ directories ]]
	[ "${BASH_REMATCH[1]}" -eq $((dirs + 2)) ]
}
