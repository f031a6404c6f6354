#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# complete.bats: completion that only pcwrite can have.  DEST (and DIR for
# -x, -R, --list) completes to paths inside the image named earlier on the
# line, in bash (through bash-completion, COMP_WORDS as readline splits
# them) and in zsh (a real interactive zsh under zpty); pcwrite lists them
# itself, read-only: pcwrite --list IMAGE DIR.
bats_require_minimum_version 1.5.0

load test_helper
load complete_helper

setup_file() {
	# /etc (with a name holding a space, a file, a subdirectory), a
	# merged-/usr link /lib -> usr/lib, a name holding a newline
	setup_file_image 32M
	local img=$BATS_FILE_TMPDIR/base.img d=$BATS_FILE_TMPDIR
	printf 'x' >"$d/x"
	"$PCWRITE" -p "$img" /etc/hostname "$d/x"
	"$PCWRITE" -p "$img" /etc/ssh/sshd_config "$d/x"
	"$PCWRITE" -p "$img" "/etc/my file" "$d/x"
	"$PCWRITE" -p "$img" /usr/lib/libc.so "$d/x"
	"$PCWRITE" -p "$img" $'/etc/new\nline' "$d/x"
	debugfs -w -R "symlink /lib usr/lib" "$img" 2>/dev/null
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	cd "$BATS_TEST_TMPDIR"
	SRCDIR=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	BASHCOMP=$SRCDIR/completions/pcwrite
	# the completions run "pcwrite" from PATH, as a user's shell does
	PATH=$(dirname "$PCWRITE"):$PATH
	cp "$IMG" img.before
}

# ---- pcwrite --list ----------------------------------------------------------

@test "--list: one name a line in byte order, directories with '/', no . or .., a newline name left out" {
	run -0 --separate-stderr "$PCWRITE" --list "$IMG" /etc
	[ -z "$stderr" ]
	[ "$output" = "$(printf 'hostname\nmy file\nssh/')" ]
	run -0 "$PCWRITE" --list "$IMG" /
	[ "$output" = "$(printf 'etc/\nlib\nlost+found/\nusr/')" ]
	# DIR resolves as DEST does: the last symlink followed too
	run -0 "$PCWRITE" --list "$IMG" /lib
	[ "$output" = libc.so ]
	run -0 "$PCWRITE" --list "$IMG" /lib/../../etc/ssh
	[ "$output" = sshd_config ]
	unchanged "$IMG" img.before
}

@test "--list: a missing or non-directory DIR is exit 1 and one line; only IMAGE DIR and the offset options" {
	run -1 --separate-stderr "$PCWRITE" --list "$IMG" /nope
	[ "$stderr" = "pcwrite: $IMG:/nope: No such file or directory" ]
	run -1 --separate-stderr "$PCWRITE" --list "$IMG" /etc/hostname
	[ "$stderr" = "pcwrite: $IMG:/etc/hostname: Not a directory" ]
	run -2 --separate-stderr "$PCWRITE" --list "$IMG" /etc extra
	[ "${stderr_lines[0]}" = "pcwrite: --list takes IMAGE and DIR only" ]
	run -2 --separate-stderr "$PCWRITE" --list -p "$IMG" /etc
	[ "${stderr_lines[0]}" = "pcwrite: --list goes with --image-offset or --partition only" ]
	run -2 --separate-stderr "$PCWRITE" --list -x "$IMG" /etc
	[ "${stderr_lines[0]}" = "pcwrite: -x, -R and --list exclude each other" ]
	run -2 --separate-stderr "$PCWRITE" --list "$IMG" etc
	# the listing never goes into the image
	run -2 --separate-stderr bash -c '"$1" --list "$2" / 1<>"$2"' _ "$PCWRITE" "$IMG"
	[ "$stderr" = "pcwrite: standard output: names the image being written" ]
	unchanged "$IMG" img.before
}

@test "--list is read-only: no lock, no write, and it lists what a write refuses" {
	# another process holds the image's lock: a write is refused, a listing is not
	bash -c 'exec 9<"$1"; flock 9; exec sleep 30' _ "$IMG" &
	local lockpid=$!
	for _ in $(seq 50); do
		flock -n "$IMG" true 2>/dev/null || break
		sleep 0.1
	done
	run -1 --separate-stderr "$PCWRITE" "$IMG" /f <<<x
	[[ "$stderr" == *"locked by another pcwrite"* ]]
	run -0 "$PCWRITE" --list "$IMG" /etc/ssh
	kill "$lockpid"
	wait "$lockpid" || :
	[ "$output" = sshd_config ]
	# a filesystem not cleanly unmounted: refused for writing, listed
	debugfs -w -R "ssv state 0" "$IMG" 2>/dev/null
	cp "$IMG" img.before
	run -1 --separate-stderr "$PCWRITE" "$IMG" /f <<<x
	[[ "$stderr" == *"not cleanly unmounted"* ]]
	run -0 "$PCWRITE" --list "$IMG" /etc/ssh
	[ "$output" = sshd_config ]
	unchanged "$IMG" img.before
	# the image is opened read-only, and only so
	if command -v strace >/dev/null; then
		# (LeakSanitizer cannot run under ptrace: off for this run)
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
			run -0 strace -f -e trace=open,openat -o trace "$PCWRITE" --list "$IMG" /
		! grep -F "$IMG" trace | grep -qE 'O_RDWR|O_WRONLY'
		grep -F "$IMG" trace | grep -q O_RDONLY
	fi
}

