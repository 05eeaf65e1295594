package serve

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
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
