#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# docs.bats: the options, the man page and the shell completions stay in
# sync (as util-linux's tools/checkmanpage.sh and checkcompletion.sh), and
# --help, --version, --usage and a bad option behave as CLI.md says.
bats_require_minimum_version 1.5.0

load test_helper

setup() {
	SRCDIR=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	MANPAGE=$SRCDIR/man/pcwrite.1
	BASHCOMP=$SRCDIR/completions/pcwrite
	ZSHCOMP=$SRCDIR/completions/_pcwrite
}

# help_long_options: the long options `pcwrite --help' lists, one a line,
# without "=ARG" (the option column: "  -a, --append", "      --mtime=S").
help_long_options() {
	"$PCWRITE" --help | sed -nE 's/^ +(-[^ ,-], )?(--[[:alnum:]][[:alnum:]-]*).*/\2/p'
}

# help_short_options: the short options `pcwrite --help' lists, and -h,
# which CLI.md has and the help hides behind -?.
help_short_options() {
	"$PCWRITE" --help | sed -nE 's/^ +(-[^ ,-]), --.*/\1/p'
	echo -h
}

# long_tokens FILE: every "--name" in FILE outside comments (roff's .\" and
# the shell's #), roff's "\-" read as "-".
long_tokens() {
	sed -e '/^\.\\"/d' -e '/^[[:space:]]*#/d' -e 's/\\-/-/g' "$1" |
		grep -oE -- '--[[:alnum:]]+(-[[:alnum:]]+)*' | sort -u
}

# has_short FILE OPT: FILE names the short option OPT ("-a", "-?") as a word
# of its own (roff's "\-" read as "-", zsh's "-\?" as "-?").
has_short() {
	local c=${2#-}
	[ "$c" = "?" ] && c='\?'
	sed -e 's/\\-/-/g' -e 's/-\\?/-?/g' "$1" |
		grep -qE -- "(^|[^[:alnum:]-])-$c([^[:alnum:]-]|\$)"
}

# missing_long FILE: the long options of --help that FILE lacks.
missing_long() {
	local opt missing=()
	local have
	have=$(long_tokens "$1")
	for opt in $(help_long_options); do
		grep -qxF -- "$opt" <<<"$have" || missing+=("$opt")
	done
	echo "${missing[*]}"
}

# assert_all_long FILE WHAT: fail naming every long option FILE lacks.
assert_all_long() {
	local missing
	missing=$(missing_long "$1")
	if [ -n "$missing" ]; then
		echo "missing from $2 ($1): $missing" >&2
		return 1
	fi
}

# assert_no_unknown_long FILE WHAT: FILE names no long option pcwrite lacks.
assert_no_unknown_long() {
	local opt extra=() known
	known=$(help_long_options)
	for opt in $(long_tokens "$1"); do
		grep -qxF -- "$opt" <<<"$known" || extra+=("$opt")
	done
	if [ "${#extra[@]}" -ne 0 ]; then
		echo "$2 ($1) names options pcwrite --help does not list: ${extra[*]}" >&2
		return 1
	fi
}

# assert_all_short FILE WHAT
assert_all_short() {
	local opt missing=()
	for opt in $(help_short_options); do
		has_short "$1" "$opt" || missing+=("$opt")
	done
	if [ "${#missing[@]}" -ne 0 ]; then
		echo "short options missing from $2 ($1): ${missing[*]}" >&2
		return 1
	fi
}

# bash_complete WORD...: COMPREPLY of _pcwrite for the command line WORD...
# (the last word is the one being completed), one a line.
bash_complete() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_pcwrite pcwrite "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' bash_complete "$BASHCOMP" "$@"
}

# --- the command line ---------------------------------------------------

@test "--help prints the options on stdout and exits 0" {
	run -0 --separate-stderr "$PCWRITE" --help
	[ -z "$stderr" ]
	[[ "${lines[0]}" == "Usage: pcwrite "*"IMAGE DEST [SOURCE...]" ]]
	[[ "$output" == *"--report="* ]]
}

@test "-h prints the same help as --help" {
	run -0 --separate-stderr "$PCWRITE" --help
	local help=$output
	run -0 --separate-stderr "$PCWRITE" -h
	[ -z "$stderr" ]
	[ "$output" = "$help" ]
}

