#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# names.bats: owners by name, and names are the image's.  -u/-g NAME, the
# archive's names with --names=archive, GNU tar's --owner-map and
# --group-map files: every name resolves in the image's /etc/passwd and
# /etc/group (as this run leaves them), never the host's.  The oracle is
# the expected ids, read back by debugfs and the kernel; the map files'
# format is checked against GNU tar's reading of the same files.
bats_require_minimum_version 1.5.0

load test_helper
load kernel_helper

# The image's users: nginx 101/102 (the host has no nginx), root, and a
# name the host has with another id (daemon: 1 on Debian, 201 here).
PASSWD='root:x:0:0:root:/root:/bin/sh
daemon:x:201:201::/:/usr/sbin/nologin
# a comment line, then a line libc cannot parse, then nginx twice
broken:x:notanumber:1::/:/bin/sh
nginx:x:101:102:nginx:/var/www:/usr/sbin/nologin
nginx:x:999:999:second:/:/bin/sh'
GROUP='root:x:0:
daemon:x:201:
nginx:x:102:
www-data:x:33:nginx'

setup_file() {
	setup_file_image 32M
	local img=$BATS_FILE_TMPDIR/base.img d=$BATS_FILE_TMPDIR
	printf '%s\n' "$PASSWD" >"$d/passwd"
	printf '%s\n' "$GROUP" >"$d/group"
	"$PCWRITE" -p "$img" /etc/passwd "$d/passwd"
	"$PCWRITE" -p "$img" /etc/group "$d/group"
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	cd "$BATS_TEST_TMPDIR"
	printf 'data\n' >data
	# the point of it all: the host does not know nginx
	! getent passwd nginx >/dev/null
	! getent group nginx >/dev/null
}

teardown() {
	kernel_teardown
}

# ids IMAGE PATH: "UID GID" as debugfs reads them.
ids() {
	debugfs -R "stat $2" "$1" 2>/dev/null |
		sed -n 's/^User: *\([-0-9]*\) *Group: *\([-0-9]*\).*/\1 \2/p'
}

# kernel_ids IMAGE PATH...: "UID GID" of each, as the kernel reads them.
kernel_ids() {
	local img=$1 p
	shift
	kernel_mount "$img" || return 0
	for p in "$@"; do
		stat -c '%u %g' "$KMNT$p"
	done
	kernel_umount
}

# mktar OUT [NAME UNAME UID GNAME GID [DATA]]...: a pax tar of regular files
# (a NAME ending in '/' is a directory) with those owners.
mktar() {
	python3 - "$@" <<'EOF'
import io, sys, tarfile
out, args = sys.argv[1], sys.argv[2:]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    while args:
        name, un, uid, gn, gid = args[:5]
        args = args[5:]
        data = b""
        if args and args[0].startswith("data="):
            data = args[0][5:].encode().replace(b"\\n", b"\n")
            args = args[1:]
        ti = tarfile.TarInfo(name.rstrip("/"))
        ti.uname, ti.uid, ti.gname, ti.gid = un, int(uid), gn, int(gid)
        ti.mtime = 1700000000
        if name.endswith("/"):
            ti.type = tarfile.DIRTYPE
            t.addfile(ti)
        else:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
EOF
}

@test "-u NAME and -g NAME are the image's: nginx is 101/102 there, and nowhere on the host" {
	run -0 --separate-stderr "$PCWRITE" -u nginx -g nginx "$IMG" /f data
	[ -z "$stderr" ]
	[ "$(ids "$IMG" /f)" = "101 102" ]
	# the first line with a name wins (getpwnam), whatever comes after
	# daemon is 201 in the image whatever the host says
	run -0 "$PCWRITE" -u daemon -g www-data "$IMG" /g <data
	[ "$(ids "$IMG" /g)" = "201 33" ]
	# numbers stay numbers, +N too
	run -0 "$PCWRITE" -u 4000 -g +55 "$IMG" /h <data
	[ "$(ids "$IMG" /h)" = "4000 55" ]
	# -x and -R: every entry, and the missing parents made for them
	mktar a.tar d/f root 0 root 0
	run -0 "$PCWRITE" -x -p -u nginx -g www-data "$IMG" /x/y a.tar
	[ "$(ids "$IMG" /x/y/d/f)" = "101 33" ]
	[ "$(ids "$IMG" /x/y/d)" = "101 33" ]
	mkdir -p tree/sub && printf t >tree/sub/t
	run -0 "$PCWRITE" -R -u nginx "$IMG" /r tree -p
	[ "$(ids "$IMG" /r/sub/t)" = "101 0" ]
	fsck_clean "$IMG"
	run -0 kernel_ids "$IMG" /f /g /x/y/d/f /r/sub/t
	[ -z "$output" ] || [ "$output" = "$(printf '101 102\n201 33\n101 33\n101 0')" ]
}

