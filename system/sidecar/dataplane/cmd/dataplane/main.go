// The sidecar's Go data plane for outbound calls (docs/ARCHITECTURE.md, "The Go data plane"): it serves
// `POST /call/<target>/query` as system/sidecar/routes/call.ts does — the body checked by the query
// catalogue, the held access token attached when sign mode is on, the egress grant checked against the
// token's `aud` under the verify mode, the body forwarded over keep-alive to the target's sidecar, its
// answer relayed with WWW-Authenticate and Server-Timing (this hop's stages, then the target's as
// `peer-<stage>`) — with the same statuses, error codes and metrics. The Node sidecar stays the control
// plane: it fetches and refreshes the token, follows the IdP's settings stream, and pushes both here;
// it reads this process's metrics into its own /metrics. `GET /healthz` answers as the sidecar's does
// (liveness only: what the data plane holds is the sidecar's /readyz).
//
// Environment: AUTHLAB_DATAPLANE_SECRET (the control API's bearer secret, required), SERVICE (this
// service's name), PEERS (JSON: service name → that sidecar's base URL), BUCKETS (JSON: the request
// histogram's upper bounds, seconds), HOST (default 127.0.0.1), PORT (default 0: the OS picks),
// AUTHLAB_DATAPLANE_CPU_PROFILE (a file: a pprof CPU profile of its life, written as it stops).
// Prints {"event":"listening","url":...,"control":...} on its first line; stops on SIGTERM or SIGINT.
//
// Control API (127.0.0.1 only, `Authorization: Bearer <secret>`):
//
//	PUT /state    {"signMode":"on"|"off","verifyMode":"off"|"observe"|"enforce","token":string|null,"expiresAt":ms|null}
//	GET /metrics  {"signed":{result:n},"requests":[{"query","verifyMode","signMode","buckets":[...],"sum","count"}]}
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"authlab/dataplane/catalogue"
	"authlab/dataplane/serve"
	"github.com/valyala/fasthttp"
)

// state is what the control plane last pushed; swapped whole, never mutated.
type state struct {
	signMode   string
	verifyMode string
	// "Bearer <token>", or "" while no token is held.
	authorization string
	expiresAtMs   int64
	aud           map[string]bool
	// The token's audiences as the refusal names them.
	audNames string
}

// Before the first push: the sidecar's safe defaults (sign on, verify enforce) and no token.
var current atomic.Pointer[state]

type peer struct {
	client *fasthttp.HostClient
	uri    string
}

type requestKey struct{ query, verifyMode, signMode string }

// metrics counts what call.ts counts (sidecar_auth_signed_total, sidecar_request_duration_seconds for
// direction outbound); the control plane reads them cumulatively and adds the differences to its own.
type metrics struct {
	mu       sync.Mutex
	bounds   []float64
	signed   map[string]uint64
	requests map[requestKey]*serve.Histogram
}

func (m *metrics) sign(result string) {
	m.mu.Lock()
	m.signed[result]++
	m.mu.Unlock()
}

func (m *metrics) request(k requestKey, seconds float64) {
	m.mu.Lock()
	h := m.requests[k]
	if h == nil {
		h = serve.NewHistogram(m.bounds)
		m.requests[k] = h
	}
	h.Observe(m.bounds, seconds)
	m.mu.Unlock()
}

type requestSnapshot struct {
	Query      string `json:"query"`
	VerifyMode string `json:"verifyMode"`
	SignMode   string `json:"signMode"`
	serve.Histogram
}

func (m *metrics) snapshot() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	signed := make(map[string]uint64, len(m.signed))
	for k, v := range m.signed {
		signed[k] = v
	}
	requests := make([]requestSnapshot, 0, len(m.requests))
	for k, h := range m.requests {
		requests = append(requests, requestSnapshot{k.query, k.verifyMode, k.signMode, h.Copy()})
	}
	sort.Slice(requests, func(i, j int) bool {
		a, b := requests[i], requests[j]
		return a.Query+a.VerifyMode+a.SignMode < b.Query+b.VerifyMode+b.SignMode
	})
	return map[string]any{"signed": signed, "requests": requests}
}