@test "--version and -V print 'pcwrite VERSION' and exit 0" {
	local opt
	for opt in --version -V; do
		run -0 --separate-stderr "$PCWRITE" "$opt"
		echo "$opt: '$output' stderr '$stderr'"
		[ -z "$stderr" ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" =~ ^pcwrite\ [0-9]+(\.[0-9]+)+([-.~+][[:alnum:].~+-]*)?$ ]]
	done
}

@test "--usage prints a brief usage on stdout and exits 0" {
	run -0 --separate-stderr "$PCWRITE" --usage
	[ -z "$stderr" ]
	[[ "${lines[0]}" == "Usage: pcwrite "* ]]
}

@test "a bad option exits 2 with one line and the --help hint" {
	local args
	for args in "--no-such-option img /f" "-Z img /f" "--report=bogus img /f" \
		    "img /f --report"; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr "$PCWRITE" $args
		echo "$args: stdout '$output'"
		echo "$args: stderr '$stderr'"
		[ -z "$output" ]
		[ "${#stderr_lines[@]}" -eq 2 ]
		[[ "${stderr_lines[0]}" == "pcwrite: "?* ]]
		[ "${stderr_lines[1]}" = "Try 'pcwrite --help' for more information." ]
	done
}

# --- options, man page and completions in sync ---------------------------

@test "--help lists long options" {
	run -0 help_long_options
	echo "$output"
	[ "${#lines[@]}" -ge 10 ]
	[[ " ${lines[*]} " == *" --append "* ]]
	[[ " ${lines[*]} " == *" --report-file "* ]]
	[[ " ${lines[*]} " == *" --help "* ]]
}

@test "the man page documents every long option" {
	assert_all_long "$MANPAGE" "the man page"
}

@test "the bash completion offers every long option" {
	assert_all_long "$BASHCOMP" "the bash completion"
}

@test "the zsh completion offers every long option" {
	assert_all_long "$ZSHCOMP" "the zsh completion"
}

@test "man page and completions name no option pcwrite lacks" {
	local rc=0
	assert_no_unknown_long "$MANPAGE" "the man page" || rc=1
	assert_no_unknown_long "$BASHCOMP" "the bash completion" || rc=1
	assert_no_unknown_long "$ZSHCOMP" "the zsh completion" || rc=1
	[ "$rc" -eq 0 ]
}

@test "man page and completions have every short option" {
	local rc=0
	assert_all_short "$MANPAGE" "the man page" || rc=1
	assert_all_short "$BASHCOMP" "the bash completion" || rc=1
	assert_all_short "$ZSHCOMP" "the zsh completion" || rc=1
	[ "$rc" -eq 0 ]
}

# --- the man page ---------------------------------------------------------

@test "the man page renders with groff -ww without warnings" {
	command -v groff >/dev/null || skip "groff not installed (Debian: groff-base)"
	run -0 --separate-stderr groff -ww -man -z "$MANPAGE"
	echo "$stderr"
	[ -z "$stderr" ]
}

@test "the man page has the sections CLI.md's contract needs" {
	local s missing=()
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS '"WRITE PATH"' REPORT \
		 '"EXIT STATUS"' ENVIRONMENT EXAMPLES '"SEE ALSO"'; do
		grep -qxF ".SH $s" "$MANPAGE" || missing+=("$s")
	done
	echo "missing sections: ${missing[*]}"
	[ "${#missing[@]}" -eq 0 ]
	grep -q 'SOURCE_DATE_EPOCH' "$MANPAGE"
	grep -qF '.BI 128+ N' "$MANPAGE"
}

# --- the bash completion ----------------------------------------------------

@test "the bash completion sources cleanly and registers _pcwrite" {
	run -0 --separate-stderr bash --norc --noprofile -c \
		'source "$1" && complete -p pcwrite' bash "$BASHCOMP"
	echo "stdout '$output' stderr '$stderr'"
	[ -z "$stderr" ]
	[ "$output" = "complete -F _pcwrite pcwrite" ]
}

@test "bash: 'pcwrite --rep' offers --report and --report-file" {
	run -0 --separate-stderr bash_complete pcwrite --rep
	echo "offered: ${lines[*]} stderr '$stderr'"
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ]
	[[ " ${lines[*]%=} " == *" --report "* ]]
	[[ " ${lines[*]%=} " == *" --report-file "* ]]
	local l
	for l in "${lines[@]}"; do
		[[ "${l%=}" == --report || "${l%=}" == --report-file ]]
	done
}

@test "bash: --report values are none summary pages json" {
	run -0 bash_complete pcwrite --report =
	echo "offered: ${lines[*]}"
	[ "${lines[*]}" = "none summary pages json" ]
	run -0 bash_complete pcwrite -r j
	[ "$output" = "json" ]
	run -0 bash_complete pcwrite --report = s
	[ "$output" = "summary" ]
}

@test "bash: files for IMAGE, SOURCE and --report-file; nothing for DEST" {
	cd "$BATS_TEST_TMPDIR"
	touch disk.img data.bin
	run -0 bash_complete pcwrite dis
	[ "$output" = "disk.img" ]
	run -0 bash_complete pcwrite disk.img ''
	echo "DEST offered: '$output'"
	[ -z "$output" ]
	run -0 bash_complete pcwrite -p disk.img /dir da
	[ "$output" = "data.bin" ]
	run -0 bash_complete pcwrite --report-file = dat
	[ "$output" = "data.bin" ]
	run -0 bash_complete pcwrite -r json --report-file dis
	[ "$output" = "disk.img" ]
}

# --- the zsh completion -----------------------------------------------------

@test "the zsh completion is a #compdef pcwrite file that parses" {
	[ "$(head -n1 "$ZSHCOMP")" = "#compdef pcwrite" ]
	grep -q '_arguments' "$ZSHCOMP"
	command -v zsh >/dev/null || skip "zsh not installed"
	run -0 --separate-stderr zsh -n "$ZSHCOMP"
	echo "$stderr"
	[ -z "$stderr" ]
}
