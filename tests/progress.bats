#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# progress.bats: --progress on a real pseudo-terminal (tests/pty.py).  The
# bar is never wider than the terminal (40 columns here; narrower after a
# SIGWINCH), never shares a line with a report row or a message on the same
# terminal, and for -x/-R counts entries and bytes on one line.  What the
# terminal shows is worked out by a small emulation (carriage return, line
# feed, autowrap), so "shares a line" and "wraps" are what a user would see.
bats_require_minimum_version 1.5.0

load test_helper

setup_file() {
	setup_file_image 256M
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	cd "$BATS_TEST_TMPDIR"
	mkdata big $((24 * 1024 * 1024))
}

# on_pty COLS [pty.py options] -- ARGS...: pcwrite ARGS on a terminal of
# COLS columns; what it showed goes to the file "screen.raw".
on_pty() {
	local cols=$1
	shift
	python3 "$BATS_TEST_DIRNAME/pty.py" --cols "$cols" "$@" >screen.raw
}

# view COLS [FROM-MARKER]: emulate a terminal of COLS columns over
# screen.raw (from the @@RESIZED@@ marker on, when asked); print its lines.
# Exit 1, saying where, when the text reached the last column (it would
# wrap, or does on some terminals).
view() {
	python3 - "$1" "${2:-}" <<'EOF'
import sys
cols, marker = int(sys.argv[1]), sys.argv[2]
raw = open("screen.raw", "rb").read().decode("utf-8", "replace")
if marker:
    raw = raw[raw.index("@@RESIZED@@") + len("@@RESIZED@@"):]
lines, line, col, bad = [], [], 0, None
for ch in raw:
    if ch == "\r":
        col = 0
    elif ch == "\n":
        lines.append("".join(line).rstrip())
        line, col = [], 0
    else:
        if col >= cols - 1 and bad is None:
            bad = "column %d reached on line %d: %r" % (cols, len(lines) + 1, "".join(line))
        if col >= cols:          # autowrap
            lines.append("".join(line).rstrip())
            line, col = [], 0
        while len(line) <= col:
            line.append(" ")
        line[col] = ch
        col += 1
lines.append("".join(line).rstrip())
print("\n".join(lines))
if bad:
    print("WRAP: " + bad, file=sys.stderr)
    sys.exit(1)
EOF
}

# bar_lines: the screen lines that show the bar (a rate, a percentage, or
# entries); row_lines: those that show a report row or a message.
is_bar() { [[ "$1" =~ (/s$|[0-9]%|[0-9]\ entries|\ (KiB|MiB|B)$) ]]; }
is_row() { [[ "$1" =~ (bytes\ written|^FILE\ |writeback\ lblk|:\ dir:\ |^pcwrite:\ ) ]]; }

# no_shared_line: no screen line is both a bar and a row.
no_shared_line() {
	local l rc=0
	while IFS= read -r l; do
		if is_bar "$l" && is_row "$l"; then
			echo "bar and row on one line: '$l'" >&2
			rc=1
		fi
	done
	return $rc
}

@test "40 columns: the bar fits, a long name cut from the left, for a file and for a pipe" {
	run -0 on_pty 40 -- "$PCWRITE" --progress -p "$IMG" /a/rather/long/directory/name/for/the/file.bin big
	run -0 --separate-stderr view 40
	echo "$output"
	[[ "${lines[-1]}" =~ ^\.\.\..*file\.bin\ +100%\  ]]
	[ "${#lines[-1]}" -le 39 ]
	run -0 on_pty 40 --input big -- "$PCWRITE" --progress "$IMG" /from/a/pipe/with/a/long/name -p
	run -0 --separate-stderr view 40
	echo "$output"
	[[ "${lines[-1]}" =~ name\ 24\.0\ MiB ]]
	verify "$IMG" /a/rather/long/directory/name/for/the/file.bin big
	verify "$IMG" /from/a/pipe/with/a/long/name big
}

@test "the bar never shares a line with a report row on the same terminal (summary, pages)" {
	# 120 columns: a report row is wider than 40 (a pages row is 100)
	cp big big2
	run -0 on_pty 120 -- "$PCWRITE" --progress -r summary -p "$IMG" /d big big2
	run -0 --separate-stderr view 120
	echo "$output"
	no_shared_line <<<"$output"
	[ "$(grep -c '^/d/big: 25165824 bytes written' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^/d/big2: 25165824 bytes written' <<<"$output")" -eq 1 ]
	run -0 on_pty 120 -- "$PCWRITE" --progress -r pages "$IMG" /p big
	run -0 --separate-stderr view 120
	no_shared_line <<<"$output"
	# every page has its row, whole
	[ "$(grep -cE '^/p +[0-9]+ +[0-9]+ +[0-9]+ +0 +4096 +4096 +4096 +no +1 +no$' <<<"$output")" -eq 6144 ]
	fsck_clean "$IMG"
}

@test "a message while the bar is drawn goes on a line of its own" {
	mkimg small 16M -t ext4
	run -1 on_pty 120 -- "$PCWRITE" --progress small /big big
	run -0 --separate-stderr view 120
	echo "$output"
	no_shared_line <<<"$output"
	grep -qE '^pcwrite: small:/big: No space left on device \([0-9]+ bytes written\)$' <<<"$output"
	fsck_clean small
}

@test "SIGWINCH: narrower mid-run, the bar is redrawn to the new width" {
	run -0 on_pty 70 --input big --resize 30 -- "$PCWRITE" --progress -p "$IMG" /some/long/path/name/of/a/file
	run -0 --separate-stderr view 70
	echo "$output"
	# after the resize: every draw fits 30 columns
	run -0 --separate-stderr view 30 after-resize
	echo "$output"
	[[ "${lines[-1]}" =~ ^\.\.\..*file\ 24\.0\ MiB ]]
	[ "${#lines[-1]}" -le 29 ]
	verify "$IMG" /some/long/path/name/of/a/file big
}

@test "-x and -R: one line for the run, entries and bytes done, within 40 columns" {
	mkdir -p tree/sub
	local i
	for i in 1 2 3; do
		head -c $((4 * 1024 * 1024)) big >"tree/sub/f$i"
	done
	run -0 on_pty 40 -- "$PCWRITE" --progress -R -p "$IMG" /t tree
	run -0 --separate-stderr view 40
	echo "$output"
	# the run's last line: the entries (DIR itself, sub and its three
	# files) and bytes
	[[ "${lines[-1]}" =~ ^5\ entries,\ 12\.0\ MiB ]]
	# one line, redrawn: no line per entry
	[ "$(grep -c . <<<"$output")" -eq 1 ]
	tar cf t.tar -C tree .
	run -0 on_pty 40 -- "$PCWRITE" --progress -x -p "$IMG" /x t.tar
	run -0 --separate-stderr view 40
	echo "$output"
	[[ "${lines[-1]}" =~ ^5\ entries,\ 12\.0\ MiB ]]
	run -0 on_pty 120 -- "$PCWRITE" --progress -x -r summary -p "$IMG" /y t.tar
	run -0 --separate-stderr view 120
	echo "$output"
	no_shared_line <<<"$output"
	[[ "$output" == *"/y/sub/f3: 4194304 bytes written"* ]]
	fsck_clean "$IMG"
}
