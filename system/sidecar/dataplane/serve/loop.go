package serve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"authlab/dataplane/catalogue"
	"github.com/valyala/fasthttp"
)

// Loop is an HTTP/1.1 server that forwards over keep-alive, on one epoll loop that owns every socket, the
// way nginx's worker does (docs/ARCHITECTURE.md, "The hop's CPU in Go"). Go's net package reads a socket
// until EAGAIN and parks a goroutine per connection, so a keep-alive hop pays a failed read on each side per
// request and the scheduler's hand-offs; here a socket is read once each time epoll says it is readable
// (level-triggered), and every handler runs on the loop's own locked thread, one at a time.
//
// It keeps serve.Server's contract: headers over 16 KiB are refused 431, a body over catalogue.BodyLimit
// 413, a request it cannot read 400 (each with the sidecar's error body, then a lingering close as nginx's:
// the answer, a FIN, and what the client still sends read and dropped until it closes, at most 5 s);
// Content-Length and chunked bodies; `Expect: 100-continue`; `Connection: close` and HTTP/1.0; pipelined
// requests answered in turn; a keep-alive client idle for 65 s closed. Upstream connections are pooled per
// Pool (at most its max open, the most recently used reused first, closed after 60 s idle).
type Loop[T any] struct {
	h       Handler[T]
	epfd    int
	lfd     int
	conns   map[int]*conn[T]
	scratch []byte
	rd      bytes.Reader
	br      *bufio.Reader
	reqHdr  fasthttp.RequestHeader
	resHdr  fasthttp.ResponseHeader
	answer  []byte // an answer being built
	chunked []byte // a chunked body, joined
	swept   time.Time
}

// Handler is what a Loop runs. Its methods run on the loop's thread, one at a time; none may block.
type Handler[T any] interface {
	// Serve gets each whole request (x.Header, x.Body, x.T0) and answers it (x.Reply) or forwards it
	// (x.Forward).
	Serve(x *Exchange[T])
	// Relay gets a forwarded request's answer, the upstream's header and body, and answers x.
	Relay(x *Exchange[T], res *fasthttp.ResponseHeader, body []byte)
	// Unreachable gets a forwarded request that got no answer, and why, and answers x.
	Unreachable(x *Exchange[T], err error)
}

// Exchange is one request on a client connection, from Serve until it is answered.
type Exchange[T any] struct {
	// The request's header and body: valid in Serve only (the loop reuses them for the next request).
	Header *fasthttp.RequestHeader
	Body   []byte
	// When the whole request had been read.
	T0 time.Time
	// The handler's own, from Serve to Relay or Unreachable.
	Data     T
	l        *Loop[T]
	c        *conn[T]
	answered bool
}

// Pool is the keep-alive connections to one upstream.
type Pool[T any] struct {
	// Addr is the upstream's host:port, as given.
	Addr     string
	max      int
	open     int
	idle     []*conn[T]
	sa       syscall.Sockaddr
	resolved time.Time
}

type conn[T any] struct {
	fd   int
	pool *Pool[T] // an upstream connection's pool; nil on a client connection
	in   []byte   // read, not yet consumed
	out  []byte   // to write once the socket takes it
	x    Exchange[T]
	// client: the upstream connection carrying its request; upstream: the client whose request it carries.
	peer       *conn[T]
	busy       bool // client: its request is at an upstream; upstream: it carries a request
	head       bool // client: the request being answered is a HEAD
	closeAfter bool // client: close once this answer is written (Connection: close, HTTP/1.0)
	linger     bool // client: answered and closing; what arrives is dropped
	continued  bool // client: 100 Continue sent for the request being read
	connected  bool // upstream: the connect completed (a write or a read got through)
	closed     bool
	watching   uint32
	last       time.Time // the last read or answer: idle and linger timeouts
}

const (
	headerLimit    = 16 << 10
	clientIdle     = 65 * time.Second
	upstreamIdle   = 60 * time.Second
	lingerTimeout  = 5 * time.Second
	sweepEvery     = time.Second
	refusedTimings = "total;dur=0.000"
)

