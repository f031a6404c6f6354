#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# readme.bats: the README a new user follows.  Its examples run as written,
# in order, on the demo image the quick start makes; its quick start (and
# the CI) installs every Debian package configure asks for; it has the
# sections a packager looks for, and sends the JSON schema to the man page.
bats_require_minimum_version 1.5.0

load test_helper

setup() {
	SRCDIR=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	README=$SRCDIR/README.md
}

# section TITLE: the lines of the README's "## TITLE" section.
section() {
	sed -n "/^## $1/,/^## /p" "$README" | sed '1d;$d'
}

@test "the README's examples run as written, in order, on the quick start's demo image" {
	local d=$BATS_TEST_TMPDIR/tree
	mkdir "$d"
	# what the examples use from the source tree, and ./pcwrite
	cp -r "$SRCDIR/COPYING" "$SRCDIR/README.md" "$SRCDIR/autogen.sh" \
		"$SRCDIR/man" "$SRCDIR/completions" "$d"
	ln -s "$PCWRITE" "$d/pcwrite"
	cd "$d"
	# the quick start's image
	grep -qF 'truncate -s 64M demo.img && /sbin/mke2fs -q -F -t ext4 demo.img' "$README"
	truncate -s 64M demo.img
	/sbin/mke2fs -q -F -t ext4 demo.img
	section Examples | sed -n 's/^    //p' >examples.sh
	echo "--- the examples:"
	cat examples.sh
	[ "$(grep -c pcwrite examples.sh)" -ge 10 ]
	run -0 bash -e -o pipefail examples.sh
	echo "$output"
	# -v lists what the line with tar's options wrote
	[[ "$output" == *$'\n'/usr/share/man/man1/pcwrite.1$'\n'* ]]
	fsck_clean demo.img
	[ "$(debugfs -R 'cat /etc/hostname' demo.img 2>/dev/null)" = "$(printf 'myhost\nsecond-line')" ]
	readback demo.img /usr/local/bin/autogen.sh autogen.sh
	[[ "$(dstat demo.img /usr/local/bin/autogen.sh)" =~ Mode:\ +0755 ]]
	cp COPYING expect
	printf 'PATCH' | dd of=expect bs=1 seek=4096 conv=notrunc status=none
	readback demo.img /etc/COPYING expect
	readback demo.img /usr/share/pcwrite/_pcwrite completions/_pcwrite
	readback demo.img /usr/share/man/pcwrite/pcwrite.1 man/pcwrite.1
	readback demo.img /usr/share/man/man1/pcwrite.1 man/pcwrite.1
	! debugfs -R 'stat /usr/share/man/man1/libpcwrite.3' demo.img 2>&1 | grep -q '^Inode:'
	[ "$(grep -c '"event":"page"' pages.jsonl)" -eq 1 ]
}

@test "the quick start and the CI install every Debian package configure asks for" {
	local pkg quick ci missing=()
	quick=$(section 'Quick start' | grep 'apt-get install')
	ci=$(sed -n '/apt-get install/,/>\/dev\/null/p' "$SRCDIR/.ci/run" | tr -s '[:space:]\\' ' ')
	for pkg in $(sed -n 's/.*install the Debian package \([a-z0-9.+-]*\).*/\1/p' "$SRCDIR/configure.ac" | sort -u); do
		[[ " $quick " == *" $pkg "* ]] || missing+=("README:$pkg")
		[[ " $ci " == *" $pkg "* ]] || missing+=(".ci/run:$pkg")
	done
	echo "missing: ${missing[*]}"
	[ "${#missing[@]}" -eq 0 ]
}

@test "the README has install, examples, limits, the report schema by link, benchmarks, reliability" {
	local s missing=()
	for s in 'Quick start' Install Usage Examples 'Exit status' 'The JSON report' \
		 'Limits' Benchmarks Reliability; do
		grep -q "^## $s" "$README" || missing+=("$s")
	done
	echo "missing sections: ${missing[*]}"
	[ "${#missing[@]}" -eq 0 ]
	# what goes where on make install
	section Install | grep -q 'include.*/pcwrite/'
	section Install | grep -q 'libpcwrite.so.0'
	section Install | grep -q 'zsh-completion-dir'
	# the schema is the man page's, linked
	section 'The JSON report' | grep -qF '(man/pcwrite.1)'
	section 'The JSON report' | grep -qF 'The'
	grep -qxF '.SS "The report"' "$SRCDIR/man/pcwrite.1"
}

@test "the README's 'Building whole images' runs as written and prints the summaries it shows" {
	local d=$BATS_TEST_TMPDIR/build
	mkdir -p "$d/bin"
	ln -s "$PCWRITE" "$d/bin/pcwrite"
	cd "$d"
	section 'Building whole images' | sed -n '/^The summaries/q; s/^    //p' >build.sh
	section 'Building whole images' | sed -n '/^The summaries/,$p' |
		sed -n 's/^    //p' >expect
	echo "--- the commands:"
	cat build.sh
	[ "$(grep -c '^pcwrite\|| pcwrite' build.sh)" -eq 4 ]
	PATH=$d/bin:$PATH run -0 --separate-stderr bash -e -o pipefail build.sh
	echo "$stderr"
	# the -v listing of 2b: the entries under rootfs/ but tmp
	[ "$(grep '^/srv/stripped' <<<"$output" | sort | tr '\n' ' ')" = \
	  "/srv/stripped/bin /srv/stripped/bin/hello /srv/stripped/bin/hi /srv/stripped/etc /srv/stripped/etc/passwd " ]
	diff expect <(grep '^/' <<<"$stderr")
	fsck_clean root.img
	readback root.img /bin/hello rootfs/bin/hello
	readback root.img /srv/from-tar/etc/passwd rootfs/etc/passwd
	readback root.img /srv/stripped/bin/hello rootfs/bin/hello
	! debugfs -R 'stat /srv/stripped/tmp' root.img 2>&1 | grep -q '^Inode:'
	[[ "$(dstat root.img /etc/shadow)" =~ Mode:\ +0600 ]]
	[[ "$(dstat root.img /dev/console)" =~ "Device major/minor number: 05:01" ]]
	[[ "$(dstat root.img /tmp)" =~ Mode:\ +01777 ]]
}
