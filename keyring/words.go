package keyring

import (
	"errors"
	"strings"
)

// splitWords splits a cmd: reference into argv the way a POSIX shell splits
// words, but without any of a shell's expansions: blanks separate words,
// 'single quotes' are literal, "double quotes" honour \" \\ \$ \` and a
// backslash outside quotes escapes the next character.
//
// Characters that would mean something else to a shell (| & ; < > ( ) $ `)
// are refused unless quoted, because the command runs without a shell and a
// user who wrote `pass show x | head -1` would otherwise get a silently
// different command.
func splitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		inTok bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inTok {
				words = append(words, cur.String())
				cur.Reset()
				inTok = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inTok = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch s[i] {
				case '\\':
					if i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
						i++
					}
				case '$', '`':
					return nil, errors.New("no shell runs the command: $ and ` are not expanded; quote them with '...' or use cmd:sh -c '...'")
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inTok = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
			inTok = true
		case strings.IndexByte("|&;<>()$`", c) >= 0:
			return nil, errors.New("no shell runs the command: quote | & ; < > ( ) $ ` or use cmd:sh -c '...'")
		default:
			cur.WriteByte(c)
			inTok = true
		}
	}
	if inTok {
		words = append(words, cur.String())
	}
	return words, nil
}