// AppendQuery appends to b the upstream request every forwarder here sends: POST /query to the pool's
// host with a JSON body and, when authorization is not empty, that Authorization header.
func (p *Pool[T]) AppendQuery(b []byte, authorization string, body []byte) []byte {
	b = append(b, "POST /query HTTP/1.1\r\nHost: "...)
	b = append(b, p.Addr...)
	b = append(b, "\r\nContent-Type: application/json"...)
	if authorization != "" {
		b = append(b, "\r\nAuthorization: "...)
		b = append(b, authorization...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// keepAlive says how long an idle client connection stays open, as Node's server does: a client pool
// (undici's) that is not told closes its idle connections after its own default, 4 s, and dials again.
var keepAlive = "\r\nConnection: keep-alive\r\nKeep-Alive: timeout=" + strconv.Itoa(int(clientIdle/time.Second))

// ErrNoFreeConns is Unreachable's reason when a pool has its max connections open, all carrying requests.
var ErrNoFreeConns = errors.New("no free connections available to host")

// ListenLoop listens on host:port (port "0": the OS picks) for `h` and returns the loop, not yet running,
// and its base URL.
func ListenLoop[T any](host, port string, h Handler[T]) (*Loop[T], string, error) {
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, "", err
	}
	sa, family := sockaddr(addr)
	l := &Loop[T]{h: h, conns: map[int]*conn[T]{}, scratch: make([]byte, 64<<10)}
	l.br = bufio.NewReaderSize(&l.rd, headerLimit+4)
	if l.lfd, err = syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0); err != nil {
		return nil, "", err
	}
	if err = syscall.SetsockoptInt(l.lfd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err == nil {
		if err = syscall.Bind(l.lfd, sa); err == nil {
			err = syscall.Listen(l.lfd, 1024)
		}
	}
	if err != nil {
		syscall.Close(l.lfd)
		return nil, "", fmt.Errorf("listen %s: %w", addr, err)
	}
	bound, err := syscall.Getsockname(l.lfd)
	if err != nil {
		return nil, "", err
	}
	if l.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		return nil, "", err
	}
	if err = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, l.lfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.lfd)}); err != nil {
		return nil, "", err
	}
	var ip net.IP
	var boundPort int
	switch b := bound.(type) {
	case *syscall.SockaddrInet4:
		ip, boundPort = b.Addr[:], b.Port
	case *syscall.SockaddrInet6:
		ip, boundPort = b.Addr[:], b.Port
	}
	return l, "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(boundPort)), nil
}

func sockaddr(a *net.TCPAddr) (syscall.Sockaddr, int) {
	if ip4 := a.IP.To4(); ip4 != nil || a.IP == nil {
		sa := &syscall.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa, syscall.AF_INET
	}
	sa := &syscall.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	return sa, syscall.AF_INET6
}

// NewPool is the keep-alive connections to the upstream at addr (host:port), at most max open at once.
func (l *Loop[T]) NewPool(addr string, max int) *Pool[T] {
	return &Pool[T]{Addr: addr, max: max}
}

