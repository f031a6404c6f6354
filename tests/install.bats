#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# install.bats: what a packager gets.  `make install DESTDIR=...` of this
# build tree puts the program, the shared library (soname 0, only the
# public API exported, each in the version node PCWRITE_0), its headers
# under include/pcwrite/ (no libext2fs header needed, no test hooks),
# pcwrite.pc, the man pages and both completions where configure said, and
# no libtool .la; make uninstall takes it all away again; a program built
# against that installed copy (pkg-config with PKG_CONFIG_SYSROOT_DIR, the
# way a cross or package build does) writes a file into a fresh image that
# e2fsck and debugfs accept; and ./pcwrite in the build tree is the program
# itself, not a libtool wrapper.
bats_require_minimum_version 1.5.0

load test_helper

BUILDDIR=$(cd "$(dirname "$PCWRITE")" && pwd)
SRCDIR=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}

# make_var NAME: a variable of the build tree's Makefile (prefix, libdir...).
make_var() {
	printf 'print-%%:\n\t@echo "@VALUE@=$($*)"\n' |
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILDDIR" \
			-f Makefile -f - "print-$1" | sed -n 's/^@VALUE@=//p'
}

setup_file() {
	[ -f "$BUILDDIR/Makefile" ] || skip "not run from a configured build tree"
	export ROOT=$BATS_FILE_TMPDIR/root
	# A make of its own: not the jobserver of the make check running us.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILDDIR" install \
		DESTDIR="$ROOT" >"$BATS_FILE_TMPDIR/install.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/install.log" >&2
		return 1
	}
	local v
	for v in bindir libdir pcwriteincludedir pkgconfigdir man1dir man3dir \
		 bashcompdir zshcompdir; do
		export "DIR_$v=$(make_var "$v")"
	done
}

setup() {
	[ -f "$BUILDDIR/Makefile" ] || skip "not run from a configured build tree"
}

@test "make install DESTDIR: the program, the library, headers, pkg-config file, man pages, completions" {
	local f missing=()
	for f in "$DIR_bindir/pcwrite" \
		 "$DIR_libdir/libpcwrite.so.0" "$DIR_libdir/libpcwrite.so" \
		 "$DIR_pcwriteincludedir/pcwrite.h" "$DIR_pcwriteincludedir/pcw_err.h" \
		 "$DIR_pkgconfigdir/pcwrite.pc" \
		 "$DIR_man1dir/pcwrite.1" "$DIR_man3dir/libpcwrite.3" \
		 "$DIR_bashcompdir/pcwrite" "$DIR_zshcompdir/_pcwrite"; do
		[ -e "$ROOT$f" ] || missing+=("$f")
	done
	echo "not installed: ${missing[*]}"
	[ "${#missing[@]}" -eq 0 ]
	# nothing outside DESTDIR, and the completions as they are in the source
	cmp "$ROOT$DIR_bashcompdir/pcwrite" "$SRCDIR/completions/pcwrite"
	cmp "$ROOT$DIR_zshcompdir/_pcwrite" "$SRCDIR/completions/_pcwrite"
	run -0 --separate-stderr groff -ww -man -z "$ROOT$DIR_man3dir/libpcwrite.3"
	[ -z "$stderr" ]
}

