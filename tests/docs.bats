#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# docs.bats: the options, the man page and the shell completions stay in
# sync (as util-linux's tools/checkmanpage.sh and checkcompletion.sh), and
# --help, --version, --usage and a bad option behave as CLI.md says.
bats_require_minimum_version 1.5.0

load test_helper
load complete_helper

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
# the shell's #), roff's "\-" read as "-" and its font changes dropped; a
# "--" inside a word ("-rw-r--r--", a mode as ls writes it) is none.
long_tokens() {
	sed -e '/^\.\\"/d' -e '/^[[:space:]]*#/d' -e 's/\\-/-/g' \
		-e 's/\\f[BIRP]//g' "$1" |
		grep -oE -- '(^|[^[:alnum:]-])--[[:alnum:]]+(-[[:alnum:]]+)*' |
		sed -E 's/^[^-]//' | sort -u
}

# The long options of another program the man page names: GNU tar's, where
# it says which of tar's options pcwrite's are.
FOREIGN_LONG='--keep-old-files --same-owner --numeric-owner --same-permissions
	--xattrs --xattrs-include --acls --keep-directory-symlink'

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
		[[ " ${FOREIGN_LONG//[[:space:]]/ } " == *" $opt "* ]] && continue
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
# (the last word is the one being completed; "=" a word of its own, as
# readline splits "--report=js"), one a line.
bash_complete() {
	local line="$*"
	line=${line// = /=}
	line=${line% =}
	[[ " $* " == *" = " ]] && line+="="
	bash_complete_line "$line"
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

@test "--version and -V print 'pcwrite VERSION', the copyright and the licence, GNU style" {
	local opt
	for opt in --version -V; do
		run -0 --separate-stderr "$PCWRITE" "$opt"
		echo "$opt: '$output' stderr '$stderr'"
		[ -z "$stderr" ]
		[ "${#lines[@]}" -eq 5 ]
		[[ "${lines[0]}" =~ ^pcwrite\ [0-9]+(\.[0-9]+)+([-.~+][[:alnum:].~+-]*)?$ ]]
		[[ "${lines[1]}" =~ ^Copyright\ \(C\)\ [0-9]{4}\ The\ pcwrite\ authors\.$ ]]
		[ "${lines[2]}" = "License GPLv2+: GNU GPL version 2 or later <https://gnu.org/licenses/old-licenses/gpl-2.0.html>." ]
		[ "${lines[3]}" = "This is free software: you are free to change and redistribute it." ]
		[ "${lines[4]}" = "There is NO WARRANTY, to the extent permitted by law." ]
	done
}

@test "--help: the usage, a one-line description, the options, a bug-report line" {
	run -0 --separate-stderr "$PCWRITE" --help
	[ -z "$stderr" ]
	local i=1
	while [[ "${lines[i]}" == "  or:  pcwrite "* ]]; do
		i=$((i + 1))
	done
	echo "after the usage: '${lines[i]}'"
	[ "${lines[i]}" = "Write files into an ext2, ext3 or ext4 image without mounting it." ]
	[[ "${lines[-1]}" =~ ^Report\ bugs\ to:\ \<[^@\ ]+@[^@\ ]+\>$ ]]
	# the NAME line of the man page says the same
	grep -qxF 'pcwrite \- write files into an ext2, ext3 or ext4 image without mounting it' "$MANPAGE"
}

@test "one bug address, one version, one copyright: --help, --version, the man pages, configure" {
	local addr version year page
	addr=$("$PCWRITE" --help | sed -n 's/^Report bugs to: <\(.*\)>$/\1/p')
	version=$("$PCWRITE" --version | sed -n '1s/^pcwrite //p')
	year=$("$PCWRITE" --version | sed -n 's/^Copyright (C) \([0-9]*\) .*/\1/p')
	echo "address '$addr' version '$version' year '$year'"
	[ -n "$addr" ] && [ -n "$version" ] && [ -n "$year" ]
	grep -qF "AC_INIT([pcwrite], [$version], [$addr]" "$SRCDIR/configure.ac"
	for page in "$MANPAGE" "$SRCDIR/man/libpcwrite.3"; do
		echo "$page"
		grep -qE "^\.TH [A-Z]+ [0-9] \"[0-9-]+\" \"pcwrite $version\"" "$page"
		grep -qxF ".MT $addr" "$page"
		grep -qF "Copyright \\(co $year The pcwrite authors." "$page"
		grep -qF 'GNU GPL version 2 or later' "$page"
	done
}

@test "every source file has an SPDX licence line, GPL-2.0-or-later, and COPYING is the GPL 2" {
	git -C "$SRCDIR" rev-parse --git-dir >/dev/null 2>&1 ||
		skip "not a git checkout: no list of the source files"
	local f missing=()
	while IFS= read -r f; do
		case $f in
		COPYING | lib/libpcwrite.sym) continue ;;  # the licence; a symbol list
		esac
		[ -f "$SRCDIR/$f" ] || continue
		head -n 3 "$SRCDIR/$f" | grep -qF 'SPDX-License-Identifier: GPL-2.0-or-later' ||
			missing+=("$f")
	done < <(git -C "$SRCDIR" ls-files)
	echo "no SPDX line in the first 3 lines: ${missing[*]}"
	[ "${#missing[@]}" -eq 0 ]
	head -n 2 "$SRCDIR/COPYING" | grep -q 'GNU GENERAL PUBLIC LICENSE'
	sed -n 2p "$SRCDIR/COPYING" | grep -q 'Version 2, June 1991'
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

# The sections of a manual page, in man-pages(7)'s order.
MAN_SECTIONS='NAME|LIBRARY|SYNOPSIS|CONFIGURATION|DESCRIPTION|OPTIONS|EXIT STATUS|RETURN VALUE|ERRORS|ENVIRONMENT|FILES|VERSIONS|ATTRIBUTES|STANDARDS|NOTES|CAVEATS|BUGS|EXAMPLES|AUTHORS|REPORTING BUGS|COPYRIGHT|SEE ALSO'

# sections_in_order PAGE: every .SH of PAGE is one of MAN_SECTIONS, in order.
sections_in_order() {
	local page=$1 sh rank last=-1 k
	local -a known
	IFS='|' read -ra known <<<"$MAN_SECTIONS"
	while IFS= read -r sh; do
		sh=${sh#.SH }
		sh=${sh//\"/}
		rank=-1
		for k in "${!known[@]}"; do
			[ "${known[k]}" = "$sh" ] && rank=$k
		done
		if [ "$rank" -lt 0 ]; then
			echo "$page: section '$sh' is not one of man-pages(7)'s" >&2
			return 1
		fi
		if [ "$rank" -le "$last" ]; then
			echo "$page: section '$sh' is out of man-pages(7)'s order" >&2
			return 1
		fi
		last=$rank
	done < <(grep '^\.SH ' "$page")
}

@test "the man pages' sections are man-pages(7)'s, in its order" {
	sections_in_order "$MANPAGE"
	sections_in_order "$SRCDIR/man/libpcwrite.3"
}

@test "the man page has the sections CLI.md's contract needs" {
	local s missing=()
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS '"EXIT STATUS"' ENVIRONMENT \
		 BUGS EXAMPLES '"REPORTING BUGS"' COPYRIGHT '"SEE ALSO"'; do
		grep -qxF ".SH $s" "$MANPAGE" || missing+=("$s")
	done
	for s in '"Trees and archives"' '"Write path"' '"The report"' \
		 '"What pcwrite refuses"' '"Names in messages"'; do
		grep -qxF ".SS $s" "$MANPAGE" || missing+=("$s")
	done
	echo "missing sections: ${missing[*]}"
	[ "${#missing[@]}" -eq 0 ]
	grep -q 'SOURCE_DATE_EPOCH' "$MANPAGE"
	grep -qF '.BI 128+ N' "$MANPAGE"
}

# --- the bash completion ----------------------------------------------------

@test "the bash completion sources cleanly and registers _pcwrite" {
	[ -r "$BASH_COMPLETION_MAIN" ] || skip "bash-completion not installed"
	run -0 --separate-stderr bash --norc --noprofile -c \
		'source "$1" && source "$2" && complete -p pcwrite' bash \
		"$BASH_COMPLETION_MAIN" "$BASHCOMP"
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

@test "bash: --report values are none summary pages json entries" {
	run -0 bash_complete pcwrite --report =
	echo "offered: ${lines[*]}"
	[ "${lines[*]}" = "none summary pages json entries" ]
	run -0 bash_complete pcwrite -r j
	[ "$output" = "json" ]
	run -0 bash_complete pcwrite --report = s
	[ "$output" = "summary" ]
}

@test "bash: host files for IMAGE, SOURCE and --report-file" {
	cd "$BATS_TEST_TMPDIR"
	touch disk.img data.bin
	run -0 bash_complete pcwrite dis
	[ "$output" = "disk.img" ]
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
