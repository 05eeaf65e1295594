// Package catalogue checks a query body as the sidecar's query catalogue does
// (system/sidecar/query-catalogue.ts `parseQueryBody`, behind fastify's JSON parser): a JSON object with
// only "query" and "params", a known query, a params object holding only that query's parameter, within
// its bound. Refusals carry the catalogue's status, code and message, word for word, so a body the Node
// sidecar refuses is refused here the same way (test/data-plane.test.ts compares them, by example and
// by fast-check).
package catalogue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// BodyLimit is the largest body the sidecar reads (its fast path's 64 KiB).
const BodyLimit = 64 << 10

// The catalogue's queries in its order (system/protocol/roles.ts QUERY_NAMES).
var queryNames = []string{"light", "heavy", "heavy-cached", "write"}

const (
	itemRows     = 10_000    // query-catalogue.ts ITEM_ROWS
	heavyNMax    = 5_000_000 // roles.ts HEAVY_N_MAX
	writeNoteMax = 200       // query-catalogue.ts WRITE_NOTE_MAX, UTF-16 code units as JavaScript counts
)

// Refusal is an error answer: its HTTP status, the catalogue's code and a message saying what to do.
type Refusal struct {
	Status  int
	Code    string
	Message string
}

// New is a refusal with `status`, the catalogue's `code` and a `message` saying what to do.
func New(status int, code, message string) *Refusal {
	return &Refusal{Status: status, Code: code, Message: message}
}

// The sidecar's words for a body fastify's JSON parser refuses (system/sidecar/http/fast-path.ts).
const notJSON = "The body is not valid JSON ("

func badParams(message string) (string, *Refusal) { return "", New(400, "ERR_BAD_PARAMS", message) }

// Check returns the query's name when the body is one the sidecar forwards; else its refusal.
func Check(text []byte) (string, *Refusal) {
	if len(text) == 0 { // only no bytes at all: whitespace is invalid JSON, as the Node sidecar words it
		return "", New(400, "ERR_BODY_NOT_JSON", notJSON+`Body cannot be empty when content-type is set to 'application/json'); send {"query": "light", "params": {}}.`)
	}
	// fastify's parser skips a leading byte order mark, so a body sent with one is a body.
	text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
	var body any
	dec := json.NewDecoder(bytes.NewReader(text))
	// Numbers as written: JSON.parse reads 1e400 as Infinity (then refused as out of range), where
	// decoding into a float64 would fail the whole body. (Nesting deeper than encoding/json's 10,000
	// levels is ERR_BODY_NOT_JSON here; JSON.parse would read it. A query body is a few hundred bytes.)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || len(bytes.Trim(text[dec.InputOffset():], " \t\r\n")) > 0 || poisoned(body) {
		return "", New(400, "ERR_BODY_NOT_JSON", notJSON+`Body is not valid JSON but content-type is set to 'application/json'); send {"query": "light", "params": {}}.`)
	}
	obj, ok := body.(map[string]any)
	if !ok {
		return "", New(400, "ERR_BAD_REQUEST", `The body must be a JSON object {"query": "light|heavy|heavy-cached|write", "params": {...}}.`)
	}
	_, hasQuery := obj["query"]
	_, hasParams := obj["params"]
	// The key order matters only to name an unknown key: a valid body is not walked twice (the walk was
	// 9 % of the data plane's CPU on bench:hop's profile).
	if len(obj) > btoi(hasQuery)+btoi(hasParams) {
		top, _ := keysInOrder(text)
		for _, k := range top {
			if k != "query" && k != "params" {
				return "", New(400, "ERR_BAD_REQUEST", "Unknown top-level field "+Excerpt(k)+`: the body has only "query" and "params".`)
			}
		}
	}
	q, present := obj["query"]
	name, isString := q.(string)
	if !isString || !known(name) {
		got := "Unknown query " + excerptValue(q)
		if !present {
			got = `The body names no "query"`
		}
		return "", New(400, "ERR_UNKNOWN_QUERY", got+": use one of "+strings.Join(queryNames, ", ")+".")
	}
	raw, present := obj["params"]
	params, isObject := raw.(map[string]any)
	if present && !isObject {
		return badParams(`"params" must be a JSON object (got ` + excerptValue(raw) + ").")
	}
	switch name {
	case "light":
		return intParam(name, "id", params, text, 1, itemRows)
	case "heavy", "heavy-cached":
		return intParam(name, "n", params, text, 1, heavyNMax)
	default: // write
		if r := onlyKey(name, "note", params, text); r != nil {
			return "", r
		}
		v, present := params["note"]
		if !present {
			return name, nil
		}
		note, ok := v.(string)
		if !ok || len(utf16.Encode([]rune(note))) > writeNoteMax {
			return badParams(fmt.Sprintf(`write: "note" must be a string of at most %d characters.`, writeNoteMax))
		}
		// PostgreSQL text cannot hold U+0000: refused here, before any database work, not by the database.
		if strings.ContainsRune(note, 0) {
			return badParams(`write: "note" must not contain the NUL character (\u0000).`)
		}
		return name, nil
	}
}