@test "--list of a mounted image works (read-only, as debugfs would)" {
	kernel_require
	mkdir mnt
	mount -o loop "$IMG" mnt
	run "$PCWRITE" --list "$IMG" /etc/ssh
	run2_status=$status
	run2_output=$output
	run -1 --separate-stderr "$PCWRITE" "$IMG" /f <<<x
	umount mnt
	[ "$run2_status" -eq 0 ]
	[ "$run2_output" = sshd_config ]
	[[ "$stderr" == *"mounted"* ]]
}

@test "--list of a directory of 20000 names: every name, in order" {
	mkdir tree
	(cd tree && seq -f 'name%05g' 20000 | xargs touch && mkdir sub)
	mkimg "$IMG" 64M -t ext4 -N 30000
	run -0 "$PCWRITE" -R -p "$IMG" /big tree
	"$PCWRITE" --list "$IMG" /big >list
	[ "$(wc -l <list)" -eq 20001 ]
	[ "$(head -n 1 list)" = name00001 ]
	[ "$(tail -n 1 list)" = sub/ ]
	LC_ALL=C sort -c list
	# the completion takes only the names that begin as the word does
	run -0 bash_complete_line "pcwrite $IMG /big/name1999"
	[ "${#lines[@]}" -eq 10 ]
	[ "${lines[0]}" = /big/name19990 ]
}

# ---- bash ---------------------------------------------------------------------

@test "bash: DEST completes inside the image: directories with '/', files, quoted names" {
	run -0 bash_complete_line "pcwrite img /e"
	[ "$output" = /etc/ ]
	run -0 bash_complete_line "pcwrite img /etc/"
	[ "$output" = "$(printf '/etc/hostname\n/etc/my\\ file\n/etc/ssh/')" ]
	run -0 bash_complete_line "pcwrite img /etc/my\\ "
	[ "$output" = '/etc/my\ file' ]
	run -0 bash_complete_line "pcwrite img '/etc/my f"
	[ "$output" = '/etc/my\ file' ]
	run -0 bash_complete_line "pcwrite img "
	[ "$output" = "$(printf '/etc/\n/lib\n/lost+found/\n/usr/')" ]
	run -0 bash_complete_line "pcwrite img /lib/"
	[ "$output" = /lib/libc.so ]
	# options before, between, and a SOURCE after do not change it
	run -0 bash_complete_line "pcwrite -p -m 0644 -r json --report-file=r.json img /etc/s"
	[ "$output" = /etc/ssh/ ]
	run -0 bash_complete_line "pcwrite img /nowhere/x"
	[ -z "$output" ]
}

@test "bash: -x, -R and --list complete DIR to directories only; SOURCEDIR to host directories" {
	run -0 bash_complete_line "pcwrite -x img /etc/"
	[ "$output" = /etc/ssh/ ]
	run -0 bash_complete_line "pcwrite -R img /"
	[ "$output" = "$(printf '/etc/\n/lost+found/\n/usr/')" ]
	run -0 bash_complete_line "pcwrite --list img /u"
	[ "$output" = /usr/ ]
	run -0 bash_complete_line "pcwrite -px img /u"
	[ "$output" = /usr/ ]
	mkdir hostdir
	touch hostfile
	run -0 bash_complete_line "pcwrite -R img / host"
	[ "$output" = hostdir ]
	run -0 bash_complete_line "pcwrite -x img / host"
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "hostdir hostfile " ]
}

@test "bash: tar's path options take a value: DIR is still the second argument; -X completes host files" {
	run -0 bash_complete_line "pcwrite -x --strip-components 1 --exclude cache -X pat --transform s,a,b, --xform s,b,c, img /u"
	[ "$output" = /usr/ ]
	run -0 bash_complete_line "pcwrite -R --exclude=cache --transform=s,a,b, img /e"
	[ "$output" = /etc/ ]
	touch patterns
	run -0 bash_complete_line "pcwrite -x -X pat"
	[ "$output" = patterns ]
	run -0 bash_complete_line "pcwrite -x --exclude-from=pat"
	[ "$output" = patterns ]
	run -0 bash_complete_line "pcwrite -x --exclude "
	[ -z "$output" ]
	run -0 bash_complete_line "pcwrite --str"
	[ "$output" = --strip-components= ]
}

