#!/usr/bin/python3
"""spdyraw.py — what spdystream never exercises in the streaming server's SPDY/3.1: flow control
(a client that sets its initial window and grants more with WINDOW_UPDATE is held to it; the
server returns what the client sends with WINDOW_UPDATE), PING, GOAWAY.  A minimal SPDY/3 client
written from the spec, its header dictionary read from spdystream's sources (Debian's
golang-github-docker-spdystream-dev), against stream_host.

Usage: spdyraw.py PATH/TO/stream_host
"""
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import zlib

DICT_GO = "/usr/share/gocode/src/github.com/moby/spdystream/spdy/dictionary.go"


def dictionary():
    src = open(DICT_GO).read()
    body = src[src.index("[]byte{"):]
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", body))


class Spdy:
    def __init__(self, url, protocol):
        u = urllib.parse.urlsplit(url)
        self.s = socket.create_connection((u.hostname, u.port), timeout=10)
        self.s.sendall((f"POST {u.path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                        f"X-Stream-Protocol-Version: {protocol}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.s.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        d = dictionary()
        self.zout = zlib.compressobj(9, zdict=d)
        self.zin = zlib.decompressobj(zdict=d)
        self.buf = b""

    def control(self, typ, flags, body):
        self.s.sendall(struct.pack(">HHI", 0x8003, typ, (flags << 24) | len(body)) + body)

    def headers(self, h):
        raw = struct.pack(">I", len(h)) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode() for k, v in h.items())
        return self.zout.compress(raw) + self.zout.flush(zlib.Z_SYNC_FLUSH)

    def syn_stream(self, sid, h, fin=False):
        self.control(1, 1 if fin else 0, struct.pack(">IIH", sid, 0, 0) + self.headers(h))

    def data(self, sid, payload, fin=False):
        self.s.sendall(struct.pack(">II", sid, ((1 if fin else 0) << 24) | len(payload)) + payload)

    def window_update(self, sid, delta):
        self.control(9, 0, struct.pack(">II", sid, delta))

    def frame(self, timeout=10):
        """(control?, type or stream ID, flags, payload); None on timeout or EOF."""
        self.s.settimeout(timeout)
        try:
            while len(self.buf) < 8 or len(self.buf) < 8 + (struct.unpack(">I", self.buf[4:8])[0] & 0xffffff):
                d = self.s.recv(65536)
                if not d:
                    return None
                self.buf += d
        except socket.timeout:
            return None
        w0, w1 = struct.unpack(">II", self.buf[:8])
        n = w1 & 0xffffff
        payload, self.buf = self.buf[8:8 + n], self.buf[8 + n:]
        if w0 & 0x80000000:
            typ = w0 & 0xffff
            if typ in (1, 2, 8):  # header blocks keep the decompressor in step
                self.zin.decompress(payload[4:] if typ != 1 else payload[10:])
            return True, typ, w1 >> 24, payload
        return False, w0 & 0x7fffffff, w1 >> 24, payload


def host(bin_path):
    p = subprocess.Popen([bin_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    assert p.stdout.readline().startswith("READY")
    return p


def ask(p, line):
    p.stdin.write(line + "\n")
    p.stdin.flush()
    return p.stdout.readline().strip()


def test_flow_control(p):
    size = 300000
    c = Spdy(ask(p, f"exec\t0\t0\t1\t0\thead\t-c\t{size}\t/dev/zero"), "v4.channel.k8s.io")
    c.control(4, 0, struct.pack(">IBBHI", 1, 0, 0, 7, 16384))  # SETTINGS_INITIAL_WINDOW_SIZE 16384
    c.window_update(0, 1)  # a client that keeps windows says so with a WINDOW_UPDATE
    c.syn_stream(1, {"streamtype": "error"})
    c.syn_stream(3, {"streamtype": "stdout"})
    c.control(6, 0, struct.pack(">I", 7))  # PING
    got, window, replies, ping, status, goaway = 0, 16384, 0, False, b"", False
    # the first window's worth comes, then nothing until more is granted
    while True:
        f = c.frame(timeout=1.0)
        if f is None:
            break
        ctl, t, flags, pl = f
        if ctl and t == 2:
            replies += 1
        elif ctl and t == 6:
            ping = pl == struct.pack(">I", 7)
        elif not ctl and t == 3:
            got += len(pl)
    assert replies == 2 and ping, (replies, ping)
    assert got == window, f"{got} bytes sent against a window of {window}"
    # grant as a flow-controlled client does, checking the window holds at every frame
    c.window_update(3, 32768)
    c.window_update(0, 32768)
    window += 32768
    while not goaway:
        f = c.frame()
        assert f is not None, f"stalled at {got} of {size} bytes"
        ctl, t, flags, pl = f
        if not ctl and t == 3:
            got += len(pl)
            assert got <= window, f"{got} bytes sent against a window of {window}"
            if window - got < 16384:
                c.window_update(3, 32768)
                c.window_update(0, 32768)
                window += 32768
        elif not ctl and t == 1:
            status += pl
        elif ctl and t == 7:
            goaway = True
    assert got == size, got
    assert status == b'{"metadata":{},"status":"Success"}', status


def test_window_updates_for_stdin(p):
    c = Spdy(ask(p, "exec\t0\t1\t1\t0\tcat"), "v4.channel.k8s.io")
    c.syn_stream(1, {"streamtype": "error"})
    c.syn_stream(3, {"streamtype": "stdin"})
    c.syn_stream(5, {"streamtype": "stdout"})
    sent = os.urandom(60000)
    for i in range(0, len(sent), 20000):
        c.data(3, sent[i:i + 20000])
    c.data(3, b"", fin=True)
    stream_credit = session_credit = 0
    out, goaway = b"", False
    while not goaway:
        f = c.frame()
        assert f is not None
        ctl, t, flags, pl = f
        if ctl and t == 9:
            sid, delta = struct.unpack(">II", pl)
            if sid == 3:
                stream_credit += delta
            elif sid == 0:
                session_credit += delta
        elif not ctl and t == 5:
            out += pl
        elif ctl and t == 7:
            goaway = True
    assert out == sent
    # all returned to the session window; to the stream's, what was taken before its FIN arrived
    # (a half-closed stream gets no more)
    assert session_credit == len(sent) and 0 < stream_credit <= len(sent), (stream_credit, session_credit)


def main():
    p = host(sys.argv[1])
    passed = failed = 0
    for name, fn in [(n, f) for n, f in globals().items() if n.startswith("test_")]:
        t = time.time()
        try:
            fn(p)
            print(f"ok   {name} ({time.time() - t:.2f} s)")
            passed += 1
        except Exception as e:  # noqa: BLE001
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            failed += 1
    p.stdin.close()
    if p.wait(timeout=10) != 0:
        failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
