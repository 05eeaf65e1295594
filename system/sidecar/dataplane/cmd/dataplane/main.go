// The sidecar's Go data plane for outbound calls (docs/ARCHITECTURE.md, "The Go data plane"): it serves
// `POST /call/<target>/query` as system/sidecar/routes/call.ts does — the body checked by the query
// catalogue, the held access token attached when sign mode is on, the egress grant checked against the
// token's `aud` under the verify mode, the body forwarded over keep-alive to the target's sidecar, its
// answer relayed with WWW-Authenticate and Server-Timing (this hop's stages, then the target's as
// `peer-<stage>`) — with the same statuses, error codes and metrics. The Node sidecar stays the control
// plane: it fetches and refreshes the token, follows the IdP's settings stream, and pushes both here;
// it reads this process's metrics into its own /metrics. `GET /healthz` answers as the sidecar's does
// (liveness only: what the data plane holds is the sidecar's /readyz). Requests run on serve.Loop, one
// epoll loop owning every socket ("The data plane on one epoll loop"); the control API on Go's net/http.
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

// peer is a target's sidecar: its keep-alive connections (at most 256 open, idle ones closed after 60 s).
type peer struct {
	pool *serve.Pool[call]
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
// block of 8 (system/sidecar/server-timing.ts, CpuStage, with its fixed block). The loop's thread alone uses it.
type cpuSampler struct {
	n, pick int
}

const cpuBlock = 8

func (c *cpuSampler) next() bool {
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
	names, peerURLs, err := orderedObject(serve.Env("PEERS", "{}"))
	if err != nil {
		fmt.Fprintln(os.Stderr, `dataplane: PEERS must be a JSON object {"<service>": "http://host:port"}:`, err)
		os.Exit(2)
	}
	var bounds []float64
	if err := json.Unmarshal([]byte(serve.Env("BUCKETS", "[]")), &bounds); err != nil {
		fmt.Fprintln(os.Stderr, "dataplane: BUCKETS must be a JSON array of upper bounds in seconds:", err)
		os.Exit(2)
	}
	peerHosts := map[string]string{}
	for _, name := range names {
		u := peerURLs[name]
		host, ok := strings.CutPrefix(strings.TrimRight(u, "/"), "http://")
		if !ok || host == "" || strings.Contains(host, "/") {
			fmt.Fprintf(os.Stderr, "dataplane: peer %q must be an http://host:port base URL (got %q)\n", name, u)
			os.Exit(2)
		}
		peerHosts[name] = host
	}
	// In the sidecar's order (its config's), as its refusal names them.
	known := strings.Join(names, ", ")
	if known == "" {
		known = "none configured"
	}
	current.Store(&state{signMode: "on", verifyMode: "enforce", aud: map[string]bool{}})
	healthzBody, _ := json.Marshal(struct {
		Status  string `json:"status"`
		Service string `json:"service"`
	}{"ok", service})
	pl := &plane{
		service: service,
		peers:   map[string]*peer{},
		known:   known,
		m:       &metrics{bounds: bounds, signed: map[string]uint64{}, requests: map[requestKey]*serve.Histogram{}},
		healthz: healthzBody,
	}
	loop, url, err := serve.ListenLoop[call](serve.Env("HOST", "127.0.0.1"), serve.Env("PORT", "0"), pl)
	if err != nil {
		serve.Fail("dataplane", err)
	}
	for name, host := range peerHosts {
		pl.peers[name] = &peer{pool: loop.NewPool(host, 256)}
	}
	serve.RunLoop("dataplane", loop, url, controlAPI(secret, pl.m), "AUTHLAB_DATAPLANE_CPU_PROFILE")
}

// orderedObject reads a JSON object of strings with its keys in document order.
func orderedObject(text string) ([]string, map[string]string, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("not an object")
	}
	keys, values := []string{}, map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key := t.(string)
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("%q: %w", key, err)
		}
		if _, seen := values[key]; !seen {
			keys = append(keys, key)
		}
		values[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	return keys, values, nil
}

// call is what a forwarded request carries from Serve to Relay.
type call struct {
	target, query string
	s             *state
	sign, signCPU time.Duration
	tUp           time.Time
}

// plane serves `POST /call/<target>/query` and `GET /healthz` on the event loop.
type plane struct {
	service string
	peers   map[string]*peer
	known   string
	m       *metrics
	cpu     cpuSampler
	healthz []byte
	request []byte // the upstream request being built
}

