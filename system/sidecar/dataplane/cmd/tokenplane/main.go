// The IdP's Go token plane (docs/ARCHITECTURE.md, "The IdP's Go token plane"): it answers the token
// exchange `POST /oauth2/token` that system/idp/routes/token-exchange.ts answers — a Kubernetes
// service-account JWT in, an ES256 access token with the caller's roles per target out — for every
// request it can prove the Node IdP would grant, and forwards every other request, unchanged, to the Node
// IdP, whose answer it relays byte for byte. So a refusal is always the Node IdP's own (status, error,
// message, headers, metrics), and what this process adds is only the common case done without Node's
// HTTP stack. The Node IdP stays the control plane: it owns the permissions store, the signing keys and
// the trusted issuers' keys, and pushes them here on every change; it reads back what this process
// issued (its `token_*` metrics and the token ledger of `GET /admin/status`).
//
// What it takes on itself, and checks exactly as the Node IdP does (anything else is forwarded):
//   - `POST /oauth2/token` without a query, `Content-Type: application/x-www-form-urlencoded` (exactly,
//     any case), a Content-Length, a form that decodes strictly;
//   - grant_type, subject_token, subject_token_type once each with the RFC 8693 values,
//     requested_token_type absent or one of the two allowed, every audience non-empty and granted;
//   - a subject token it verified before (cached until its exp), or one it verifies now against a
//     trusted issuer's pushed JWKS: a header of only alg (RS256/ES256), kid and typ, a kid it holds whose
//     key type matches, a valid signature, iss, sub, aud, exp and iat present, the audience in aud,
//     exp and nbf valid with the skew and a second to spare (the clocks of two processes), and a sub of
//     system:serviceaccount:<namespace>:<name> that matches its kubernetes.io namespace.
//
// Environment: AUTHLAB_TOKENPLANE_SECRET (the control API's bearer secret, required), NODE_URL (the
// Node IdP's base URL, required), BUCKETS (JSON: the duration histogram's upper bounds, seconds), HOST
// (default 127.0.0.1), PORT (default 0), AUTHLAB_TOKENPLANE_CPU_PROFILE (a file: a pprof CPU profile).
// Prints {"event":"listening","url":...,"control":...} on its first line; stops on SIGTERM or SIGINT.
//
// Control API (127.0.0.1 only, `Authorization: Bearer <secret>`):
//
//	PUT  /state   {"issuer","revision","ttlSeconds","signingKey":{"kid","d","x","y"},"grants":{caller:[[target,[role...]]...]},
//	               "trust":{"audience","skewSeconds","maxTokenBytes","cacheSize","issuers":[{"issuer","keys":[JWK...]}]}|null}
//	POST /report  {"issued":{"buckets":[...],"sum","count"},"forwarded":n,"tooLarge":n,"ledger":[{"subject","service","issuedAtMs","expiresAtMs","jti","kid"}]}
//	              (cumulative counts; the ledger entries since the last report, drained)
package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"authlab/dataplane/serve"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

const (
	tokenPath       = "/oauth2/token"
	formType        = "application/x-www-form-urlencoded"
	bodyLimit       = 64 << 10
	exchangeGrant   = "urn:ietf:params:oauth:grant-type:token-exchange"
	jwtTokenType    = "urn:ietf:params:oauth:token-type:jwt"
	accessTokenType = "urn:ietf:params:oauth:token-type:access_token"
	marginMs        = 1000
	// Largest answer of the IdP relayed.
	forwardBodyLimit = 1 << 20
)

var b64 = base64.RawURLEncoding

// verifyKey is one trusted issuer's public key: RSA for RS256, P-256 for ES256.
type verifyKey struct {
	rsa *rsa.PublicKey
	ec  *ecdsa.PublicKey
}

type trust struct {
	audience  string
	skewMs    int64
	maxBytes  int
	cacheSize int
	// issuer → kid → key
	issuers map[string]map[string]verifyKey
}

// grant is one caller's roles on one target, pre-rendered as claims fragments.
type grant struct {
	// `"<target>"` and `"<target>":[roles]`
	audJSON, rolesJSON string
}

