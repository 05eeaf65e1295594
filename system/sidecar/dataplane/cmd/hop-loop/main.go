// The event-loop Go ceiling of `npm run bench:hop`: cmd/hop-ceiling's work (the query catalogue's checks,
// forward to the upstream's /query over keep-alive, relay status, WWW-Authenticate and Server-Timing) on one
// epoll loop that owns every socket, the way nginx's worker does, instead of Go's netpoller with a goroutine
// per connection. It answers "how much of the Go data plane's CPU per request is the runtime's I/O path?"
// (docs/ARCHITECTURE.md, "The hop's CPU in Go"): Go's net package reads a socket until EAGAIN and parks,
// so a keep-alive hop pays a failed read on each side per request and the scheduler's hand-offs; here a
// socket is read once when epoll says it is readable.
//
// HTTP is parsed with fasthttp's header readers once a message is whole; what the ceiling does not take
// (chunked bodies, headers over 16 KiB, pipelined requests beyond the one in flight wait their turn) is
// refused or queued as noted where it happens. Not authlab's data plane: no token, no metrics, no control API.
//
// UPSTREAM=http://127.0.0.1:<port> [PORT=0] hop-loop prints {"event":"listening","url":...} on its first line
// and stops on SIGTERM or SIGINT.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"authlab/dataplane/catalogue"
	"authlab/dataplane/serve"
	"github.com/valyala/fasthttp"
)

const headerLimit = 16 << 10

type conn struct {
	fd       int
	upstream bool
	in       []byte // read, not yet consumed
	out      []byte // answer not yet written (the socket was full)
	client   *conn  // upstream: the client whose request it carries
	busy     bool   // client: a request is at the upstream
	t0, tUp  time.Time
	closed   bool
	linger   bool // refused with the request unread: the answer, FIN, then reads discarded until the peer closes
	watching uint32
}

type loop struct {
	epfd     int
	lfd      int
	up       syscall.SockaddrInet4
	upHost   string
	conns    map[int]*conn
	idle     []*conn
	scratch  []byte
	br       *bufio.Reader
	rd       bytes.Reader
	reqHdr   fasthttp.RequestHeader
	resHdr   fasthttp.ResponseHeader
	upstream []byte // the request to the upstream being built
	answerB  []byte // the answer to a client being built
	chunked  []byte // a chunked answer's body, joined
}

func main() {
	serve.DieWithParent()
	// The loop blocks in epoll_wait as a system call; a second P keeps sysmon from taking the loop's P away
	// on every wait (with one P and none idle it would, every 20 µs tick).
	runtime.GOMAXPROCS(2)
	upstream := os.Getenv("UPSTREAM")
	if !strings.HasPrefix(upstream, "http://") {
		fmt.Fprintln(os.Stderr, "hop-loop: set UPSTREAM to the upstream origin, http://host:port")
		os.Exit(2)
	}
	host := strings.TrimRight(strings.TrimPrefix(upstream, "http://"), "/")
	addr, err := net.ResolveTCPAddr("tcp4", host)
	if err != nil {
		serve.Fail("hop-loop", err)
	}
	l := &loop{upHost: host, conns: map[int]*conn{}, scratch: make([]byte, 64<<10)}
	l.up.Port = addr.Port
	copy(l.up.Addr[:], addr.IP.To4())
	l.br = bufio.NewReaderSize(&l.rd, headerLimit+4)

	port, _ := strconv.Atoi(serve.Env("PORT", "0"))
	l.lfd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	must(err)
	must(syscall.SetsockoptInt(l.lfd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
	must(syscall.Bind(l.lfd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}))
	must(syscall.Listen(l.lfd, 1024))
	sa, err := syscall.Getsockname(l.lfd)
	must(err)
	l.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	must(err)
	must(syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, l.lfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.lfd)}))

	url := fmt.Sprintf("http://127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	line, _ := json.Marshal(map[string]string{"event": "listening", "url": url})
	fmt.Println(string(line))
	stop := serve.CPUProfile(os.Getenv("AUTHLAB_DATAPLANE_CPU_PROFILE"))
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		stop()
		os.Exit(0)
	}()
	runtime.LockOSThread()
	l.run()
}

func must(err error) {
	if err != nil {
		serve.Fail("hop-loop", err)
	}
}

func (l *loop) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(l.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			serve.Fail("hop-loop", err)
		}
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == l.lfd {
				l.accept()
				continue
			}
			c := l.conns[fd]
			if c == nil || c.closed {
				continue
			}
			ev := events[i].Events
			if ev&syscall.EPOLLOUT != 0 {
				l.flush(c)
			}
			if ev&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 && !c.closed {
				l.readable(c)
			}
		}
	}
}

func (l *loop) accept() {
	for {
		fd, _, err := syscall.Accept4(l.lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: all taken
		}
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		c := &conn{fd: fd}
		l.conns[fd] = c
		l.watch(c, syscall.EPOLLIN, syscall.EPOLL_CTL_ADD)
	}
}

