// Package serve holds what the data plane and bench:hop's Go ceiling share: the sidecar's error body,
// a fasthttp server with the sidecar's limits, and the listening line and signal handling of a child
// process the Node side starts (runner/platforms/local/child.ts, spawnListeningCommand).
package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"authlab/dataplane/catalogue"
	"github.com/valyala/fasthttp"
)

// ErrorBody is the sidecar's error body, {"error":{"code","message"}}.
func ErrorBody(r *catalogue.Refusal) []byte {
	msg, _ := json.Marshal(map[string]any{"error": map[string]string{"code": r.Code, "message": r.Message}})
	return msg
}

// Refuse answers with the sidecar's error body and the given Server-Timing.
func Refuse(ctx *fasthttp.RequestCtx, r *catalogue.Refusal, timing string) {
	ctx.Response.Header.Set("Server-Timing", timing)
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(r.Status)
	ctx.SetBody(ErrorBody(r))
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d.Nanoseconds())/1e6, 'f', 3, 64) }

// ServerTiming is system/sidecar/server-timing.ts's value for an outbound hop, in ms with µs precision:
// the sign stage, its CPU, the upstream stage and the total since t0; a stage that did not run (< 0) is
// left out.
func ServerTiming(sign, signCPU, upstream time.Duration, t0 time.Time) string {
	var b strings.Builder
	if sign >= 0 {
		b.WriteString("sign;dur=" + ms(sign) + ", ")
	}
	if signCPU >= 0 {
		b.WriteString("sign-cpu;dur=" + ms(signCPU) + ", ")
	}
	if upstream >= 0 {
		b.WriteString("upstream;dur=" + ms(upstream) + ", ")
	}
	b.WriteString("total;dur=" + ms(time.Since(t0)))
	return b.String()
}

// Server is a fasthttp server for `handler` with the sidecar's body limit and keep-alive (65 s); a
// request it cannot read is refused as the sidecar refuses it (413 over the limit, else 400).
func Server(handler fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            handler,
		MaxRequestBodySize: catalogue.BodyLimit,
		// Node's limit on a request's headers (16 KiB): a request the Node sidecar reads is read here too.
		ReadBufferSize:        16 << 10,
		IdleTimeout:           65 * time.Second,
		ReadTimeout:           65 * time.Second,
		NoDefaultDate:         true,
		NoDefaultServerHeader: true,
		// Every error it would log (an oversized body, a malformed request) is answered to the client.
		Logger: Discard{},
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			var small *fasthttp.ErrSmallBuffer
			if errors.As(err, &small) || errors.Is(err, fasthttp.ErrSmallReadBuffer) {
				Refuse(ctx, catalogue.New(431, "ERR_HEADER_TOO_LARGE", "Request headers are too large (limit 16 KiB); an access token is well under 2 KiB."), "total;dur=0.000")
				return
			}
			if err == fasthttp.ErrBodyTooLarge {
				Refuse(ctx, catalogue.New(413, "ERR_BODY_TOO_LARGE", "The body is too large; a query body is a few hundred bytes."), "total;dur=0.000")
				return
			}
			Refuse(ctx, catalogue.New(400, "ERR_BAD_REQUEST", "The request could not be read as HTTP/1.1."), "total;dur=0.000")
		},
	}
}

// DieWithParent asks the kernel to send SIGTERM when the parent process (the sidecar, or the bench)
// ends, however it ends, SIGKILL included, so a data plane never outlives its sidecar (the Node
// children do the same through setpriv --pdeathsig, runner/platforms/local/lifeline.ts).
// The parent may have ended before the call, and this process been handed to init or a subreaper: with
// AUTHLAB_PARENT_PID set (system/runtime/processes.ts sets it) a parent other than that one ends it.
// Not "a parent of pid 1": in a container the sidecar itself is pid 1.
func DieWithParent() {
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if want := os.Getenv("AUTHLAB_PARENT_PID"); want != "" && strconv.Itoa(os.Getppid()) != want {
		fmt.Fprintln(os.Stderr, "parent", want, "ended before this process started; exiting")
		os.Exit(1)
	}
}

// Run prints {"event":"listening","url":...} plus `extra` on stdout's first line, serves `ln` until
// SIGTERM or SIGINT, then runs `onStop` (may be nil) and shuts the server down. `name` prefixes errors.
func Run(name string, server *fasthttp.Server, ln net.Listener, extra map[string]string, onStop func()) {
	announce("http://"+ln.Addr().String(), extra)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		if onStop != nil {
			onStop()
		}
		server.Shutdown()
	}()
	if err := server.Serve(ln); err != nil {
		Fail(name, err)
	}
}

// announce prints {"event":"listening","url":...} plus `extra` as stdout's first line.
func announce(url string, extra map[string]string) {
	fields := map[string]string{"event": "listening", "url": url}
	for k, v := range extra {
		fields[k] = v
	}
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}

// CPUProfile starts a pprof CPU profile into `path` (nothing when empty) and returns what stops it.
func CPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		Fail("cpu profile", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		Fail("cpu profile", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// Fail prints `name: err` on stderr and exits 1.
func Fail(name string, err error) {
	fmt.Fprintln(os.Stderr, name+":", err)
	os.Exit(1)
}

// UpstreamHost is the host:port of the origin in $UPSTREAM (http://host:port), the upstream of bench:hop's
// Go ceilings; without one it says so and exits 2.
func UpstreamHost(name string) string {
	upstream := os.Getenv("UPSTREAM")
	if !strings.HasPrefix(upstream, "http://") {
		fmt.Fprintln(os.Stderr, name+": set UPSTREAM to the upstream origin, http://host:port")
		os.Exit(2)
	}
	return strings.TrimRight(strings.TrimPrefix(upstream, "http://"), "/")
}

// Env is the variable's value, or `fallback` when it is unset or empty.
func Env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
