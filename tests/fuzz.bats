#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# fuzz.bats: a short, fixed-seed run of tests/fuzz/run (hostile images:
# damaged metadata of small populated images, pcwrite under a timeout).
# The bars: no crash, no hang, no image e2fsck -fn passed before and fails
# after, data that reads back as reported, one-line refusals of unchanged
# images, and no exit-0 run that adds an e2fsck problem to an image damaged
# in a way pcwrite's cheap checks cover (the damage classes' table).  A failing case prints SEED:CASE; replay it with
#   tests/fuzz/run --replay SEED:CASE
# Long runs: tests/fuzz/long-run.

load test_helper

@test "fuzz: seed ${PCW_FUZZ_SEED:-1}, ${PCW_FUZZ_CASES:-240} cases: no crash, hang, worsened image, bad data, bad refusal or new e2fsck problem" {
	command -v python3 >/dev/null || skip "python3 not installed"
	run python3 "$BATS_TEST_DIRNAME/fuzz/run" --seed "${PCW_FUZZ_SEED:-1}" \
		--cases "${PCW_FUZZ_CASES:-240}" --jobs 2
	# the table, in the log and on the terminal
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" -eq 0 ]
	[[ "$output" =~ total\ +${PCW_FUZZ_CASES:-240}\  ]]
}