@test "the shared library: soname libpcwrite.so.0, a real ELF library, only the public API exported, each in PCWRITE_0" {
	local so=$ROOT$DIR_libdir/libpcwrite.so.0
	run -0 readelf -d "$so"
	[[ "$output" == *"Library soname: [libpcwrite.so.0]"* ]]
	# The exported functions are lib/libpcwrite.sym, which is every
	# function pcwrite.h declares and the com_err table: nothing internal,
	# not the tests' hook (lib/pcwrite_test.h).  Each one is in the
	# version node PCWRITE_0, the default version (@@), and that node is
	# the only one the library defines.
	nm -D --defined-only --with-symbol-versions "$so" | awk '{ print $2, $3 }' \
		>"$BATS_TEST_TMPDIR/nm"
	cat "$BATS_TEST_TMPDIR/nm"
	grep -qxF 'A PCWRITE_0' "$BATS_TEST_TMPDIR/nm"
	grep -vxF 'A PCWRITE_0' "$BATS_TEST_TMPDIR/nm" | awk '{ print $2 }' \
		>"$BATS_TEST_TMPDIR/versioned"
	run -1 grep -v '@@PCWRITE_0$' "$BATS_TEST_TMPDIR/versioned"
	sed 's/@@PCWRITE_0$//' "$BATS_TEST_TMPDIR/versioned" | sort >"$BATS_TEST_TMPDIR/exported"
	diff -u "$SRCDIR/lib/libpcwrite.sym" "$BATS_TEST_TMPDIR/exported"
	run -1 grep -x 'pcw_iter_set_fault' "$BATS_TEST_TMPDIR/exported"
	run -0 readelf -V "$so"
	[ "$(grep -c 'Name: PCWRITE_0$' <<<"$output")" -ge 1 ]
	[ "$(grep -oE 'Name: [A-Z][A-Z0-9_]*$' <<<"$output" | sort -u)" = "Name: PCWRITE_0" ]
	{
		"${CC:-cc}" -E -P -I"$ROOT$DIR_pcwriteincludedir" -x c "$ROOT$DIR_pcwriteincludedir/pcwrite.h" |
			grep -oE '\bpcw_[a-z0-9_]+ *\(' | sed 's/ *(//'
		printf '%s\n' et_pcw_error_table initialize_pcw_error_table \
			initialize_pcw_error_table_r
	} | sort -u >"$BATS_TEST_TMPDIR/declared"
	diff -u "$BATS_TEST_TMPDIR/declared" "$BATS_TEST_TMPDIR/exported"
}

