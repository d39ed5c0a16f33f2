// spdyclient.go — the streaming server's SPDY/3.1 side driven the way kubectl drives kubelet's:
// moby/spdystream (Debian's golang-github-docker-spdystream-dev, the library under client-go's
// SPDY transport), the upgrade request client-go sends, the streams its remotecommand and
// portforward clients open.  Against stream_host (the server with a host backend).
//
// Build offline: GO111MODULE=off GOPATH=/usr/share/gocode go build spdyclient.go
// Run: spdyclient PATH/TO/stream_host (the tests), or spdyclient exec [-i] [-t] [-e] URL (one
// session on a URL the daemon answered, as kubectl exec runs it), or spdyclient portforward URL
// PORT (one forwarded connection), or spdyclient load PID SIZE BOUND_KIB URL... (sessions at once on
// URLs the daemon answered, the daemon's RSS bounded: test_stream's load test).
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/spdystream"
)

var hostBin string

// host is a running stream_host, asked for URLs and counters line by line.
type host struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	base string
	mu   sync.Mutex
}

func startHost(args ...string) (*host, error) {
	cmd := exec.Command(hostBin, args...)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &host{cmd: cmd, in: in, out: bufio.NewReader(outp)}
	line, err := h.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		return nil, fmt.Errorf("stream_host did not start: %q %v", line, err)
	}
	h.base = strings.TrimSpace(line[6:])
	return h, nil
}

func (h *host) ask(line string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintln(h.in, line)
	r, _ := h.out.ReadString('\n')
	return strings.TrimSpace(r)
}

func (h *host) num(what string) int {
	n, _ := strconv.Atoi(h.ask(what))
	return n
}

func (h *host) stop() error {
	h.in.Close()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		h.cmd.Process.Kill()
		return fmt.Errorf("stream_host did not stop within 10 s")
	}
}

// exec mints an exec URL: cmd words joined by tabs (they may hold spaces).
func (h *host) exec(tty, in, out, errs bool, cmd ...string) string {
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	return h.ask(strings.Join(append([]string{"exec", b(tty), b(in), b(out), b(errs)}, cmd...), "\t"))
}

// rawUpgrade sends the request client-go's SPDY round tripper sends; the response and the
// connection (with what the reader buffered after the headers).
func rawUpgrade(rawurl, method string, headers map[string][]string) (*http.Response, net.Conn, error) {
	u, err := url.Parse(rawurl)
	if err != nil {
		return nil, nil, err
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, nil, err
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n", method, u.RequestURI(), u.Host)
	for k, vs := range headers {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	if _, err := c.Write(req.Bytes()); err != nil {
		c.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return resp, &bufConn{Conn: c, r: br}, nil
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func spdyHeaders(protocols ...string) map[string][]string {
	return map[string][]string{"Connection": {"Upgrade"}, "Upgrade": {"SPDY/3.1"},
		"X-Stream-Protocol-Version": protocols}
}

// dial upgrades to SPDY/3.1 with the protocols offered; the negotiated one.
func dial(rawurl string, protocols ...string) (*spdystream.Connection, string, error) {
	resp, c, err := rawUpgrade(rawurl, "POST", spdyHeaders(protocols...))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		return nil, "", fmt.Errorf("upgrade: %s: %s", resp.Status, body)
	}
	conn, err := spdystream.NewConnection(c, false)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	go conn.Serve(spdystream.NoOpStreamHandler)
	return conn, resp.Header.Get("X-Stream-Protocol-Version"), nil
}

func stream(conn *spdystream.Connection, h http.Header) (*spdystream.Stream, error) {
	s, err := conn.CreateStream(h, nil, false)
	if err != nil {
		return nil, err
	}
	if err := s.WaitTimeout(10 * time.Second); err != nil {
		return nil, fmt.Errorf("stream %v: no reply: %v", h, err)
	}
	return s, nil
}

type execOpts struct {
	proto        string
	stdin        io.Reader
	stdout       bool
	stderr       bool
	tty          bool
	resize       []string // JSON sizes sent on the resize stream before stdin
	stdoutSink   io.Writer
	beforeStdout time.Duration // wait before reading stdout (back-pressure)
}

type execResult struct {
	stdout, stderr, status []byte
	proto              string
}

// runExec opens the streams client-go's v4/v3/v2 protocols open (error first), copies, waits.
func runExec(rawurl string, o execOpts) (*execResult, error) {
	if o.proto == "" {
		o.proto = "v4.channel.k8s.io"
	}
	conn, proto, err := dial(rawurl, o.proto)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res := &execResult{proto: proto}
	errS, err := stream(conn, http.Header{"streamType": {"error"}})
	if err != nil {
		return nil, err
	}
	var inS, outS, errOutS, resizeS *spdystream.Stream
	if o.stdin != nil {
		if inS, err = stream(conn, http.Header{"streamType": {"stdin"}}); err != nil {
			return nil, err
		}
	}
	if o.stdout {
		if outS, err = stream(conn, http.Header{"streamType": {"stdout"}}); err != nil {
			return nil, err
		}
	}
	if o.stderr {
		if errOutS, err = stream(conn, http.Header{"streamType": {"stderr"}}); err != nil {
			return nil, err
		}
	}
	if o.tty && o.proto != "v2.channel.k8s.io" && o.proto != "channel.k8s.io" {
		if resizeS, err = stream(conn, http.Header{"streamType": {"resize"}}); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	for _, sz := range o.resize {
		resizeS.Write([]byte(sz))
	}
	if inS != nil {
		go func() {
			io.Copy(inS, o.stdin)
			inS.Close()
		}()
	}
	var outBuf, errBuf bytes.Buffer
	if outS != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(o.beforeStdout)
			if o.stdoutSink != nil {
				io.Copy(o.stdoutSink, outS)
			} else {
				io.Copy(&outBuf, outS)
			}
		}()
	}
	if errOutS != nil {
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(&errBuf, errOutS) }()
	}
	status, _ := io.ReadAll(errS)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("stdout/stderr did not end")
	}
	res.stdout, res.stderr, res.status = outBuf.Bytes(), errBuf.Bytes(), status
	return res, nil
}