type caller struct {
	grants   []grant
	byTarget map[string]int
	// The claims fragments for a request without audience: every grant.
	allAud, allRoles string
}

// state is what the control plane last pushed; swapped whole, never mutated.
type state struct {
	issuerJSON string
	revision   int64
	ttlSeconds int64
	kid        string
	key        *ecdsa.PrivateKey
	// base64url of the JWS header, as system/idp/compact-jws.ts writes it.
	header  string
	callers map[string]*caller
	trust   *trust
	// The trust as pushed: a change of keys empties the subject-token cache.
	trustRaw []byte
}

var current atomic.Pointer[state]

type subject struct {
	// The namespace, and the same as a JSON string (the access token's sub).
	service, serviceJSON, sub string
	expMs                     int64
}

// cache remembers verified subject tokens until their exp, as JwksIssuerVerifier does.
type cache struct {
	mu sync.Mutex
	m  map[string]subject
}

func (c *cache) get(token string) (subject, bool) {
	c.mu.Lock()
	s, ok := c.m[token]
	c.mu.Unlock()
	return s, ok
}

func (c *cache) put(token string, s subject, size int) {
	if size <= 0 {
		return
	}
	c.mu.Lock()
	if len(c.m) >= size {
		for k := range c.m { // Go's map order is random: an arbitrary entry goes
			delete(c.m, k)
			break
		}
	}
	c.m[token] = s
	c.mu.Unlock()
}

func (c *cache) clear() {
	c.mu.Lock()
	c.m = map[string]subject{}
	c.mu.Unlock()
}

type issued struct {
	Subject     string `json:"subject"`
	Service     string `json:"service"`
	IssuedAtMs  int64  `json:"issuedAtMs"`
	ExpiresAtMs int64  `json:"expiresAtMs"`
	Jti         string `json:"jti"`
	Kid         string `json:"kid"`
}

// report is what the control plane reads back: token_issue_duration_seconds{result="issued"} and the
// last token issued per subject since the last read.
type report struct {
	mu        sync.Mutex
	bounds    []float64
	issued    *serve.Histogram
	forwarded uint64
	// Bodies over the IdP's limit, refused here (token_result_total{result="invalid_request"}).
	refusedTooLarge uint64
	ledger          map[string]issued
}

func (r *report) issue(seconds float64, t issued) {
	r.mu.Lock()
	r.issued.Observe(r.bounds, seconds)
	r.ledger[t.Subject] = t
	r.mu.Unlock()
}

func (r *report) forward() {
	r.mu.Lock()
	r.forwarded++
	r.mu.Unlock()
}

func (r *report) tooLarge() {
	r.mu.Lock()
	r.refusedTooLarge++
	r.mu.Unlock()
}

func (r *report) drain() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	ledger := make([]issued, 0, len(r.ledger))
	for _, t := range r.ledger {
		ledger = append(ledger, t)
	}
	r.ledger = map[string]issued{}
	sort.Slice(ledger, func(i, j int) bool { return ledger[i].IssuedAtMs < ledger[j].IssuedAtMs })
	return map[string]any{
		"issued":    r.issued.Copy(),
		"forwarded": r.forwarded,
		"tooLarge":  r.refusedTooLarge,
		"ledger":    ledger,
	}
}

// form is the token request's parameters, decoded as parseForm in token-exchange.ts does (strictly);
// ok is false for anything the Node IdP refuses or that is not the common case.
type form struct {
	grantType, subjectToken, subjectTokenType, requested string
	audiences                                            []string
}

func decodeComponent(s []byte) (string, bool) {
	if bytes.IndexByte(s, '%') < 0 && bytes.IndexByte(s, '+') < 0 {
		if !utf8.Valid(s) {
			return "", false
		}
		return string(s), true
	}
	v, err := url.QueryUnescape(string(s))
	if err != nil || !utf8.ValidString(v) {
		return "", false
	}
	return v, true
}

