#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""pty.py [--cols N] [--input FILE] [--resize M] -- CMD...

Run CMD on a pseudo-terminal of N columns (standard output and error both
on it, as in an interactive shell) and write what the terminal received to
standard output, byte for byte; exit with CMD's status.

--input FILE: CMD's standard input is a pipe this script writes FILE into.
--resize M: write the first half of FILE, wait until the terminal has been
quiet for a moment, resize it to M columns (the kernel sends SIGWINCH),
write the line "@@RESIZED@@" into the transcript, then the second half.
"""
import argparse
import fcntl
import os
import select
import struct
import sys
import termios


def set_size(fd, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))


def drain(fd, out, quiet):
    """Read what the terminal shows until it has been quiet QUIET seconds
    (or closed); False once it is closed."""
    while True:
        r, _, _ = select.select([fd], [], [], quiet)
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        out.extend(data)


def write_all(wr, master, out, data):
    """Write DATA to CMD's input while reading the terminal, so that
    neither side blocks; stop when CMD no longer reads."""
    view = memoryview(data)
    while view:
        r, w, _ = select.select([master], [wr], [])
        if r and not drain(master, out, 0):
            return
        if w:
            try:
                n = os.write(wr, view[:65536])
            except BrokenPipeError:
                return
            view = view[n:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cols", type=int, default=80)
    ap.add_argument("--input")
    ap.add_argument("--resize", type=int)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    data = open(a.input, "rb").read() if a.input else b""
    rd, wr = os.pipe()
    master, slave = os.openpty()
    set_size(slave, a.cols)     # before CMD can ask
    pid = os.fork()
    if pid == 0:
        os.close(wr)
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        os.dup2(rd, 0)
        os.dup2(slave, 1)
        os.dup2(slave, 2)
        os.close(rd)
        os.close(slave)
        os.execvp(cmd[0], cmd)
    os.close(rd)
    os.close(slave)
    out = bytearray()
    if a.resize:
        half = len(data) // 2
        write_all(wr, master, out, data[:half])
        drain(master, out, 0.5)
        set_size(master, a.resize)
        out.extend(b"\r\n@@RESIZED@@\r\n")
        data = data[half:]
    write_all(wr, master, out, data)
    os.close(wr)
    while drain(master, out, 1.0):
        pass
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    sys.exit(os.waitstatus_to_exitcode(status) & 0xff)


if __name__ == "__main__":
    main()
