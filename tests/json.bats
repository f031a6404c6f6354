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

# check_json FILE [open]: every line of FILE is one JSON object in strict
# UTF-8, with "event" first; the first a start record and the last an end
# record (with "open": a run killed before its end, no end record), whose
# totals are the file records'; prints, for each page, writeback and file
# record that has file_encoding, the bytes of its name in hex.
check_json() {
	python3 - "$1" "${2:-}" <<'EOF'
import json, sys
recs = []
for raw in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:
    text = raw.decode("utf-8")          # strict: invalid UTF-8 raises
    rec = json.loads(text)
    assert isinstance(rec, dict), raw
    assert next(iter(rec)) == "event", raw
    assert rec["event"] in ("start", "page", "writeback", "file", "end"), raw
    recs.append(rec)
    for k, v in rec.items():
        if k.endswith("_encoding"):
            assert v == "latin1", raw
            name = rec[k[:-len("_encoding")]]
            assert all(ord(c) < 256 for c in name), raw
            if k == "file_encoding":
                print(name.encode("latin-1").hex())
assert recs, "no records"
# each run: one start record first, one end record last
runs, cur = [], None
for rec in recs:
    if rec["event"] == "start":
        assert cur is None, "a start record inside a run"
        cur = []
    assert cur is not None, "a record before the start record: %r" % rec
    cur.append(rec)
    if rec["event"] == "end":
        runs.append(cur)
        cur = None
if sys.argv[2] != "open":
    assert cur is None, "no end record"
for run in runs:
    files = [r for r in run if r["event"] == "file"]
    end = run[-1]
    assert end["files"] == len(files), end
    for st in ("ok", "partial", "failed", "refused"):
        assert end[st] == sum(r["status"] == st for r in files), (st, end)
    assert end["committed"] == end["ok"] + end["partial"], end
    assert end["bytes"] == sum(r["bytes"] for r in files), end
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
	# every record but start and end (page, writeback, file) carries it
	[ "${#lines[@]}" -eq "$(($(wc -l <report) - 2))" ]
	# the start record names DEST the same way
	head -n1 report | grep -q '"dest_encoding":"latin1"'
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

@test "an ASCII name's records are byte for byte what they always were, the file record's new fields after the old" {
	run -0 --separate-stderr "$PCWRITE" --mtime=1700000000 -r json "$IMG" /f data
	printf '%s\n' "$output" >report
	grep -v '"event":"writeback"\|"event":"start"' report >got
	cat >want <<'EOF'
{"event":"page","file":"/f","seq":0,"index":0,"pos":0,"offset":0,"bytes":4096,"copied":4096,"status":4096,"read_before":false,"reserved":1,"retry":false}
{"event":"page","file":"/f","seq":1,"index":1,"pos":4096,"offset":0,"bytes":4096,"copied":4096,"status":4096,"read_before":false,"reserved":1,"retry":false}
{"event":"page","file":"/f","seq":2,"index":2,"pos":8192,"offset":0,"bytes":1808,"copied":1808,"status":1808,"read_before":false,"reserved":1,"retry":false}
{"event":"file","file":"/f","bytes":10000,"size":10000,"pages":3,"extents":1,"status":"ok","action":"created","ino":12,"mode":"0644","uid":0,"gid":0,"mtime":1700000000,"mtime_nsec":0}
{"event":"end","status":0,"files":1,"committed":1,"ok":1,"partial":0,"failed":0,"refused":0,"skipped":0,"bytes":10000}
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
	grep '"event":"file"' report | tail -n 1 | grep -qE '^\{"event":"file","file":"/big","bytes":[1-9][0-9]*,"size":[0-9]+,"pages":[0-9]+,"extents":[0-9]+,"status":"partial","error":"ENOSPC","message":"No space left on device","action":"created","ino":[0-9]+,'
	tail -n 1 report | grep -qE '^\{"event":"end","status":1,"files":1,"committed":1,"ok":0,"partial":1,"failed":0,"refused":0,"skipped":0,"bytes":[1-9][0-9]*,"error":"ENOSPC","message":"No space left on device"\}$'
	fsck_clean small
	# -x -n --stop-on-error stops at an existing file: failed, EEXIST
	printf 'x' >f
	tar cf one.tar f
	run -0 "$PCWRITE" "$IMG" /f data
	run -1 --separate-stderr "$PCWRITE" -x -n --stop-on-error -r json "$IMG" / one.tar
	printf '%s\n' "$output" >report
	check_json report
	grep -qxF '{"event":"file","file":"/f","ftype":"file","bytes":0,"size":0,"pages":0,"extents":0,"status":"failed","error":"EEXIST","message":"destination exists (--no-clobber)"}' report
	# without it the entry is skipped (issue 16), the run going on
	run -1 --separate-stderr "$PCWRITE" -x -n -r json "$IMG" / one.tar
	printf '%s\n' "$output" >report
	check_json report
	grep -qxF '{"event":"file","file":"/f","ftype":"file","bytes":0,"size":0,"pages":0,"extents":0,"status":"skipped","error":"EEXIST","message":"destination exists (--no-clobber)"}' report
	# a truncated archive: the entry's record says so too
	mkdata blob 100000
	tar cf full.tar blob
	head -c 60000 full.tar >cut.tar
	run -1 --separate-stderr "$PCWRITE" -x -r json "$IMG" / cut.tar
	printf '%s\n' "$output" >report
	check_json report
	grep '"event":"file"' report | tail -n 1 | grep -qE '"file":"/blob","ftype":"file",.*"status":"(partial|failed)","error":"EIO","message":"archive error"\}$'
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
	grep '"event":"file"' report | tail -n 1 | grep -qE '"status":"partial","error":"EINTR","message":"stopped by SIGTERM","action":"created",'
	tail -n 1 report | grep -qE '^\{"event":"end","status":143,"files":1,"committed":1,.*"signal":"SIGTERM"\}$'
	fsck_clean "$IMG"
}

# schema_check REPORT: every record has the fields the man page's schema
# says every record of its kind has, and no field the schema lacks for it.
schema_check() {
	local SRCDIR=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	python3 - "$1" "$SRCDIR/man/pcwrite.1" <<'EOF'
import json, re, sys
kinds = ("start", "page", "writeback", "file", "end")
man = open(sys.argv[2]).read()
report = man[man.index('.SS "The report"'):]
report = report[:report.index("\n.SS ")]
# each table: the kinds its paragraph names, and its rows
required = {k: set() for k in kinds}
known = {k: set() for k in kinds}
pos = 0
while True:
    ts = report.find("\n.TS", pos)
    if ts < 0:
        break
    te = report.index("\n.TE", ts)
    intro = report[report.rfind("\n.TE", 0, ts) + 1 if report.rfind("\n.TE", 0, ts) >= 0 else 0:ts]
    intro = intro[intro.rfind(".PP"):] if ".PP" in intro else intro
    which = set(re.findall(r"^\.BR? (start|page|writeback|file|end)\b", intro, re.M))
    if "Every record" in intro:
        which = set(kinds)
    assert which, "a table without its kinds: %r" % intro
    for name, typ in re.findall(r"^([a-z_]+)\t([^\t]*)\t", report[ts:te], re.M):
        for k in which:
            known[k].add(name)
            if "opt" not in typ:
                required[k].add(name)
    pos = te
n = 0
for line in open(sys.argv[1], "rb"):
    rec = json.loads(line.decode())
    k = rec["event"]
    missing = required[k] - set(rec)
    extra = set(rec) - known[k]
    assert not missing, "%s record lacks %s: %s" % (k, sorted(missing), line)
    assert not extra, "%s record has %s, not in the schema: %s" % (k, sorted(extra), line)
    n += 1
print(n, "records; required:", {k: sorted(v) for k, v in required.items()})
EOF
}

@test "every record is valid JSON, has every field the man page's schema gives its kind, and none it lacks" {
	mkimg small 2M -t ext4
	mkdata big $((4 * 1024 * 1024))
	mkdir -p t/d
	cp data t/d/f
	ln -s d/f t/l
	ln t/d/f t/h
	mknod t/c c 1 3 2>/dev/null || true
	tar cf t.tar -C t .
	{
		"$PCWRITE" -r json "$IMG" "$(printf '/\xff')" data
		"$PCWRITE" -r json -x "$IMG" /x t.tar -p
		"$PCWRITE" -r entries -x "$IMG" /x t.tar
		"$PCWRITE" -r json -R "$IMG" /x t
		"$PCWRITE" -r json -a "$IMG" /x/d/f data
		"$PCWRITE" -r json small /big big || true
		"$PCWRITE" -r json "$IMG" /nope/f data || true
		"$PCWRITE" -r json -x "$IMG" /nope t.tar || true
		"$PCWRITE" -r json missing.img /f data || true
		"$PCWRITE" -r json --page-size=1024 small /f data || true
	} >report 2>/dev/null
	check_json report
	run -0 schema_check report
	echo "$output"
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

@test "the start record describes the run and the filesystem: schema, version, mode, image, block and cluster size, features" {
	mkimg big.img 64M -t ext4 -b 4096 -O bigalloc -C 16384
	run -0 --separate-stderr "$PCWRITE" -r json big.img /f data
	printf '%s\n' "$output" >report
	check_json report
	python3 - report <<'PY'
import json, sys, subprocess
start = json.loads(open(sys.argv[1]).readline())
assert start["event"] == "start" and start["schema"] == 2, start
assert start["mode"] == "write" and start["report"] == "json", start
assert start["image"] == "big.img" and start["dest"] == "/f", start
assert start["block_size"] == 4096 and start["cluster_size"] == 16384, start
feat = subprocess.run(["dumpe2fs", "-h", "big.img"], capture_output=True, text=True).stdout
feat = [l.split(":", 1)[1].split() for l in feat.splitlines() if l.startswith("Filesystem features:")][0]
assert sorted(start["features"]) == sorted(feat), (start["features"], feat)
uuid = subprocess.run(["dumpe2fs", "-h", "big.img"], capture_output=True, text=True).stdout
assert "Filesystem UUID:          %s" % start["uuid"] in uuid, start["uuid"]
PY
	[[ "$(head -n1 report)" == *'"pcwrite":"'"$("$PCWRITE" --version | sed -n '1s/pcwrite //p')"'"'* ]]
	# -x and -R name their mode; --image-offset is said
	tar cf d.tar data
	run -0 "$PCWRITE" -r entries -x "$IMG" /x d.tar -p
	[[ "${lines[0]}" == '{"event":"start","schema":2,'*'"mode":"extract","report":"entries","image":"'* ]]
	run -0 "$PCWRITE" -r json -R "$IMG" /y . -p
	[[ "${lines[0]}" == *'"mode":"tree"'* ]]
	truncate -s 40M disk
	dd if="$IMG" of=disk bs=1M seek=1 conv=notrunc,sparse status=none
	run -0 "$PCWRITE" -r json --image-offset=1M disk /z data
	[[ "${lines[0]}" == *'"image":"disk","image_offset":1048576,"dest":"/z"'* ]]
}

@test "file records say what was made: action, inode, mode, owner, time, link targets and device numbers, as debugfs reads them" {
	mkdir -p t/dir
	printf 'x' >t/dir/file
	ln -s dir/file t/sym
	ln t/dir/file t/hard
	chmod 4750 t/dir/file
	mknod t/dev c 259 100000
	tar --owner=0 --group=0 -cf t.tar -C t .
	run -0 "$PCWRITE" -p "$IMG" /x/sym data	# a file the archive replaces
	run -0 --separate-stderr "$PCWRITE" -r entries -x -u 7 -g 8 --mtime=1700000000 "$IMG" /x t.tar
	printf '%s\n' "$output" >report
	check_json report
	python3 - report "$IMG" <<'PY'
import json, re, subprocess, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
files = {r["file"]: r for r in recs if r["event"] == "file"}
assert not [r for r in recs if r["event"] in ("page", "writeback")], "entries: no page records"
def stat(path):
    return subprocess.run(["debugfs", "-R", "stat " + path, sys.argv[2]],
                          capture_output=True, text=True).stdout
for path, r in files.items():
    st = stat(path)
    ino = int(re.search(r"Inode: (\d+)", st).group(1))
    mode = re.search(r"Mode: +(\d+)", st).group(1)
    uid, gid = re.search(r"User: +(-?\d+) +Group: +(-?\d+)", st).groups()
    mt = int(re.search(r"mtime: 0x([0-9a-f]+)", st).group(1), 16)
    print(path, r["action"], r["ino"], ino, r["mode"], mode, r["uid"], uid, r["mtime"], mt)
    assert r["status"] == "ok", r
    assert r["ino"] == ino and int(r["mode"], 8) == int(mode, 8), (r, st)
    assert (r["uid"], r["gid"]) == (7, 8) == (int(uid), int(gid)), r
    assert r["mtime"] == mt == 1700000000, r
assert files["/x"]["action"] == "merged", files["/x"]
assert files["/x/dir"]["action"] == "created"
assert files["/x/dir/file"]["mode"] == "4750"
assert files["/x/sym"]["action"] == "replaced" and files["/x/sym"]["target"] == "dir/file"
assert files["/x/hard"]["target"] == "/x/dir/file"
assert files["/x/hard"]["ino"] == files["/x/dir/file"]["ino"]
assert (files["/x/dev"]["rdev_major"], files["/x/dev"]["rdev_minor"]) == (259, 100000)
assert "rdev_major" not in files["/x/dir/file"]
PY
	fsck_clean "$IMG"
	# a single file: created, replaced (truncated, the same inode), updated (-a)
	run -0 "$PCWRITE" -r json -m 0600 --mtime=1600000000 "$IMG" /s data
	[[ "$(grep '"event":"file"' <<<"$output")" == *'"status":"ok","action":"created","ino":'*',"mode":"0600","uid":0,"gid":0,"mtime":1600000000,"mtime_nsec":0}' ]]
	run -0 "$PCWRITE" -r json "$IMG" /s data
	[[ "$(grep '"event":"file"' <<<"$output")" == *'"action":"replaced"'* ]]
	run -0 "$PCWRITE" -r json -a "$IMG" /s data
	[[ "$(grep '"event":"file"' <<<"$output")" == *'"action":"updated"'* ]]
}

@test "--report=entries: the file records of --report=json, with start and end, without page and writeback records" {
	mkdir -p t
	for i in $(seq 1 30); do head -c $((i * 1000)) data >t/f$i; done
	tar cf t.tar -C t .
	mkdir a b
	cp "$IMG" a/img
	cp "$IMG" b/img
	(cd a && "$PCWRITE" -r json --mtime=1700000000 -x img / ../t.tar) >json
	(cd b && "$PCWRITE" -r entries --mtime=1700000000 -x img / ../t.tar) >entries
	check_json entries
	! grep -q '"event":"page"\|"event":"writeback"' entries
	[ "$(grep -c '"event":"file"' entries)" -eq 31 ]
	diff <(grep -v '"event":"page"\|"event":"writeback"' json | sed 's/"report":"json"/"report":"entries"/') entries
	cmp a/img b/img
}

@test "a DEST or DIR refused before the first write has its record (status refused) and the end record says why" {
	cp "$IMG" before
	run -1 --separate-stderr "$PCWRITE" -r json "$IMG" /no/such/f data
	printf '%s\n' "$output" >report
	check_json report
	[ "$(sed -n 2p report)" = '{"event":"file","file":"/no/such/f","bytes":0,"size":0,"pages":0,"extents":0,"status":"refused","error":"ENOENT","message":"parent directory does not exist (use --parents)"}' ]
	[ "$(sed -n 3p report)" = '{"event":"end","status":1,"files":1,"committed":0,"ok":0,"partial":0,"failed":0,"refused":1,"skipped":0,"bytes":0,"error":"ENOENT","message":"parent directory does not exist (use --parents)"}' ]
	tar cf d.tar data
	run -1 --separate-stderr "$PCWRITE" -r entries -x "$IMG" /nodir d.tar
	[ "${lines[1]}" = '{"event":"file","file":"/nodir","ftype":"dir","bytes":0,"size":0,"pages":0,"extents":0,"status":"refused","error":"ENOENT","message":"directory does not exist (use --parents)"}' ]
	[[ "${lines[2]}" == '{"event":"end","status":1,'*'"refused":1,'* ]]
	# a name the image lacks: exit 2, and the end record says so
	run -2 --separate-stderr "$PCWRITE" -r json -u nobody "$IMG" /f data
	[ "${lines[1]}" = '{"event":"end","status":2,"files":0,"committed":0,"ok":0,"partial":0,"failed":0,"refused":0,"skipped":0,"bytes":0,"error":"ENOENT","message":"no such user in the image'"'"'s /etc/passwd"}' ]
	# an image that cannot be opened: a start record without the filesystem
	run -1 --separate-stderr "$PCWRITE" -r json missing.img /f data
	[ "${lines[0]}" = '{"event":"start","schema":2,"pcwrite":"'"$("$PCWRITE" --version | sed -n '1s/pcwrite //p')"'","mode":"write","report":"json","image":"missing.img","dest":"/f"}' ]
	unchanged "$IMG" before
}

# flushes REPORT: the image flushes (fsync, fdatasync) of -x of many.tar
# into a fresh copy of the image, with REPORT's options.
flushes() {
	copy_image "$IMG"
	# (LeakSanitizer cannot run under ptrace: the sanitizer build's other
	# checks still do)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -c -e trace=fsync,fdatasync -o st.txt \
		"$PCWRITE" -x "$@" "$IMG" / many.tar >/dev/null || return 1
	fsck_clean "$IMG"
	awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 } END { print n + 0 }' st.txt
}

@test "-x with page records: they wait with the file records before them, and the journal commits as often as without them" {
	command -v strace >/dev/null || skip "strace not installed"
	local d i plain json pages
	mkdir -p many
	for d in 1 2 3; do
		mkdir many/d$d
		for i in $(seq 1 100); do
			head -c $((i * 37)) data >many/d$d/f$i
		done
	done
	tar -C many -cf many.tar .
	plain=$(flushes)
	json=$(flushes -r json --report-file=r.json)
	pages=$(flushes -r pages --report-file=r.pages)
	echo "flushes: plain $plain, json $json, pages $pages"
	# one page record per entry with data used to commit the entries
	# before it: 614 flushes where a plain run has 10
	[ "$json" -le "$plain" ]
	[ "$pages" -le "$plain" ]
	check_json r.json >/dev/null
	# a page record comes after the file records of the entries before
	# its own, and before its own file record
	python3 - r.json <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pending = set()
files = 0
for r in recs:
    if r["event"] == "page":
        pending.add(r["file"])
        assert len(pending) == 1, ("page records of two entries before a file record", r)
    elif r["event"] == "file":
        assert not pending or pending == {r["file"]}, (pending, r)
        pending = set()
        files += 1
assert files > 300, files
PY
}
