#!/usr/bin/python3
"""wsclient.py — the streaming server's WebSocket side driven by Python's websockets (Debian's
python3-websockets), against stream_host (the server with a host backend): the channel protocols
v5, v4, v4.base64 and channel.k8s.io for exec and attach, port forward with its port prefix, and
the HTTP errors.

Usage: wsclient.py PATH/TO/stream_host          the tests
       wsclient.py exec [-i] PROTOCOL URL       one session on a URL the daemon answered
       wsclient.py portforward URL PORT         one port forwarded over WebSocket
"""
import asyncio
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import websockets

HOST_BIN = None


class Host:
    """A running stream_host, asked for URLs and counters line by line."""

    def __init__(self, *args):
        self.p = subprocess.Popen([HOST_BIN, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        line = self.p.stdout.readline()
        assert line.startswith("READY "), line
        self.base = line.split()[1]
        self.lock = threading.Lock()

    def ask(self, line):
        with self.lock:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
            return self.p.stdout.readline().strip()

    def num(self, what):
        return int(self.ask(what))

    def exec(self, tty, stdin, stdout, stderr, *cmd):
        return self.ask("\t".join(["exec", *("1" if v else "0" for v in (tty, stdin, stdout, stderr)), *cmd]))

    def stop(self):
        self.p.stdin.close()
        return self.p.wait(timeout=10)


def ws_url(url):
    return "ws" + url[len("http"):]


async def session(url, protocol, send=(), close_signal=None, timeout=30):
    """Connect, send the (channel, bytes) pairs, then read every message until the server closes:
    {channel: bytes} and the negotiated subprotocol."""
    got = {}
    async with websockets.connect(ws_url(url), subprotocols=[protocol] if protocol else None,
                                  max_size=None, compression=None, open_timeout=10) as ws:
        proto = ws.subprotocol
        b64 = protocol and "base64" in protocol
        for ch, data in send:
            if callable(data):
                await data(ws)
                continue
            if b64:
                await ws.send(str(ch) + base64.b64encode(data).decode())
            else:
                await ws.send(bytes([ch]) + data)
        if close_signal is not None:
            await ws.send(bytes([255, close_signal]))
        try:
            while True:
                m = await asyncio.wait_for(ws.recv(), timeout)
                if isinstance(m, str):
                    ch, data = int(m[0]), base64.b64decode(m[1:])
                else:
                    ch, data = m[0], m[1:]
                got[ch] = got.get(ch, b"") + data
        except websockets.exceptions.ConnectionClosedOK:
            pass
    return got, proto


def exit_code(raw):
    st = json.loads(raw)
    if st["status"] == "Success":
        return 0
    assert st["reason"] == "NonZeroExitCode", raw
    return int(next(c["message"] for c in st["details"]["causes"] if c["reason"] == "ExitCode"))


def run(coro):
    return asyncio.run(coro)


def chunks(data, n=32 << 10):
    return [(0, data[i:i + n]) for i in range(0, len(data), n)]


# ---- cases --------------------------------------------------------------------------------------

def test_exit_codes(h):
    for proto in ("v4.channel.k8s.io", "v5.channel.k8s.io"):
        got, neg = run(session(h.exec(0, 0, 1, 1, "sh", "-c", "echo out; echo err >&2; exit 3"), proto))
        assert neg == proto, neg
        assert got.get(1) == b"out\n" and got.get(2) == b"err\n", got
        assert exit_code(got[3]) == 3, got[3]
        got, _ = run(session(h.exec(0, 0, 1, 0, "true"), proto))
        assert got[3] == b'{"metadata":{},"status":"Success"}', got


def test_stdin_v5_close_signal(h):
    data = os.urandom(1 << 20)
    got, _ = run(session(h.exec(0, 1, 1, 0, "cat"), "v5.channel.k8s.io", send=chunks(data), close_signal=0))
    assert got.get(1) == data, len(got.get(1, b""))
    assert exit_code(got[3]) == 0


def test_stdin_v4(h):
    # v4 has no way to end stdin: a command that stops reading by itself
    got, _ = run(session(h.exec(0, 1, 1, 0, "head", "-c", "5"), "v4.channel.k8s.io", send=[(0, b"hello world")]))
    assert got.get(1) == b"hello", got
    assert exit_code(got[3]) == 0


def test_base64(h):
    data = os.urandom(100 << 10)
    got, neg = run(session(h.exec(0, 1, 1, 1, "sh", "-c", "head -c 102400; echo e >&2; exit 4"),
                           "v4.base64.channel.k8s.io", send=chunks(data, 10000)))
    assert neg == "v4.base64.channel.k8s.io"
    assert got.get(1) == data and got.get(2) == b"e\n", (len(got.get(1, b"")), got.get(2))
    assert exit_code(got[3]) == 4
    # base64.channel.k8s.io (before v4): the error channel holds the message, not JSON
    got, _ = run(session(h.exec(0, 0, 1, 0, "sh", "-c", "exit 6"), "base64.channel.k8s.io"))
    assert b"non-zero exit code" in got.get(3, b""), got


def test_v1_binary_and_no_subprotocol(h):
    for proto in ("channel.k8s.io", None):
        got, neg = run(session(h.exec(0, 0, 1, 0, "echo", "hi"), proto))
        assert neg == proto and got.get(1) == b"hi\n" and not got.get(3), (neg, got)


def test_tty_resize(h):
    async def later(ws):
        await asyncio.sleep(0.3)
        await ws.send(b"\x00go\n")
    got, _ = run(session(h.exec(1, 1, 1, 0, "sh", "-c", "read x; stty size"), "v5.channel.k8s.io",
                         send=[(4, b'{"Width":77,"Height":33}'), (0, later)]))
    assert b"33 77" in got.get(1, b""), got
    assert exit_code(got[3]) == 0


def test_attach(h):
    got, _ = run(session(h.ask("attach 0 1 1 0"), "v5.channel.k8s.io", send=[(0, b"hello\n")], close_signal=0))
    assert got.get(1) == b"hello\n" and got[3] == b'{"metadata":{},"status":"Success"}', got


def echo_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)

    def serve():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return

            def one(c=c):
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    c.sendall(d)
                c.close()
            threading.Thread(target=one, daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    return s, s.getsockname()[1]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_portforward(h):
    srv, port = echo_server()
    dead = free_port()
    data = os.urandom(200 << 10)

    async def go():
        url = ws_url(h.ask("portforward")) + f"?port={port}&port={dead}"
        async with websockets.connect(url, subprotocols=["v4.channel.k8s.io"], max_size=None,
                                      compression=None) as ws:
            assert ws.subprotocol == "v4.channel.k8s.io"
            got = {}
            le = lambda p: bytes([p & 0xff, p >> 8])
            # the first message of every channel is its port, little-endian
            for _ in range(4):
                m = await asyncio.wait_for(ws.recv(), 10)
                got.setdefault(m[0], []).append(m[1:])
            for ch, p in ((0, port), (1, port), (2, dead), (3, dead)):
                assert got[ch][0] == le(p), (ch, got)
            for i in range(0, len(data), 30000):
                await ws.send(b"\x00" + data[i:i + 30000])
            back, err3 = b"", b""
            while len(back) < len(data) or not err3:
                m = await asyncio.wait_for(ws.recv(), 10)
                if m[0] == 0:
                    back += m[1:]
                elif m[0] == 3:
                    err3 += m[1:]
                else:
                    raise AssertionError(f"message on channel {m[0]}: {m[1:]!r}")
            assert back == data, len(back)
            assert f"error forwarding port {dead}".encode() in err3, err3
    run(go())
    srv.close()


def http_status(url, headers):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers)
    r = c.getresponse()
    c.close()
    return r.status


WS_HEADERS = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def test_errors(h):
    url = h.exec(0, 0, 1, 0, "true")
    run(session(url, "v4.channel.k8s.io"))
    try:
        run(session(url, "v4.channel.k8s.io"))
        raise AssertionError("a reused token was accepted")
    except websockets.exceptions.InvalidStatusCode as e:
        assert e.status_code == 404, e
    try:
        run(session(h.exec(0, 0, 1, 0, "true"), "v9.channel.k8s.io"))
        raise AssertionError("an unknown subprotocol was accepted")
    except websockets.exceptions.InvalidStatusCode as e:
        assert e.status_code == 403, e
    assert http_status(h.base + "/nothing/here", WS_HEADERS) == 404
    assert http_status(h.base + "/attach/" + "A" * 22, WS_HEADERS) == 404
    assert http_status(h.exec(0, 0, 1, 0, "true"), {**WS_HEADERS, "Sec-WebSocket-Version": "8"}) == 400
    assert http_status(h.ask("portforward"), {**WS_HEADERS, "Sec-WebSocket-Protocol": "v4.channel.k8s.io"}) == 400
    assert http_status(h.ask("portforward") + "?port=0", WS_HEADERS) == 400
    h2 = Host("--ttl-ms", "300")
    try:
        url = h2.exec(0, 0, 1, 0, "true")
        time.sleep(0.7)
        assert http_status(url, WS_HEADERS) == 404
    finally:
        h2.stop()


def test_session_cap(h):
    h2 = Host("--max-sessions", "1")
    try:
        async def go():
            async with websockets.connect(ws_url(h2.exec(0, 0, 1, 0, "sleep", "5")),
                                          subprotocols=["v4.channel.k8s.io"]):
                await asyncio.sleep(0.2)
                url = h2.exec(0, 0, 1, 0, "true")
                assert http_status(url, WS_HEADERS) == 503
                return url
        url = run(go())
        for _ in range(50):  # the slot frees once the first session has ended; the token is intact
            if h2.num("sessions") == 0:
                break
            time.sleep(0.1)
        got, _ = run(session(url, "v4.channel.k8s.io"))
        assert exit_code(got[3]) == 0
    finally:
        h2.stop()


def test_idle_timeout(h):
    h2 = Host("--idle", "1")
    try:
        t = time.time()
        got, _ = run(session(h2.exec(0, 0, 1, 0, "sleep", "30"), "v4.channel.k8s.io"))
        assert time.time() - t < 10, "the idle session was not ended"
        assert 3 not in got or not got[3], got
        for _ in range(30):
            if h2.num("procs") == 0:
                break
            time.sleep(0.1)
        assert h2.num("procs") == 0
    finally:
        h2.stop()


def test_tls(h):
    """tls_cert/tls_key: HTTPS, and the upgrade through libmicrohttpd's TLS (GnuTLS)."""
    import shutil
    import ssl
    import tempfile
    if not shutil.which("openssl"):
        print("  (openssl missing: no certificate to test TLS with)")
        return
    d = tempfile.mkdtemp()
    cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    h2 = Host("--tls", cert, key)
    try:
        url = h2.exec(0, 1, 1, 0, "cat")
        assert url.startswith("https://127.0.0.1:"), url
        data = os.urandom(300 << 10)

        async def go():
            ctx = ssl.create_default_context(cafile=cert)
            got = {}
            async with websockets.connect("wss" + url[len("https"):], subprotocols=["v5.channel.k8s.io"],
                                          ssl=ctx, max_size=None) as ws:
                for _, c in chunks(data):
                    await ws.send(b"\x00" + c)
                await ws.send(b"\xff\x00")
                try:
                    while True:
                        m = await ws.recv()
                        got[m[0]] = got.get(m[0], b"") + m[1:]
                except websockets.exceptions.ConnectionClosedOK:
                    pass
            return got
        got = run(go())
        assert got.get(1) == data and exit_code(got[3]) == 0, len(got.get(1, b""))
    finally:
        h2.stop()
        shutil.rmtree(d)


def exec_mode(args):
    """wsclient.py exec [-i] PROTOCOL URL: one session on a URL the daemon answered — our stdin to
    its stdin (-i; ended by v5's close signal), its stdout and stderr to ours; the exit status the
    command's (1 with the message for another failure)."""
    stdin = args[0] == "-i"
    proto, url = args[-2], args[-1]
    send = chunks(sys.stdin.buffer.read()) if stdin else ()
    got, _ = run(session(url, proto, send=send, close_signal=0 if stdin and proto.startswith("v5") else None))
    sys.stdout.buffer.write(got.get(1, b""))
    sys.stderr.buffer.write(got.get(2, b""))
    try:
        sys.exit(exit_code(got.get(3, b"")))
    except (ValueError, KeyError, AssertionError):
        print(f"wsclient: status {got.get(3)!r}", file=sys.stderr)
        sys.exit(1)


def portforward_mode(url, port):
    """wsclient.py portforward URL PORT: one port forwarded over v4.channel.k8s.io — our stdin to
    the pod's port, what comes back (until the pod's side closes) to our stdout; the error
    channel's message to our stderr and exit status 1."""
    async def go():
        data, err = b"", b""
        sep = "&" if "?" in url else "?"
        async with websockets.connect(ws_url(url) + f"{sep}port={port}", subprotocols=["v4.channel.k8s.io"],
                                      max_size=None, compression=None) as ws:
            prefix = {0: True, 1: True}  # the first message of each channel is the port
            for _, c in chunks(sys.stdin.buffer.read()):
                await ws.send(b"\x00" + c)
            try:
                while True:
                    m = await asyncio.wait_for(ws.recv(), 30)
                    if prefix.pop(m[0], False):
                        continue
                    if m[0] == 0:
                        data += m[1:]
                    elif m[0] == 1:
                        err += m[1:]
            except websockets.exceptions.ConnectionClosedOK:
                pass
        return data, err
    data, err = run(go())
    sys.stdout.buffer.write(data)
    if err:
        sys.stderr.buffer.write(err + b"\n")
        sys.exit(1)
    sys.exit(0)


def main():
    global HOST_BIN
    if sys.argv[1] == "exec":
        exec_mode(sys.argv[2:])
    if sys.argv[1] == "portforward":
        portforward_mode(sys.argv[2], sys.argv[3])
    HOST_BIN = sys.argv[1]
    h = Host()
    fds = h.num("fds")
    cases = [(n, f) for n, f in globals().items() if n.startswith("test_")]
    filt = os.environ.get("WS_TEST_FILTER", "")
    passed = failed = 0
    for name, fn in cases:
        if filt not in name:
            continue
        t = time.time()
        try:
            fn(h)
            print(f"ok   {name} ({time.time() - t:.2f} s)")
            passed += 1
        except Exception as e:  # noqa: BLE001 — report every case
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            failed += 1
    time.sleep(0.3)
    p, s, f = h.num("procs"), h.num("sessions"), h.num("fds")
    if p or s or f != fds:
        print(f"FAIL leftovers: {p} processes, {s} sessions, {f} descriptors ({fds} at start)")
        failed += 1
    else:
        passed += 1
        print(f"ok   leftovers (none: {f} descriptors as at start)")
    if h.stop() != 0:
        print("FAIL stream_host exit status")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
