# SPDX-License-Identifier: GPL-2.0-or-later
# trace_helper.bash: the kernel's own trace of a write, for trace.bats.
#
# The oracle (DESIGN.md, "Oracles"): write the same data into an identical
# image through a loop mount, with the ext4 tracepoints of the write path
# enabled, and read back what the kernel's generic_perform_write loop did:
#
#   ext4_da_write_begin/ext4_da_write_end    one pair per loop iteration
#   (ext4_write_begin/ext4_write_end          the same for -o nodelalloc)
#   ext4_da_reserve_space                     blocks reserved in write_begin
#   ext4_es_insert_delayed_extent             which blocks those were
#   ext4_da_write_pages_extent                extents mapped at writeback
#
# Everything runs in a private trace instance (instances/NAME) filtered to
# the loop device, so nobody else's tracing is disturbed, and everything set
# up is recorded in $BATS_TEST_TMPDIR so ktrace_teardown undoes it even when
# the test failed half-way.
#
# Usage, in a test:
#   ktrace_require                         skip (with the reason) where it cannot run
#   ktrace_write [--nodelalloc] [--append | --offset=N] [--chunk=N] IMAGE PATH DATA
#   pcw_records JSON-FILE                  pcwrite's report, in the same formats
# and ktrace_teardown in teardown().
#
# Both sides leave these files (kernel: $KTRACE, pcwrite: $PTRACE):
#   pages      "pos bytes copied", one line a 4 KiB page iteration
#   reserved   "pos bytes reserved", the same lines with blocks reserved
#   delayed    "lblk len": extents allocated at writeback for delayed blocks,
#              one line a writeback record
#   written    "lblk len": every range written back (pcwrite only: the kernel
#              has no tracepoint for overwrites of mapped blocks)
# and the kernel side keeps raw (the filtered trace) for the failure output.

TRACEFS=${PCW_TRACEFS:-/sys/kernel/tracing}
KTRACE=$BATS_TEST_TMPDIR/kernel
PTRACE=$BATS_TEST_TMPDIR/pcwrite
# The unit the kernel records are split into: pcwrite's default page size.
TRACE_PAGE=4096

# ktrace_require: root, loop devices, ext4, tracefs with the ext4
# tracepoints and trace instances; skip with the reason otherwise.
ktrace_require() {
	local e events
	[ "$(id -u)" -eq 0 ] || skip "kernel trace: needs root"
	command -v losetup >/dev/null || skip "kernel trace: no losetup"
	[ -e /dev/loop-control ] || skip "kernel trace: no loop devices (/dev/loop-control)"
	grep -qw ext4 /proc/filesystems 2>/dev/null ||
		modprobe ext4 2>/dev/null ||
		skip "kernel trace: the kernel has no ext4"
	if [ ! -d "$TRACEFS/instances" ]; then
		# Mounting tracefs is idempotent and changes nothing for
		# other users; it is left mounted.
		mount -t tracefs nodev "$TRACEFS" 2>/dev/null ||
			skip "kernel trace: no tracefs at $TRACEFS (mount -t tracefs failed)"
	fi
	[ -d "$TRACEFS/instances" ] || skip "kernel trace: tracefs has no instances/"
	events="ext4_da_write_begin ext4_da_write_end ext4_da_reserve_space
		ext4_es_insert_delayed_extent ext4_da_write_pages_extent
		ext4_write_begin ext4_write_end"
	for e in $events; do
		[ -d "$TRACEFS/events/ext4/$e" ] ||
			skip "kernel trace: no tracepoint ext4:$e in $(uname -r)"
	done
}

# The kernel's encoding of the tracepoints' dev field: its print format says
# how it splits it ("(REC->dev) >> 20" on Linux, MINORBITS = 20).
ktrace_dev() {
	local loop=$1 shift_bits major minor
	shift_bits=$(sed -n 's/.*((REC->dev) >> \([0-9]*\)).*/\1/p' \
		"$TRACEFS/events/ext4/ext4_da_write_end/format")
	[ -n "$shift_bits" ] || shift_bits=20
	major=$((0x$(stat -L -c %t "$loop")))
	minor=$((0x$(stat -L -c %T "$loop")))
	echo $(((major << shift_bits) | minor))
}

# ktrace_teardown: unmount, detach, remove the trace instance.  Safe to call
# more than once and when nothing was set up.
ktrace_teardown() {
	local f=$BATS_TEST_TMPDIR/ktrace.state mnt loop inst
	[ -f "$f" ] || return 0
	mnt=$(sed -n 's/^mnt //p' "$f")
	loop=$(sed -n 's/^loop //p' "$f")
	inst=$(sed -n 's/^instance //p' "$f")
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		umount "$mnt" || umount -l "$mnt"
	fi
	if [ -n "$loop" ]; then
		losetup -d "$loop" 2>/dev/null || true
	fi
	if [ -n "$inst" ] && [ -d "$inst" ]; then
		echo 0 >"$inst/tracing_on" 2>/dev/null || true
		echo 0 >"$inst/events/enable" 2>/dev/null || true
		rmdir "$inst" || true
	fi
	rm -f "$f"
}