// cpuSampler says which requests have their sign stage's CPU measured: one at a random place in each
// block of 8 (system/sidecar/server-timing.ts, CpuStage, with its fixed block).
type cpuSampler struct {
	mu      sync.Mutex // handlers run as goroutines: one count, whatever GOMAXPROCS is
	n, pick int
}

const cpuBlock = 8

func (c *cpuSampler) next() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.pick = rand.IntN(cpuBlock)
	}
	hit := c.n == c.pick
	c.n = (c.n + 1) % cpuBlock
	return hit
}

// threadCPU is this OS thread's CPU time, ns (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// audiences reads the token's `aud` claim (a string or an array of strings) without verifying it: the
// token is this sidecar's own, fetched from the IdP by the control plane.
func audiences(token string) map[string]bool {
	out := map[string]bool{}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return out
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return out
	}
	var claims struct {
		Aud any `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return out
	}
	switch a := claims.Aud.(type) {
	case string:
		out[a] = true
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok {
				out[s] = true
			}
		}
	}
	return out
}

func main() {
	serve.DieWithParent()
	secret := os.Getenv("AUTHLAB_DATAPLANE_SECRET")
	if secret == "" {
		fmt.Fprintln(os.Stderr, "dataplane: set AUTHLAB_DATAPLANE_SECRET (the control API's bearer secret)")
		os.Exit(2)
	}
	service := os.Getenv("SERVICE")
	var peerURLs map[string]string
	if err := json.Unmarshal([]byte(serve.Env("PEERS", "{}")), &peerURLs); err != nil {
		fmt.Fprintln(os.Stderr, `dataplane: PEERS must be a JSON object {"<service>": "http://host:port"}:`, err)
		os.Exit(2)
	}
	var bounds []float64
	if err := json.Unmarshal([]byte(serve.Env("BUCKETS", "[]")), &bounds); err != nil {
		fmt.Fprintln(os.Stderr, "dataplane: BUCKETS must be a JSON array of upper bounds in seconds:", err)
		os.Exit(2)
	}
	peers := map[string]*peer{}
	names := make([]string, 0, len(peerURLs))
	for name, u := range peerURLs {
		host, ok := strings.CutPrefix(strings.TrimRight(u, "/"), "http://")
		if !ok || host == "" || strings.Contains(host, "/") {
			fmt.Fprintf(os.Stderr, "dataplane: peer %q must be an http://host:port base URL (got %q)\n", name, u)
			os.Exit(2)
		}
		peers[name] = &peer{
			client: &fasthttp.HostClient{Addr: host, MaxConns: 256, MaxIdleConnDuration: 60 * time.Second},
			uri:    "http://" + host + "/query",
		}
		names = append(names, name)
	}
	sort.Strings(names)
	known := strings.Join(names, ", ")
	if known == "" {
		known = "none configured"
	}
	current.Store(&state{signMode: "on", verifyMode: "enforce", aud: map[string]bool{}})
	m := &metrics{bounds: bounds, signed: map[string]uint64{}, requests: map[requestKey]*serve.Histogram{}}
	var cpu cpuSampler
	healthzBody, _ := json.Marshal(struct {
		Status  string `json:"status"`
		Service string `json:"service"`
	}{"ok", service})
	healthz := string(healthzBody)

	handler := func(ctx *fasthttp.RequestCtx) {
		t0 := time.Now()
		// The raw path, routed as fastify routes it (fasthttp's ctx.Path() is decoded and normalised).
		uri := string(ctx.RequestURI())
		path, _, _ := strings.Cut(uri, "?")
		if path == "/healthz" && ctx.IsGet() {
			// Liveness, as the sidecar's own /healthz: the process answers (what it holds is /readyz's, on the sidecar).
			ctx.SetContentType("application/json; charset=utf-8")
			ctx.SetBodyString(healthz)
			return
		}
		seg, ok := strings.CutPrefix(path, "/call/")
		seg, ok2 := strings.CutSuffix(seg, "/query")
		if !ok || !ok2 || seg == "" || strings.Contains(seg, "/") || !ctx.IsPost() {
			serve.Refuse(ctx, catalogue.New(404, "ERR_NOT_FOUND", "No route "+string(ctx.Method())+" "+catalogue.Excerpt(uri)+"; the data plane serves POST /call/<target>/query."), serve.ServerTiming(-1, -1, -1, t0))
			return
		}
		target, err := url.PathUnescape(seg)
		if err != nil || !utf8.ValidString(target) {
			serve.Refuse(ctx, catalogue.New(400, "ERR_BAD_REQUEST", "The path "+catalogue.Excerpt(uri)+" is not a valid URL (check its percent-escapes)."), serve.ServerTiming(-1, -1, -1, t0))
			return
		}
		if len(utf16.Encode([]rune(target))) > 100 {
			serve.Refuse(ctx, catalogue.New(414, "ERR_URL_TOO_LONG", "The path "+catalogue.Excerpt(uri)+" has a segment over 100 characters; a target is a service name."), serve.ServerTiming(-1, -1, -1, t0))
			return
		}
		p := peers[target]
		if p == nil {
			serve.Refuse(ctx, catalogue.New(404, "ERR_UNKNOWN_TARGET", "Unknown target "+catalogue.Excerpt(target)+"; known peers: "+known+"."), serve.ServerTiming(-1, -1, -1, t0))
			return
		}
		mt, _, _ := strings.Cut(string(ctx.Request.Header.ContentType()), ";")
		switch mt = strings.ToLower(strings.TrimSpace(mt)); mt {
		case "application/json":
		case "text/plain":
			// fastify reads text/plain as a string, which the catalogue refuses as not an object.
			serve.Refuse(ctx, catalogue.New(400, "ERR_BAD_REQUEST", `The body must be a JSON object {"query": "light|heavy|heavy-cached|write", "params": {...}}.`), serve.ServerTiming(-1, -1, -1, t0))
			return
		default:
			serve.Refuse(ctx, catalogue.New(415, "ERR_UNSUPPORTED_MEDIA_TYPE", `Send the body as "Content-Type: application/json".`), serve.ServerTiming(-1, -1, -1, t0))
			return
		}
		body := ctx.PostBody()
		query, bad := catalogue.Check(body)
		if bad != nil {
			serve.Refuse(ctx, bad, serve.ServerTiming(-1, -1, -1, t0))
			return
		}
		s := current.Load()
		sign, signCPU := time.Duration(-1), time.Duration(-1)
		authorization := ""
		if s.signMode == "on" {
			// The sign stage is the auth work alone (token, egress check), as in call.ts.
			tSign := time.Now()
			sampled := cpu.next()
			var c0 int64
			if sampled {
				runtime.LockOSThread()
				c0 = threadCPU()
			}
			if s.authorization == "" || time.Now().UnixMilli() >= s.expiresAtMs {
				if sampled {
					runtime.UnlockOSThread()
				}
				m.sign("no_token")
				serve.Refuse(ctx, catalogue.New(503, "ERR_NO_TOKEN", "The sidecar has not reached the IdP yet; retry once /readyz is 200."), serve.ServerTiming(time.Since(tSign), -1, -1, t0))
				return
			}
			authorization = s.authorization
			result := "ok"
			if s.verifyMode != "off" && !s.aud[target] {
				if s.verifyMode == "enforce" {
					if sampled {
						runtime.UnlockOSThread()
					}
					m.sign("no_grant")
					serve.Refuse(ctx, catalogue.New(403, "ERR_FORBIDDEN", fmt.Sprintf("%s holds no grant on %s: its access token names %s; grant one with PUT /admin/grants on the IdP.", service, target, s.audNames)), serve.ServerTiming(time.Since(tSign), -1, -1, t0))
					return
				}
				result = "observe_no_grant"
			}
			sign = time.Since(tSign)
			if sampled {
				signCPU = time.Duration(threadCPU() - c0)
				runtime.UnlockOSThread()
			}
			m.sign(result)
		} else {
			m.sign("skipped")
		}

		tUp := time.Now()
		req := fasthttp.AcquireRequest()
		res := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(res)
		req.SetRequestURI(p.uri)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		req.SetBody(body)
		if err := p.client.Do(req, res); err != nil {
			serve.Refuse(ctx, catalogue.New(502, "ERR_UPSTREAM_UNREACHABLE", fmt.Sprintf("Target sidecar %q unreachable: %s.", target, err)), serve.ServerTiming(sign, -1, time.Since(tUp), t0))
			return
		}
		up := time.Since(tUp)
		m.request(requestKey{query, s.verifyMode, s.signMode}, time.Since(t0).Seconds())
		if v := res.Header.Peek("Www-Authenticate"); len(v) > 0 {
			ctx.Response.Header.SetBytesV("Www-Authenticate", v)
		}
		timing := serve.ServerTiming(sign, signCPU, up, t0)
		// The target's own stages, renamed `peer-<stage>`, so one response splits the whole chain.
		if pt := res.Header.Peek("Server-Timing"); len(pt) > 0 {
			timing += ", peer-" + strings.ReplaceAll(string(pt), ", ", ", peer-")
		}
		ctx.Response.Header.Set("Server-Timing", timing)
		ctx.SetContentType("application/json")
		ctx.SetStatusCode(res.StatusCode())
		ctx.SetBody(res.Body())
	}

	serve.RunControlled("dataplane", serve.Server(handler), controlAPI(secret, m), "AUTHLAB_DATAPLANE_CPU_PROFILE")
}

type statePush struct {
	SignMode   string  `json:"signMode"`
	VerifyMode string  `json:"verifyMode"`
	Token      *string `json:"token"`
	ExpiresAt  *int64  `json:"expiresAt"`
}

func controlAPI(secret string, m *metrics) http.Handler {
	return serve.Control(secret, "the data plane", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/state":
			var p statePush
			if err := serve.DecodeBody(w, r, 64<<10, &p); err != nil {
				serve.ControlError(w, 400, "ERR_BAD_REQUEST", "The body must be {signMode, verifyMode, token, expiresAt}: "+err.Error())
				return
			}
			if (p.SignMode != "on" && p.SignMode != "off") || (p.VerifyMode != "off" && p.VerifyMode != "observe" && p.VerifyMode != "enforce") {
				serve.ControlError(w, 400, "ERR_BAD_REQUEST", `signMode must be "on" or "off", verifyMode "off", "observe" or "enforce".`)
				return
			}
			if (p.Token == nil) != (p.ExpiresAt == nil) || (p.Token != nil && *p.Token == "") {
				serve.ControlError(w, 400, "ERR_BAD_REQUEST", "token and expiresAt come together: a non-empty token and its expiry in ms since the epoch, or both null.")
				return
			}
			next := &state{signMode: p.SignMode, verifyMode: p.VerifyMode, aud: map[string]bool{}, audNames: "no target"}
			if p.Token != nil {
				next.authorization = "Bearer " + *p.Token
				next.expiresAtMs = *p.ExpiresAt
				next.aud = audiences(*p.Token)
				list := make([]string, 0, len(next.aud))
				for a := range next.aud {
					list = append(list, a)
				}
				sort.Strings(list)
				if len(list) > 0 {
					next.audNames = strings.Join(list, ", ")
				}
			}
			current.Store(next)
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodGet && r.URL.Path == "/metrics":
			serve.Answer(w, 200, m.snapshot())
		default:
			serve.ControlError(w, 404, "ERR_NOT_FOUND", "The control API has PUT /state and GET /metrics.")
		}
	})
}
