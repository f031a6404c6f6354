# SPDX-License-Identifier: GPL-2.0-or-later
# whiteout_helper.bash: three container layers for whiteout.bats, made with
# GNU tar from host trees in a fixed member order (tar -T, --no-recursion),
# so an opaque marker can come after some of its directory's entries and
# before others.  Sourced; make_layers DIR writes DIR/l1.tar .. l3.tar.

# layer DIR TAR: the members of DIR, in the order of DIR.order.
layer() {
	tar -C "$1" --sparse --no-recursion --numeric-owner --owner=0 \
		--group=0 --mtime=@1700000000 -cf "$2" -T "$1.order"
}

make_layers() {
	local w=$1 i p
	mkdir -p "$w" && cd "$w" || return 1

	# layer 1: the base: files, directories, a hard link, a symlink, a
	# sparse file of many extents, a deep tree, an indexed directory
	mkdir -p l1/etc l1/usr/lib l1/usr/bin l1/var/cache l1/opq/sub \
		l1/opq/keep l1/opq2
	echo 'root:x:0:0::/root:/bin/sh' >l1/etc/passwd
	echo '127.0.0.1 localhost' >l1/etc/hosts
	echo 'welcome (layer 1)' >l1/etc/motd
	for i in $(seq -w 0 29); do head -c $((10#$i * 300)) /dev/zero | tr '\0' x >l1/usr/lib/f$i; done
	echo 'a shared object' >l1/usr/lib/libx.so
	ln l1/usr/lib/libx.so l1/usr/lib/libx.so.1
	ln l1/usr/lib/f05 l1/usr/lib/f05.link
	head -c 200000 /dev/urandom >l1/usr/bin/sh
	ln -s sh l1/usr/bin/link
	for i in $(seq 0 15); do
		dd if=/dev/urandom of=l1/big bs=64K count=1 seek=$((i * 8)) \
			conv=notrunc status=none
	done
	p=l1/usr/lib/deep
	for i in $(seq 0 39); do
		p=$p/d$i
		mkdir -p "$p"
		head -c 5000 /dev/urandom >"$p/file"
		ln -s ../file "$p/up"
	done
	for i in $(seq 0 599); do
		echo "$i" >l1/var/cache/a-rather-long-cached-file-name-$i
	done
	echo o1 >l1/opq/old1
	echo o2 >l1/opq/old2
	echo o3 >l1/opq/sub/old3
	echo o4 >l1/opq/keep/old4
	echo o5 >l1/opq2/old5
	(cd l1 && find . -mindepth 1 | sort) >l1.order

	# layer 2: a file replaced, one deleted, whole directories deleted
	# (deep, indexed, one with a symlink), one name of a hard link pair,
	# a name that is not there; files added
	mkdir -p l2/etc l2/usr/lib l2/usr l2/var l2/new
	echo '10.0.0.1 replaced' >l2/etc/hosts
	: >l2/etc/.wh.passwd
	: >l2/usr/lib/.wh.deep
	: >l2/usr/lib/.wh.libx.so
	: >l2/usr/.wh.bin
	: >l2/.wh.big
	: >l2/var/.wh.cache
	: >l2/.wh.never-was
	echo new >l2/new/a
	printf '%s\n' ./etc ./etc/hosts ./etc/.wh.passwd ./usr ./usr/lib \
		./usr/lib/.wh.deep ./usr/lib/.wh.libx.so ./usr/.wh.bin \
		./.wh.big ./var ./var/.wh.cache ./.wh.never-was ./new \
		./new/a >l2.order

	# layer 3: opq made opaque after two of its own entries (one a
	# directory that was there below) and before a third; opq2 opaque
	# before its entries; a whiteout of a name the same layer writes
	# (it stays: whiteouts apply to the layers below); a hard link's
	# last name; AUFS's meta names
	mkdir -p l3/opq/sub l3/opq2 l3/etc l3/usr/lib l3/.wh..wh.plnk
	echo m1 >l3/opq/mine1
	echo m2 >l3/opq/sub/mine2
	echo m3 >l3/opq/mine3
	: >l3/opq/.wh..wh..opq
	: >l3/opq2/.wh..wh..opq
	echo m4 >l3/opq2/mine4
	echo 'welcome (layer 3)' >l3/etc/motd
	: >l3/etc/.wh.motd
	: >l3/usr/lib/.wh.f05
	: >l3/usr/lib/.wh.f10
	: >l3/.wh..wh.aufs
	echo x >l3/.wh..wh.plnk/123
	printf '%s\n' ./opq ./opq/mine1 ./opq/sub ./opq/sub/mine2 \
		./opq/.wh..wh..opq ./opq/mine3 ./opq2 ./opq2/.wh..wh..opq \
		./opq2/mine4 ./etc ./etc/motd ./etc/.wh.motd ./usr ./usr/lib \
		./usr/lib/.wh.f05 ./usr/lib/.wh.f10 ./.wh..wh.aufs \
		./.wh..wh.plnk ./.wh..wh.plnk/123 >l3.order

	for i in 1 2 3; do layer l$i l$i.tar || return 1; done
}

# apply_by_hand ROOT TAR: the layer as the OCI spec defines it, with
# tools pcwrite did not write: its whiteouts first (a whiteout applies to
# the layers below only; an opaque marker "regardless of the ordering"),
# rm -rf for .wh.NAME, the directory emptied for .wh..wh..opq; then the
# rest extracted by GNU tar.
apply_by_hand() {
	local root=$1 tar=$2 m d b
	while IFS= read -r m; do
		m=${m#./}
		m=${m%/}
		b=${m##*/}
		d=.
		[ "$b" = "$m" ] || d=${m%/*}
		case $b in
		.wh..wh..opq) [ -d "$root/$d" ] && find "$root/$d" -mindepth 1 -delete ;;
		.wh..wh.*) ;;
		.wh.*) rm -rf "${root:?}/$d/${b#.wh.}" ;;
		esac
	done < <(tar -tf "$tar" | grep -v '^\(\./\)\?\.wh\.\.wh\.[^/]*/.')
	tar -C "$root" --numeric-owner -xf "$tar" \
		--exclude='.wh.*' --exclude='.wh..wh.*'
}
