package provider

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// How a script run's failures map to the sentinels: see NewScript.

// scriptRejectRE finds the line of a failed run most worth quoting.
var scriptRejectRE = regexp.MustCompile(`(?i)invalid|incorrect|wrong|denied|fail|authenticat|unauthori|reject|forbidden|locked|too many|not valid|expired|quota|limit|error`)

// outcome maps the script's exit.
func (r *scriptRun) outcome(waitErr error) (*Result, error) {
	if waitErr == nil {
		r.log.Debug("script succeeded", "answers", r.answered)
		return &Result{Installed: true}, nil
	}
	ex, _ := procExitOf(waitErr)
	status := max(ex.code, 0)
	how := "exited"
	if ex.signal != "" {
		how = ex.String()
	}
	line := r.failureLine()
	if r.secret {
		msg := line
		if msg == "" {
			msg = how + " after the credentials were sent"
		} else if ex.signal != "" {
			msg = how + ": " + msg
		}
		return nil, r.fail(ErrRejected, status, msg)
	}
	msg := how + " before any credential was sent"
	if line != "" {
		msg += ": " + line
	}
	return nil, r.fail(ErrConfig, status, msg)
}

// failureLine is the line of the whole output that best says why the run
// failed: the last one that sounds like an error, else the last one.
func (r *scriptRun) failureLine() string {
	lines := procLines(r.tr.scrub(r.tr.buf.String()))
	last := ""
	for i := len(lines) - 1; i >= 0; i-- {
		l := procClean(lines[i])
		if l == "" || strings.HasPrefix(l, "[hpc-auth: ") || strings.HasPrefix(l, "# ") {
			continue
		}
		if last == "" {
			last = l
		}
		if scriptRejectRE.MatchString(l) {
			return l
		}
	}
	return last
}

// unexpected ends the run on a prompt we will not answer.
func (r *scriptRun) unexpected(line, what string) error {
	msg := what + ": " + r.tr.scrub(procClean(line))
	if r.secret {
		return r.fail(ErrRejected, 0, "after the credentials were sent, "+msg)
	}
	return r.fail(ErrConfig, 0, msg)
}

func (r *scriptRun) timeout(phase string) error {
	msg := fmt.Sprintf("timed out after %s %s", procRound(time.Since(r.start)), phase)
	if l := r.tr.scrub(procClean(procLastLine(r.pending))); l != "" {
		msg += "; last output: " + l
	} else if r.answered > 0 {
		msg += fmt.Sprintf("; no output after %d answer(s)", r.answered)
	} else {
		msg += "; no output"
	}
	return r.fail(ErrUnavailable, 0, msg)
}

func (r *scriptRun) fail(sentinel error, status int, msg string) error {
	return &ServiceError{Service: r.p.service, Status: status, Message: msg, Err: sentinel}
}
