package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Field names of each kind's JSON body, exactly as they must be written.
var (
	messageFields  = []string{"text", "name", "client_msg_id"}
	typingFields   = []string{"name", "ttl_ms"}
	presenceFields = []string{"name", "status", "lease_ms", "room_size"}
	receiptFields  = []string{"kind", "up_to", "up_to_lamport"}
)

// checkBody refuses the bodies that encoding/json would read leniently but
// another JSON library need not: bytes that are not UTF-8 (encoding/json
// replaces them, others refuse), a known field written in another case
// ("TEXT", which encoding/json matches to "text"), and a known field given
// twice (encoding/json keeps the last, others the first). Without these
// rules two implementations could disagree on whether an envelope is valid
// or on what it says. Unknown fields stay allowed, so that a field added
// later is ignored by older nodes.
//
// Only envelopes that passed Verify (those received from peers) are held
// to these rules; bodies read back from the store are read as they were
// when stored, so that history from before the rules stays readable.
//
// body must already have been parsed by encoding/json, so it is valid
// JSON; checkBody then only walks the top-level keys, without allocating,
// since every message read from history passes here.
func checkBody(body []byte, fields []string) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: body is not valid UTF-8", ErrNonCanonical)
	}
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("body is not a JSON object")
	}
	var seen uint64 // bit i: fields[i] was given
	depth, expectKey := 0, false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			end := stringEnd(b, i)
			if expectKey {
				if err := checkKey(b[i:end], fields, &seen); err != nil {
					return err
				}
				expectKey = false
			}
			i = end - 1
		}
	}
	return nil
}

// stringEnd returns the index just past the JSON string that starts with
// the quote at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// checkKey checks one top-level key, given as its quoted JSON string,
// against fields, and records which field it names in seen.
func checkKey(quoted []byte, fields []string, seen *uint64) error {
	key := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(quoted, &s); err != nil {
			return fmt.Errorf("body key %s: %w", quoted, err)
		}
		key = []byte(s)
	}
	for i, f := range fields {
		if !bytes.EqualFold(key, []byte(f)) {
			continue
		}
		if string(key) != f {
			return fmt.Errorf("%w: body field %q must be written %q", ErrNonCanonical, key, f)
		}
		if *seen&(1<<i) != 0 {
			return fmt.Errorf("%w: body field %q given twice", ErrNonCanonical, f)
		}
		*seen |= 1 << i
	}
	return nil
}

// strictBody applies checkBody to the body of an envelope that passed
// Verify, and accepts any other as it is.
func strictBody(e *Envelope, fields []string) error {
	if !e.verified {
		return nil
	}
	return checkBody(e.Body, fields)
}
