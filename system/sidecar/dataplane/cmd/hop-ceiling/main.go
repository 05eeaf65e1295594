// The Go ceiling of `npm run bench:hop` (not authlab's data plane, cmd/dataplane): what the sidecar's outbound
// `/call/<target>/query` (sign off) costs when its work runs in a compiled, garbage-collected runtime
// with shared state — fasthttp in and out (one keep-alive HostClient to the upstream), the body checked
// as the sidecar's query catalogue checks it (package catalogue, the rules and codes of
// system/sidecar/query-catalogue.ts), forwarded to the upstream's /query, the answer relayed with its
// status, WWW-Authenticate and a Server-Timing header. It answers "would a Go data path meet issue 13's
// targets?" with a measurement, beside nginx + njs (which keeps no state between requests in Debian's
// njs 0.7) and the Node ceiling. fasthttp, not Go's own net/http: net/http in and out cost markedly more
// CPU per request here (docs/ARCHITECTURE.md, "The data path").
//
// UPSTREAM=http://127.0.0.1:<port> [PORT=0] hop-ceiling prints {"event":"listening","url":...} on its first
// line and stops on SIGTERM or SIGINT.
package main

import (
	"net"
	"strings"
	"time"

	"authlab/dataplane/catalogue"
	"authlab/dataplane/serve"
	"github.com/valyala/fasthttp"
)

func refuse(ctx *fasthttp.RequestCtx, r *catalogue.Refusal, t0 time.Time) {
	serve.Refuse(ctx, r, serve.ServerTiming(-1, -1, -1, t0))
}

func main() {
	serve.DieWithParent()
	host := serve.UpstreamHost("hop-ceiling")
	target := "http://" + host + "/query"
	client := &fasthttp.HostClient{Addr: host, MaxConns: 256, MaxIdleConnDuration: 60 * time.Second}

	handler := func(ctx *fasthttp.RequestCtx) {
		t0 := time.Now()
		path := string(ctx.Path())
		if !ctx.IsPost() || !strings.HasPrefix(path, "/call/") || !strings.HasSuffix(path, "/query") {
			refuse(ctx, catalogue.New(404, "ERR_NOT_FOUND", "POST /call/<target>/query is the only route."), t0)
			return
		}
		if path != "/call/null/query" {
			refuse(ctx, catalogue.New(404, "ERR_UNKNOWN_TARGET", "Unknown target; known peers: null."), t0)
			return
		}
		text := ctx.PostBody()
		if _, bad := catalogue.Check(text); bad != nil {
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
			refuse(ctx, catalogue.New(502, "ERR_UPSTREAM_UNREACHABLE", `Target sidecar "null" unreachable: `+err.Error()+"."), t0)
			return
		}
		up := time.Since(tUp)
		if v := res.Header.Peek("Www-Authenticate"); len(v) > 0 {
			ctx.Response.Header.SetBytesV("Www-Authenticate", v)
		}
		ctx.Response.Header.Set("Server-Timing", serve.ServerTiming(-1, -1, up, t0))
		ctx.SetContentType("application/json")
		ctx.SetStatusCode(res.StatusCode())
		ctx.SetBody(res.Body())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:"+serve.Env("PORT", "0"))
	if err != nil {
		serve.Fail("hop-ceiling", err)
	}
	serve.Run("hop-ceiling", serve.Server(handler), ln, nil, nil)
}