// Run serves on the calling goroutine, locked to its thread, and does not return.
func (l *Loop[T]) Run() {
	runtime.LockOSThread()
	events := make([]syscall.EpollEvent, 256)
	l.swept = time.Now()
	for {
		n, err := syscall.EpollWait(l.epfd, events, int(sweepEvery/time.Millisecond))
		if err != nil && err != syscall.EINTR {
			Fail("event loop", err)
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
		if now := time.Now(); now.Sub(l.swept) >= sweepEvery {
			l.sweep(now)
		}
	}
}

// sweep closes idle keep-alive connections, clients stalled mid-request and lingering closes past their time.
func (l *Loop[T]) sweep(now time.Time) {
	l.swept = now
	for _, c := range l.conns {
		idle := now.Sub(c.last)
		switch {
		case c.pool != nil:
			if !c.busy && idle > upstreamIdle {
				l.close(c, nil)
			}
		case c.linger:
			if idle > lingerTimeout {
				l.close(c, nil)
			}
		case !c.busy && len(c.out) == 0 && idle > clientIdle:
			l.close(c, nil)
		}
	}
}

func (l *Loop[T]) accept() {
	for {
		fd, _, err := syscall.Accept4(l.lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: all taken; anything else (EMFILE) is retried on the next readiness
		}
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		c := &conn[T]{fd: fd, last: time.Now()}
		c.x.l, c.x.c = l, c
		l.conns[fd] = c
		l.watch(c, syscall.EPOLLIN, syscall.EPOLL_CTL_ADD)
	}
}

func (l *Loop[T]) watch(c *conn[T], events uint32, op int) {
	c.watching = events
	_ = syscall.EpollCtl(l.epfd, op, c.fd, &syscall.EpollEvent{Events: events, Fd: int32(c.fd)})
}

// inLimit is how much a client may have sent ahead, unread by its server, while its answer waits for the
// upstream or for the client to read what was written (a client that pipelines and does not read).
const inLimit = 2 * (headerLimit + catalogue.BodyLimit)

// interest watches for what c can take now: output while some waits; input unless a client is sending
// faster than it reads its answers (the socket's buffers then hold it back, as node:http's pause does).
func (l *Loop[T]) interest(c *conn[T]) {
	if c.closed {
		return
	}
	var events uint32 = syscall.EPOLLIN
	if len(c.out) > 0 {
		events |= syscall.EPOLLOUT
		if c.pool == nil && !c.linger {
			events = syscall.EPOLLOUT
		}
	}
	if c.pool == nil && len(c.in) > inLimit {
		events &^= syscall.EPOLLIN
	}
	if events != c.watching {
		l.watch(c, events, syscall.EPOLL_CTL_MOD)
	}
}

// close closes c; an upstream connection that carried a request hands it to Unreachable with `err`.
func (l *Loop[T]) close(c *conn[T], err error) {
	if c.closed {
		return
	}
	c.closed = true
	delete(l.conns, c.fd)
	_ = syscall.Close(c.fd) // leaves the epoll set with it
	if p := c.pool; p != nil {
		p.open--
		for i, u := range p.idle {
			if u == c {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
		if cl := c.peer; cl != nil {
			c.peer, cl.peer = nil, nil
			if !cl.closed {
				switch {
				case !c.connected:
					err = fmt.Errorf("connect to %s: %w", p.Addr, orEOF(err))
					p.resolved = time.Time{} // look the name up again
				case err == nil:
					err = fmt.Errorf("%s closed the connection before answering", p.Addr)
				}
				l.unreachable(cl, err)
			}
		}
	} else if u := c.peer; u != nil {
		u.peer = nil // its answer, when it comes, is dropped and the connection kept
	}
}

func orEOF(err error) error {
	if err == nil {
		return errors.New("the connection closed")
	}
	return err
}

// readable reads once: level-triggered epoll says again if more is waiting.
func (l *Loop[T]) readable(c *conn[T]) {
	n, err := syscall.Read(c.fd, l.scratch)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return
	}
	if n <= 0 {
		if err == nil && c.pool != nil && !c.connected {
			err = soError(c.fd)
		}
		l.close(c, err)
		return
	}
	c.last = time.Now()
	if c.linger {
		return
	}
	if c.pool != nil && !c.busy {
		l.close(c, nil) // an idle connection the upstream spoke on (a 408 before it closes): not reusable
		return
	}
	c.in = append(c.in, l.scratch[:n]...)
	if c.pool != nil {
		c.connected = true
		l.relay(c)
	} else {
		l.request(c)
	}
}

func soError(fd int) error {
	if v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR); err == nil && v != 0 {
		return syscall.Errno(v)
	}
	return nil
}

func headEnd(in []byte) int {
	i := bytes.Index(in, []byte("\r\n\r\n"))
	if i < 0 {
		return -1
	}
	return i + 4
}

// request serves the whole requests in c.in, one at a time: the next waits until this one is answered.
func (l *Loop[T]) request(c *conn[T]) {
	defer l.interest(c)
	for !c.busy && !c.linger && !c.closed && len(c.in) > 0 && len(c.out) == 0 {
		end := headEnd(c.in)
		if end < 0 && len(c.in) <= headerLimit {
			return
		}
		if end < 0 || end > headerLimit {
			l.refuseUnread(c, catalogue.New(431, "ERR_HEADER_TOO_LARGE", "Request headers are too large (limit 16 KiB); an access token is well under 2 KiB."))
			return
		}
		l.rd.Reset(c.in[:end])
		l.br.Reset(&l.rd)
		if err := l.reqHdr.Read(l.br); err != nil {
			l.refuseUnread(c, catalogue.New(400, "ERR_BAD_REQUEST", "The request could not be read as HTTP/1.1."))
			return
		}
		var body []byte
		size := end
		switch cl := l.reqHdr.ContentLength(); {
		case cl > catalogue.BodyLimit:
			l.refuseUnread(c, bodyTooLarge)
			return
		case cl >= 0:
			if len(c.in) < end+cl {
				l.expectContinue(c)
				return
			}
			body, size = c.in[end:end+cl], end+cl
		case cl == -1: // chunked
			var ok bool
			body, size, ok = l.dechunk(c.in, end)
			switch {
			case size < 0:
				l.refuseUnread(c, catalogue.New(400, "ERR_BAD_REQUEST", "The request could not be read as HTTP/1.1."))
				return
			case len(body) > catalogue.BodyLimit || (!ok && len(c.in)-end > 2*catalogue.BodyLimit):
				l.refuseUnread(c, bodyTooLarge)
				return
			case !ok:
				l.expectContinue(c)
				return
			}
		}
		x := &c.x
		x.Header, x.Body, x.T0, x.answered = &l.reqHdr, body, time.Now(), false
		c.head, c.closeAfter, c.continued = l.reqHdr.IsHead(), l.reqHdr.ConnectionClose(), false
		l.h.Serve(x)
		x.Header, x.Body = nil, nil
		x.answerUnanswered()
		if c.closed || c.linger {
			return
		}
		c.in = c.in[:copy(c.in, c.in[size:])]
	}
}

var bodyTooLarge = catalogue.New(413, "ERR_BODY_TOO_LARGE", "The body is too large; a query body is a few hundred bytes.")

func (l *Loop[T]) expectContinue(c *conn[T]) {
	if !c.continued && bytes.EqualFold(l.reqHdr.Peek("Expect"), []byte("100-continue")) {
		c.continued = true
		_ = l.write(c, []byte("HTTP/1.1 100 Continue\r\n\r\n")) // a failed write shows as the next read's error
	}
}

// refuseUnread answers a request that is not read whole, then closes as nginx's lingering close does, so
// that closing with its body unread does not reset the connection before the client reads the answer.
func (l *Loop[T]) refuseUnread(c *conn[T], r *catalogue.Refusal) {
	c.head = false
	c.closeAfter = true
	c.x.answered = false
	c.x.Reply(r.Status, "application/json", ErrorBody(r), refusedTimings, nil)
}

// Forward sends `request` (a whole HTTP/1.1 request) to the pool's upstream; its answer goes to Relay, or
// its failure to Unreachable.
func (x *Exchange[T]) Forward(p *Pool[T], request []byte) {
	l, c := x.l, x.c
	x.answered = true
	c.busy = true
	for {
		var u *conn[T]
		reused := len(p.idle) > 0
		if reused {
			u = p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
		} else if p.open >= p.max {
			x.unanswered(ErrNoFreeConns)
			return
		} else {
			var err error
			if u, err = l.dial(p); err != nil {
				x.unanswered(err)
				return
			}
		}
		err := l.write(u, request)
		if err == nil {
			u.peer, c.peer, u.busy = c, u, true
			return
		}
		l.close(u, nil)
		if !reused {
			x.unanswered(fmt.Errorf("connect to %s: %w", p.Addr, err))
			return
		}
		// An idle connection the upstream had closed: nothing of the request went out, so another may take it.
	}
}

// answerUnanswered answers 500 an exchange its handler left without an answer (a handler's bug), so its
// client is not left waiting.
func (x *Exchange[T]) answerUnanswered() {
	if !x.answered {
		x.Refuse(catalogue.New(500, "ERR_INTERNAL", "The data plane answered nothing."), refusedTimings)
	}
}

// unanswered hands an exchange that Forward could not send to Unreachable (inside Serve: request() goes on).
func (x *Exchange[T]) unanswered(err error) {
	x.answered = false
	x.l.h.Unreachable(x, err)
}

func (l *Loop[T]) dial(p *Pool[T]) (*conn[T], error) {
	if p.sa == nil || time.Since(p.resolved) > time.Minute {
		// A name is looked up here, on the loop, once a minute (fasthttp's dialer caches as long); an IP
		// address (what the platforms give) needs no lookup.
		addr, err := net.ResolveTCPAddr("tcp", p.Addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", p.Addr, err)
		}
		p.sa, _ = sockaddr(addr)
		p.resolved = time.Now()
	}
	family := syscall.AF_INET
	if _, v6 := p.sa.(*syscall.SockaddrInet6); v6 {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", p.Addr, err)
	}
	if err = syscall.Connect(fd, p.sa); err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		p.resolved = time.Time{}
		return nil, fmt.Errorf("connect to %s: %w", p.Addr, err)
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	u := &conn[T]{fd: fd, pool: p, last: time.Now()}
	p.open++
	l.conns[fd] = u
	l.watch(u, syscall.EPOLLIN, syscall.EPOLL_CTL_ADD)
	return u, nil
}

// unreachable hands a forwarded exchange whose upstream connection failed to Unreachable, then goes on.
func (l *Loop[T]) unreachable(c *conn[T], err error) {
	c.busy = false
	c.x.unanswered(err)
	l.answered(c)
}

// answered resumes a client whose forwarded request was answered: the next pipelined request, if any.
func (l *Loop[T]) answered(c *conn[T]) {
	c.x.answerUnanswered()
	if c.closed || c.linger {
		return
	}
	l.request(c) // request() consumed the forwarded one when Serve returned

}

// relay reads an upstream's answer once it is whole and hands it to Relay.
func (l *Loop[T]) relay(u *conn[T]) {
	end := headEnd(u.in)
	if end < 0 {
		if len(u.in) > headerLimit {
			l.close(u, fmt.Errorf("%s answered headers over 16 KiB", u.pool.Addr))
		}
		return
	}
	l.rd.Reset(u.in[:end])
	l.br.Reset(&l.rd)
	if err := l.resHdr.Read(l.br); err != nil {
		l.close(u, fmt.Errorf("%s answered what is not HTTP/1.1: %w", u.pool.Addr, err))
		return
	}
	var body []byte
	var size int
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
			l.close(u, fmt.Errorf("%s answered a malformed chunked body", u.pool.Addr))
			return
		}
	default: // until the upstream closes: never a keep-alive answer
		l.close(u, fmt.Errorf("%s answered without a length", u.pool.Addr))
		return
	}
	c := u.peer
	u.peer, u.busy = nil, false
	if c != nil {
		c.peer = nil
		c.busy = false
		c.x.answered = false
		l.h.Relay(&c.x, &l.resHdr, body)
	}
	keep := !l.resHdr.ConnectionClose()
	u.in = u.in[:copy(u.in, u.in[size:])]
	if keep && len(u.in) == 0 {
		u.last = time.Now()
		u.pool.idle = append(u.pool.idle, u)
	} else {
		l.close(u, nil)
	}
	if c != nil {
		l.answered(c)
	}
}

