// The event-loop Go ceiling of `npm run bench:hop`: cmd/hop-ceiling's work (the query catalogue's checks,
// forward to the upstream's /query over keep-alive, relay status, WWW-Authenticate and Server-Timing) on
// serve.Loop, the epoll loop that owns every socket as nginx's worker does and that the data plane runs
// on, instead of fasthttp on Go's netpoller with a goroutine per connection. Beside cmd/hop-ceiling it
// answers "how much of a Go hop's CPU per request is the runtime's I/O path?" (docs/ARCHITECTURE.md, "The
// hop's CPU in Go"); beside the data plane, what the sidecar's own work (token, modes, metrics) adds.
// Not authlab's data plane: no token, no metrics, no control API.
//
// UPSTREAM=http://127.0.0.1:<port> [PORT=0] hop-loop prints {"event":"listening","url":...} on its first line
// and stops on SIGTERM or SIGINT.
package main

import (
	"bytes"
	"time"

	"authlab/dataplane/catalogue"
	"authlab/dataplane/serve"
	"github.com/valyala/fasthttp"
)

type hop struct {
	pool    *serve.Pool[time.Time]
	request []byte
}

func (h *hop) Serve(x *serve.Exchange[time.Time]) {
	path := x.Header.RequestURI()
	if !x.Header.IsPost() || !bytes.HasPrefix(path, []byte("/call/")) || !bytes.HasSuffix(path, []byte("/query")) {
		x.Refuse(catalogue.New(404, "ERR_NOT_FOUND", "POST /call/<target>/query is the only route."), serve.ServerTiming(-1, -1, -1, x.T0))
		return
	}
	if string(path) != "/call/null/query" {
		x.Refuse(catalogue.New(404, "ERR_UNKNOWN_TARGET", "Unknown target; known peers: null."), serve.ServerTiming(-1, -1, -1, x.T0))
		return
	}
	if _, bad := catalogue.Check(x.Body); bad != nil {
		x.Refuse(bad, serve.ServerTiming(-1, -1, -1, x.T0))
		return
	}
	h.request = h.pool.AppendQuery(h.request[:0], "", x.Body)
	x.Data = time.Now()
	x.Forward(h.pool, h.request)
}

func (h *hop) Relay(x *serve.Exchange[time.Time], res *fasthttp.ResponseHeader, body []byte) {
	x.Reply(res.StatusCode(), "application/json", body, serve.ServerTiming(-1, -1, time.Since(x.Data), x.T0), res.Peek("Www-Authenticate"))
}

func (h *hop) Unreachable(x *serve.Exchange[time.Time], err error) {
	x.Refuse(catalogue.New(502, "ERR_UPSTREAM_UNREACHABLE", `Target sidecar "null" unreachable: `+err.Error()+"."), serve.ServerTiming(-1, -1, -1, x.T0))
}

func main() {
	serve.DieWithParent()
	host := serve.UpstreamHost("hop-loop")
	h := &hop{}
	loop, url, err := serve.ListenLoop[time.Time]("127.0.0.1", serve.Env("PORT", "0"), h)
	if err != nil {
		serve.Fail("hop-loop", err)
	}
	h.pool = loop.NewPool(host, 256)
	serve.RunLoop("hop-loop", loop, url, nil, "AUTHLAB_DATAPLANE_CPU_PROFILE")
}