func parseForm(body []byte) (form, bool) {
	var f form
	// Parameters that must not repeat (RFC 6749 §3.2), counted.
	repeated := false
	once := func(seen *bool) {
		repeated = repeated || *seen
		*seen = true
	}
	var grantType, subjectToken, subjectTokenType, requested bool
	for len(body) > 0 {
		var pair []byte
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			pair, body = body, nil
		}
		if len(pair) == 0 {
			continue
		}
		rawName, rawValue := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			rawName, rawValue = pair[:i], pair[i+1:]
		}
		name, ok := decodeComponent(rawName)
		if !ok {
			return f, false
		}
		value, ok := decodeComponent(rawValue)
		if !ok {
			return f, false
		}
		switch name {
		case "grant_type":
			once(&grantType)
			f.grantType = value
		case "subject_token":
			once(&subjectToken)
			f.subjectToken = value
		case "subject_token_type":
			once(&subjectTokenType)
			f.subjectTokenType = value
		case "requested_token_type":
			once(&requested)
			f.requested = value
		case "audience":
			if value == "" {
				return f, false
			}
			f.audiences = append(f.audiences, value)
		}
	}
	if repeated {
		return f, false
	}
	if f.grantType != exchangeGrant || f.subjectToken == "" || f.subjectTokenType != jwtTokenType {
		return f, false
	}
	if f.requested != "" && f.requested != accessTokenType && f.requested != jwtTokenType {
		return f, false
	}
	return f, true
}

// parsers read the subject token's header and claims (fastjson: one pass, no map per object; the
// profile of a cache-off run had encoding/json at 11 % of this process).
var parsers fastjson.ParserPool

// object parses one JWT part as a JSON object the way JSON.parse would read it, or says it cannot be
// sure: invalid UTF-8 (JSON.parse reads U+FFFD where Go keeps the bytes), any escape (a lone surrogate
// decodes differently) and a repeated key (JSON.parse keeps the last, fastjson finds the first) are left
// to the Node IdP.
func object(p *fastjson.Parser, raw []byte) (*fastjson.Object, bool) {
	if !utf8.Valid(raw) || bytes.IndexByte(raw, '\\') >= 0 {
		return nil, false
	}
	v, err := p.ParseBytes(raw)
	if err != nil {
		return nil, false
	}
	o, err := v.Object()
	if err != nil || !uniqueKeys(o) {
		return nil, false
	}
	return o, true
}

func uniqueKeys(o *fastjson.Object) bool {
	seen := make(map[string]struct{}, o.Len())
	unique := true
	o.Visit(func(k []byte, _ *fastjson.Value) {
		if _, dup := seen[string(k)]; dup {
			unique = false
		}
		seen[string(k)] = struct{}{}
	})
	return unique
}

// str is a claim that is a JSON string.
func str(o *fastjson.Object, name string) (string, bool) {
	v := o.Get(name)
	if v == nil || v.Type() != fastjson.TypeString {
		return "", false
	}
	return string(v.GetStringBytes()), true
}