func (pl *plane) Serve(x *serve.Exchange[call]) {
	t0 := x.T0
	h := x.Header
	// The raw path, routed as fastify routes it (not decoded or normalised).
	uri := string(h.RequestURI())
	path, _, _ := strings.Cut(uri, "?")
	if path == "/healthz" && (h.IsGet() || h.IsHead()) { // fastify answers HEAD on a GET route
		// Liveness, as the sidecar's own /healthz: the process answers (what it holds is /readyz's, on the sidecar).
		x.Reply(200, "application/json; charset=utf-8", pl.healthz, "", nil)
		return
	}
	seg, ok := strings.CutPrefix(path, "/call/")
	seg, ok2 := strings.CutSuffix(seg, "/query")
	if !ok || !ok2 || seg == "" || strings.Contains(seg, "/") || !h.IsPost() {
		x.Refuse(catalogue.New(404, "ERR_NOT_FOUND", "No route "+string(h.Method())+" "+catalogue.Excerpt(uri)+"; the data plane serves POST /call/<target>/query."), serve.ServerTiming(-1, -1, -1, t0))
		return
	}
	target, err := url.PathUnescape(seg)
	if err != nil || !utf8.ValidString(target) {
		x.Refuse(catalogue.New(400, "ERR_BAD_REQUEST", "The path "+catalogue.Excerpt(uri)+" is not a valid URL (check its percent-escapes)."), serve.ServerTiming(-1, -1, -1, t0))
		return
	}
	if len(utf16.Encode([]rune(target))) > 100 {
		x.Refuse(catalogue.New(414, "ERR_URL_TOO_LONG", "The path "+catalogue.Excerpt(uri)+" has a segment over 100 characters; a target is a service name."), serve.ServerTiming(-1, -1, -1, t0))
		return
	}
	p := pl.peers[target]
	if p == nil {
		x.Refuse(catalogue.New(404, "ERR_UNKNOWN_TARGET", "Unknown target "+catalogue.Excerpt(target)+"; known peers: "+pl.known+"."), serve.ServerTiming(-1, -1, -1, t0))
		return
	}
	mt, _, _ := strings.Cut(string(h.ContentType()), ";")
	switch mt = strings.ToLower(strings.TrimSpace(mt)); mt {
	case "application/json":
	case "text/plain":
		// fastify reads text/plain as a string, which the catalogue refuses as not an object.
		x.Refuse(catalogue.New(400, "ERR_BAD_REQUEST", `The body must be a JSON object {"query": "light|heavy|heavy-cached|write", "params": {...}}.`), serve.ServerTiming(-1, -1, -1, t0))
		return
	default:
		x.Refuse(catalogue.New(415, "ERR_UNSUPPORTED_MEDIA_TYPE", `Send the body as "Content-Type: application/json".`), serve.ServerTiming(-1, -1, -1, t0))
		return
	}
	body := x.Body
	query, bad := catalogue.Check(body)
	if bad != nil {
		x.Refuse(bad, serve.ServerTiming(-1, -1, -1, t0))
		return
	}
	s := current.Load()
	sign, signCPU := time.Duration(-1), time.Duration(-1)
	authorization := ""
	if s.signMode == "on" {
		// The sign stage is the auth work alone (token, egress check), as in call.ts.
		tSign := time.Now()
		sampled := pl.cpu.next()
		var c0 int64
		if sampled {
			c0 = threadCPU() // the loop runs locked to its thread
		}
		if s.authorization == "" || time.Now().UnixMilli() >= s.expiresAtMs {
			pl.m.sign("no_token")
			x.Refuse(catalogue.New(503, "ERR_NO_TOKEN", "The sidecar has not reached the IdP yet; retry once /readyz is 200."), serve.ServerTiming(time.Since(tSign), -1, -1, t0))
			return
		}
		authorization = s.authorization
		result := "ok"
		if s.verifyMode != "off" && !s.aud[target] {
			if s.verifyMode == "enforce" {
				pl.m.sign("no_grant")
				x.Refuse(catalogue.New(403, "ERR_FORBIDDEN", fmt.Sprintf("%s holds no grant on %s: its access token names %s; grant one with PUT /admin/grants on the IdP.", pl.service, target, s.audNames)), serve.ServerTiming(time.Since(tSign), -1, -1, t0))
				return
			}
			result = "observe_no_grant"
		}
		sign = time.Since(tSign)
		if sampled {
			signCPU = time.Duration(threadCPU() - c0)
		}
		pl.m.sign(result)
	} else {
		pl.m.sign("skipped")
	}

	x.Data = call{target: target, query: query, s: s, sign: sign, signCPU: signCPU, tUp: time.Now()}
	pl.request = p.pool.AppendQuery(pl.request[:0], authorization, body)
	x.Forward(p.pool, pl.request)
}

func (pl *plane) Relay(x *serve.Exchange[call], res *fasthttp.ResponseHeader, body []byte) {
	d := &x.Data
	up := time.Since(d.tUp)
	pl.m.request(requestKey{d.query, d.s.verifyMode, d.s.signMode}, time.Since(x.T0).Seconds())
	timing := serve.ServerTiming(d.sign, d.signCPU, up, x.T0)
	// The target's own stages, renamed `peer-<stage>`, so one response splits the whole chain.
	if pt := res.Peek("Server-Timing"); len(pt) > 0 {
		timing += ", peer-" + strings.ReplaceAll(string(pt), ", ", ", peer-")
	}
	x.Reply(res.StatusCode(), "application/json", body, timing, res.Peek("Www-Authenticate"))
	x.Data = call{}
}

func (pl *plane) Unreachable(x *serve.Exchange[call], err error) {
	d := &x.Data
	x.Refuse(catalogue.New(502, "ERR_UPSTREAM_UNREACHABLE", fmt.Sprintf("Target sidecar %q unreachable: %s.", d.target, err)), serve.ServerTiming(d.sign, -1, time.Since(d.tUp), x.T0))
	x.Data = call{}
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
