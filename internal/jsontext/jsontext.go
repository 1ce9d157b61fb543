// Package jsontext finds text that Go's decoders would silently change:
// encoding/json replaces invalid UTF-8 and lone UTF-16 surrogate escapes
// ("\ud800") with U+FFFD, and so does gqlparser for a lone surrogate escape
// in a GraphQL document. A client that sent either meant something else,
// so the API refuses the request rather than store a different text. The
// check runs on the raw bytes, before any decoding.
package jsontext

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Problem says where the malformed text is and what is wrong with it.
type Problem struct {
	// Path names the value holding the text, as GraphQL paths do:
	// "variables.input.name", "tags[2]"; "" for the document as a whole.
	Path   string
	Reason string
}

func (p *Problem) Error() string {
	if p.Path == "" {
		return p.Reason
	}
	return p.Path + ": " + p.Reason
}

const (
	invalidBytes  = "text must be valid UTF-8: the request holds bytes that are not"
	loneSurrogate = "text must not hold a lone UTF-16 surrogate (an escape from \\ud800 to \\udfff that is not one half of a pair)"
)

// Check returns the first malformed text in a JSON document, or nil. It
// does not judge the JSON's syntax: where that is broken it stops and
// leaves the error to the real decoder.
func Check(data []byte) *Problem {
	s := scanner{data: data}
	s.skipSpace()
	if p, _ := s.value(); p != nil {
		return p
	}
	if !utf8.Valid(data) {
		return &Problem{Reason: invalidBytes}
	}
	return nil
}

// CheckGraphQL returns the first malformed text in a GraphQL document: bytes
// that are not UTF-8, or a lone surrogate escape in a string literal. It
// looks at every \u escape, including one inside a block string, where it
// is not an escape; such a document is refused too, a price paid for not
// parsing the document twice.
func CheckGraphQL(doc string) *Problem {
	if !utf8.ValidString(doc) {
		return &Problem{Reason: invalidBytes}
	}
	for i := 0; i < len(doc); i++ {
		if doc[i] != '\\' || i+1 >= len(doc) {
			continue
		}
		if doc[i+1] != 'u' {
			i++ // skips an escaped backslash, so "\\u" is no escape
			continue
		}
		n, lone := surrogateAt(doc[i:])
		if lone {
			return &Problem{Reason: loneSurrogate}
		}
		i += n - 1
	}
	return nil
}

// surrogateAt reads the \uXXXX escape at the start of s: how many bytes it
// (with its pair) spans, and whether it is a lone surrogate. An escape that
// is not four hex digits spans two bytes and is left to the parser.
func surrogateAt(s string) (n int, lone bool) {
	r, ok := hex4(s)
	switch {
	case !ok:
		return 2, false
	case r >= 0xDC00 && r <= 0xDFFF:
		return 6, true
	case r >= 0xD800 && r <= 0xDBFF:
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2, ok := hex4(s[6:]); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
				return 12, false
			}
		}
		return 6, true
	}
	return 6, false
}

// hex4 reads the four hex digits after `\u` at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 6 {
		return 0, false
	}
	v, err := strconv.ParseUint(s[2:6], 16, 16)
	return rune(v), err == nil
}

type scanner struct {
	data []byte
	i    int
	path []string
}

func (s *scanner) skipSpace() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i >= len(s.data) {
		return 0
	}
	return s.data[s.i]
}

func (s *scanner) problem(reason string) *Problem {
	var path string
	for _, el := range s.path {
		if path != "" && el[0] != '[' {
			path += "."
		}
		path += el
	}
	return &Problem{Path: path, Reason: reason}
}

// value scans one JSON value; ok is false where the syntax is broken.
func (s *scanner) value() (p *Problem, ok bool) {
	switch s.peek() {
	case '{':
		s.i++
		for {
			s.skipSpace()
			if s.peek() == '}' {
				s.i++
				return nil, true
			}
			if s.peek() != '"' {
				return nil, false
			}
			key, p, ok := s.str()
			if p != nil || !ok {
				return p, ok
			}
			s.skipSpace()
			if s.peek() != ':' {
				return nil, false
			}
			s.i++
			s.skipSpace()
			s.path = append(s.path, key)
			p, ok = s.value()
			s.path = s.path[:len(s.path)-1]
			if p != nil || !ok {
				return p, ok
			}
			s.skipSpace()
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return nil, true
			default:
				return nil, false
			}
		}
	case '[':
		s.i++
		for index := 0; ; index++ {
			s.skipSpace()
			if s.peek() == ']' {
				s.i++
				return nil, true
			}
			s.path = append(s.path, fmt.Sprintf("[%d]", index))
			p, ok := s.value()
			s.path = s.path[:len(s.path)-1]
			if p != nil || !ok {
				return p, ok
			}
			s.skipSpace()
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil, true
			default:
				return nil, false
			}
		}
	case '"':
		_, p, ok := s.str()
		return p, ok
	case 0:
		return nil, false
	}
	// A number, true, false or null: its bytes hold no text.
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ',', ']', '}', ' ', '\t', '\r', '\n':
			return nil, true
		}
		s.i++
	}
	return nil, true
}

// str scans a string and returns its text as far as a path needs it (escapes
// are kept as written).
func (s *scanner) str() (text string, p *Problem, ok bool) {
	s.i++ // the opening quote
	start := s.i
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			text = string(s.data[start:s.i])
			s.i++
			return text, nil, true
		case c == '\\':
			if s.i+1 >= len(s.data) {
				return "", nil, false
			}
			if s.data[s.i+1] != 'u' {
				s.i += 2
				continue
			}
			n, lone := surrogateAt(string(s.data[s.i:min(s.i+12, len(s.data))]))
			if lone {
				return "", s.problem(loneSurrogate), true
			}
			s.i += n
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.data[s.i:])
			if r == utf8.RuneError && size == 1 {
				return "", s.problem(invalidBytes), true
			}
			s.i += size
		}
	}
	return "", nil, false
}