// verify checks a subject token as JwksIssuerVerifier and fast-jwt do; false means "not proven": the
// Node IdP decides.
func verify(t *trust, token string, nowMs int64) (subject, bool) {
	var s subject
	if len(token) > t.maxBytes {
		return s, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return s, false
	}
	headerJSON, err := b64.DecodeString(parts[0])
	if err != nil {
		return s, false
	}
	payloadJSON, err := b64.DecodeString(parts[1])
	if err != nil {
		return s, false
	}
	hp, cp := parsers.Get(), parsers.Get()
	defer parsers.Put(hp)
	defer parsers.Put(cp)
	header, ok := object(hp, headerJSON)
	if !ok {
		return s, false
	}
	unknown := false
	header.Visit(func(k []byte, _ *fastjson.Value) {
		unknown = unknown || (string(k) != "alg" && string(k) != "kid" && string(k) != "typ")
	})
	alg, okAlg := str(header, "alg")
	kid, okKid := str(header, "kid")
	if unknown || !okAlg || !okKid {
		return s, false
	}
	claims, ok := object(cp, payloadJSON)
	if !ok {
		return s, false
	}
	iss, ok := str(claims, "iss")
	if !ok {
		return s, false
	}
	keys, ok := t.issuers[iss]
	if !ok {
		return s, false
	}
	key, ok := keys[kid]
	if !ok {
		return s, false
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return s, false
	}
	digest := sha256.Sum256([]byte(token[:len(parts[0])+1+len(parts[1])]))
	switch {
	case alg == "RS256" && key.rsa != nil:
		if rsa.VerifyPKCS1v15(key.rsa, crypto.SHA256, digest[:], sig) != nil {
			return s, false
		}
	case alg == "ES256" && key.ec != nil:
		if len(sig) != 64 || !ecdsa.Verify(key.ec, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return s, false
		}
	default:
		return s, false
	}
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat"} {
		if claims.Get(c) == nil {
			return s, false
		}
	}
	if !audienceHolds(claims.Get("aud"), t.audience) {
		return s, false
	}
	expV := claims.Get("exp")
	if expV.Type() != fastjson.TypeNumber {
		return s, false
	}
	exp := expV.GetFloat64()
	if !(float64(nowMs+marginMs) < exp*1000+float64(t.skewMs)) {
		return s, false
	}
	if nbfV := claims.Get("nbf"); nbfV != nil {
		if nbfV.Type() != fastjson.TypeNumber || !(float64(nowMs-marginMs) >= nbfV.GetFloat64()*1000-float64(t.skewMs)) {
			return s, false
		}
	}
	sub, ok := str(claims, "sub")
	if !ok {
		return s, false
	}
	p := strings.Split(sub, ":")
	if len(p) != 4 || p[0] != "system" || p[1] != "serviceaccount" || p[2] == "" || p[3] == "" {
		return s, false
	}
	namespace := p[2]
	// subjectOf: a kubernetes.io namespace, when it is a string, must be the sub's.
	if k8s := claims.Get("kubernetes.io"); k8s != nil && k8s.Type() == fastjson.TypeObject {
		o, _ := k8s.Object()
		if !uniqueKeys(o) {
			return s, false
		}
		if ns := o.Get("namespace"); ns != nil && ns.Type() == fastjson.TypeString && string(ns.GetStringBytes()) != namespace {
			return s, false
		}
	}
	return subject{service: namespace, serviceJSON: jsonString(namespace), sub: sub, expMs: int64(exp * 1000)}, true
}

// audienceHolds is fast-jwt's allowedAud check: a string or an array of strings, one of them `want`.
func audienceHolds(v *fastjson.Value, want string) bool {
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes()) == want
	case fastjson.TypeArray:
		found := false
		for _, m := range v.GetArray() {
			if m.Type() != fastjson.TypeString {
				return false
			}
			found = found || string(m.GetStringBytes()) == want
		}
		return found
	}
	return false
}

// jsonString is s as a JSON string: quoted as it is when it needs no escape (a namespace always), else
// through marshal.
func jsonString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			out, _ := marshal(s)
			return out
		}
	}
	return `"` + s + `"`
}

// marshal is JSON as JSON.stringify writes it (no HTML escaping).
func marshal(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// uuid is a random (version 4) UUID, as node:crypto's randomUUID.
func uuid() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(out[:])
}

var halfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// signES256 is the JWS signature as compact-jws.ts makes it: raw r||s, s normalised to the low half.
func signES256(key *ecdsa.PrivateKey, input []byte) (string, error) {
	digest := sha256.Sum256(input)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	if s.Cmp(halfOrder) > 0 {
		s.Sub(key.Curve.Params().N, s)
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return b64.EncodeToString(sig[:]), nil
}

func main() {
	serve.DieWithParent()
	secret := os.Getenv("AUTHLAB_TOKENPLANE_SECRET")
	if secret == "" {
		serve.Fail("tokenplane", errors.New("AUTHLAB_TOKENPLANE_SECRET is required"))
	}
	node, err := url.Parse(os.Getenv("NODE_URL"))
	if err != nil || node.Host == "" {
		serve.Fail("tokenplane", fmt.Errorf("NODE_URL must be the Node IdP's base URL (got %q)", os.Getenv("NODE_URL")))
	}
	var bounds []float64
	if err := json.Unmarshal([]byte(serve.Env("BUCKETS", "[]")), &bounds); err != nil {
		serve.Fail("tokenplane", fmt.Errorf("BUCKETS: %w", err))
	}
	rep := &report{bounds: bounds, issued: serve.NewHistogram(bounds), ledger: map[string]issued{}}
	subjects := &cache{m: map[string]subject{}}
	upstream := &fasthttp.HostClient{Addr: node.Host, MaxConns: 64, MaxResponseBodySize: forwardBodyLimit}

	forward := func(ctx *fasthttp.RequestCtx) {
		rep.forward()
		req := fasthttp.AcquireRequest()
		defer fasthttp.ReleaseRequest(req)
		ctx.Request.CopyTo(req)
		if err := upstream.Do(req, &ctx.Response); err != nil {
			ctx.Response.Reset()
			body, _ := marshal(map[string]string{"error": "temporarily_unavailable", "error_description": "the IdP behind its token plane did not answer: " + err.Error() + "; retry"})
			ctx.Response.Header.Set("Cache-Control", "no-store")
			ctx.Response.Header.Set("Retry-After", "1")
			ctx.SetContentType("application/json; charset=utf-8")
			ctx.SetStatusCode(503)
			ctx.SetBodyString(body)
		}
	}

	handler := func(ctx *fasthttp.RequestCtx) {
		t0 := time.Now()
		st := current.Load()
		h := &ctx.Request.Header
		if st == nil || st.trust == nil || !ctx.IsPost() || string(ctx.RequestURI()) != tokenPath ||
			!strings.EqualFold(string(h.ContentType()), formType) || h.ContentLength() < 0 || h.ContentLength() > bodyLimit {
			forward(ctx)
			return
		}
		f, ok := parseForm(ctx.PostBody())
		if !ok {
			forward(ctx)
			return
		}
		nowMs := time.Now().UnixMilli()
		subj, hit := subjects.get(f.subjectToken)
		if !hit || nowMs+marginMs >= subj.expMs+st.trust.skewMs {
			if subj, ok = verify(st.trust, f.subjectToken, nowMs); !ok {
				forward(ctx)
				return
			}
			subjects.put(f.subjectToken, subj, st.trust.cacheSize)
		}
		c := st.callers[subj.service]
		var aud, roles string
		switch {
		case len(f.audiences) == 0 && c != nil:
			aud, roles = c.allAud, c.allRoles
		case len(f.audiences) == 0:
		default:
			if c == nil {
				forward(ctx)
				return
			}
			var a, r []string
			done := map[string]bool{}
			for _, t := range f.audiences {
				i, ok := c.byTarget[t]
				if !ok {
					forward(ctx)
					return
				}
				if !done[t] {
					done[t] = true
					a, r = append(a, c.grants[i].audJSON), append(r, c.grants[i].rolesJSON)
				}
			}
			aud, roles = strings.Join(a, ","), strings.Join(r, ",")
		}
		iat := nowMs / 1000
		exp := iat + st.ttlSeconds
		jti := uuid()
		claims := `{"iss":` + st.issuerJSON + `,"sub":` + subj.serviceJSON + `,"aud":[` + aud + `],"iat":` + strconv.FormatInt(iat, 10) +
			`,"exp":` + strconv.FormatInt(exp, 10) + `,"jti":"` + jti + `","roles":{` + roles + `},"rev":` + strconv.FormatInt(st.revision, 10) + `}`
		input := st.header + "." + b64.EncodeToString([]byte(claims))
		sig, err := signES256(st.key, []byte(input))
		if err != nil {
			forward(ctx)
			return
		}
		issuedType := accessTokenType
		if f.requested != "" {
			issuedType = f.requested
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.Response.Header.Set("Pragma", "no-cache")
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBodyString(`{"access_token":"` + input + "." + sig + `","issued_token_type":"` + issuedType + `","token_type":"Bearer","expires_in":` + strconv.FormatInt(st.ttlSeconds, 10) + `}`)
		rep.issue(time.Since(t0).Seconds(), issued{subj.sub, subj.service, nowMs, exp * 1000, jti, st.kid})
	}

	server := &fasthttp.Server{
		Handler: handler,
		// The IdP's own limit: a larger body is refused here, as the IdP refuses it (forwarding it would
		// race the IdP closing the connection on a body it does not read).
		MaxRequestBodySize:    bodyLimit,
		ReadBufferSize:        16 << 10,
		IdleTimeout:           72 * time.Second,
		ReadTimeout:           72 * time.Second,
		NoDefaultDate:         true,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Logger:                serve.Discard{},
		// A body over the limit gets the IdP's own answer (routes/token-exchange.ts), counted as the IdP counts it.
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				rep.tooLarge()
				ctx.Response.Header.Set("Cache-Control", "no-store")
				ctx.SetContentType("application/json; charset=utf-8")
				ctx.SetStatusCode(413)
				ctx.SetBodyString(`{"error":"invalid_request","error_description":"request body is larger than 65536 bytes; a token request is a few KiB"}`)
				return
			}
			ctx.Error("Bad Request", 400)
		},
	}
	serve.RunControlled("tokenplane", server, controlAPI(secret, rep, subjects), "AUTHLAB_TOKENPLANE_CPU_PROFILE")
}