@test "a name the image lacks is one line and exit 2, the image unchanged; so is an image without /etc/passwd" {
	cp "$IMG" before
	mktar a.tar f root 0 root 0
	run -2 --separate-stderr "$PCWRITE" -u alice "$IMG" /f data
	[ "$stderr" = "pcwrite: $IMG: -u 'alice': no such user in the image's /etc/passwd" ]
	run -2 --separate-stderr "$PCWRITE" -g alice "$IMG" /f <data
	[ "$stderr" = "pcwrite: $IMG: -g 'alice': no such group in the image's /etc/group" ]
	run -2 --separate-stderr "$PCWRITE" -x -p -u alice "$IMG" /x a.tar
	[ "$stderr" = "pcwrite: $IMG: -u 'alice': no such user in the image's /etc/passwd" ]
	run -2 --separate-stderr "$PCWRITE" -R -p -g alice "$IMG" /x "$BATS_TEST_TMPDIR"
	[ "${#stderr_lines[@]}" -eq 1 ]
	# the host's root is not the image's: an image without /etc/passwd has no names
	mkimg empty.img 16M -t ext4
	cp empty.img empty.before
	run -2 --separate-stderr "$PCWRITE" -u root empty.img /f data
	[ "$stderr" = "pcwrite: empty.img: -u 'root': no such user in the image's /etc/passwd" ]
	unchanged "$IMG" before
	unchanged empty.img empty.before
	fsck_clean "$IMG"
	# a malformed value is a usage error before the image is opened
	run -2 --separate-stderr "$PCWRITE" -u 4294967295 "$IMG" /f data
	[ "${stderr_lines[0]}" = "pcwrite: invalid --owner '4294967295' (an id from 0 to 4294967294, or a name)" ]
	run -2 --separate-stderr "$PCWRITE" -g '' "$IMG" /f data
	[ "${stderr_lines[0]}" = "pcwrite: invalid --group '' (an id from 0 to 4294967294, or a name)" ]
	run -2 --separate-stderr "$PCWRITE" -u nginx:101 "$IMG" /f data
	unchanged "$IMG" before
}

@test "--names=archive: the archive's user and group names through the image's files; a name it lacks keeps the archive's number" {
	mktar a.tar \
		www/ nginx 5000 nginx 5001 \
		www/index.html nginx 5000 www-data 5002 \
		www/other ghost 7000 nobody 7001 \
		www/anon '' 42 '' 43
	run -0 --separate-stderr "$PCWRITE" -x --names=archive "$IMG" / a.tar
	[ -z "$stderr" ]
	[ "$(ids "$IMG" /www)" = "101 102" ]
	[ "$(ids "$IMG" /www/index.html)" = "101 33" ]
	[ "$(ids "$IMG" /www/other)" = "7000 7001" ]
	[ "$(ids "$IMG" /www/anon)" = "42 43" ]
	# the default is the archive's numbers, as before
	run -0 "$PCWRITE" -x "$IMG" /n a.tar -p
	[ "$(ids "$IMG" /n/www/index.html)" = "5000 5002" ]
	run -0 "$PCWRITE" -x --names=numeric "$IMG" /m a.tar -p
	[ "$(ids "$IMG" /m/www/index.html)" = "5000 5002" ]
	# -u/-g still win over the archive's names
	run -0 "$PCWRITE" -x --names=archive -u daemon "$IMG" /u a.tar -p
	[ "$(ids "$IMG" /u/www/index.html)" = "201 33" ]
	fsck_clean "$IMG"
	run -0 kernel_ids "$IMG" /www/index.html /www/other
	[ -z "$output" ] || [ "$output" = "$(printf '101 33\n7000 7001')" ]
	run -2 --separate-stderr "$PCWRITE" -x --names=host "$IMG" / a.tar
	[ "${stderr_lines[0]}" = "pcwrite: invalid --names 'host' (numeric or archive)" ]
}