# ktrace_write [--nodelalloc] [--append | --offset=N] [--chunk=N] IMAGE PATH DATA
#
# Mount IMAGE (delalloc, the default, or -o nodelalloc), write the file DATA
# to PATH with ONE write() call (dd bs=SIZE: one read of the whole file, one
# write) -- or, with --chunk=N, one write() call every N bytes, into the
# same open file -- then sync and unmount, so writeback runs while traced.  Without --append or --offset the file is created (or truncated).
# Results go to $KTRACE (see the top of this file); the page records are
# printed too.
ktrace_write() {
	local opts=() nodelalloc=false ddopts=() chunk=0 img path data size
	local inst loop mnt dev e ev_begin ev_end bs ino
	while [ $# -gt 0 ]; do
		case $1 in
		--nodelalloc) nodelalloc=true; opts+=(-o nodelalloc) ;;
		--append) ddopts+=(oflag=append conv=notrunc) ;;
		--offset=*) ddopts+=(oflag=seek_bytes "seek=${1#--offset=}" conv=notrunc) ;;
		--chunk=*) chunk=${1#--chunk=} ;;
		*) break ;;
		esac
		shift
	done
	img=$1 path=$2 data=$3
	size=$(stat -c %s "$data")
	[ "$chunk" -gt 0 ] || chunk=$size
	ktrace_require
	mkdir -p "$KTRACE"
	rm -f "$KTRACE"/*

	inst=$TRACEFS/instances/pcwrite-$$-${BATS_TEST_NUMBER:-0}
	mnt=$BATS_TEST_TMPDIR/kmnt
	mkdir -p "$mnt"
	# ktrace_require found loop devices, ext4 and tracefs: from here on a
	# losetup or mount that fails is a failure, never a skip (the test
	# may already have written its pcwrite side).
	if ! loop=$(losetup -f --show "$img" 2>"$KTRACE/losetup.err"); then
		echo "kernel trace: losetup failed: $(cat "$KTRACE/losetup.err")" >&2
		return 1
	fi
	echo "loop $loop" >>"$BATS_TEST_TMPDIR/ktrace.state"
	echo "mnt $mnt" >>"$BATS_TEST_TMPDIR/ktrace.state"
	if ! mount -t ext4 "${opts[@]}" "$loop" "$mnt" 2>"$KTRACE/mount.err"; then
		echo "kernel trace: mount ${opts[*]} failed: $(cat "$KTRACE/mount.err")" >&2
		return 1
	fi

	mkdir "$inst"
	echo "instance $inst" >>"$BATS_TEST_TMPDIR/ktrace.state"
	echo 0 >"$inst/tracing_on"
	# One writer, perhaps moving between CPUs: order events by one clock.
	echo global >"$inst/trace_clock"
	echo 4096 >"$inst/buffer_size_kb"
	dev=$(ktrace_dev "$loop")
	if $nodelalloc; then
		ev_begin=ext4_write_begin ev_end=ext4_write_end
	else
		ev_begin=ext4_da_write_begin ev_end=ext4_da_write_end
	fi
	for e in $ev_begin $ev_end ext4_da_reserve_space \
		ext4_es_insert_delayed_extent ext4_da_write_pages_extent; do
		echo "dev == $dev" >"$inst/events/ext4/$e/filter"
		echo 1 >"$inst/events/ext4/$e/enable"
	done
	echo 1 >"$inst/tracing_on"

	dd if="$data" of="$mnt$path" bs="$chunk" iflag=fullblock \
		"${ddopts[@]}" status=none
	ino=$(stat -c %i "$mnt$path")
	sync -f "$mnt$path"
	umount "$mnt"
	echo 0 >"$inst/tracing_on"
	bs=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Block size: *//p')

	# The events of this inode only (the filter keeps this device only).
	grep -E " (${ev_begin}|${ev_end}|ext4_da_reserve_space|ext4_es_insert_delayed_extent|ext4_da_write_pages_extent): dev [0-9]+,[0-9]+ ino $ino " \
		"$inst/trace" >"$KTRACE/raw" || true
	# A lost event would make any comparison meaningless.
	if grep -h '^overrun:' "$inst"/per_cpu/cpu*/stats | grep -qv 'overrun: 0$'; then
		echo "kernel trace: events were lost (buffer overrun)" >&2
		return 1
	fi
	ktrace_teardown
	ktrace_parse "$bs" "$ev_begin" "$ev_end" <"$KTRACE/raw"
	cat "$KTRACE/pages"
}

