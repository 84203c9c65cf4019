package provider

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHTTPJSONField(t *testing.T) {
	doc := `{"public":"c1","sshKey":{"publicKey":"c2","n":3},"list":["a",{"x":"c3"}],"a.b":"dotted","nil":null}`
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, want string
		ok         bool
	}{
		{"public", "c1", true},
		{"sshKey.publicKey", "c2", true},
		{"list.0", "a", true},
		{"list.1.x", "c3", true},
		{"sshKey.n", "", false},     // not a string
		{"sshKey", "", false},       // an object
		{"list.2", "", false},       // out of range
		{"list.-1", "", false},      // negative
		{"list.x", "", false},       // not an index
		{"public.x", "", false},     // below a string
		{"a.b", "", false},          // keys with dots are not reachable
		{"nil", "", false},          // null
		{"", "", false},             // empty path
		{"missing.deep", "", false}, // missing
	}
	for _, c := range cases {
		got, ok := httpJSONField(v, c.path)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: (%q, %v), want (%q, %v)", c.path, got, ok, c.want, c.ok)
		}
	}
}

func TestGenericExtract(t *testing.T) {
	cert, key, err := genericExtract([]byte(`{"certificate":"C","private_key":"K"}`), "certificate", "private_key")
	if err != nil || string(cert) != "C" || string(key) != "K" {
		t.Errorf("got %q %q %v", cert, key, err)
	}
	cert, key, err = genericExtract([]byte(`{"certificate":"C"}`), "certificate", "")
	if err != nil || string(cert) != "C" || key != nil {
		t.Errorf("sign mode: got %q %q %v", cert, key, err)
	}
	for _, body := range []string{`{"certificate":"C"}`, `not json`, `{"certificate":1,"private_key":"K"}`, `[]`} {
		if _, _, err := genericExtract([]byte(body), "certificate", "private_key"); err == nil {
			t.Errorf("%s: no error", body)
		} else if strings.Contains(err.Error(), "K\"") {
			t.Errorf("%s: error quotes the body: %v", body, err)
		}
	}
}

// FuzzJSONAnswer: field extraction never panics, and a value it finds is
// really at that path (checked by re-walking with plain maps).
func FuzzJSONAnswer(f *testing.F) {
	f.Add([]byte(`{"certificate":"ssh-ed25519-cert-v01@openssh.com AAAA","private_key":"-----BEGIN"}`), "certificate", "private_key")
	f.Add([]byte(`{"sshKey":{"publicKey":"c"}}`), "sshKey.publicKey", "")
	f.Add([]byte(`{"a":[{"b":"c"}]}`), "a.0.b", "a.1")
	f.Add([]byte(`{"payload":{"message":"m"}}`), "payload.message", "payload")
	f.Add([]byte(`[["x"]]`), "0.0", "..")
	f.Add([]byte(`{"":{"":"e"}}`), ".", "")
	f.Add([]byte(`nul`), "a", "b")
	f.Fuzz(func(t *testing.T, body []byte, certField, keyField string) {
		cert, key, err := genericExtract(body, certField, keyField)
		if err != nil {
			return
		}
		var doc any
		if json.Unmarshal(body, &doc) != nil {
			t.Fatal("extracted from invalid JSON")
		}
		if want, ok := httpJSONField(doc, certField); !ok || want != string(cert) {
			t.Fatalf("cert %q not at %q", cert, certField)
		}
		if keyField == "" && key != nil {
			t.Fatal("key without a key field")
		}
		_ = httpJSONMessage(body) // must not panic either
		_ = httpTextMessage(body)
		_ = httpCleanMessage(string(body), []string{certField, keyField})
	})
}