func known(name string) bool {
	for _, n := range queryNames {
		if n == name {
			return true
		}
	}
	return false
}

// onlyKey refuses the first parameter other than `allowed`, in JavaScript's order of the params' keys
// (read from the body's text only when there is one to name).
func onlyKey(query, allowed string, params map[string]any, text []byte) *Refusal {
	if _, ok := params[allowed]; len(params) <= btoi(ok) {
		return nil
	}
	_, raw := keysInOrder(text)
	order, _ := keysInOrder(raw)
	for _, k := range order {
		if k != allowed {
			return New(400, "ERR_BAD_PARAMS", query+": unknown parameter "+Excerpt(k)+" (allowed: "+allowed+").")
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func intParam(query, key string, params map[string]any, text []byte, min, max float64) (string, *Refusal) {
	if r := onlyKey(query, key, params, text); r != nil {
		return "", r
	}
	v, present := params[key]
	if !present {
		return query, nil
	}
	if f, ok := number(v); ok && f == math.Trunc(f) && f >= min && f <= max {
		return query, nil
	}
	return badParams(fmt.Sprintf(`%s: "%s" must be an integer in %d..%d (got %s).`, query, key, int(min), int(max), excerptValue(v)))
}

// keysInOrder is an object's keys in JavaScript's own-key order — integer-like keys ("0", "17") first in
// ascending order, then the others as the body first gives them, each once — and the last value given
// for "params" (JSON.parse keeps the last of a duplicate key). Nothing for a body that is not an object.
func keysInOrder(raw []byte) ([]string, json.RawMessage) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil
	}
	var indexes []uint64
	var names []string
	seen := map[string]bool{}
	var params json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil
		}
		k, _ := t.(string)
		var value json.RawMessage
		if dec.Decode(&value) != nil {
			return nil, nil
		}
		if k == "params" {
			params = value
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		if i, ok := arrayIndex(k); ok {
			indexes = append(indexes, i)
		} else {
			names = append(names, k)
		}
	}
	sort.Slice(indexes, func(a, b int) bool { return indexes[a] < indexes[b] })
	keys := make([]string, 0, len(indexes)+len(names))
	for _, i := range indexes {
		keys = append(keys, strconv.FormatUint(i, 10))
	}
	return append(keys, names...), params
}

// arrayIndex: a canonical array index ("0", or digits without a leading zero, below 2^32 − 1), which
// JavaScript orders before every other key.
func arrayIndex(k string) (uint64, bool) {
	if k == "" || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	i, err := strconv.ParseUint(k, 10, 64)
	return i, err == nil && i < math.MaxUint32
}

// number reads a JSON number as JSON.parse does, overflow to ±Infinity included.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !math.IsInf(f, 0) && f != 0 {
		return 0, false
	}
	return f, true
}

// poisoned says whether fastify's JSON parser (secure-json-parse, protoAction and constructorAction
// "error") refuses the value: an object anywhere in it with a "__proto__" key, or with a "constructor"
// key whose value is an object with a "prototype" key. The Node sidecar answers those ERR_BODY_NOT_JSON.
func poisoned(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["__proto__"]; ok {
			return true
		}
		if c, ok := x["constructor"].(map[string]any); ok {
			if _, ok := c["prototype"]; ok {
				return true
			}
		}
		for _, e := range x {
			if poisoned(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if poisoned(e) {
				return true
			}
		}
	}
	return false
}

// Excerpt quotes a client's string as system/protocol/excerpt.ts does: JSON-escaped (encoding/json also
// escapes <, >, & and the line separators), cut to 32 UTF-16 code units with its length noted.
func Excerpt(s string) string {
	units := utf16.Encode([]rune(s))
	if len(units) <= 32 {
		q, _ := json.Marshal(s)
		return string(q)
	}
	q, _ := json.Marshal(string(utf16.Decode(units[:32])))
	return fmt.Sprintf("%s…\" (%d characters)", q[:len(q)-1], len(units))
}

// excerptValue describes any JSON value as excerpt.ts does: a string quoted, a number or boolean as
// JavaScript prints it, null, an array by its length, an object by name; nothing when absent.
func excerptValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return Excerpt(x)
	case json.Number:
		f, _ := number(x)
		return jsNumber(f)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		if len(x) == 1 {
			return "an array of 1 item"
		}
		return fmt.Sprintf("an array of %d items", len(x))
	default:
		return "an object"
	}
}

// jsNumber prints a float64 as JavaScript's String(number) does (shortest round-trip digits; plain
// notation from 1e-7 to 1e21, exponent notation with a sign and no padding outside it).
func jsNumber(f float64) string {
	switch {
	case f == 0:
		return "0"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	abs := math.Abs(f)
	if abs >= 1e-7 && abs < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // e.g. 1.5e-07, 1e+21
	mant, exp, _ := strings.Cut(s, "e")
	sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + digits
}