type metaStatus struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Details *struct {
		Causes []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

// exitCode reads a v4 status as client-go does: 0 on Success, the ExitCode cause on
// NonZeroExitCode.
func exitCode(raw []byte) (int, error) {
	var st metaStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return -1, fmt.Errorf("status %q: %v", raw, err)
	}
	if st.Status == "Success" {
		return 0, nil
	}
	if st.Reason != "NonZeroExitCode" || st.Details == nil {
		return -1, fmt.Errorf("status %s", raw)
	}
	for _, c := range st.Details.Causes {
		if c.Reason == "ExitCode" {
			return strconv.Atoi(c.Message)
		}
	}
	return -1, fmt.Errorf("status without ExitCode: %s", raw)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// ---- cases -------------------------------------------------------------------------------------

func testExecExitCodes(h *host) error {
	res, err := runExec(h.exec(false, false, true, true, "sh", "-c", "echo out; echo err >&2; exit 3"),
		execOpts{stdout: true, stderr: true})
	if err != nil {
		return err
	}
	if string(res.stdout) != "out\n" || string(res.stderr) != "err\n" {
		return fmt.Errorf("stdout %q stderr %q", res.stdout, res.stderr)
	}
	if res.proto != "v4.channel.k8s.io" {
		return fmt.Errorf("negotiated %q", res.proto)
	}
	if code, err := exitCode(res.status); err != nil || code != 3 {
		return fmt.Errorf("exit code %d (%v), status %s", code, err, res.status)
	}
	res, err = runExec(h.exec(false, false, true, false, "true"), execOpts{stdout: true})
	if err != nil {
		return err
	}
	if string(res.status) != `{"metadata":{},"status":"Success"}` {
		return fmt.Errorf("success status %s", res.status)
	}
	return nil
}

func testStdinBinary(h *host) error {
	data := randomBytes(1 << 20)
	res, err := runExec(h.exec(false, true, true, false, "cat"), execOpts{stdin: bytes.NewReader(data), stdout: true})
	if err != nil {
		return err
	}
	if !bytes.Equal(res.stdout, data) {
		return fmt.Errorf("stdout: %d bytes, differ from the 1 MiB sent", len(res.stdout))
	}
	if code, err := exitCode(res.status); err != nil || code != 0 {
		return fmt.Errorf("exit code %d (%v)", code, err)
	}
	return nil
}

func testTTYResize(h *host) error {
	pr, pw := io.Pipe()
	go func() {
		time.Sleep(300 * time.Millisecond) // the resize is applied before the line is read
		pw.Write([]byte("go\n"))
		pw.Close()
	}()
	res, err := runExec(h.exec(true, true, true, false, "sh", "-c", "read x; stty size; exit 5"),
		execOpts{stdin: pr, stdout: true, tty: true, resize: []string{`{"Width":123,"Height":45}`}})
	if err != nil {
		return err
	}
	if !strings.Contains(string(res.stdout), "45 123") {
		return fmt.Errorf("stty size not 45 123: %q", res.stdout)
	}
	if code, err := exitCode(res.status); err != nil || code != 5 {
		return fmt.Errorf("exit code %d (%v)", code, err)
	}
	return nil
}

func testOldProtocols(h *host) error {
	for _, p := range []string{"v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"} {
		res, err := runExec(h.exec(false, false, true, true, "sh", "-c", "echo x; exit 7"),
			execOpts{proto: p, stdout: true, stderr: true})
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		if res.proto != p || string(res.stdout) != "x\n" ||
			!strings.Contains(string(res.status), "non-zero exit code") || !strings.Contains(string(res.status), "7") {
			return fmt.Errorf("%s: negotiated %q, stdout %q, error stream %q", p, res.proto, res.stdout, res.status)
		}
		res, err = runExec(h.exec(false, false, true, false, "true"), execOpts{proto: p, stdout: true})
		if err != nil || len(res.status) != 0 {
			return fmt.Errorf("%s: success: %v, error stream %q", p, err, res.status)
		}
	}
	// the client's first protocol the server has wins
	conn, proto, err := dial(h.exec(false, false, true, false, "true"), "v9.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io")
	if err != nil {
		return err
	}
	conn.Close()
	if proto != "v3.channel.k8s.io" {
		return fmt.Errorf("negotiated %q for v9, v3, v4", proto)
	}
	return nil
}

func testAttach(h *host) error {
	res, err := runExec(h.ask("attach 0 1 1 0"), execOpts{stdin: strings.NewReader("hello\n"), stdout: true})
	if err != nil {
		return err
	}
	if string(res.stdout) != "hello\n" || string(res.status) != `{"metadata":{},"status":"Success"}` {
		return fmt.Errorf("stdout %q status %s", res.stdout, res.status)
	}
	return nil
}

// echoServer accepts connections on 127.0.0.1 and sends back what it reads.
func echoServer() (net.Listener, int) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return l, l.Addr().(*net.TCPAddr).Port
}

