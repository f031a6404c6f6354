#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# json.bats: every JSON record is valid JSON in valid UTF-8 whatever the
# bytes of the names (a name that is not UTF-8 is written \u00XX with
# "file_encoding":"latin1", and reads back to its bytes); an ASCII name's
# records are as they always were; a failed file record says why
# ("error": the errno name, "message"); every field is in the man page's
# schema.
bats_require_minimum_version 1.5.0

load test_helper

setup_file() {
	setup_file_image 32M
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	mkdata "$BATS_TEST_TMPDIR/data" 10000
	cd "$BATS_TEST_TMPDIR"
}

# check_json FILE: every line of FILE is one JSON object in strict UTF-8,
# with "event" first; prints, for each record that has file_encoding, the
# bytes of its name in hex.
check_json() {
	python3 - "$1" <<'EOF'
import json, sys
n = 0
for raw in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:
    n += 1
    text = raw.decode("utf-8")          # strict: invalid UTF-8 raises
    rec = json.loads(text)
    assert isinstance(rec, dict), raw
    assert next(iter(rec)) == "event", raw
    assert rec["event"] in ("page", "writeback", "file"), raw
    for k, v in rec.items():
        if k.endswith("_encoding"):
            assert v == "latin1", raw
            name = rec[k[:-len("_encoding")]]
            assert all(ord(c) < 256 for c in name), raw
            print(name.encode("latin-1").hex())
assert n > 0, "no records"
EOF
}

@test "a DEST that is not UTF-8: valid JSON, file_encoding latin1, the name's bytes back" {
	local name hex
	name=$(printf '/caf\xe9-\xff\xfe"\\\x01')
	run -0 --separate-stderr "$PCWRITE" -r json "$IMG" "$name" data
	printf '%s\n' "$output" >report
	run -0 check_json report
	echo "$output"
	hex=$(printf '%s' "$name" | od -An -tx1 | tr -d ' \n')
	# every record (page, writeback, file) carries the encoding
	[ "${#lines[@]}" -eq "$(wc -l <report)" ]
	for l in "${lines[@]}"; do
		[ "$l" = "$hex" ]
	done
	# ASCII on the wire: every byte from 0x80 up escaped
	! LC_ALL=C grep -q $'[\x80-\xff]' report
	fsck_clean "$IMG"
	# the name in the image is those bytes (debugfs ls -p prints it raw)
	debugfs -R 'ls -p /' "$IMG" 2>/dev/null | grep -qF "/${name#/}/10000/"
}

@test "a DEST in valid UTF-8 is written as it is, without file_encoding" {
	local name='/naïve-日本語-😀'
	run -0 --separate-stderr "$PCWRITE" -r json "$IMG" "$name" data
	printf '%s\n' "$output" >report
	run -0 check_json report
	[ -z "$output" ]
	grep -qF "\"file\":\"$name\"" report
	! grep -q file_encoding report
}

@test "an ASCII name's records are byte for byte what they always were" {
	run -0 --separate-stderr "$PCWRITE" -r json "$IMG" /f data
	printf '%s\n' "$output" >report
	grep -v '"event":"writeback"' report >got
	cat >want <<'EOF'
{"event":"page","file":"/f","seq":0,"index":0,"pos":0,"offset":0,"bytes":4096,"copied":4096,"status":4096,"read_before":false,"reserved":1,"retry":false}
{"event":"page","file":"/f","seq":1,"index":1,"pos":4096,"offset":0,"bytes":4096,"copied":4096,"status":4096,"read_before":false,"reserved":1,"retry":false}
{"event":"page","file":"/f","seq":2,"index":2,"pos":8192,"offset":0,"bytes":1808,"copied":1808,"status":1808,"read_before":false,"reserved":1,"retry":false}
{"event":"file","file":"/f","bytes":10000,"size":10000,"pages":3,"extents":1,"status":"ok"}
EOF
	diff -u want got
	grep -qE '^\{"event":"writeback","file":"/f","lblk":0,"pblk":[0-9]+,"len":3,"overwrite":false\}$' report
}

@test "-x: entries whose names are not UTF-8, every record valid and reversible" {
	python3 - <<'EOF'
import io, tarfile
with tarfile.open("names.tar", "w", format=tarfile.GNU_FORMAT,
                  encoding="utf-8", errors="surrogateescape") as t:
    for raw in (b"d\xff", b"d\xff/f\xe9", b"ok", b"link\x80"):
        name = raw.decode("utf-8", "surrogateescape")
        ti = tarfile.TarInfo(name)
        if raw == b"d\xff":
            ti.type = tarfile.DIRTYPE
            t.addfile(ti)
        elif raw == b"link\x80":
            ti.type = tarfile.SYMTYPE
            ti.linkname = "ok"
            t.addfile(ti)
        else:
            ti.size = 5
            t.addfile(ti, io.BytesIO(b"hello"))
EOF
	run -0 --separate-stderr "$PCWRITE" -x -r json -p "$IMG" /t names.tar
	printf '%s\n' "$output" >report
	run -0 check_json report
	echo "$output"
	local hex
	for hex in "$(printf '/t/d\xff' | od -An -tx1 | tr -d ' \n')" \
		   "$(printf '/t/d\xff/f\xe9' | od -An -tx1 | tr -d ' \n')" \
		   "$(printf '/t/link\x80' | od -An -tx1 | tr -d ' \n')"; do
		[[ " ${lines[*]} " == *" $hex "* ]]
	done
	grep -q '"file":"/t/ok","ftype":"file"' report
	fsck_clean "$IMG"
	[ "$(debugfs -R "cat $(printf '/t/d\xff/f\xe9')" "$IMG" 2>/dev/null)" = hello ]
}