@test "an archive whose etc/passwd comes first owns the entries after it, in an image that had none" {
	mkimg root.img 32M -t ext4
	mktar rootfs.tar \
		etc/ root 0 root 0 \
		etc/passwd root 0 root 0 'data=root:x:0:0::/root:/bin/sh\napp:x:1234:1234::/:/bin/sh\n' \
		etc/group root 0 root 0 'data=root:x:0:\napp:x:1235:\n' \
		srv/ app 9000 app 9001 \
		srv/app.conf app 9000 app 9001 'data=x\n'
	run -0 --separate-stderr "$PCWRITE" -x --names=archive root.img / rootfs.tar
	[ -z "$stderr" ]
	[ "$(ids root.img /srv)" = "1234 1235" ]
	[ "$(ids root.img /srv/app.conf)" = "1234 1235" ]
	fsck_clean root.img
	# through a symlinked /etc (merged /usr style), the last link followed too
	mkimg link.img 32M -t ext4
	printf 'svc:x:77:77::/:/bin/sh\n' >pw
	printf 'svc:x:78:\n' >gr
	"$PCWRITE" -p link.img /usr/etc/real-passwd pw
	"$PCWRITE" -p link.img /usr/etc/group gr
	debugfs -w -R "symlink /etc usr/etc" link.img 2>/dev/null
	debugfs -w -R "symlink /usr/etc/passwd real-passwd" link.img 2>/dev/null
	run -0 "$PCWRITE" -u svc -g svc link.img /f data
	[ "$(ids link.img /f)" = "77 78" ]
	fsck_clean link.img
}

@test "an /etc/passwd the run rewrites in place (same inode, blocks, size and times) is read again" {
	# the image says alice is 1000; the archive's passwd, the same size
	# and time, says 2000: f1 is owned before it, f2 after
	printf 'alice:x:1000:1000::/:/bin/sh\n' >old
	mkimg p.img 32M -t ext4
	run -0 "$PCWRITE" --mtime=1700000000 -p p.img /etc/passwd old
	mktar s.tar \
		f1 alice 5 root 0 'data=1' \
		etc/passwd root 0 root 0 'data=alice:x:2000:2000::/:/bin/sh\n' \
		f2 alice 5 root 0 'data=2'
	run -0 "$PCWRITE" -x --mtime=1700000000 --names=archive p.img / s.tar
	[ "$(ids p.img /f1)" = "1000 0" ]
	[ "$(ids p.img /f2)" = "2000 0" ]
	fsck_clean p.img
}

@test "--owner-map and --group-map read GNU tar's format as tar 1.34 reads it (quotes, comments, +ID, NAME:ID)" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to own the test files"
	mkdir -p t
	local u
	for u in 0 1 2 3 4 5; do
		printf '%s' "$u" >"t/f$u"
		chown "$u:$u" "t/f$u"
	done
	# OLD by host name or +ID; NEW with an explicit id (tar would look a
	# bare NEW up in the host's database, pcwrite in the image's)
	cat >owner.map <<'EOF'
# comment line
root	"Joe the Plumber:1234"   # a comment after the line

+1 'x y':5000
daemon  x\ y:6000
+3 "a\"b:7000"
+3 +99
+4 +4000000000
+5 "ab#c":8000   # a comment
EOF
	cat >group.map <<'EOF'
+0 wheel:10
+2 "g:4000000001"
EOF
	# GNU tar, creating from the same files with the same maps
	tar --owner-map=owner.map --group-map=group.map -C t -cf t.tar .
	run -0 --separate-stderr "$PCWRITE" -R --owner-map=owner.map --group-map=group.map "$IMG" / t
	[ -z "$stderr" ]
	local line name uid gid
	while read -r line; do
		name=${line##* ./}
		[ "$name" = "" ] && continue
		uid=$(awk '{split($2, a, "/"); print a[1]}' <<<"$line")
		gid=$(awk '{split($2, a, "/"); print a[2]}' <<<"$line")
		echo "$name: tar $uid $gid, pcwrite $(ids "$IMG" "/$name")"
		[ "$(ids "$IMG" "/$name" | awk '{printf "%u %u", $1 < 0 ? $1 + 4294967296 : $1, $2 < 0 ? $2 + 4294967296 : $2}')" = "$uid $gid" ]
	done < <(tar --numeric-owner -tvf t.tar | grep '\./f')
	[ "$(ids "$IMG" /f0)" = "1234 10" ]
	[ "$(ids "$IMG" /f3)" = "7000 3" ]
	fsck_clean "$IMG"
}