@test "bash: --image-offset and --partition on the line are passed to the listing" {
	truncate -s 40M disk
	dd if="$IMG" of=disk bs=1M seek=4 conv=notrunc,sparse status=none
	run -0 bash_complete_line "pcwrite --image-offset=4M disk /e"
	[ "$output" = /etc/ ]
	run -0 bash_complete_line "pcwrite --image-offset 4M disk /e"
	[ "$output" = /etc/ ]
	run -0 bash_complete_line "pcwrite disk /e"
	[ -z "$output" ]
	command -v sfdisk >/dev/null || skip "no sfdisk"
	printf 'label: dos\n8192,,83\n' | sfdisk -q disk >/dev/null
	run -0 bash_complete_line "pcwrite --partition=1 disk /e"
	[ "$output" = /etc/ ]
}

@test "bash: redirections complete host files, and are not arguments (_init_completion)" {
	touch data.in
	run -0 bash_complete_line "pcwrite img /f < da"
	[ "$output" = data.in ]
	run -0 bash_complete_line "pcwrite img <da"
	[ "$output" = data.in ]
	# after a redirection, DEST is still the second argument
	run -0 bash_complete_line "pcwrite img <data.in /e"
	[ "$output" = /etc/ ]
	run -0 bash_complete_line "pcwrite 2>err.log img /e"
	[ "$output" = /etc/ ]
	# a tilde in IMAGE
	run -0 env HOME="$BATS_TEST_TMPDIR" bash -c 'source "$1"; BASHCOMP=$2; bash_complete_line "pcwrite ~/img /e"' _ \
		"$BATS_TEST_DIRNAME/complete_helper.bash" "$BASHCOMP"
	[ "$output" = /etc/ ]
}

@test "bash: a \$(...) in the line is never run by TAB" {
	run -0 bash_complete_line "pcwrite \$(touch${IFS:0:1}pwned)img /e"
	[ ! -e pwned ]
	run -0 bash_complete_line "pcwrite img /\$(touch pwned2)"
	[ ! -e pwned2 ]
}

# ---- zsh ----------------------------------------------------------------------

zsh_complete() {
	command -v zsh >/dev/null || skip "zsh not installed"
	zsh -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh without zsh/zpty"
	zsh -f "$BATS_TEST_DIRNAME/complete_zsh.zsh" "$SRCDIR/completions" "$1"
}

@test "zsh: DEST completes inside the image: the matches and the line they leave" {
	run -0 zsh_complete "pcwrite img /e"
	echo "$output"
	[ "${lines[0]}" = etc ]
	[ "${lines[-1]}" = "BUFFER:pcwrite img /etc/" ]
	run -0 zsh_complete "pcwrite img /etc/"
	echo "$output"
	[ "$(printf '%s\n' "${lines[@]:0:${#lines[@]}-1}" | sort | tr '\n' ,)" = "hostname,my file,ssh," ]
	run -0 zsh_complete "pcwrite img /etc/my"
	[ "${lines[-1]}" = 'BUFFER:pcwrite img /etc/my\ file ' ]
	run -0 zsh_complete "pcwrite img /lib/"
	[ "${lines[-1]}" = "BUFFER:pcwrite img /lib/libc.so " ]
	run -0 zsh_complete "pcwrite -r json img /etc/ss"
	[ "${lines[-1]}" = "BUFFER:pcwrite -r json img /etc/ssh/" ]
}

@test "zsh: tar's path options take a value: DIR is still the second argument" {
	run -0 zsh_complete "pcwrite -x --strip-components 1 --exclude cache -X pat --xform s,a,b, img /u"
	echo "$output"
	[ "${lines[-1]}" = "BUFFER:pcwrite -x --strip-components 1 --exclude cache -X pat --xform s,a,b, img /usr/" ]
}

@test "zsh: -x, -R and --list complete DIR to directories only; offsets are passed on" {
	run -0 zsh_complete "pcwrite -x img /etc/"
	echo "$output"
	[ "$output" = "$(printf 'ssh\nBUFFER:pcwrite -x img /etc/ssh/')" ]
	run -0 zsh_complete "pcwrite --list img /u"
	[ "${lines[-1]}" = "BUFFER:pcwrite --list img /usr/" ]
	truncate -s 40M disk
	dd if="$IMG" of=disk bs=1M seek=4 conv=notrunc,sparse status=none
	run -0 zsh_complete "pcwrite --image-offset=4M disk /e"
	[ "${lines[-1]}" = "BUFFER:pcwrite --image-offset=4M disk /etc/" ]
	run -0 zsh_complete "pcwrite disk /e"
	[ "${lines[-1]}" = "BUFFER:pcwrite disk /e" ]
}