func forward(conn *spdystream.Connection, port int, id string, data []byte) ([]byte, []byte, error) {
	hd := http.Header{"streamType": {"error"}, "port": {strconv.Itoa(port)}, "requestID": {id}}
	errS, err := stream(conn, hd)
	if err != nil {
		return nil, nil, err
	}
	errS.Close() // kubectl writes nothing on it
	hd = http.Header{"streamType": {"data"}, "port": {strconv.Itoa(port)}, "requestID": {id}}
	dataS, err := stream(conn, hd)
	if err != nil {
		return nil, nil, err
	}
	go func() {
		dataS.Write(data)
		dataS.Close()
	}()
	got, _ := io.ReadAll(dataS)
	msg, _ := io.ReadAll(errS)
	return got, msg, nil
}

func testPortForward(h *host) error {
	l, port := echoServer()
	defer l.Close()
	conn, proto, err := dial(h.ask(fmt.Sprintf("portforward %d", port)), "portforward.k8s.io")
	if err != nil {
		return err
	}
	defer conn.Close()
	if proto != "portforward.k8s.io" {
		return fmt.Errorf("negotiated %q", proto)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			data := randomBytes(256 << 10)
			got, msg, err := forward(conn, port, strconv.Itoa(i), data)
			if err != nil || !bytes.Equal(got, data) || len(msg) != 0 {
				errs <- fmt.Errorf("pair %d: %v, %d bytes back of %d, error stream %q", i, err, len(got), len(data), msg)
			}
		}(i)
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	// a port nothing listens on: the connect failure on the error stream
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l2.Addr().(*net.TCPAddr).Port
	l2.Close()
	got, msg, err := forward(conn, dead, "9", []byte("x"))
	if err != nil || len(got) != 0 || !strings.Contains(string(msg), fmt.Sprintf("error forwarding port %d", dead)) {
		return fmt.Errorf("refused port: %v, data %q, error stream %q", err, got, msg)
	}
	return nil
}

func status(rawurl, method string, headers map[string][]string) (int, http.Header, error) {
	resp, c, err := rawUpgrade(rawurl, method, headers)
	if err != nil {
		return 0, nil, err
	}
	c.Close()
	return resp.StatusCode, resp.Header, nil
}

