#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# records.sh PCWRITE DIR: the page records (JSON, page events only) of fixed
# scenarios, one file each; prints "SHA256 LINES NAME" for each.  Used by
# tests/records.bats against tests/records.sums.
set -e
B=$1; O=$2; mkdir -p "$O"; cd "$O"
export SOURCE_DATE_EPOCH=1700000000
python3 - <<'PY'
import random
r = random.Random(7)
open("in3m", "wb").write(bytes(r.getrandbits(8) for _ in range(3000000)))
z = bytearray(5 * 1024 * 1024); z[3000000] = 120
open("sparse", "wb").write(bytes(z))
PY
truncate -s 5M holes; printf x | dd of=holes bs=1 seek=3000000 conv=notrunc status=none
mk() { rm -f "$1"; truncate -s "${3:-256M}" "$1"; mke2fs -q -F -t ext4 -U 0b1a5c9e-0000-4000-8000-000000000001 -E hash_seed=0b1a5c9e-0000-4000-8000-000000000002 ${2:--b 4096} "$1"; }
pages() { grep '"event":"page"'; }
mk i1.img; "$B" -r json --no-sync i1.img /f in3m | pages >file.jsonl
mk i2.img; cat in3m | "$B" -r json --no-sync i2.img /f | pages >pipe.jsonl
mk i3.img; python3 -c '
import sys, time
d = open("in3m", "rb").read()[:200000]
i = 0
while i < len(d):
    n = 1 + (i * 7919) % 5000
    sys.stdout.buffer.write(d[i:i + n]); sys.stdout.flush(); i += n
    if i % 7 == 0:
        time.sleep(0.001)
' | "$B" -r json --no-sync i3.img /f | pages >trickle.jsonl
mk i4.img; "$B" --no-sync i4.img /f in3m
head -c 12345 in3m | "$B" -r json --no-sync -a i4.img /f | pages >append.jsonl
head -c 70000 in3m | "$B" -r json --no-sync -o 5000 i4.img /f | pages >offset.jsonl
mk i5.img; "$B" -r json --no-sync i5.img /s holes | pages >sparse-auto.jsonl
mk i6.img; "$B" -r json --no-sync -S always i6.img /s sparse | pages >sparse-always.jsonl
mk i7.img -b1024 64M; "$B" -r json --no-sync i7.img /f in3m | pages >blocks-1k.jsonl
mk i8.img; cat in3m | "$B" -r json --no-sync --no-delalloc i8.img /f | pages >nodelalloc.jsonl
mk i9.img "-O bigalloc -C 16384"; "$B" -r json --no-sync i9.img /f in3m | pages >bigalloc.jsonl
mk i10.img "-b 1024" 64M; "$B" -r json --no-sync --page-size=16384 i10.img /f in3m | pages >page-16k.jsonl
rm -f *.img
for f in *.jsonl; do printf '%s %s %s\n' "$(sha256sum <"$f" | cut -c1-64)" "$(wc -l <"$f")" "$f"; done