func (l *loop) watch(c *conn, events uint32, op int) {
	c.watching = events
	_ = syscall.EpollCtl(l.epfd, op, c.fd, &syscall.EpollEvent{Events: events, Fd: int32(c.fd)})
}

func (l *loop) close(c *conn) {
	if c.closed {
		return
	}
	c.closed = true
	delete(l.conns, c.fd)
	_ = syscall.Close(c.fd) // leaves the epoll set with it
	if c.upstream {
		for i, u := range l.idle {
			if u == c {
				l.idle = append(l.idle[:i], l.idle[i+1:]...)
				break
			}
		}
		if cl := c.client; cl != nil && !cl.closed {
			c.client = nil
			l.refuse(cl, catalogue.New(502, "ERR_UPSTREAM_UNREACHABLE", `Target sidecar "null" unreachable: the connection closed.`))
		}
	}
}

// readable reads once: level-triggered epoll says again if more is waiting.
func (l *loop) readable(c *conn) {
	n, err := syscall.Read(c.fd, l.scratch)
	if err == syscall.EAGAIN {
		return
	}
	if n <= 0 {
		l.close(c)
		return
	}
	if c.linger {
		return
	}
	c.in = append(c.in, l.scratch[:n]...)
	if c.upstream {
		l.answer(c)
	} else {
		l.request(c)
	}
}

// lingerOn closes a connection whose request was refused unread the way nginx's lingering close does: the
// answer goes out, then a FIN, and what the client still sends is read and dropped until it closes, so
// that closing with its body unread does not reset the connection before the client reads the answer.
func (l *loop) lingerOn(c *conn, r *catalogue.Refusal) {
	c.linger = true
	l.refuse(c, r)
	c.in = nil
	if len(c.out) == 0 {
		_ = syscall.Shutdown(c.fd, syscall.SHUT_WR)
	}
}

// headEnd is the length of the header at the start of in, or -1 while its end has not arrived.
func (l *loop) headEnd(in []byte) int {
	i := bytes.Index(in, []byte("\r\n\r\n"))
	if i < 0 {
		return -1
	}
	return i + 4
}

func (l *loop) request(c *conn) {
	if c.busy || c.linger {
		return // one request at the upstream at a time; the next waits in c.in
	}
	end := l.headEnd(c.in)
	if end < 0 {
		if len(c.in) > headerLimit {
			l.lingerOn(c, catalogue.New(431, "ERR_HEADERS_TOO_LARGE", "Request headers over 16 KiB."))
		}
		return
	}
	c.t0 = time.Now()
	l.rd.Reset(c.in[:end])
	l.br.Reset(&l.rd)
	if err := l.reqHdr.Read(l.br); err != nil {
		l.lingerOn(c, catalogue.New(400, "ERR_BAD_REQUEST", "The request could not be read."))
		return
	}
	cl := l.reqHdr.ContentLength()
	if cl == -1 {
		l.lingerOn(c, catalogue.New(411, "ERR_LENGTH_REQUIRED", "The event-loop ceiling takes Content-Length bodies only."))
		return
	}
	if cl < 0 {
		cl = 0
	}
	if cl > catalogue.BodyLimit {
		l.lingerOn(c, catalogue.New(413, "ERR_BODY_TOO_LARGE", "Request body over the limit."))
		return
	}
	if len(c.in) < end+cl {
		return
	}
	body := c.in[end : end+cl]
	path := l.reqHdr.RequestURI()
	post := l.reqHdr.IsPost()
	consumed := end + cl
	if !post || !bytes.HasPrefix(path, []byte("/call/")) || !bytes.HasSuffix(path, []byte("/query")) {
		l.refuse(c, catalogue.New(404, "ERR_NOT_FOUND", "POST /call/<target>/query is the only route."))
	} else if string(path) != "/call/null/query" {
		l.refuse(c, catalogue.New(404, "ERR_UNKNOWN_TARGET", "Unknown target; known peers: null."))
	} else if _, bad := catalogue.Check(body); bad != nil {
		l.refuse(c, bad)
	} else {
		l.forward(c, body)
	}
	c.in = c.in[:copy(c.in, c.in[consumed:])]
	if !c.busy && len(c.in) > 0 {
		l.request(c)
	}
}

