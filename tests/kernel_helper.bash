# SPDX-License-Identifier: GPL-2.0-or-later
# kernel_helper.bash: the kernel as an oracle, for suites that look at
# whole trees: mount an image (read-only, or read-write to have the kernel
# make a fixture), and always unmount and detach in teardown.
#
# Where loop devices are unavailable (no root, no /dev/loop-control) the
# callers skip; where they are available a failed losetup or mount is a
# failure, never a silent pass.

KMNT=
KLOOP=

# kernel_mount IMAGE [ro|rw]: mount IMAGE on $KMNT.  Returns 1 only when
# the kernel oracle is unavailable here (the caller skips).
kernel_mount() {
	local img=$1 mode=${2:-ro} opts
	kernel_available || return 1
	KMNT=$(mktemp -d "$BATS_TEST_TMPDIR/kmnt.XXXXXX")
	if [ "$mode" = ro ]; then
		KLOOP=$(losetup -f --show -r "$img") || { echo "losetup -r $img failed" >&2; false; }
		opts=ro,noload
	else
		KLOOP=$(losetup -f --show "$img") || { echo "losetup $img failed" >&2; false; }
		opts=rw
	fi
	if ! mount -t "${PCW_FSTYPE:-ext4}" -o "$opts" "$KLOOP" "$KMNT"; then
		echo "mount -o $opts $img failed" >&2
		losetup -d "$KLOOP"
		KLOOP=
		false
	fi
}

kernel_mount_rw() {
	kernel_mount "$1" rw
}

kernel_umount() {
	if [ -n "$KMNT" ] && mountpoint -q "$KMNT"; then
		umount "$KMNT"
	fi
	if [ -n "$KLOOP" ]; then
		losetup -d "$KLOOP"
	fi
	KLOOP=
}

kernel_teardown() {
	kernel_umount 2>/dev/null || true
}
