#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# crash.bats: the crash-point harness (issue 13's Must-show), the
# dm-log-writes / CrashMonkey method without device-mapper:
#
#   tests/eio_shim.c   record mode: every write and flush pcwrite makes to
#                      the image, with the data, and the report's file
#                      records in order with them
#   tests/crash.py     the crash states of a log (each flush point, and
#                      random subsets of the writes after it, in random
#                      order) judged by e2fsck -E journal_only, e2fsck -fn
#                      and a read-only kernel mount that compares every entry
#                      printed before the state's last flush with its source
#   tests/crash_sweep.py  issue 13's workloads on its layouts
#
# What holds: the log replays to the image the run left, byte for byte;
# the state "every write durable" is clean; a planted bug (one write
# acknowledged and lost) is found; and, pcwrite committing through the
# journal (the default where there is one), no crash state needs repair.
# In place (--no-journal) crash states in the middle need repair: the
# sweep with --opt=--no-journal prints those counts (the "before" numbers
# in bench/README.md).
#
# make check runs a capped sweep: $PCW_CRASH_STATES states a case (default
# 12), seed $PCW_CRASH_SEED (default: random, printed).  The long sweep,
# every workload and layout, 20 subsets a flush point, no cap, exit 1 on a
# state that needs repair:
#   tests/crash_sweep.py --strict --planted --json /tmp/crash-sweep.json

load test_helper

SWEEP="$BATS_TEST_DIRNAME/crash_sweep.py"
CRASH="$BATS_TEST_DIRNAME/crash.py"

setup_file() {
	command -v cc >/dev/null || skip "no C compiler for the shim"
	command -v python3 >/dev/null || skip "no python3"
	# The interpreter itself: a version manager's python3 shim can cost
	# seconds a call on a loaded machine.
	PY=$(python3 -c 'import sys; print(sys.executable)')
	export PY
	cc -shared -fPIC -o "$BATS_FILE_TMPDIR/eio_shim.so" \
		"$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	export PCW_CRASH_SEED=${PCW_CRASH_SEED:-$RANDOM$RANDOM}
	local states=${PCW_CRASH_STATES:-12}
	# Two capped cases, each with the planted bug: a 2,000-entry tar into
	# 1 KiB blocks with metadata_csum and a journal, an append on 4 KiB.
	"$PY" "$SWEEP" -w tree-x -l ext4-1k-csum --states "$states" \
		--planted --shim "$BATS_FILE_TMPDIR/eio_shim.so" \
		--pcwrite "$PCWRITE" --json "$BATS_FILE_TMPDIR/tree.json" \
		>"$BATS_FILE_TMPDIR/tree.out" 2>&1 || true
	"$PY" "$SWEEP" -w append -l ext4-4k --states "$states" \
		--planted --shim "$BATS_FILE_TMPDIR/eio_shim.so" \
		--pcwrite "$PCWRITE" --json "$BATS_FILE_TMPDIR/append.json" \
		>"$BATS_FILE_TMPDIR/append.out" 2>&1 || true
	# And through a 1 MiB journal (the log wraps around), -R replacing a
	# tree: blocks freed and allocated again inside the run.
	"$PY" "$SWEEP" -w tree-R -l journal-1m --states "$states" \
		--shim "$BATS_FILE_TMPDIR/eio_shim.so" \
		--pcwrite "$PCWRITE" --json "$BATS_FILE_TMPDIR/replace.json" \
		>"$BATS_FILE_TMPDIR/replace.out" 2>&1 || true
}

# Scratch on tmpfs where there is one: every pcwrite run fsyncs the image,
# and on a shared virtual disk an fsync costs seconds.
setup() {
	SHIM=$BATS_FILE_TMPDIR/eio_shim.so
	WORK=$BATS_TEST_TMPDIR
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then
		WORK=$(mktemp -d /dev/shm/pcw-crash-bats.XXXXXX)
	fi
	cd "$WORK"
}