@test "a failed file record says why: error (the errno name) and message" {
	# ENOSPC part-way: partial, ENOSPC
	mkimg small 2M -t ext4
	mkdata big $((4 * 1024 * 1024))
	run -1 --separate-stderr "$PCWRITE" -r json small /big big
	printf '%s\n' "$output" >report
	check_json report
	tail -n 1 report | grep -qE '^\{"event":"file","file":"/big","bytes":[1-9][0-9]*,"size":[0-9]+,"pages":[0-9]+,"extents":[0-9]+,"status":"partial","error":"ENOSPC","message":"No space left on device"\}$'
	fsck_clean small
	# -x -n stops at an existing file: failed, EEXIST
	printf 'x' >f
	tar cf one.tar f
	run -0 "$PCWRITE" "$IMG" /f data
	run -1 --separate-stderr "$PCWRITE" -x -n -r json "$IMG" / one.tar
	printf '%s\n' "$output" >report
	check_json report
	grep -qxF '{"event":"file","file":"/f","ftype":"file","bytes":0,"size":0,"pages":0,"extents":0,"status":"failed","error":"EEXIST","message":"destination exists (--no-clobber)"}' report
	# a truncated archive: the entry's record says so too
	mkdata blob 100000
	tar cf full.tar blob
	head -c 60000 full.tar >cut.tar
	run -1 --separate-stderr "$PCWRITE" -x -r json "$IMG" / cut.tar
	printf '%s\n' "$output" >report
	check_json report
	tail -n 1 report | grep -qE '"file":"/blob","ftype":"file",.*"status":"(partial|failed)","error":"EIO","message":"archive error"\}$'
	fsck_clean "$IMG"
}

@test "a run stopped by a signal: the file record says EINTR and which signal" {
	mkfifo fifo
	"$PCWRITE" -r json --report-file=report "$IMG" /f <fifo 2>err &
	local pid=$!
	exec 7>fifo
	head -c 50000 data >&7 || true
	head -c 50000 /dev/urandom >&7
	# wait until the loop has consumed some pages, then stop it
	for _ in $(seq 100); do
		grep -q '"event":"page"' report 2>/dev/null && break
		sleep 0.05
	done
	kill -TERM "$pid"
	local status=0
	wait "$pid" || status=$?
	exec 7>&-
	[ "$status" -eq 143 ]
	check_json report
	tail -n 1 report | grep -qE '"status":"partial","error":"EINTR","message":"stopped by SIGTERM"\}$'
	fsck_clean "$IMG"
}

@test "every field of every record is in the man page's schema" {
	local SRCDIR=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	mkimg small 2M -t ext4
	mkdata big $((4 * 1024 * 1024))
	tar cf t.tar data
	{
		"$PCWRITE" -r json "$IMG" "$(printf '/\xff')" data
		"$PCWRITE" -r json -x "$IMG" /x t.tar -p
		"$PCWRITE" -r json small /big big || true
	} >report 2>/dev/null
	check_json report
	python3 - report "$SRCDIR/man/pcwrite.1" <<'EOF'
import json, re, sys
keys = set()
for line in open(sys.argv[1], "rb"):
    keys.update(json.loads(line.decode()).keys())
man = open(sys.argv[2]).read()
report = man[man.index('.SS "The report"'):]
report = report[:report.index("\n.SS ")]
documented = set(re.findall(r"^([a-z_]+)\t", report, re.M))
print("fields:", sorted(keys))
print("documented:", sorted(documented))
missing = keys - documented
assert not missing, "not in the man page's schema: %s" % sorted(missing)
EOF
}

@test "every error code of libpcwrite has its errno (lib/errors.c)" {
	local SRCDIR=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	local code missing=()
	for code in $(sed -n 's/^ec[[:space:]]*\(PCW_ET_[A-Z_]*\),.*/\1/p' "$SRCDIR/lib/pcw_err.et"); do
		grep -qE "\\{ $code,[[:space:]]+E[A-Z0-9]+|\\{ $code,[[:space:]]+0 \\}" "$SRCDIR/lib/errors.c" ||
			missing+=("$code")
	done
	echo "no errno for: ${missing[*]}"
	[ "${#missing[@]}" -eq 0 ]
}
