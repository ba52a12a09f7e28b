package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestBodiesReadLenientlyByEncodingJSONAreRefused covers the bodies that
// encoding/json alone would accept but another JSON library might read
// differently: known keys in another case, repeated known keys, and bytes
// that are not UTF-8. Unknown keys, escapes in keys and nested values that
// merely look like keys stay accepted.
func TestBodiesReadLenientlyByEncodingJSONAreRefused(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"text":"hi"}`, true},
		{` {"text":"hi","name":"A","client_msg_id":"c"} `, true},
		{`{"text":"hi","future_field":{"TEXT":1,"text":[2,"text"]}}`, true},
		{`{"t\u0065xt":"hi"}`, true},
		{`{"note":"a, \"text\": x","text":"hi"}`, true},
		{`{"TEXT":"hi"}`, false},
		{`{"text":"hi","Name":"A"}`, false},
		{`{"text":"hi","text":"again"}`, false},
		{`{"text":"hi","te\u0078t":"again"}`, false},
		{"{\"text\":\"h\xffi\"}", false},
		{`null`, false},
	} {
		_, err := MessageFromEnvelope(&Envelope{Kind: KindMessage, Body: []byte(c.body), verified: true})
		if c.ok && err != nil {
			t.Errorf("%s refused: %v", c.body, err)
		}
		if !c.ok && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: want ErrMalformed, got %v", c.body, err)
		}
	}
}

// TestStoredBodiesAreReadAsTheyWereStored checks that a body the strict
// reading refuses is still read from an envelope that did not pass
// Verify: one stored before the rule, read back with DecodeStored.
func TestStoredBodiesAreReadAsTheyWereStored(t *testing.T) {
	m, err := MessageFromEnvelope(&Envelope{Kind: KindMessage, Body: []byte(`{"TEXT":"hi"}`)})
	if err != nil || m.Text != "hi" {
		t.Fatalf("stored body read as %+v, %v", m, err)
	}
}

// TestSignalBodiesUseExactKeys checks that the other kinds' decoders apply
// the same rule to their own fields.
func TestSignalBodiesUseExactKeys(t *testing.T) {
	id := ID{1}.String()
	for _, c := range []struct {
		kind, body string
		ok         bool
	}{
		{KindTyping, `{"ttl_ms":5000}`, true},
		{KindTyping, `{"TTL_MS":5000}`, false},
		{KindPresence, `{"status":"online","lease_ms":0}`, true},
		{KindPresence, `{"status":"online","Status":"away"}`, false},
		{KindReceipt, `{"kind":"read","up_to":"` + id + `"}`, true},
		{KindReceipt, `{"kind":"read","up_to":"` + id + `","up_to":"` + id + `"}`, false},
	} {
		e := &Envelope{Kind: c.kind, Body: []byte(c.body), verified: true}
		var err error
		switch c.kind {
		case KindTyping:
			_, err = DecodeTyping(e)
		case KindPresence:
			_, err = DecodePresence(e)
		case KindReceipt:
			_, err = DecodeReceipt(e)
		}
		if c.ok && err != nil {
			t.Errorf("%s %s refused: %v", c.kind, c.body, err)
		}
		if !c.ok && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s %s: want ErrMalformed, got %v", c.kind, c.body, err)
		}
	}
}

// topLevelKeys lists an object's top-level keys with encoding/json's
// tokenizer: the slow, obviously right reading checkBody's scanner must
// agree with.
func topLevelKeys(body []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, false
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false
		}
	}
	return keys, true
}

// FuzzCheckBody compares checkBody's scan of top-level keys with
// encoding/json's tokenizer on every body encoding/json accepts.
func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{`{"text":"hi"}`, `{"a":{"text":1},"text":"x"}`, `{"t\u0065xt":"x","TEXT":1}`, `{"a":"\"text\":","b":[{"text":2}]}`, ` {} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v map[string]any
		if json.Unmarshal(body, &v) != nil || v == nil || !utf8.Valid(body) {
			return
		}
		keys, ok := topLevelKeys(body)
		if !ok {
			t.Fatalf("the tokenizer cannot read %q, which Unmarshal accepted", body)
		}
		want := true
		seen := map[string]bool{}
		for _, k := range keys {
			for _, field := range messageFields {
				if strings.EqualFold(k, field) {
					want = want && k == field && !seen[field]
					seen[field] = true
				}
			}
		}
		if got := checkBody(body, messageFields) == nil; got != want {
			t.Fatalf("checkBody(%q) accepts: %v, the tokenizer's keys %q say %v", body, got, keys, want)
		}
	})
}