@test "make install: no libtool archive (.la), no test header; pcwrite.h needs no libext2fs header" {
	run -0 find "$ROOT" -name '*.la'
	[ -z "$output" ]
	# the library's files in $libdir: the static archive, the library and its two links
	run -0 bash -c "cd '$ROOT$DIR_libdir' && ls -d libpcwrite*"
	echo "$output"
	[[ "$(tr '\n' ' ' <<<"$output")" =~ ^libpcwrite\.a\ libpcwrite\.so\ libpcwrite\.so\.0\ libpcwrite\.so\.0\.[0-9.]+\ $ ]]
	[ ! -e "$ROOT$DIR_pcwriteincludedir/pcwrite_test.h" ]
	run -1 grep -r 'pcw_iter_set_fault\|pcw_copy_fault_fn' "$ROOT$DIR_pcwriteincludedir"
	# the public header, with what it includes: no <ext2fs/...> among them
	command -v "${CC:-cc}" >/dev/null || skip "no C compiler"
	run -0 "${CC:-cc}" -M -I"$ROOT${DIR_pcwriteincludedir%/pcwrite}" -x c - <<<'#include <pcwrite/pcwrite.h>'
	echo "$output"
	[[ "$output" == *"$ROOT$DIR_pcwriteincludedir/pcwrite.h"* ]]
	[[ "$output" != *ext2fs/* ]]
	run -0 grep -c 'PCW_NAME_MAX' "$ROOT$DIR_pcwriteincludedir/pcwrite.h"
}

@test "make uninstall DESTDIR removes everything make install put there, the library included" {
	local r=$BATS_TEST_TMPDIR/r
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILDDIR" install DESTDIR="$r" \
		>"$BATS_TEST_TMPDIR/install.log" 2>&1 || { cat "$BATS_TEST_TMPDIR/install.log"; false; }
	[ -e "$r$DIR_libdir/libpcwrite.so.0" ]
	run -0 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILDDIR" uninstall DESTDIR="$r"
	echo "$output"
	run -0 find "$r" ! -type d
	echo "left: $output"
	[ -z "$output" ]
}

@test "pcwrite.pc: the version, -lpcwrite, the include directory above pcwrite/" {
	local pc=$ROOT$DIR_pkgconfigdir/pcwrite.pc version
	version=$("$PCWRITE" --version | sed -n '1s/^pcwrite //p')
	grep -qxF "Version: $version" "$pc"
	run -0 env PKG_CONFIG_SYSROOT_DIR="$ROOT" PKG_CONFIG_PATH="$ROOT$DIR_pkgconfigdir" \
		pkg-config --cflags --libs pcwrite
	echo "$output"
	[[ " $output " == *" -lpcwrite "* ]]
	[[ " $output " == *" -I$ROOT${DIR_pcwriteincludedir%/pcwrite} "* ]]
}

@test "./pcwrite in the build tree is the ELF program with libpcwrite linked in, not a wrapper script" {
	[ "$(head -c 4 "$PCWRITE" | od -An -c | tr -d ' ')" = '177ELF' ]
	run -0 readelf -d "$PCWRITE"
	[[ "$output" != *libpcwrite* ]]
	# and the installed one is the same program
	[ "$(head -c 4 "$ROOT$DIR_bindir/pcwrite" | od -An -c | tr -d ' ')" = '177ELF' ]
	run -0 "$ROOT$DIR_bindir/pcwrite" --version
}

# build_example: tests/example/write_file.c against the installed copy.
build_example() {
	local flags
	flags=$(PKG_CONFIG_SYSROOT_DIR="$ROOT" PKG_CONFIG_PATH="$ROOT$DIR_pkgconfigdir" \
		pkg-config --cflags --libs pcwrite) || return 1
	# shellcheck disable=SC2086
	"${CC:-cc}" -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/write_file" \
		"$SRCDIR/tests/example/write_file.c" $flags
}

@test "the example program builds against the installed library and writes a file into an image" {
	command -v "${CC:-cc}" >/dev/null || skip "no C compiler"
	run -0 build_example
	echo "$output"
	# it needs the installed libpcwrite.so.0, and finds it there
	run -0 readelf -d "$BATS_FILE_TMPDIR/write_file"
	[[ "$output" == *"Shared library: [libpcwrite.so.0]"* ]]
	export LD_LIBRARY_PATH=$ROOT$DIR_libdir
	run -0 ldd "$BATS_FILE_TMPDIR/write_file"
	[[ "$output" == *"libpcwrite.so.0 => $ROOT$DIR_libdir/libpcwrite.so.0"* ]]

	mkimg "$BATS_TEST_TMPDIR/img" 32M -t ext4
	mkdata "$BATS_TEST_TMPDIR/data" 300000
	run -0 --separate-stderr "$BATS_FILE_TMPDIR/write_file" "$BATS_TEST_TMPDIR/img" /hello "$BATS_TEST_TMPDIR/data"
	[ "$output" = "/hello: 300000 bytes in 74 pages, 1 extent(s)" ]
	[ -z "$stderr" ]
	verify "$BATS_TEST_TMPDIR/img" /hello "$BATS_TEST_TMPDIR/data"

	# an error is the library's code, the filesystem untouched
	cp "$BATS_TEST_TMPDIR/img" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$BATS_FILE_TMPDIR/write_file" "$BATS_TEST_TMPDIR/img" /no/such "$BATS_TEST_TMPDIR/data"
	[ "$stderr" = "$BATS_TEST_TMPDIR/img:/no/such: parent directory does not exist (use --parents)" ]
	unchanged "$BATS_TEST_TMPDIR/img" "$BATS_TEST_TMPDIR/before"
	fsck_clean "$BATS_TEST_TMPDIR/img"
}

@test "libpcwrite(3) shows the example program as it is" {
	# the .EX block after "Program source", roff escapes undone
	sed -n '/^\.SS "Program source"/,/^\.EE/p' "$SRCDIR/man/libpcwrite.3" |
		sed -e '1,/^\.EX/d' -e '/^\.EE/d' -e 's/^\\&//' -e 's/\\-/-/g' \
		    -e 's/\\e/\\/g' >"$BATS_TEST_TMPDIR/from_man.c"
	sed -n '/^#include <fcntl.h>/,$p' "$SRCDIR/tests/example/write_file.c" \
		>"$BATS_TEST_TMPDIR/source.c"
	diff -u "$BATS_TEST_TMPDIR/source.c" "$BATS_TEST_TMPDIR/from_man.c"
}

@test "configure takes the completion directories: --with-bash-completion-dir, --with-zsh-completion-dir" {
	[ -x "$SRCDIR/configure" ] || skip "no configure script"
	run -0 "$SRCDIR/configure" --help
	[[ "$output" == *"--with-bash-completion-dir=DIR"* ]]
	[[ "$output" == *"--with-zsh-completion-dir=DIR"* ]]
	# bash's default is bash-completion's own directory, under our datadir
	if pkg-config --exists bash-completion &&
	   ! grep -q '^  \$ .*--with-bash-completion-dir' "$BUILDDIR/config.log"; then
		local theirs
		theirs=$(pkg-config --define-variable=datadir=/DATADIR --variable=completionsdir bash-completion)
		echo "bash-completion: $theirs; ours: $DIR_bashcompdir"
		[ "$DIR_bashcompdir" = "${theirs/\/DATADIR/$(make_var datadir)}" ]
	fi
}