type statePush struct {
	Issuer     string `json:"issuer"`
	Revision   int64  `json:"revision"`
	TTLSeconds int64  `json:"ttlSeconds"`
	SigningKey struct {
		Kid string `json:"kid"`
		D   string `json:"d"`
		X   string `json:"x"`
		Y   string `json:"y"`
	} `json:"signingKey"`
	Grants map[string][][2]json.RawMessage `json:"grants"`
	Trust  json.RawMessage                 `json:"trust"`
}

type trustPush struct {
	Audience      string `json:"audience"`
	SkewSeconds   int64  `json:"skewSeconds"`
	MaxTokenBytes int    `json:"maxTokenBytes"`
	CacheSize     int    `json:"cacheSize"`
	Issuers       []struct {
		Issuer string            `json:"issuer"`
		Keys   []json.RawMessage `json:"keys"`
	} `json:"issuers"`
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
}

func bigOf(s string) (*big.Int, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}

// publicKey reads a JWK the Node verifier uses (RSA, or EC P-256); others are skipped as it skips them.
func publicKey(raw json.RawMessage) (string, verifyKey, bool) {
	var k jwk
	if json.Unmarshal(raw, &k) != nil || k.Kid == "" {
		return "", verifyKey{}, false
	}
	switch k.Kty {
	case "RSA":
		n, err1 := bigOf(k.N)
		e, err2 := bigOf(k.E)
		if err1 != nil || err2 != nil || !e.IsInt64() || n.BitLen() < 2048 {
			return "", verifyKey{}, false
		}
		return k.Kid, verifyKey{rsa: &rsa.PublicKey{N: n, E: int(e.Int64())}}, true
	case "EC":
		if k.Crv != "P-256" {
			return "", verifyKey{}, false
		}
		x, err1 := bigOf(k.X)
		y, err2 := bigOf(k.Y)
		if err1 != nil || err2 != nil || !elliptic.P256().IsOnCurve(x, y) { //nolint:staticcheck // a point check, nothing more
			return "", verifyKey{}, false
		}
		return k.Kid, verifyKey{ec: &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}}, true
	}
	return "", verifyKey{}, false
}

