#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# corpus.bats: pcwrite against e2fsprogs' corrupted test images.
#
# The images live outside the project (../shared/corpus/e2fsprogs-tests,
# GPL-2 data from e2fsprogs, never committed here); the suite skips when
# they are absent.  For every image pcwrite must either refuse (exit 1, one
# line "pcwrite: ..." on stderr) or write safely; it must never crash or
# hang, and an image that e2fsck -fn accepted before must be accepted after,
# whatever pcwrite's exit status; one it could check (exit below 8) must
# still be checkable.  A successful write must read back through debugfs,
# its blocks marked in use in the block bitmap.  Each image is tried with
# 20 KiB and with 300 KiB of data, and with -x of a small tar (files, a
# directory, a symlink, a hard link), on a fresh copy each time.
#
# Images that were damaged before: an exit-0 run must not add a problem to
# e2fsck -fn's report (tests/fuzz/problems.py compares the two), except on
# the images of FULL_SCAN, whose damage only a full scan finds (a block two
# files claim): pcwrite, as the kernel, can make that worse (README,
# Reliability).  The counts, by class of the problems added, are printed.
#
# One test loops over all images (bats' per-test overhead is high); its
# failure output lists every offending image with the reason.
#
# Environment:
#   PCW_CORPUS_FILTER=GLOB   only images whose name (without .img.gz) matches
#   PCW_CORPUS_KEEP=DIR      copy each offending image (gzip, as pcwrite
#                            left it) and its logs into DIR

load test_helper

CORPUS_DEST=/pcw-corpus-test
CORPUS_TAR_DIR=/pcw-corpus-tar
PCW_TIMEOUT=30
FSCK_TIMEOUT=10	# e2fsck 1.47.0 loops forever on a few images

# Damage only a full scan finds; an exit-0 run may add e2fsck problems here.
#   f_dup_ba: blocks a file claims are free in the bitmap (the counts
#     agree): a new file or directory block lands on them.
#   f_ind_inode_collision: a file's indirect blocks are inode table blocks:
#     a new inode in them is read as block numbers of that file.
FULL_SCAN=" f_dup_ba f_ind_inode_collision "

setup_file() {
	CORPUS=${PCW_CORPUS:-$SHARED/corpus/e2fsprogs-tests}
	export CORPUS
}

corpus_present() {
	[ -d "$CORPUS" ] && compgen -G "$CORPUS/*.img.gz" >/dev/null
}

# fsck_status IMAGE OUT: e2fsck -fn's exit status; its output into OUT,
# with the image's path shown as IMAGE (so that outputs compare).
fsck_status() {
	local rc=0
	timeout -s KILL "$FSCK_TIMEOUT" e2fsck -fn "$1" >"$2.raw" 2>&1 || rc=$?
	sed "s#$1#IMAGE#g" "$2.raw" >"$2"
	rm -f "$2.raw"
	echo "$rc"
}

# The per-image state shared by check_one and its callers.
declare -a FAILURES
N_REFUSED=0 N_WRITTEN=0 N_FAILED=0 N_CLEAN=0 N_FSCK_HANG=0 N_RUNS=0
# runs on images e2fsck rejected: that changed the image, of those exit 0;
# exit-0 runs that added e2fsck problems, and their images and classes
N_DIRTY_CHANGED=0 N_DIRTY_CHANGED_OK=0 N_NEW_RUNS=0
declare -gA NEW_IMAGES=() NEW_CLASSES=()

fail_img() {
	FAILURES+=("$1")
	N_FAILED=$((N_FAILED + 1))
}

keep_failure() {
	local name=$1 variant=$2 dir=${PCW_CORPUS_KEEP:-}
	[ -n "$dir" ] || return 0
	mkdir -p "$dir"
	gzip -c "$W/img" >"$dir/$name.$variant.after.img.gz"
	cp "$W/stderr" "$dir/$name.$variant.stderr" 2>/dev/null || true
	cp "$W/fsck.before" "$dir/$name.$variant.fsck.before" 2>/dev/null || true
	cp "$W/fsck.after" "$dir/$name.$variant.fsck.after" 2>/dev/null || true
}

# readback_tar: the small tar's entries, read back through debugfs.
readback_tar() {
	local f d=$CORPUS_TAR_DIR/t
	for f in a b sub/c hard; do
		if ! debugfs -R "cat $d/$f" "$W/img" 2>/dev/null | cmp -s - "$W/tree/t/$f"; then
			echo "$d/$f reads back wrong"
			return
		fi
	done
	if ! debugfs -R "stat $d/link" "$W/img" 2>/dev/null | grep -q 'Fast link dest: "a"'; then
		echo "$d/link is not the symlink to a"
	fi
}