func (l *loop) forward(c *conn, body []byte) {
	b := l.upstream[:0]
	b = append(b, "POST /query HTTP/1.1\r\nHost: "...)
	b = append(b, l.upHost...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	l.upstream = b
	var u *conn
	if k := len(l.idle); k > 0 {
		u = l.idle[k-1]
		l.idle = l.idle[:k-1]
	} else {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
		if err == nil {
			err = syscall.Connect(fd, &l.up)
			if err == syscall.EINPROGRESS {
				err = nil
			}
		}
		if err != nil {
			if fd >= 0 {
				_ = syscall.Close(fd)
			}
			l.refuse(c, catalogue.New(502, "ERR_UPSTREAM_UNREACHABLE", `Target sidecar "null" unreachable: `+err.Error()+"."))
			return
		}
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		u = &conn{fd: fd, upstream: true}
		l.conns[fd] = u
		l.watch(u, syscall.EPOLLIN, syscall.EPOLL_CTL_ADD)
	}
	u.client = c
	c.busy = true
	c.tUp = time.Now()
	l.write(u, b)
}

func (l *loop) answer(u *conn) {
	end := l.headEnd(u.in)
	if end < 0 {
		return
	}
	l.rd.Reset(u.in[:end])
	l.br.Reset(&l.rd)
	if err := l.resHdr.Read(l.br); err != nil {
		l.close(u)
		return
	}
	var body []byte
	size := 0
	switch cl := l.resHdr.ContentLength(); {
	case cl >= 0:
		if len(u.in) < end+cl {
			return
		}
		body, size = u.in[end:end+cl], end+cl
	case cl == -1: // chunked
		var ok bool
		if body, size, ok = l.dechunk(u.in, end); !ok {
			return
		}
		if size < 0 {
			l.close(u)
			return
		}
	default: // until the upstream closes: not a keep-alive answer, not this ceiling's
		l.close(u)
		return
	}
	c := u.client
	u.client = nil
	if c != nil && !c.closed {
		up := time.Since(c.tUp)
		l.reply(c, l.resHdr.StatusCode(), l.resHdr.Peek("Www-Authenticate"), body, serve.ServerTiming(-1, -1, up, c.t0))
		c.busy = false
	}
	u.in = u.in[:copy(u.in, u.in[size:])]
	l.idle = append(l.idle, u)
	if c != nil && !c.closed && len(c.in) > 0 {
		l.request(c)
	}
}

// dechunk reads a chunked body that starts at in[at:]: the body and the message's whole length, ok false
// while more is to come, a length of -1 when it is not chunked encoding (no trailers are expected).
func (l *loop) dechunk(in []byte, at int) (body []byte, size int, ok bool) {
	b := l.chunked[:0]
	for {
		eol := bytes.Index(in[at:], []byte("\r\n"))
		if eol < 0 {
			return nil, 0, false
		}
		line := in[at : at+eol]
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 31)
		if err != nil {
			return nil, -1, true
		}
		at += eol + 2
		if len(in) < at+int(n)+2 {
			return nil, 0, false
		}
		if n == 0 {
			if !bytes.Equal(in[at:at+2], []byte("\r\n")) {
				return nil, -1, true
			}
			l.chunked = b
			return b, at + 2, true
		}
		b = append(b, in[at:at+int(n)]...)
		at += int(n) + 2
	}
}

func (l *loop) refuse(c *conn, r *catalogue.Refusal) {
	msg, _ := json.Marshal(map[string]any{"error": map[string]string{"code": r.Code, "message": r.Message}})
	l.reply(c, r.Status, nil, msg, serve.ServerTiming(-1, -1, -1, c.t0))
	c.busy = false
}

func (l *loop) reply(c *conn, status int, wwwAuthenticate, body []byte, timing string) {
	b := append(l.answerB[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, fasthttp.StatusMessage(status)...)
	b = append(b, "\r\nContent-Type: application/json\r\nServer-Timing: "...)
	b = append(b, timing...)
	if c.linger {
		b = append(b, "\r\nConnection: close"...)
	}
	if len(wwwAuthenticate) > 0 {
		b = append(b, "\r\nWww-Authenticate: "...)
		b = append(b, wwwAuthenticate...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	l.answerB = b
	l.write(c, b)
}

// write sends what it can now and keeps the rest for EPOLLOUT.
func (l *loop) write(c *conn, b []byte) {
	if len(c.out) > 0 {
		c.out = append(c.out, b...)
		return
	}
	n, err := syscall.Write(c.fd, b)
	if err != nil && err != syscall.EAGAIN {
		l.close(c)
		return
	}
	if n < 0 {
		n = 0
	}
	if n < len(b) {
		c.out = append(c.out[:0], b[n:]...)
		l.watch(c, syscall.EPOLLIN|syscall.EPOLLOUT, syscall.EPOLL_CTL_MOD)
	}
}

func (l *loop) flush(c *conn) {
	if len(c.out) == 0 {
		if c.watching&syscall.EPOLLOUT != 0 {
			l.watch(c, syscall.EPOLLIN, syscall.EPOLL_CTL_MOD)
		}
		return
	}
	n, err := syscall.Write(c.fd, c.out)
	if err != nil && err != syscall.EAGAIN {
		l.close(c)
		return
	}
	if n > 0 {
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	if len(c.out) == 0 {
		l.watch(c, syscall.EPOLLIN, syscall.EPOLL_CTL_MOD)
		if c.linger {
			_ = syscall.Shutdown(c.fd, syscall.SHUT_WR)
		}
	}
}
