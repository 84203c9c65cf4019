package provider

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
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
	// The forms as they look once invalid UTF-8 in them is repaired.
	for _, f := range forms {
		if v := strings.ToValidUTF8(f, "\uFFFD"); v != f {
			forms = append(forms, v)
		}
	}
	if password != "" {
		basic := username + ":" + password + otp
		add(base64.StdEncoding.EncodeToString([]byte(basic)))
		add(base64.StdEncoding.EncodeToString([]byte(password + otp)))
		add(base64.StdEncoding.EncodeToString([]byte(password)))
	}
	return forms
}

const (
	httpRedacted = "[redacted]"
	httpWithheld = "[message withheld: it quoted a secret]"
	// httpMarker stands for a removed secret while the message is cleaned,
	// so that the final check can tell the placeholder from the text.
	httpMarker = "\uE000"
)

// httpScrub replaces every occurrence of the secrets with repl. Longer forms
// go first, so that "password+otp" is replaced whole.
func httpScrub(s string, secrets []string, repl string) string {
	sorted := append([]string(nil), secrets...)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, sec := range sorted {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, repl)
		}
	}
	return s
}

// httpCleanMessage makes a service's words fit for the one stderr line:
// secrets removed (first, on the whole raw text, so that neither cutting nor
// repairing UTF-8 can leave a piece of one), valid UTF-8, the first
// non-empty line only, no control or formatting characters, about
// httpMaxMessage runes at most.
func httpCleanMessage(msg string, secrets []string) string {
	msg = httpScrub(msg, secrets, httpMarker)
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	msg = httpScrub(msg, secrets, httpMarker)
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
		if string(r) == httpMarker {
			n += len(httpRedacted)
		} else {
			n++
		}
	}
	out := b.String()
	// Dropping a character or collapsing spaces could have rebuilt a
	// secret from pieces the service sent.
	for part := range strings.SplitSeq(out, httpMarker) {
		for _, sec := range secrets {
			if sec != "" && strings.Contains(part, sec) {
				return httpWithheld
			}
		}
	}
	return strings.ReplaceAll(out, httpMarker, httpRedacted)
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