// dechunk reads a chunked body that starts at in[at:]: the body and the message's whole length, ok false
// while more is to come, a length of -1 when it is not chunked encoding. Trailers are read and dropped.
func (l *Loop[T]) dechunk(in []byte, at int) (body []byte, size int, ok bool) {
	b := l.chunked[:0]
	defer func() { l.chunked = b[:0] }()
	for {
		eol := bytes.Index(in[at:], []byte("\r\n"))
		if eol < 0 {
			return b, 0, false
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
		if n == 0 {
			for { // trailers, then the empty line
				eol := bytes.Index(in[at:], []byte("\r\n"))
				if eol < 0 {
					return b, 0, false
				}
				at += eol + 2
				if eol == 0 {
					return b, at, true
				}
			}
		}
		if len(in) < at+int(n)+2 {
			return append(b, in[at:min(len(in), at+int(n))]...), 0, false
		}
		if in[at+int(n)] != '\r' || in[at+int(n)+1] != '\n' {
			return nil, -1, true
		}
		b = append(b, in[at:at+int(n)]...)
		at += int(n) + 2
	}
}

// Reply answers the exchange: status, Content-Type, Content-Length, Server-Timing (when not empty) and
// WWW-Authenticate (when not empty). Each exchange is answered once.
func (x *Exchange[T]) Reply(status int, contentType string, body []byte, timing string, wwwAuthenticate []byte) {
	if x.answered {
		return
	}
	x.answered = true
	l, c := x.l, x.c
	c.busy = false
	if c.closed {
		return
	}
	b := append(l.answer[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, fasthttp.StatusMessage(status)...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	if timing != "" {
		b = append(b, "\r\nServer-Timing: "...)
		b = append(b, timing...)
	}
	if len(wwwAuthenticate) > 0 {
		b = append(b, "\r\nWww-Authenticate: "...)
		b = append(b, wwwAuthenticate...)
	}
	if c.closeAfter {
		b = append(b, "\r\nConnection: close"...)
	} else {
		b = append(b, keepAlive...)
	}
	b = append(b, "\r\n\r\n"...)
	if !c.head {
		b = append(b, body...)
	}
	l.answer = b
	c.last = time.Now()
	if c.closeAfter {
		c.linger = true
		c.in = nil
	}
	if err := l.write(c, b); err != nil {
		l.close(c, err)
	} else if c.linger && len(c.out) == 0 {
		_ = syscall.Shutdown(c.fd, syscall.SHUT_WR)
	}
}

// Refuse answers with the sidecar's error body and the given Server-Timing.
func (x *Exchange[T]) Refuse(r *catalogue.Refusal, timing string) {
	x.Reply(r.Status, "application/json", ErrorBody(r), timing, nil)
}

// write sends what the socket takes now and keeps the rest for EPOLLOUT; an error leaves c to the caller.
func (l *Loop[T]) write(c *conn[T], b []byte) error {
	if len(c.out) > 0 {
		c.out = append(c.out, b...)
		return nil
	}
	n, err := syscall.Write(c.fd, b)
	if err != nil && err != syscall.EAGAIN {
		return err
	}
	if n < 0 {
		n = 0
	}
	if n < len(b) {
		c.out = append(c.out[:0], b[n:]...)
		l.interest(c)
	}
	return nil
}

func (l *Loop[T]) flush(c *conn[T]) {
	if len(c.out) == 0 {
		l.interest(c)
		return
	}
	n, err := syscall.Write(c.fd, c.out)
	if err != nil && err != syscall.EAGAIN {
		l.close(c, err)
		return
	}
	if n > 0 {
		if c.pool != nil {
			c.connected = true
		}
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	if len(c.out) > 0 {
		return
	}
	switch {
	case c.linger:
		_ = syscall.Shutdown(c.fd, syscall.SHUT_WR)
	case c.pool == nil:
		l.request(c) // what it pipelined while this answer waited to go out
	}
	l.interest(c)
}
