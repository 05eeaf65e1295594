// Package catalogue checks a query body as the sidecar's query catalogue does
// (system/sidecar/query-catalogue.ts): a JSON object with only "query" and "params", a known query, a
// params object holding only that query's parameter, within its bound. The refusals carry the
// catalogue's status and error codes, so a body the Node sidecar refuses is refused here too.
package catalogue

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
)

// BodyLimit is the largest body the sidecar reads (its fast path's 64 KiB).
const BodyLimit = 64 << 10

// Each query's one parameter (query-catalogue.ts: the catalogue's keys).
var queryParam = map[string]string{"light": "id", "heavy": "n", "heavy-cached": "n", "write": "note"}

// Each integer parameter's upper bound (query-catalogue.ts: ITEM_ROWS, HEAVY_N_MAX).
var paramMax = map[string]float64{"id": 10000, "n": 5000000}

// The note's length bound in UTF-16 code units, as JavaScript's `length` counts it (WRITE_NOTE_MAX).
const noteMax = 200

// Refusal is an error answer: its HTTP status, the catalogue's code and a message saying what to do.
type Refusal struct {
	Status  int
	Code    string
	Message string
}

// Check returns the query's name when the body is one the sidecar forwards; else its refusal.
func Check(text []byte) (string, *Refusal) {
	var body any
	// fastify's parser skips a leading byte order mark, so a body sent with one is a body.
	if err := json.Unmarshal(bytes.TrimPrefix(text, []byte("\xef\xbb\xbf")), &body); err != nil {
		return "", &Refusal{400, "ERR_BODY_NOT_JSON", `The body is not valid JSON; send {"query": "light", "params": {}}.`}
	}
	if poisoned(body) {
		return "", &Refusal{400, "ERR_BODY_NOT_JSON", `The body is not valid JSON (it holds a "__proto__" key, or a "constructor" with a "prototype"); send {"query": "light", "params": {}}.`}
	}
	obj, ok := body.(map[string]any)
	if !ok {
		return "", &Refusal{400, "ERR_BAD_REQUEST", `The body must be a JSON object {"query": ..., "params": {...}}.`}
	}
	for k := range obj {
		if k != "query" && k != "params" {
			return "", &Refusal{400, "ERR_BAD_REQUEST", `Unknown top-level field; a body has only "query" and "params".`}
		}
	}
	name, _ := obj["query"].(string)
	key, known := queryParam[name]
	if !known {
		return "", &Refusal{400, "ERR_UNKNOWN_QUERY", "Unknown query: use one of light, heavy, heavy-cached, write."}
	}
	raw, present := obj["params"]
	if !present {
		return name, nil
	}
	params, ok := raw.(map[string]any)
	if !ok {
		return "", &Refusal{400, "ERR_BAD_PARAMS", `"params" must be a JSON object.`}
	}
	for p := range params {
		if p != key {
			return "", &Refusal{400, "ERR_BAD_PARAMS", name + ` takes only "` + key + `".`}
		}
	}
	v, present := params[key]
	if !present {
		return name, nil
	}
	if key == "note" {
		if s, ok := v.(string); ok && len(utf16.Encode([]rune(s))) <= noteMax {
			return name, nil
		}
	} else if f, ok := v.(float64); ok && f == float64(int64(f)) && f >= 1 && f <= paramMax[key] {
		return name, nil
	}
	return "", &Refusal{400, "ERR_BAD_PARAMS", `"` + key + `" is out of range or of the wrong type.`}
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

// New is a refusal with `status`, the catalogue's `code` and a `message` saying what to do.
func New(status int, code, message string) *Refusal {
	return &Refusal{Status: status, Code: code, Message: message}
}