# check_one NAME VARIANT DATA BEFORE: run pcwrite on a fresh copy of the
# image ($W/orig, whose e2fsck -fn status is BEFORE) and classify; DATA is
# a file for stdin, or "tar" for -x of $W/small.tar.
check_one() {
	local name=$1 variant=$2 data=$3 before=$4
	local after=- rc nlines first reasons=() tag="$1 [$2]" new="" bad

	cp --sparse=always "$W/orig" "$W/img"

	rc=0
	if [ "$data" = tar ]; then
		timeout --foreground -s KILL "$PCW_TIMEOUT" "$PCWRITE" --no-sync -x -p \
			"$W/img" "$CORPUS_TAR_DIR" "$W/small.tar" \
			</dev/null >"$W/stdout" 2>"$W/stderr" || rc=$?
	else
		timeout --foreground -s KILL "$PCW_TIMEOUT" "$PCWRITE" --no-sync "$W/img" "$CORPUS_DEST" \
			<"$data" >"$W/stdout" 2>"$W/stderr" || rc=$?
	fi
	N_RUNS=$((N_RUNS + 1))
	if [ "$before" -ne 0 ] && ! cmp -s "$W/orig" "$W/img"; then
		N_DIRTY_CHANGED=$((N_DIRTY_CHANGED + 1))
		[ "$rc" -eq 0 ] && N_DIRTY_CHANGED_OK=$((N_DIRTY_CHANGED_OK + 1))
	fi

	nlines=$(wc -l <"$W/stderr")
	first=$(head -n1 "$W/stderr")

	if [ "$rc" -ge 124 ]; then
		if [ "$rc" -eq 137 ]; then
			reasons+=("crash/hang: killed after ${PCW_TIMEOUT}s or by SIGKILL (exit 137)")
		else
			reasons+=("crash/hang: exit $rc (signal $((rc - 128)))")
		fi
	elif [ "$rc" -eq 2 ]; then
		reasons+=("usage error (exit 2)")
	elif [ "$rc" -eq 1 ]; then
		if [ "$nlines" -ne 1 ] || [ "$(wc -c <"$W/stderr")" -eq 0 ] ||
		   [ "${first#pcwrite: }" = "$first" ]; then
			reasons+=("exit 1 but stderr is not one line \"pcwrite: ...\" ($nlines lines)")
		fi
	elif [ "$rc" -ne 0 ]; then
		reasons+=("unexpected exit $rc")
	fi

	# e2fsck after, whatever the exit (a timed-out run included).  An
	# image it accepted must still be accepted; one it could check (exit
	# below 8) must still be checkable: exit 8 is an operational error,
	# such as a superblock it can no longer read.  Not where e2fsck timed
	# out before: it loops on a few damaged images.
	#
	# Problems e2fsck did not report before: whenever e2fsck finished
	# both times (its exit 8 or 12 too: it reports what it found before
	# stopping).
	if [ "$before" -lt 124 ]; then
		after=$(fsck_status "$W/img" "$W/fsck.after")
		if [ "$before" -eq 0 ] && [ "$after" -ne 0 ]; then
			reasons+=("e2fsck -fn passed before, exits $after after")
		elif [ "$before" -lt 8 ] && [ "$after" -ge 8 ]; then
			reasons+=("e2fsck -fn exited $before before (checkable), $after after: $(grep -v '^e2fsck [0-9]' "$W/fsck.after" | grep . | head -n1)")
		fi
		if [ "$after" -lt 124 ]; then
			new=$(python3 "$BATS_TEST_DIRNAME/fuzz/problems.py" \
				"$W/fsck.before" "$W/fsck.after")
		fi
	fi
	if [ -n "$new" ] && [ "$rc" -eq 0 ]; then
		local c
		N_NEW_RUNS=$((N_NEW_RUNS + 1))
		NEW_IMAGES[$name]=1
		for c in $(cut -f1 <<<"$new" | sort -u); do
			NEW_CLASSES[$c]=$(( ${NEW_CLASSES[$c]:-0} + 1 ))
		done
		if [[ "$FULL_SCAN" != *" $name "* ]]; then
			reasons+=("exit 0, and e2fsck reports $(wc -l <<<"$new") problem(s) it did not report before: $(cut -f2 <<<"$new" | head -n3 | paste -sd '|')")
		fi
	fi

	if [ "$rc" -eq 0 ] && [ "$data" = tar ]; then
		bad=$(readback_tar)
		[ -z "$bad" ] || reasons+=("exit 0 but $bad")
	elif [ "$rc" -eq 0 ]; then
		if ! debugfs -R "cat $CORPUS_DEST" "$W/img" >"$W/readback" 2>"$W/debugfs.err"; then
			reasons+=("exit 0 but debugfs cat failed: $(head -n1 "$W/debugfs.err")")
		elif ! cmp -s "$W/readback" "$data"; then
			reasons+=("exit 0 but debugfs cat differs ($(stat -c %s "$W/readback") vs $(stat -c %s "$data") bytes)$(grep -v '^debugfs [0-9]' "$W/debugfs.err" | head -n1 | sed 's/^/: /')")
		else
			# The file's blocks must be marked in use in the block
			# bitmap on disk, or the next allocation takes them again
			# (e2fsck may not say: it rejected the image before).
			local free
			free=$(debugfs -R "blocks $CORPUS_DEST" "$W/img" 2>/dev/null |
				tr ' ' '\n' | grep -E '^[0-9]+$' | sed 's/^/testb /' |
				debugfs -f - "$W/img" 2>/dev/null | grep -c 'not in use' || true)
			if [ "$free" -gt 0 ]; then
				reasons+=("exit 0 but $free of the file's blocks are free in the block bitmap")
			fi
		fi
	fi

	if [ "${#reasons[@]}" -eq 0 ]; then
		if [ "$rc" -eq 0 ]; then
			N_WRITTEN=$((N_WRITTEN + 1))
		else
			N_REFUSED=$((N_REFUSED + 1))
		fi
		return 0
	fi

	local msg r
	msg="$tag: exit $rc, e2fsck before $before after $after"
	for r in "${reasons[@]}"; do
		msg+=$'\n'"    - $r"
	done
	if [ -s "$W/stderr" ]; then
		msg+=$'\n'"    stderr: $(head -n5 "$W/stderr" | sed '2,$s/^/            /')"
	fi
	if [ "$after" != - ] && [ "$after" -ne "$before" ]; then
		msg+=$'\n'"    e2fsck -fn after (first 12 lines differing from before):"
		msg+=$'\n'"$(diff "$W/fsck.before" "$W/fsck.after" | grep '^>' | head -n12 | sed 's/^/      /')"
	fi
	fail_img "$msg"
	keep_failure "$name" "$variant"
}