@test "a map's NEW name without an id is the image's, as this run leaves it; -u/-g fill what the maps do not list" {
	mktar a.tar \
		a builder 1000 builder 1000 \
		b other 1001 other 1001 \
		c ghost 1002 ghost 1002
	cat >owner.map <<'EOF'
builder nginx
+1001 daemon
EOF
	printf 'builder nginx\n' >group.map
	run -0 --separate-stderr "$PCWRITE" -x --owner-map=owner.map --group-map=group.map -u 77 "$IMG" / a.tar
	[ -z "$stderr" ]
	[ "$(ids "$IMG" /a)" = "101 102" ]
	[ "$(ids "$IMG" /b)" = "201 1001" ]
	[ "$(ids "$IMG" /c)" = "77 1002" ]
	# a NEW name the image lacks refuses the entry, naming the map line
	printf 'builder alice\n' >bad.map
	run -1 --separate-stderr "$PCWRITE" -x --owner-map=bad.map "$IMG" /z a.tar -p
	[ "$stderr" = "pcwrite: $IMG:/z/a: no such user in the image's /etc/passwd (user 'alice', --owner-map 'bad.map' line 1)" ]
	fsck_clean "$IMG"
}

@test "-R --names=archive: the host's names of the files' owners, through the image's files" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to own the test files"
	mkdir -p t
	printf x >t/byroot
	printf y >t/bydaemon
	chown daemon:daemon t/bydaemon
	local hd
	hd=$(id -u daemon)
	run -0 "$PCWRITE" -R --names=archive "$IMG" / t
	# daemon is 201 in the image (not the host's $hd); root is 0 in both
	[ "$(ids "$IMG" /bydaemon)" = "201 201" ]
	[ "$(ids "$IMG" /byroot)" = "0 0" ]
	run -0 "$PCWRITE" -R "$IMG" /n t -p
	[ "$(ids "$IMG" /n/bydaemon)" = "$hd $(getent group daemon | cut -d: -f3)" ]
	fsck_clean "$IMG"
}

@test "malformed map files are usage errors naming the line, as tar's; a missing one is exit 1; maps need -x or -R" {
	cp "$IMG" before
	mktar a.tar f root 0 root 0
	local l
	for l in 'root' 'root a b' 'root x:abc' 'root x:' 'root x:4294967295' \
		 '+x nobody' '+ nobody' 'root "open'; do
		printf '%s\n' "$l" >m
		run -2 --separate-stderr "$PCWRITE" -x --owner-map=m "$IMG" / a.tar
		echo "[$l] $stderr"
		[[ "${stderr_lines[0]}" == "pcwrite: --owner-map 'm': line 1: "* ]]
		[ "${stderr_lines[1]}" = "Try 'pcwrite --help' for more information." ]
		# tar refuses them too (but "x:", which it reads as id 0)
		[ "$l" = 'root x:' ] || ! tar --owner-map=m -cf /dev/null data 2>/dev/null
	done
	printf 'root nobody\n\nroot x y\n' >m
	run -2 --separate-stderr "$PCWRITE" -x --group-map=m "$IMG" / a.tar
	[ "${stderr_lines[0]}" = "pcwrite: --group-map 'm': line 3: malformed line" ]
	run -1 --separate-stderr "$PCWRITE" -x --owner-map=nope "$IMG" / a.tar
	[ "$stderr" = "pcwrite: cannot open owner map 'nope': No such file or directory" ]
	run -2 --separate-stderr "$PCWRITE" --owner-map=m "$IMG" /f data
	[ "${stderr_lines[0]}" = "pcwrite: --owner-map, --group-map and --names go with -x or -R" ]
	run -2 --separate-stderr "$PCWRITE" --names=archive "$IMG" /f data
	unchanged "$IMG" before
}
