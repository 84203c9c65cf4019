package provider

import (
	"fmt"
	"regexp"
	"strings"
)

// DialogStep is one exchange of a script provider's dialog: when the line
// the script waits on matches Expect, Send is typed.
//
// Send is typed verbatim (no escape sequences are interpreted), then Enter,
// unless NoEnter is set. NoEnter is for one-key questions read with
// `read -n 1`: an Enter typed after the key would stay in the terminal's
// input and answer the script's next question. In the config file it is
// written `enter = false` (default true).
type DialogStep struct {
	// Expect is a Go regexp, matched against the last line the script wrote
	// (terminal escapes removed, trailing blanks kept) once it has stopped
	// writing.
	Expect string
	// Send may hold the placeholders {username}, {password}, {otp}, {key}
	// and {certificate}. {otp} asks for a fresh one-time code.
	Send string
	// Optional steps may be skipped: a later step matches even though this
	// one never did. A step that is not optional must match before any
	// later step can.
	Optional bool
	// NoEnter: do not press Enter after Send.
	NoEnter bool
}

// scriptKind is what the default dialog thinks a line is.
type scriptKind uint8

const (
	scriptNone        scriptKind = iota // ordinary output: keep waiting
	scriptQuestion                      // a question we have no answer for
	scriptUsername                      // login name
	scriptPassword                      // password (or PIN)
	scriptOTP                           // one-time code
	scriptPasswordOTP                   // password immediately followed by a one-time code
)

func (k scriptKind) String() string {
	switch k {
	case scriptNone:
		return "output"
	case scriptQuestion:
		return "question"
	case scriptUsername:
		return "username"
	case scriptPassword:
		return "password"
	case scriptOTP:
		return "one-time code"
	case scriptPasswordOTP:
		return "password+OTP"
	}
	return "?"
}

// scriptUses records which values went into answers, so that a prompt that
// comes back for something already given (a rejected password asked again)
// is not answered a second time.
type scriptUses uint8

const (
	scriptUsesUsername scriptUses = 1 << iota
	scriptUsesPassword
	scriptUsesOTP
)

func (k scriptKind) uses() scriptUses {
	switch k {
	case scriptUsername:
		return scriptUsesUsername
	case scriptPassword:
		return scriptUsesPassword
	case scriptOTP:
		return scriptUsesOTP
	case scriptPasswordOTP:
		return scriptUsesPassword | scriptUsesOTP
	}
	return 0
}

// send is what the default dialog types for a kind.
func (k scriptKind) send() string {
	switch k {
	case scriptUsername:
		return "{username}"
	case scriptPassword:
		return "{password}"
	case scriptOTP:
		return "{otp}"
	case scriptPasswordOTP:
		return "{password}{otp}"
	}
	return ""
}

// The default dialog's vocabulary, matched against the lower-cased prompt.
// Order matters and is fixed in scriptClassify: "password+OTP" before "OTP"
// before "password" (so that "One-Time Password:" is a code, not the
// password) before "username" ("Password for user jdoe:" is a password).
var (
	scriptRePasswordOTP = regexp.MustCompile(`(password|\bpin\b)\s*(\+|&|\bplus\b|\band\b|\bfollowed by\b)\s*(the\s+|your\s+|an?\s+)?(otp|totp|one[- ]?time|token|mfa|code)`)
	scriptReOTP         = regexp.MustCompile(`one[- ]?time|\b(otp|totp|hotp|mfa|2fa)\b|\btoken\b|verification code|authenticat(or|ion) code|security code|\d[- ]digit code|\bcode\s*:$`)
	scriptRePassword    = regexp.MustCompile(`password|\bpin\b|passphrase for (login|user|account)`)
	scriptReUsername    = regexp.MustCompile(`user\s*name|\blogin\b|\buser\b|\buser\s*id\b`)
	// A credential asked "again", "new" or "confirm"ed is a password change
	// or a key passphrase being set: never answer it with the login secrets.
	scriptReChange = regexp.MustCompile(`\b(new|again|confirm|retype|re-?enter|repeat|verify)\b`)
	scriptReYesNo  = regexp.MustCompile(`[\[(]\s*y(es)?\s*/\s*n(o)?\s*[\])]|\byes\s*/\s*no\b|\by/n\b`)
)

// scriptClassify decides what the line a script waits on asks for. A
// credential prompt ends with a colon; a line that merely mentions a
// password ("Password is empty.") is output. A line that looks like a
// question but is none of ours is scriptQuestion: the default dialog must
// not guess an answer to it.
func scriptClassify(line string) scriptKind {
	t := strings.ToLower(strings.TrimSpace(procStripControl(procEscapeRE.ReplaceAllString(line, ""))))
	if t == "" {
		return scriptNone
	}
	if scriptReYesNo.MatchString(t) {
		return scriptQuestion
	}
	if strings.HasSuffix(t, ":") {
		switch {
		case scriptReChange.MatchString(t):
			return scriptQuestion
		case scriptRePasswordOTP.MatchString(t):
			return scriptPasswordOTP
		case scriptReOTP.MatchString(t):
			return scriptOTP
		case scriptRePassword.MatchString(t):
			return scriptPassword
		case scriptReUsername.MatchString(t):
			return scriptUsername
		}
		return scriptQuestion
	}
	switch t[len(t)-1] {
	case '?', ']', '>':
		return scriptQuestion
	}
	return scriptNone
}