@test "corpus: pcwrite refuses or writes safely on every e2fsprogs test image" {
	if ! corpus_present; then
		skip "corpus absent: no *.img.gz in $CORPUS (see ../shared/corpus/README.md)"
	fi
	[ -x "$PCWRITE" ] || skip "pcwrite not built: $PCWRITE"
	command -v e2fsck >/dev/null || skip "e2fsck not installed"
	command -v debugfs >/dev/null || skip "debugfs not installed"

	W=$BATS_TEST_TMPDIR
	mkdata "$W/data.20k" $((20 * 1024))
	mkdata "$W/data.300k" $((300 * 1024))
	# the small tar: files, a directory, a symlink, a hard link
	mkdir -p "$W/tree/t/sub"
	mkdata "$W/tree/t/a" 5000
	mkdata "$W/tree/t/b" 70000
	mkdata "$W/tree/t/sub/c" 100
	ln -s a "$W/tree/t/link"
	ln "$W/tree/t/a" "$W/tree/t/hard"
	tar -C "$W/tree" -cf "$W/small.tar" t

	local gz name n=0 start=$SECONDS before
	for gz in "$CORPUS"/*.img.gz; do
		name=$(basename "$gz" .img.gz)
		# shellcheck disable=SC2053
		[[ $name == ${PCW_CORPUS_FILTER:-*} ]] || continue
		n=$((n + 1))
		if ! gunzip -c "$gz" >"$W/orig" 2>"$W/gunzip.err"; then
			fail_img "$name: gunzip failed: $(head -n1 "$W/gunzip.err")"
			continue
		fi

		# e2fsck -n opens read-only: one run on the pristine image serves
		# both variants.
		before=$(fsck_status "$W/orig" "$W/fsck.before")
		[ "$before" -eq 0 ] && N_CLEAN=$((N_CLEAN + 1))
		[ "$before" -ge 124 ] && N_FSCK_HANG=$((N_FSCK_HANG + 1))

		# 20 KiB: a few blocks.  300 KiB: several pages and extents,
		# indirect blocks on ext2/3, and more room to run out of space.
		check_one "$name" 20k "$W/data.20k" "$before"
		check_one "$name" 300k "$W/data.300k" "$before"
		check_one "$name" tar tar "$before"
		rm -f "$W/orig" "$W/img" "$W/readback"
	done

	local c classes=""
	for c in $(printf '%s\n' "${!NEW_CLASSES[@]}" | sort); do
		classes+=" $c ${NEW_CLASSES[$c]},"
	done
	echo "# corpus: $n images ($N_CLEAN e2fsck-clean, $N_FSCK_HANG where e2fsck timed out), $N_RUNS runs (20 KiB, 300 KiB, -x of a small tar each): $N_REFUSED exit 1 (refused, or stopped cleanly), $N_WRITTEN written, $N_FAILED failed; $((SECONDS - start))s" >&3
	echo "# images e2fsck rejected: $N_DIRTY_CHANGED runs changed one, $N_DIRTY_CHANGED_OK of them with exit 0; $N_NEW_RUNS exit-0 runs added e2fsck problems, on ${#NEW_IMAGES[@]} images (${!NEW_IMAGES[*]}); runs by class of the problems added:${classes%,}" >&3

	[ "$n" -gt 0 ] || skip "no image matches PCW_CORPUS_FILTER=${PCW_CORPUS_FILTER:-}"
	if [ "$N_FAILED" -ne 0 ]; then
		printf '%d failing run(s):\n' "$N_FAILED"
		printf '%s\n' "${FAILURES[@]}"
		return 1
	fi
}