func testErrors(h *host) error {
	u := h.exec(false, false, true, false, "true")
	if _, err := runExec(u, execOpts{stdout: true}); err != nil {
		return err
	}
	if code, _, err := status(u, "POST", spdyHeaders("v4.channel.k8s.io")); err != nil || code != 404 {
		return fmt.Errorf("reused token: %d %v", code, err)
	}
	for _, p := range []string{"/", "/exec/", "/foo/bar", "/exec/AAAAAAAAAAAAAAAAAAAAAA", "/exec/a/b"} {
		if code, _, err := status(h.base+p, "GET", spdyHeaders("v4.channel.k8s.io")); err != nil || code != 404 {
			return fmt.Errorf("%s: %d %v", p, code, err)
		}
	}
	u = h.exec(false, false, true, false, "true")
	if code, _, err := status(u, "DELETE", spdyHeaders("v4.channel.k8s.io")); err != nil || code != 405 {
		return fmt.Errorf("DELETE: %d %v", code, err)
	}
	u = h.exec(false, false, true, false, "true")
	if code, _, err := status(u, "POST", map[string][]string{"Connection": {"Upgrade"}, "Upgrade": {"SPDY/3.1"}}); err != nil || code != 400 {
		return fmt.Errorf("no X-Stream-Protocol-Version: %d %v", code, err)
	}
	u = h.exec(false, false, true, false, "true")
	code, hd, err := status(u, "POST", spdyHeaders("v9.channel.k8s.io"))
	if err != nil || code != 403 || len(hd.Values("X-Accepted-Stream-Protocol-Versions")) != 4 {
		return fmt.Errorf("unknown protocol: %d %v %v", code, hd, err)
	}
	u = h.exec(false, false, true, false, "true")
	if code, _, err := status(u, "GET", map[string][]string{"X-Stream-Protocol-Version": {"v4.channel.k8s.io"}}); err != nil || code != 400 {
		return fmt.Errorf("no upgrade headers: %d %v", code, err)
	}
	u = h.ask("portforward 1")
	if code, _, err := status(strings.Replace(u, "/portforward/", "/exec/", 1), "POST", spdyHeaders("v4.channel.k8s.io")); err != nil || code != 404 {
		return fmt.Errorf("a port forward token on /exec: %d %v", code, err)
	}
	// expired: a host whose tokens live 300 ms
	h2, err := startHost("--ttl-ms", "300")
	if err != nil {
		return err
	}
	defer h2.stop()
	u = h2.exec(false, false, true, false, "true")
	time.Sleep(700 * time.Millisecond)
	if code, _, err := status(u, "POST", spdyHeaders("v4.channel.k8s.io")); err != nil || code != 404 {
		return fmt.Errorf("expired token: %d %v", code, err)
	}
	return nil
}

// A client that goes away: the exec'd command is killed (the backend's close), nothing is left.
func testHangup(h *host) error {
	conn, _, err := dial(h.exec(false, false, true, false, "sleep", "1000"), "v4.channel.k8s.io")
	if err != nil {
		return err
	}
	stream(conn, http.Header{"streamType": {"error"}})
	stream(conn, http.Header{"streamType": {"stdout"}})
	time.Sleep(300 * time.Millisecond)
	if n := h.num("procs"); n != 1 {
		return fmt.Errorf("%d processes running, expected the sleep", n)
	}
	conn.Close()
	for i := 0; i < 50 && h.num("procs") != 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if n := h.num("procs"); n != 0 {
		return fmt.Errorf("%d processes left after the client went away", n)
	}
	return nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// rssKiB is the VmRSS of process pid in KiB (-1 when it cannot be read).
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(l[6:]), " kB"))
			return n
		}
	}
	return -1
}

// load runs one exec session on each of urls at once, each a command printing size bytes on
// stdout (`head -c SIZE /dev/zero`), while the RSS of the server (process pid) is sampled: every
// session must deliver every byte and exit 0, and the RSS may grow by bound KiB at most.  The one
// load test of both stream_spdy (stream_host) and test_stream (the daemon: `spdyclient load`).
func load(urls []string, size int64, pid, bound int) error {
	base := rssKiB(pid)
	var peak int
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(50 * time.Millisecond):
				if r := rssKiB(pid); r > peak {
					peak = r
				}
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, len(urls))
	start := time.Now()
	for i, u := range urls {
		wg.Add(1)
		go func(i int, u string) {
			defer wg.Done()
			c := &counter{}
			res, err := runExec(u, execOpts{stdout: true, stdoutSink: c})
			if err != nil {
				errs <- fmt.Errorf("session %d: %v", i, err)
				return
			}
			if code, err := exitCode(res.status); err != nil || code != 0 || c.n != size {
				errs <- fmt.Errorf("session %d: %d bytes of %d, exit %d (%v)", i, c.n, size, code, err)
			}
		}(i, u)
	}
	wg.Wait()
	close(stopSampling)
	<-sampled
	select {
	case err := <-errs:
		return err
	default:
	}
	fmt.Printf("  %d sessions x %d MiB in %.1f s; server RSS %d KiB before, peak %d KiB\n", len(urls), size>>20,
		time.Since(start).Seconds(), base, peak)
	if base < 0 || peak-base > bound {
		return fmt.Errorf("RSS grew by %d KiB (bound %d KiB; -1: not readable)", peak-base, bound)
	}
	return nil
}