teardown() {
	detach_attached
	cd /
	case $WORK in /dev/shm/pcw-crash-bats.*) rm -rf "$WORK" ;; esac
}

# field CASE EXPR: a value from a sweep's JSON result (a python expression
# over r, the case's result).
field() {
	"$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))[0]
print(eval(sys.argv[2]))' "$BATS_FILE_TMPDIR/$1.json" "$2"
}

# swept CASE: the sweep ran and wrote its result; its output on failure.
swept() {
	if [ ! -s "$BATS_FILE_TMPDIR/$1.json" ]; then
		cat "$BATS_FILE_TMPDIR/$1.out"
		return 1
	fi
}

# recorded IMAGE LOG REPORT PCWRITE-ARGS...: pcwrite under the shim in
# record mode, the JSON report to REPORT.
recorded() {
	local img=$1 log=$2 rep=$3
	shift 3
	: >"$rep"
	env LD_PRELOAD="$SHIM" PCW_CRASH_LOG="$log" \
		PCW_CRASH_IMAGE="$(stat -c %d:%i "$img")" \
		PCW_CRASH_REPORT="$(stat -c %d:%i "$rep")" \
		"$PCWRITE" --report=json "$@" >"$rep"
}

@test "record mode: the log of a run replays to the image it left, byte for byte (-x, a pipe, 1 KiB and 4 KiB blocks)" {
	mkdir -p src/a
	head -c 70000 /dev/urandom >src/a/f
	ln src/a/f src/a/g
	ln -s f src/a/l
	setfattr -n user.x -v 1 src/a/f
	tar --xattrs --format=pax -cf t.tar -C src .
	head -c 3000000 /dev/urandom >data
	for bs in 1024 4096; do
		mkimg img 32M -t ext4 -b $bs
		cp img orig
		rm -f log
		recorded img log rep -x -p img /d t.tar
		cat data | LD_PRELOAD="$SHIM" PCW_CRASH_LOG="$PWD/log" \
			PCW_CRASH_IMAGE="$(stat -c %d:%i img)" \
			"$PCWRITE" --dirty-limit=1M img /d/s
		"$PY" "$CRASH" replay orig log out
		cmp out img
		# Every file record of the report, in the log, in order.
		grep '"event":"file"' rep >want
		"$PY" "$CRASH" dump log | sed -n 's/^M report *[0-9]* *[0-9]* //p' >got
		diff want got
		[ "$(wc -l <got)" -eq 5 ]
		# Writes through unix_io and pcwrite's data descriptor (pwrite64;
		# the superblock too, whole, through lib/io.c's commit), and fsyncs.
		"$PY" "$CRASH" dump log >dump
		grep -q '^W pwrite64 ' dump
		grep -q '^F fsync ' dump
		fsck_clean img
	done
}

@test "record mode: every call that changes or flushes the file is logged, through any descriptor (writev, pwritev, O_APPEND, fallocate, ftruncate, dup, syncfs)" {
	mkimg img 8M -t ext4 -b 4096
	cp img orig
	LD_PRELOAD="$SHIM" PCW_CRASH_LOG="$PWD/log" \
		PCW_CRASH_IMAGE="$(stat -c %d:%i img)" "$PY" - img <<'EOF'
import ctypes, os, sys
img = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(img, os.O_RDWR)
os.pwrite(fd, b"a" * 5000, 1 << 20)
os.lseek(fd, 3 << 20, os.SEEK_SET)
os.write(fd, b"b" * 100)
os.writev(fd, [b"c" * 10, b"d" * 4096])
os.pwritev(fd, [b"e" * 7, b"f" * 9000], 5 << 20)
dup = os.dup(fd)
os.pwrite(dup, b"g" * 4096, 6 << 20)
other = os.open(img, os.O_WRONLY | os.O_APPEND)
os.write(other, b"h" * 3000)
os.fsync(other)
# FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE, then ZERO_RANGE
assert libc.fallocate(fd, 3, ctypes.c_long(1 << 20), ctypes.c_long(2048)) == 0
libc.fallocate(fd, 0x10, ctypes.c_long((6 << 20) + 100), ctypes.c_long(10))  # ZERO_RANGE, where the host fs has it
os.posix_fallocate(fd, 8 << 20, 8192)
os.fdatasync(dup)
os.ftruncate(fd, (8 << 20) + 5000)
libc.sync_file_range(fd, ctypes.c_long(0), ctypes.c_long(0), 2)
os.truncate(img, (8 << 20) + 4096)
# syncfs, not sync(): sync() waits for every filesystem of a busy host.
assert libc.syncfs(fd) == 0
EOF
	"$PY" "$CRASH" dump log >dump
	cat dump
	"$PY" "$CRASH" replay orig log out
	cmp out img
	for rec in 'W pwrite64' 'W write' 'W writev' 'W pwritev' 'Z fallocate' \
		'A posix_fallocate' 'T ftruncate' 'T truncate' 'F fsync' \
		'F fdatasync' 'F syncfs' 'S sync_file_range'; do
		grep -q "^$rec" dump || { echo "no $rec record"; false; }
	done
	# The O_APPEND write lands at the end of the file, as logged.
	grep -q "^W write  *$((8 << 20)) *3000" dump
}