func build(p statePush) (*state, error) {
	if p.Issuer == "" || p.TTLSeconds <= 0 || p.SigningKey.Kid == "" {
		return nil, errors.New("issuer, ttlSeconds > 0 and signingKey.kid are required")
	}
	d, err1 := bigOf(p.SigningKey.D)
	x, err2 := bigOf(p.SigningKey.X)
	y, err3 := bigOf(p.SigningKey.Y)
	if err1 != nil || err2 != nil || err3 != nil || !elliptic.P256().IsOnCurve(x, y) { //nolint:staticcheck
		return nil, errors.New("signingKey must be a P-256 private JWK's d, x and y (base64url)")
	}
	key := &ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, D: d}
	issuerJSON, _ := marshal(p.Issuer)
	s := &state{
		issuerJSON: issuerJSON,
		revision:   p.Revision,
		ttlSeconds: p.TTLSeconds,
		kid:        p.SigningKey.Kid,
		key:        key,
		callers:    map[string]*caller{},
		trustRaw:   p.Trust,
	}
	// compact-jws.ts's header, keys in its order (encoding/json would sort a map's).
	kidJSON, _ := marshal(p.SigningKey.Kid)
	s.header = b64.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT","kid":` + kidJSON + `}`))
	for name, list := range p.Grants {
		c := &caller{byTarget: map[string]int{}}
		var aud, roles []string
		for _, g := range list {
			var target string
			if json.Unmarshal(g[0], &target) != nil || target == "" {
				return nil, fmt.Errorf("grants[%q]: each grant is [target, [role, ...]]", name)
			}
			var rs []string
			if json.Unmarshal(g[1], &rs) != nil {
				return nil, fmt.Errorf("grants[%q][%q]: roles must be an array of strings", name, target)
			}
			t, _ := marshal(target)
			r, _ := marshal(rs)
			c.byTarget[target] = len(c.grants)
			c.grants = append(c.grants, grant{audJSON: t, rolesJSON: t + ":" + r})
			aud, roles = append(aud, t), append(roles, t+":"+r)
		}
		c.allAud, c.allRoles = strings.Join(aud, ","), strings.Join(roles, ",")
		s.callers[name] = c
	}
	if len(p.Trust) > 0 && string(p.Trust) != "null" {
		var tp trustPush
		if err := json.Unmarshal(p.Trust, &tp); err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		if tp.Audience == "" || tp.MaxTokenBytes <= 0 || tp.SkewSeconds < 0 || tp.CacheSize < 0 {
			return nil, errors.New("trust needs audience, maxTokenBytes > 0, skewSeconds >= 0 and cacheSize >= 0")
		}
		t := &trust{audience: tp.Audience, skewMs: tp.SkewSeconds * 1000, maxBytes: tp.MaxTokenBytes, cacheSize: tp.CacheSize, issuers: map[string]map[string]verifyKey{}}
		for _, is := range tp.Issuers {
			keys := map[string]verifyKey{}
			for _, raw := range is.Keys {
				if kid, k, ok := publicKey(raw); ok {
					keys[kid] = k
				}
			}
			t.issuers[is.Issuer] = keys
		}
		s.trust = t
	}
	return s, nil
}

func controlAPI(secret string, rep *report, subjects *cache) http.Handler {
	var mu sync.Mutex // pushes one at a time, so the cache is emptied against the trust it replaces
	return serve.Control(secret, "the token plane", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/state":
			var p statePush
			if err := serve.DecodeBody(w, r, 16<<20, &p); err != nil {
				serve.ControlError(w, 400, "ERR_BAD_REQUEST", "The body must be {issuer, revision, ttlSeconds, signingKey, grants, trust}: "+err.Error())
				return
			}
			next, err := build(p)
			if err != nil {
				serve.ControlError(w, 400, "ERR_BAD_REQUEST", err.Error())
				return
			}
			mu.Lock()
			prev := current.Load()
			if prev == nil || !bytes.Equal(prev.trustRaw, next.trustRaw) {
				// A key the issuer stopped publishing must stop vouching for cached tokens too.
				current.Store(nil)
				subjects.clear()
			}
			current.Store(next)
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPost && r.URL.Path == "/report":
			serve.Answer(w, 200, rep.drain())
		default:
			serve.ControlError(w, 404, "ERR_NOT_FOUND", "The control API has PUT /state and POST /report.")
		}
	})
}
