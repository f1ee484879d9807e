package gateway

import "unicode/utf8"

// Field is a member of a body DecodeFlat knows: its JSON name and where its
// value goes, a list of strings or an object of strings.
type Field struct {
	Name   string
	List   *[]string
	Object *map[string]string
}

// DecodeFlat decodes the common shape of a mutating request without
// reflection: one JSON object whose members are among fields (at most 64),
// each a list of strings or an object of strings as its Field says, every
// string plain (no escapes, no control characters, valid UTF-8), no member
// twice, no null, nothing but JSON whitespace around it, and at most
// MaxItems items in each list and object. On such a body protojson and
// UnmarshalStrict agree with it. It reports false on anything else, and the
// caller decodes the body with those instead, for the same result or the
// same error; what it has set through fields by then is the caller's to
// discard.
//
// It is hand-written because it is the dialects' hot path: decoding by
// reflection cost more than the core's own work on a 20-resource call.
func DecodeFlat(b []byte, fields ...Field) bool {
	if len(fields) > 64 {
		return false
	}
	s := scanner{b: b}
	if !s.next('{') {
		return false
	}
	var seen uint64
	if !s.next('}') {
		for {
			name, ok := s.plain()
			if !ok || !s.next(':') {
				return false
			}
			i := 0
			for i < len(fields) && fields[i].Name != string(name) {
				i++
			}
			if i == len(fields) || seen&(1<<i) != 0 {
				return false
			}
			seen |= 1 << i
			switch f := fields[i]; {
			case f.List != nil:
				if !s.list(f.List) {
					return false
				}
			case f.Object != nil:
				if !s.object(f.Object) {
					return false
				}
			default:
				return false
			}
			if s.next('}') {
				break
			}
			if !s.next(',') {
				return false
			}
		}
	}
	s.space()
	return s.i == len(b)
}

// scanner reads JSON from b, from i on.
type scanner struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next reports whether c comes next, after whitespace, and reads past it.
func (s *scanner) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// plain reads a plain string and returns the bytes between its quotes.
func (s *scanner) plain() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start, ascii := s.i, true
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, ascii || utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// list reads a list of plain strings into *to.
func (s *scanner) list(to *[]string) bool {
	if !s.next('[') {
		return false
	}
	if s.next(']') {
		*to = []string{}
		return true
	}
	out := make([]string, 0, s.items())
	for {
		v, ok := s.plain()
		if !ok || len(out) == MaxItems {
			return false
		}
		out = append(out, string(v))
		if s.next(']') {
			*to = out
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// items counts the items of the list of strings that starts at s.i (after
// its '['), to size it: the commas outside strings before the ']' that
// ends it, plus one, at most MaxItems+1. It changes nothing; the list is
// checked as it is read.
func (s *scanner) items() int {
	n, quoted := 1, false
	for _, c := range s.b[s.i:] {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ',':
			if n++; n > MaxItems {
				return n
			}
		case c == ']':
			return n
		}
	}
	return n
}

// object reads an object of plain strings, no key twice (protojson
// refuses that, UnmarshalStrict keeps the last), into *to.
func (s *scanner) object(to *map[string]string) bool {
	if !s.next('{') {
		return false
	}
	out := map[string]string{}
	if s.next('}') {
		*to = out
		return true
	}
	for n := 0; ; n++ {
		k, ok := s.plain()
		if !ok || n == MaxItems || !s.next(':') {
			return false
		}
		if _, twice := out[string(k)]; twice {
			return false
		}
		v, ok := s.plain()
		if !ok {
			return false
		}
		out[string(k)] = string(v)
		if s.next('}') {
			*to = out
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}