@test "record mode: a write the shim fails with EIO is not logged; the log still replays to the image" {
	mkimg img 16M -t ext4
	cp img orig
	head -c 300000 /dev/urandom >data
	run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_MIN=16384 \
		PCW_EIO_SKIP=2 PCW_CRASH_LOG="$PWD/log" \
		PCW_CRASH_IMAGE="$(stat -c %d:%i img)" \
		"$PCWRITE" --no-sync --dirty-limit=65536 img /f data
	[[ "$stderr" == *"Input/output error"* ]]
	"$PY" "$CRASH" replay orig log out
	cmp out img
	fsck_clean img
}

@test "record mode is off without PCW_CRASH_IMAGE: nothing is logged" {
	mkimg img 16M -t ext4
	echo hello | LD_PRELOAD="$SHIM" PCW_CRASH_LOG="$PWD/log" "$PCWRITE" img /f
	[ ! -e log ]
	fsck_clean img
}

@test "self-check: the state with every write durable is clean (a 2,000-entry tar, an append)" {
	swept tree
	swept append
	cat "$BATS_FILE_TMPDIR/tree.out" "$BATS_FILE_TMPDIR/append.out" |
		grep -e '^crash' -e '^total' | sed 's/^/# /' >&3
	[ "$(field tree 'r["final_clean"]')" = True ]
	[ "$(field append 'r["final_clean"]')" = True ]
	[ "$(field tree 'r["file_records"]')" -eq 2001 ]
	[ "$(field tree 'r["states"]')" -ge 2 ]
}

@test "self-check: a planted bug (one metadata write acknowledged and lost) is found" {
	swept tree
	swept append
	for c in tree append; do
		echo "$c: write $(field $c 'r["planted_write"]') dropped: $(field $c 'r["planted_failures"]')"
		[ "$(field $c 'r["planted_found"]')" = True ]
	done
}

@test "the crash states before the last flush of a run are counted, with their e2fsck problem classes" {
	swept tree
	swept append
	for c in tree append; do
		[ "$(field $c 'r["states"]')" -gt 0 ]
		[ "$(field $c 'r["states"]')" -le "${PCW_CRASH_STATES:-12}" ]
		# Counted by reason, one reason at least for each failing state.
		[ "$(field $c 'sum(r["by_reason"].values()) >= r["failing"]')" = True ]
	done
}

@test "0 crash states need repair (journaled commits)" {
	local c n=0
	swept tree
	swept append
	swept replace
	for c in tree append replace; do
		field $c 'r["failing_states"]'
		[ "$(field $c 'r["final_clean"]')" = True ]
		[ "$(field $c 'r["failing"]')" -eq 0 ]
		n=$((n + $(field $c 'r["states"]')))
	done
	echo "# journaled: $n crash states checked, 0 need repair" >&3
}
