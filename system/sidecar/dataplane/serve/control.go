package serve

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Answer writes `body` as JSON with `status` (a control API's answer).
func Answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// ControlError answers a control API request with {"error":{"code","message"}}.
func ControlError(w http.ResponseWriter, status int, code, message string) {
	Answer(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

// Control is a control API: `handler` gets only requests that carry `Authorization: Bearer <secret>`
// (compared in constant time); others are refused 401, the message naming `who` holds the secret.
func Control(secret, who string, handler http.HandlerFunc) http.Handler {
	want := []byte("Bearer " + secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			ControlError(w, 401, "ERR_ADMIN_UNAUTHORIZED", "Send Authorization: Bearer <"+who+"'s secret>.")
			return
		}
		handler(w, r)
	})
}

// DecodeBody reads a JSON request body of at most `limit` bytes with no unknown fields into `v`.
func DecodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// RunControlled listens on HOST:PORT (default 127.0.0.1 and a port the OS picks) for `server` and on
// 127.0.0.1 for `control`, writes a pprof CPU profile into the file `$profileEnv` names (if any), prints
// the listening line with the control URL, and serves both until SIGTERM or SIGINT (Run).
func RunControlled(name string, server *fasthttp.Server, control http.Handler, profileEnv string) {
	ln, err := net.Listen("tcp", net.JoinHostPort(Env("HOST", "127.0.0.1"), Env("PORT", "0")))
	if err != nil {
		Fail(name, err)
	}
	ctl, ctlURL := serveControl(name, control)
	stopProfile := CPUProfile(os.Getenv(profileEnv))
	Run(name, server, ln, map[string]string{"control": ctlURL}, func() {
		ctl.Close()
		stopProfile()
	})
}

// serveControl serves `control` on 127.0.0.1 (a port the OS picks) with Go's net/http.
func serveControl(name string, control http.Handler) (*http.Server, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		Fail(name, err)
	}
	ctl := &http.Server{Handler: control, ReadHeaderTimeout: 10 * time.Second}
	go ctl.Serve(ln)
	return ctl, "http://" + ln.Addr().String()
}

// RunLoop serves `loop` (listening at `url`) on the calling goroutine and `control` (when not nil) on
// 127.0.0.1 with Go's net/http, writes a pprof CPU profile into the file `$profileEnv` names (if any),
// prints the listening line with the control URL, and exits 0 on SIGTERM or SIGINT. At least two Ps: the
// loop holds one, blocked in epoll_wait as a system call; with one P and no idle one sysmon would take it
// from the loop on every wait, and the control API and the GC would wait for the loop.
func RunLoop[T any](name string, loop *Loop[T], url string, control http.Handler, profileEnv string) {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	extra := map[string]string{}
	var ctl *http.Server
	if control != nil {
		ctl, extra["control"] = serveControl(name, control)
	}
	stopProfile := CPUProfile(os.Getenv(profileEnv))
	announce(url, extra)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		if ctl != nil {
			ctl.Close()
		}
		stopProfile()
		os.Exit(0)
	}()
	loop.Run()
}

// Histogram is a cumulative latency histogram as the control plane reads it: per bucket the count of
// values whose first bound ≥ the value (not cumulative; values above the last bound only in Count),
// their sum and their count. The caller holds its lock.
type Histogram struct {
	Buckets []uint64 `json:"buckets"`
	Sum     float64  `json:"sum"`
	Count   uint64   `json:"count"`
}

// NewHistogram has one bucket per bound.
func NewHistogram(bounds []float64) *Histogram {
	return &Histogram{Buckets: make([]uint64, len(bounds))}
}

// Observe counts one value against `bounds`.
func (h *Histogram) Observe(bounds []float64, v float64) {
	h.Sum += v
	h.Count++
	for i, b := range bounds {
		if v <= b {
			h.Buckets[i]++
			return
		}
	}
}

// Copy is a snapshot of h.
func (h *Histogram) Copy() Histogram {
	return Histogram{Buckets: append([]uint64(nil), h.Buckets...), Sum: h.Sum, Count: h.Count}
}

// Discard is a fasthttp logger that drops what it is given (every error is answered to the client).
type Discard struct{}

func (Discard) Printf(string, ...any) {}
