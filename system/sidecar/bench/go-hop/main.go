// The Go ceiling of `npm run bench:hop` (not part of authlab's data path): what the sidecar's outbound
// `/call/<target>/query` (sign off) costs when its work runs in a compiled, garbage-collected runtime
// with shared state — fasthttp in and out (one keep-alive HostClient to the upstream), the body checked
// as the sidecar's query catalogue checks it (the same rules and codes as njs/hop.js and
// system/sidecar/query-catalogue.ts), forwarded to the upstream's /query, the answer relayed with its
// status, WWW-Authenticate and a Server-Timing header. It answers "would a Go data path meet issue 13's
// targets?" with a measurement, beside nginx + njs (which keeps no state between requests in Debian's
// njs 0.7) and the Node ceiling. fasthttp, not Go's own net/http: net/http in and out cost markedly more
// CPU per request here (docs/ARCHITECTURE.md, "The data path").
//
// UPSTREAM=http://127.0.0.1:<port> [PORT=0] go-hop prints {"event":"listening","url":...} on its first
// line and stops on SIGTERM or SIGINT.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf16"

	"github.com/valyala/fasthttp"
)

// The body limit the sidecar's fast path applies (64 KiB).
const bodyLimit = 64 << 10

// Each query's one parameter (query-catalogue.ts: the catalogue's keys).
var queryParam = map[string]string{"light": "id", "heavy": "n", "heavy-cached": "n", "write": "note"}

// Each integer parameter's upper bound (query-catalogue.ts: ITEM_ROWS, HEAVY_N_MAX); note's length bound
// in UTF-16 code units, as JavaScript's `length` counts it.
var paramMax = map[string]float64{"id": 10000, "n": 5000000}

const noteMax = 200

type refusal struct {
	status  int
	code    string
	message string
}

// check returns nil when the body is one the sidecar forwards; else its refusal as the sidecar words it.
func check(text []byte) *refusal {
	var body any
	if err := json.Unmarshal(text, &body); err != nil {
		return &refusal{400, "ERR_BODY_NOT_JSON", "The body is not valid JSON."}
	}
	obj, ok := body.(map[string]any)
	if !ok {
		return &refusal{400, "ERR_BAD_REQUEST", `The body must be a JSON object {"query": ..., "params": {...}}.`}
	}
	for k := range obj {
		if k != "query" && k != "params" {
			return &refusal{400, "ERR_BAD_REQUEST", "Unknown top-level field."}
		}
	}
	name, _ := obj["query"].(string)
	key, known := queryParam[name]
	if !known {
		return &refusal{400, "ERR_UNKNOWN_QUERY", "Unknown query: use one of light, heavy, heavy-cached, write."}
	}
	raw, present := obj["params"]
	if !present {
		return nil
	}
	params, ok := raw.(map[string]any)
	if !ok {
		return &refusal{400, "ERR_BAD_PARAMS", `"params" must be a JSON object.`}
	}
	for p := range params {
		if p != key {
			return &refusal{400, "ERR_BAD_PARAMS", name + ` takes only "` + key + `".`}
		}
	}
	v, present := params[key]
	if !present {
		return nil
	}
	if key == "note" {
		if s, ok := v.(string); ok && len(utf16.Encode([]rune(s))) <= noteMax {
			return nil
		}
	} else if f, ok := v.(float64); ok && f == float64(int64(f)) && f >= 1 && f <= paramMax[key] {
		return nil
	}
	return &refusal{400, "ERR_BAD_PARAMS", `"` + key + `" is out of range or of the wrong type.`}
}

func refuse(ctx *fasthttp.RequestCtx, r *refusal, t0 time.Time) {
	msg, _ := json.Marshal(map[string]any{"error": map[string]string{"code": r.code, "message": r.message}})
	ctx.Response.Header.Set("Server-Timing", timing(-1, t0))
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(r.status)
	ctx.SetBody(msg)
}

// timing is the Server-Timing value: the upstream stage when it ran, and the total, in ms.
func timing(upMs float64, t0 time.Time) string {
	total := strconv.FormatFloat(float64(time.Since(t0).Nanoseconds())/1e6, 'f', 3, 64)
	if upMs < 0 {
		return "total;dur=" + total
	}
	return "upstream;dur=" + strconv.FormatFloat(upMs, 'f', 3, 64) + ", total;dur=" + total
}

func main() {
	upstream := os.Getenv("UPSTREAM")
	if !strings.HasPrefix(upstream, "http://") {
		fmt.Fprintln(os.Stderr, "go-hop: set UPSTREAM to the upstream origin, http://host:port")
		os.Exit(2)
	}
	host := strings.TrimRight(strings.TrimPrefix(upstream, "http://"), "/")
	target := "http://" + host + "/query"
	client := &fasthttp.HostClient{Addr: host, MaxConns: 256, MaxIdleConnDuration: 60 * time.Second}

	handler := func(ctx *fasthttp.RequestCtx) {
		t0 := time.Now()
		path := string(ctx.Path())
		if !ctx.IsPost() || !strings.HasPrefix(path, "/call/") || !strings.HasSuffix(path, "/query") {
			refuse(ctx, &refusal{404, "ERR_NOT_FOUND", "POST /call/<target>/query is the only route."}, t0)
			return
		}
		if path != "/call/null/query" {
			refuse(ctx, &refusal{404, "ERR_UNKNOWN_TARGET", "Unknown target; known peers: null."}, t0)
			return
		}
		text := ctx.PostBody()
		if bad := check(text); bad != nil {
			refuse(ctx, bad, t0)
			return
		}
		tUp := time.Now()
		req := fasthttp.AcquireRequest()
		res := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(res)
		req.SetRequestURI(target)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.SetBody(text)
		if err := client.Do(req, res); err != nil {
			refuse(ctx, &refusal{502, "ERR_UPSTREAM_UNREACHABLE", `Target sidecar "null" unreachable: ` + err.Error() + "."}, t0)
			return
		}
		upMs := float64(time.Since(tUp).Nanoseconds()) / 1e6
		if v := res.Header.Peek("Www-Authenticate"); len(v) > 0 {
			ctx.Response.Header.SetBytesV("Www-Authenticate", v)
		}
		ctx.Response.Header.Set("Server-Timing", timing(upMs, t0))
		ctx.SetContentType("application/json")
		ctx.SetStatusCode(res.StatusCode())
		ctx.SetBody(res.Body())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:"+envOr("PORT", "0"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-hop:", err)
		os.Exit(1)
	}
	server := &fasthttp.Server{
		Handler:               handler,
		MaxRequestBodySize:    bodyLimit,
		IdleTimeout:           65 * time.Second,
		ReadTimeout:           65 * time.Second,
		NoDefaultDate:         true,
		NoDefaultServerHeader: true,
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			if err == fasthttp.ErrBodyTooLarge {
				refuse(ctx, &refusal{413, "ERR_BODY_TOO_LARGE", "The body is too large; a query body is a few hundred bytes."}, time.Now())
				return
			}
			refuse(ctx, &refusal{400, "ERR_BAD_REQUEST", "The request could not be read."}, time.Now())
		},
	}
	line, _ := json.Marshal(map[string]string{"event": "listening", "url": "http://" + ln.Addr().String()})
	fmt.Println(string(line))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.Shutdown()
	}()
	if err := server.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "go-hop:", err)
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
