package provider

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// httpSecretForms lists every spelling of the secrets that a careless service
// might echo in an error answer: raw, glued together as NERSC wants them,
// JSON- and URL-escaped, and the Basic credentials in base64.
func httpSecretForms(username, password, otp string) []string {
	var forms []string
	add := func(s string) {
		if s != "" {
			forms = append(forms, s)
		}
	}
	for _, s := range []string{password + otp, password, otp} {
		if s == "" {
			continue
		}
		add(s)
		if b, err := json.Marshal(s); err == nil {
			add(string(b[1 : len(b)-1]))
		}
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
	}
	if password != "" {
		basic := username + ":" + password + otp
		add(base64.StdEncoding.EncodeToString([]byte(basic)))
		add(base64.StdEncoding.EncodeToString([]byte(password + otp)))
		add(base64.StdEncoding.EncodeToString([]byte(password)))
	}
	return forms
}

// httpScrub replaces every occurrence of the secrets. Longer forms go
// first, so that "password+otp" is replaced whole.
func httpScrub(s string, secrets []string) string {
	// Simple insertion sort by length, descending; the list is short.
	sorted := append([]string(nil), secrets...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && len(sorted[j]) > len(sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for _, sec := range sorted {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// httpCleanMessage makes a service's words fit for the one stderr line:
// secrets removed (first, on the whole text, so that cutting cannot leave a
// piece of one), valid UTF-8, the first non-empty line only, no control or
// formatting characters, at most httpMaxMessage runes.
func httpCleanMessage(msg string, secrets []string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	msg = httpScrub(msg, secrets)
	var line string
	for l := range strings.SplitSeq(msg, "\n") {
		if strings.TrimSpace(l) != "" {
			line = l
			break
		}
	}
	var b strings.Builder
	space := false
	n := 0
	for _, r := range line {
		if unicode.Is(unicode.Cf, r) { // bidi overrides, zero-width joiners
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		if n >= httpMaxMessage {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	out := b.String()
	// A cut or a collapsed space could in theory have rebuilt a secret.
	if httpScrub(out, secrets) != out {
		return "[message withheld: it quoted a secret]"
	}
	return out
}

var (
	httpTitleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	httpH1RE    = regexp.MustCompile(`(?is)<h1[^>]*>(.*?)</h1>`)
	httpTagRE   = regexp.MustCompile(`<[^>]*>`)
)

// httpTextMessage finds a message in a body that is not (usable) JSON: the
// title of an HTML page, else the text itself. It refuses to quote anything
// that looks like key material.
func httpTextMessage(body []byte) string {
	if !utf8.Valid(body) {
		return "" // binary: nothing worth quoting
	}
	if bytes.Contains(bytes.ToUpper(body), []byte("PRIVATE KEY")) {
		return ""
	}
	if m := httpJSONMessage(body); m != "" {
		return m
	}
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] == '<' {
		for _, re := range []*regexp.Regexp{httpTitleRE, httpH1RE} {
			if m := re.FindSubmatch(t); m != nil {
				if s := strings.TrimSpace(httpTagRE.ReplaceAllString(string(m[1]), " ")); s != "" {
					return s
				}
			}
		}
		return strings.TrimSpace(httpTagRE.ReplaceAllString(string(t), " "))
	}
	return string(t)
}

// httpJSONMessage finds the message in the usual JSON error shapes:
// {"payload":{"message"}} (CSCS legacy), {"message"} (CSCS new, conch,
// step-ca), {"error_description"} and {"error"} (OAuth), {"detail"}
// (FastAPI, Django), {"errors":[{"message"}]}.
func httpJSONMessage(body []byte) string {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	if s, ok := doc.(string); ok {
		return s
	}
	for _, path := range []string{"payload.message", "message", "error_description", "error.message",
		"error", "detail", "errors.0.message", "errors.0", "msg", "description"} {
		if s, ok := httpJSONField(doc, path); ok && strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