// scriptStep is a compiled DialogStep.
type scriptStep struct {
	re       *regexp.Regexp
	send     string
	optional bool
	enter    bool
	uses     scriptUses
}

// scriptPlaceholderRE finds {word} placeholders in a send template.
var scriptPlaceholderRE = regexp.MustCompile(`\{[A-Za-z_]+\}`)

// scriptCompile checks and compiles a dialog. Unknown placeholders are an
// error: "{pasword}" typed as is would be sent as is.
func scriptCompile(steps []DialogStep) ([]scriptStep, error) {
	out := make([]scriptStep, 0, len(steps))
	for i, s := range steps {
		n := i + 1
		if s.Expect == "" {
			return nil, fmt.Errorf("%w: dialog step %d: expect is empty", ErrConfig, n)
		}
		re, err := regexp.Compile(s.Expect)
		if err != nil {
			return nil, fmt.Errorf("%w: dialog step %d: expect: %v", ErrConfig, n, err)
		}
		if s.Send == "" && s.NoEnter {
			return nil, fmt.Errorf("%w: dialog step %d: sends nothing (empty send and enter = false)", ErrConfig, n)
		}
		var uses scriptUses
		for _, ph := range scriptPlaceholderRE.FindAllString(s.Send, -1) {
			switch ph {
			case "{username}":
				uses |= scriptUsesUsername
			case "{password}":
				uses |= scriptUsesPassword
			case "{otp}":
				uses |= scriptUsesOTP
			case "{key}", "{certificate}":
			default:
				return nil, fmt.Errorf("%w: dialog step %d: unknown placeholder %s in send (known: {username} {password} {otp} {key} {certificate})", ErrConfig, n, ph)
			}
		}
		out = append(out, scriptStep{re: re, send: s.Send, optional: s.Optional, enter: !s.NoEnter, uses: uses})
	}
	return out, nil
}

// scriptVerdict is what to do about the line a script waits on.
type scriptVerdict uint8

const (
	scriptWait       scriptVerdict = iota // not a prompt: keep reading
	scriptAnswer                          // answer with the action
	scriptUnexpected                      // a question we have no answer for
	scriptAgain                           // asks again for something already given
)

// scriptAction is one answer about to be typed.
type scriptAction struct {
	step  int        // index of the custom step, or -1 for the default dialog
	kind  scriptKind // for the default dialog
	send  string     // template
	enter bool
	uses  scriptUses
}

func (a scriptAction) String() string {
	if a.step >= 0 {
		return fmt.Sprintf("dialog step %d", a.step+1)
	}
	return a.kind.String() + " prompt"
}

// scriptDialog tracks a run's progress through its dialog. Custom steps are
// tried first, in order, each at most once; a line none of them takes is
// classified by the default dialog, which answers each kind of credential at
// most once. A custom dialog therefore only needs the steps the default
// dialog cannot do (a [y/n] question), and a prompt is never answered
// twice.
type scriptDialog struct {
	steps []scriptStep
	next  int        // first custom step not yet used
	used  scriptUses // what answers have contained so far
}

func (d *scriptDialog) decide(line string) (scriptVerdict, scriptAction) {
	if strings.TrimSpace(line) == "" {
		return scriptWait, scriptAction{}
	}
	for i := d.next; i < len(d.steps); i++ {
		s := d.steps[i]
		if s.re.MatchString(line) {
			return scriptAnswer, scriptAction{step: i, send: s.send, enter: s.enter, uses: s.uses}
		}
		if !s.optional {
			break
		}
	}
	k := scriptClassify(line)
	switch k {
	case scriptNone:
		return scriptWait, scriptAction{}
	case scriptQuestion:
		// A question a used custom step took is the script asking again.
		for i := 0; i < d.next; i++ {
			if d.steps[i].re.MatchString(line) {
				return scriptAgain, scriptAction{step: i}
			}
		}
		return scriptUnexpected, scriptAction{step: -1, kind: k}
	}
	a := scriptAction{step: -1, kind: k, send: k.send(), enter: true, uses: k.uses()}
	if d.used&a.uses != 0 {
		return scriptAgain, a
	}
	return scriptAnswer, a
}

// done records that a was typed.
func (d *scriptDialog) done(a scriptAction) {
	if a.step >= 0 {
		d.next = a.step + 1
	}
	d.used |= a.uses
}