// 50 sessions streaming 10 MiB each at once; the server's RSS is sampled throughout.
func testConcurrent(h *host) error {
	const n, size = 50, 10 << 20
	urls := make([]string, n)
	for i := range urls {
		urls[i] = h.exec(false, false, true, false, "head", "-c", strconv.Itoa(size), "/dev/zero")
	}
	return load(urls, size, h.cmd.Process.Pid, rssBoundKiB())
}

// loadCmd is `spdyclient load PID SIZE BOUND_KIB URL...`: load on the URLs the daemon (PID)
// answered; exit status 1 with the reason when it fails.
func loadCmd(args []string) {
	pid, e1 := strconv.Atoi(args[0])
	size, e2 := strconv.ParseInt(args[1], 10, 64)
	bound, e3 := strconv.Atoi(args[2])
	if e1 != nil || e2 != nil || e3 != nil {
		fmt.Fprintln(os.Stderr, "spdyclient load: PID SIZE BOUND_KIB are numbers")
		os.Exit(2)
	}
	if err := load(args[3:], size, pid, bound); err != nil {
		fmt.Fprintln(os.Stderr, "spdyclient load:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// A client that does not read: the server stops reading the command's output instead of
// buffering it.
func testBackPressure(h *host) error {
	pid := h.cmd.Process.Pid
	base := rssKiB(pid)
	c := &counter{}
	const size = 200 << 20
	var peak int
	go func() {
		for i := 0; i < 20; i++ {
			time.Sleep(100 * time.Millisecond)
			if r := rssKiB(pid); r > peak {
				peak = r
			}
		}
	}()
	res, err := runExec(h.exec(false, false, true, false, "head", "-c", strconv.Itoa(size), "/dev/zero"),
		execOpts{stdout: true, stdoutSink: c, beforeStdout: 2 * time.Second})
	if err != nil {
		return err
	}
	if code, err := exitCode(res.status); err != nil || code != 0 || c.n != size {
		return fmt.Errorf("%d bytes, exit %d (%v)", c.n, code, err)
	}
	fmt.Printf("  a client not reading for 2 s (200 MiB pending): server RSS %d KiB before, peak %d KiB while stalled\n", base, peak)
	if peak-base > 16<<10 {
		return fmt.Errorf("RSS grew by %d KiB while the client did not read", peak-base)
	}
	return nil
}

// SIGTERM-like stop with a session open: it ends, the command is killed, the host exits.
func testStop() error {
	h, err := startHost()
	if err != nil {
		return err
	}
	conn, _, err := dial(h.exec(false, false, true, false, "sleep", "1000"), "v4.channel.k8s.io")
	if err != nil {
		return err
	}
	defer conn.Close()
	stream(conn, http.Header{"streamType": {"error"}})
	stream(conn, http.Header{"streamType": {"stdout"}})
	time.Sleep(200 * time.Millisecond)
	if n := h.num("sessions"); n != 1 {
		return fmt.Errorf("%d sessions", n)
	}
	t := time.Now()
	if err := h.stop(); err != nil {
		return err
	}
	if d := time.Since(t); d > 5*time.Second {
		return fmt.Errorf("stopping took %v", d)
	}
	return nil
}

// kubectlExec is `spdyclient exec [-i] [-t] [-sWxH] [-e] URL`: a session on a URL an Exec or Attach
// call answered, as `kubectl exec` runs it — stdin from ours (-i), stdout to ours, stderr to ours
// (-e), a terminal (-t) of size WxH (-s, sent before stdin); the exit status is the command's (1
// with the message for any other failure).
func kubectlExec(args []string) {
	o := execOpts{stdout: true}
	url := ""
	for _, a := range args {
		switch a {
		case "-i":
			o.stdin = os.Stdin
		case "-t":
			o.tty = true
		case "-e":
			o.stderr = true
		default:
			if strings.HasPrefix(a, "-s") { // -sWxH: the terminal's size, sent before stdin
				var w, h int
				fmt.Sscanf(a[2:], "%dx%d", &w, &h)
				o.resize = append(o.resize, fmt.Sprintf(`{"Width":%d,"Height":%d}`, w, h))
				continue
			}
			url = a
		}
	}
	res, err := runExec(url, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spdyclient:", err)
		os.Exit(1)
	}
	os.Stdout.Write(res.stdout)
	os.Stderr.Write(res.stderr)
	code, err := exitCode(res.status)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spdyclient:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// kubectlPortForward is `spdyclient portforward URL PORT`: one forwarded connection on a URL a
// PortForward call answered, as kubectl port-forward opens it — our stdin to the pod's port, what
// comes back to our stdout; the error stream's message to our stderr and exit status 1.
func kubectlPortForward(rawurl, port string) {
	conn, _, err := dial(rawurl, "portforward.k8s.io")
	if err != nil {
		fmt.Fprintln(os.Stderr, "spdyclient:", err)
		os.Exit(1)
	}
	defer conn.Close()
	in, _ := io.ReadAll(os.Stdin)
	p, _ := strconv.Atoi(port)
	got, msg, err := forward(conn, p, "0", in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spdyclient:", err)
		os.Exit(1)
	}
	os.Stdout.Write(got)
	if len(msg) > 0 {
		fmt.Fprintln(os.Stderr, string(msg))
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "exec" {
		kubectlExec(os.Args[2:])
	}
	if len(os.Args) >= 5 && os.Args[1] == "load" {
		loadCmd(os.Args[2:])
	}
	if len(os.Args) == 4 && os.Args[1] == "portforward" {
		kubectlPortForward(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: spdyclient PATH/TO/stream_host\n       spdyclient exec [-i] [-t] [-sWxH] [-e] URL\n       spdyclient portforward URL PORT\n       spdyclient load PID SIZE BOUND_KIB URL...")
		os.Exit(2)
	}
	hostBin = os.Args[1]
	h, err := startHost()
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fds := h.num("fds")
	cases := []struct {
		name string
		fn   func(*host) error
	}{
		{"exec_exit_codes", testExecExitCodes},
		{"exec_stdin_1mib_binary", testStdinBinary},
		{"exec_tty_resize", testTTYResize},
		{"exec_old_protocols", testOldProtocols},
		{"attach", testAttach},
		{"portforward", testPortForward},
		{"errors", testErrors},
		{"hangup_kills", testHangup},
		{"concurrent_50x10MiB", testConcurrent},
		{"back_pressure", testBackPressure},
		{"stop", func(*host) error { return testStop() }},
	}
	filter := os.Getenv("SPDY_TEST_FILTER")
	passed, failed := 0, 0
	for _, c := range cases {
		if filter != "" && !strings.Contains(c.name, filter) {
			continue
		}
		t := time.Now()
		if err := c.fn(h); err != nil {
			fmt.Printf("FAIL %s: %v\n", c.name, err)
			failed++
		} else {
			fmt.Printf("ok   %s (%.2f s)\n", c.name, time.Since(t).Seconds())
			passed++
		}
	}
	// nothing left behind: processes, sessions, descriptors
	time.Sleep(300 * time.Millisecond)
	if p, s, f := h.num("procs"), h.num("sessions"), h.num("fds"); p != 0 || s != 0 || f != fds {
		fmt.Printf("FAIL leftovers: %d processes, %d sessions, %d descriptors (%d at start)\n", p, s, f, fds)
		failed++
	} else {
		fmt.Printf("ok   leftovers (none: %d descriptors as at start)\n", f)
		passed++
	}
	if err := h.stop(); err != nil {
		fmt.Printf("FAIL stream_host exit: %v\n", err)
		failed++
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// rssBoundKiB is how much the server's RSS may grow while 50 sessions stream 10 MiB each (500 MiB
// in all): 64 MiB, far below what buffering the streams would take; LITECRI_TEST_RSS_BOUND_KIB
// overrides it for an AddressSanitizer build, whose allocator keeps freed memory in quarantine.
func rssBoundKiB() int {
	if v, err := strconv.Atoi(os.Getenv("LITECRI_TEST_RSS_BOUND_KIB")); err == nil && v > 0 {
		return v
	}
	return 64 << 10
}