# ktrace_parse BLOCKSIZE BEGIN-EVENT END-EVENT < raw trace
#
# Page records: each write_end record (pos, len, copied) is split at 4 KiB
# boundaries; a folio of 16 KiB written whole becomes 4 page records.
# copied is spread over the pieces in order (a short copy fills the first
# pieces first).
#
# Reservations: each ext4_da_reserve_space event belongs to the
# write_begin/write_end pair it falls between.  Within the pair it is
# followed by the ext4_es_insert_delayed_extent event of the blocks it
# reserved (ext4_insert_delayed_blocks() reserves, then inserts the delayed
# extent [lblk, lblk+len)), so each reserved block is counted on the 4 KiB
# page that holds it.  For a large folio split into pages this spreads the
# folio's reservations over its pages in the order of their new blocks, as
# __block_write_begin_int() walks the folio's buffers from first to last and
# reserves each new one as it goes.  A reservation that cannot be placed on
# a page of its pair (no delayed extent follows, or its block is outside the
# pair's range) is kept on a line "pos ? N", and one outside any pair on a
# last line "? ? N", so it cannot go unnoticed.
ktrace_parse() {
	awk -v bs="$1" -v evb="$2:" -v eve="$3:" -v page="$TRACE_PAGE" \
	    -v pages="$KTRACE/pages" -v resv="$KTRACE/reserved" \
	    -v delayed="$KTRACE/delayed" '
	function val(key,   i) {
		for (i = 1; i < NF; i++)
			if ($i == key) {
				match($(i + 1), /^[0-9]+/)
				return substr($(i + 1), 1, RLENGTH) + 0
			}
		return -1
	}
	function ev(   i) {
		for (i = 1; i <= NF; i++)
			if ($i ~ /^ext4_[a-z_]+:$/)
				return $i
		return ""
	}
	function orphans(   x) {
		# reservations not placed on a page of a pair
		orphan += pending; pending = 0
		for (x in blk)
			orphan += blk[x]
		delete blk
	}
	{ e = ev() }
	e == evb { orphans(); next }
	e == "ext4_da_reserve_space:" {
		if (pending)
			blk["?"] += pending
		pending = val("reserve_blocks")
		next
	}
	e == "ext4_es_insert_delayed_extent:" {
		# "es [lblk/len)"
		for (i = 1; i <= NF; i++)
			if ($i ~ /^\[[0-9]+\/[0-9]+\)$/) {
				split(substr($i, 2), a, /[\/)]/)
				l = a[1] + 0; n = a[2] + 0
			}
		for (k = 0; k < n && pending > 0; k++) {
			blk[int((l + k) * bs / page)]++
			pending--
		}
		next
	}
	e == eve {
		if (pending)
			blk["?"] += pending
		pending = 0
		pos = val("pos"); len = val("len"); left = val("copied")
		end = pos + len
		for (p = pos; p < end; p = pe) {
			pe = (int(p / page) + 1) * page
			if (pe > end)
				pe = end
			c = pe - p < left ? pe - p : left
			left -= c
			idx = int(p / page)
			print p, pe - p, c >pages
			print p, pe - p, blk[idx] + 0 >resv
			delete blk[idx]
		}
		for (x in blk)
			if (blk[x])
				print pos, "?", blk[x] >resv
		delete blk
		next
	}
	e == "ext4_da_write_pages_extent:" {
		print val("lblk"), val("len") >delayed
	}
	END {
		orphans()
		if (orphan)
			print "?", "?", orphan >resv
		close(pages); close(resv); close(delayed)
	}
	'
	touch "$KTRACE/pages" "$KTRACE/reserved" "$KTRACE/delayed"
}

# pcw_records JSON-FILE: pcwrite's --report=json, in the formats above, in
# $PTRACE.  pcwrite's records are flat objects of numbers, booleans and
# strings, one a line; awk reads them without a JSON tool.
pcw_records() {
	mkdir -p "$PTRACE"
	rm -f "$PTRACE"/*
	awk -v dir="$PTRACE" '
	function val(key,   r) {
		if (!match($0, "\"" key "\":[^,}]*"))
			return ""
		r = substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
		return r
	}
	/"event":"page"/ {
		print val("pos"), val("bytes"), val("copied") >(dir "/pages")
		print val("pos"), val("bytes"), val("reserved") >(dir "/reserved")
	}
	/"event":"writeback"/ {
		print val("lblk"), val("len") >(dir "/written")
		if (val("overwrite") != "true")
			print val("lblk"), val("len") >(dir "/delayed")
	}
	' "$1"
	touch "$PTRACE/pages" "$PTRACE/reserved" "$PTRACE/delayed" "$PTRACE/written"
}

# ranges FILE: "start len" lines merged into maximal "first last" ranges.
ranges() {
	sort -n -k1,1 "$1" | awk '
	$2 == 0 { next }
	n && $1 <= last + 1 { if ($1 + $2 - 1 > last) last = $1 + $2 - 1; next }
	{ if (n) print first, last; first = $1; last = $1 + $2 - 1; n = 1 }
	END { if (n) print first, last }'
}

# same WHAT KERNEL-FILE PCWRITE-FILE: identical, or a labelled diff and 1.
same() {
	if ! cmp -s "$2" "$3"; then
		echo "$1 differ (- kernel, + pcwrite):" >&2
		diff -u --label kernel --label pcwrite "$2" "$3" >&2 || true
		return 1
	fi
}
