package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// UnmarshalStrict decodes a JSON body into m as a Smithy JSON protocol does,
// where protojson is too lenient: a member is found by its JSON name only,
// case-sensitively (protojson also takes the proto field name), unknown
// members and null values are ignored, and a value of the wrong JSON type
// (a string where a number belongs, as protojson would accept) is an error.
//
// It handles the field kinds the dialects' requests use: strings, booleans,
// integers, floating-point numbers, messages, lists of these and maps with
// string keys.
func UnmarshalStrict(b []byte, m proto.Message) error {
	if !json.Valid(b) {
		var v any
		return json.Unmarshal(b, &v) // the syntax error, with its offset
	}
	return unmarshalValid(b, m)
}

// unmarshalValid is UnmarshalStrict of a body already known to be valid
// JSON.
func unmarshalValid(b []byte, m proto.Message) error {
	return decodeMessage(json.RawMessage(b), m.ProtoReflect(), "")
}

// TypeError reports a member whose JSON value has the wrong type.
type TypeError struct {
	Member string // the member's path, such as TagFilters[0].Values
	Want   string // what it must be, such as "a number"
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("%s: must be %s", e.Member, e.Want)
}

func typeError(path, want string) error { return &TypeError{Member: path, Want: want} }

// jsonString decodes a JSON string. One without escapes, in valid UTF-8
// (nearly every ARN, key and value), is its bytes between the quotes; others
// go through encoding/json, which also replaces invalid UTF-8 as it does.
func jsonString(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner) {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// MaxItems bounds the members of an object and the items of a list or map
// UnmarshalStrict decodes: every request of the dialects has far fewer, and
// the bound keeps a body's decoded size near its own, whatever it holds.
const MaxItems = 1000

// eachMember calls fn with the members of a JSON object, in order. raw
// must be valid JSON (UnmarshalStrict checks it first); the values handed
// to fn are slices of raw, not copies.
func eachMember(raw json.RawMessage, path string, fn func(name string, v json.RawMessage) error) error {
	n := 0
	return eachElement(raw, '{', func(elem []byte) error {
		if n == MaxItems {
			return typeError(orTop(path), fmt.Sprintf("an object of at most %d members", MaxItems))
		}
		n++
		end := valueEnd(elem, 0)
		var name string
		if err := json.Unmarshal(elem[:end], &name); err != nil {
			return err
		}
		colon := bytes.IndexByte(elem[end:], ':')
		return fn(name, bytes.TrimSpace(elem[end+colon+1:]))
	})
}

// eachItem calls fn with the items of a JSON array, in order, as
// eachMember does.
func eachItem(raw json.RawMessage, path string, fn func(i int, v json.RawMessage) error) error {
	i := 0
	return eachElement(raw, '[', func(elem []byte) error {
		if i == MaxItems {
			return typeError(path, fmt.Sprintf("an array of at most %d items", MaxItems))
		}
		i++
		return fn(i-1, elem)
	})
}

// eachElement calls fn with each comma-separated element of the valid JSON
// object or array raw (open is its '{' or '['), trimmed.
func eachElement(raw []byte, open byte, fn func([]byte) error) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != open {
		return fmt.Errorf("gateway: not a JSON %q value", open)
	}
	inner := bytes.TrimSpace(raw[1 : len(raw)-1])
	for len(inner) > 0 {
		end := elementEnd(inner)
		if err := fn(bytes.TrimSpace(inner[:end])); err != nil {
			return err
		}
		if end == len(inner) {
			break
		}
		inner = bytes.TrimSpace(inner[end+1:]) // past the comma
	}
	return nil
}

// elementEnd returns the index of the comma that ends the first element of
// b (outside strings, objects and arrays), or len(b).
func elementEnd(b []byte) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = valueEnd(b, i) - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return len(b)
}

// valueEnd returns the index just past the JSON string that starts at
// b[i] (a quote).
func valueEnd(b []byte, i int) int {
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

func decodeMessage(raw json.RawMessage, m protoreflect.Message, path string) error {
	if !isKind(raw, '{') {
		return typeError(orTop(path), "a JSON object")
	}
	fields := m.Descriptor().Fields()
	return eachMember(raw, path, func(name string, v json.RawMessage) error {
		fd := fields.ByJSONName(name)
		if fd == nil || fd.JSONName() != name || isNull(v) {
			return nil
		}
		return decodeField(v, m, fd, join(path, name))
	})
}

func decodeField(raw json.RawMessage, m protoreflect.Message, fd protoreflect.FieldDescriptor, path string) error {
	m.Clear(fd) // a member given twice: the last one counts, as in JSON objects decoded to maps
	switch {
	case fd.IsMap():
		if !isKind(raw, '{') {
			return typeError(path, "a JSON object")
		}
		if fd.MapKey().Kind() != protoreflect.StringKind {
			return fmt.Errorf("%s: maps must have string keys", path)
		}
		mp := m.Mutable(fd).Map()
		if err := eachMember(raw, path, func(k string, v json.RawMessage) error {
			val, err := decodeValue(v, mp, fd.MapValue(), path+"."+k)
			if err != nil {
				return err
			}
			mp.Set(protoreflect.ValueOfString(k).MapKey(), val)
			return nil
		}); err != nil {
			return err
		}
	case fd.IsList():
		if !isKind(raw, '[') {
			return typeError(path, "a JSON array")
		}
		list := m.Mutable(fd).List()
		if err := eachItem(raw, path, func(i int, v json.RawMessage) error {
			val, err := decodeValue(v, list, fd, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return err
			}
			list.Append(val)
			return nil
		}); err != nil {
			return err
		}
	case fd.Kind() == protoreflect.MessageKind:
		return decodeMessage(raw, m.Mutable(fd).Message(), path)
	default:
		v, err := decodeScalar(raw, fd, path)
		if err != nil {
			return err
		}
		m.Set(fd, v)
	}
	return nil
}

// newer makes the message a list or map element needs.
type newer interface{ NewElement() protoreflect.Value }

// mapNewer adapts a map to newer.
type mapNewer struct{ protoreflect.Map }

func (m mapNewer) NewElement() protoreflect.Value { return m.NewValue() }

// decodeValue decodes one list or map element of kind fd.
func decodeValue(raw json.RawMessage, container any, fd protoreflect.FieldDescriptor, path string) (protoreflect.Value, error) {
	if fd.Kind() != protoreflect.MessageKind {
		if isNull(raw) {
			return protoreflect.Value{}, typeError(path, "a value, not null")
		}
		return decodeScalar(raw, fd, path)
	}
	var n newer
	switch c := container.(type) {
	case protoreflect.List:
		n = c
	case protoreflect.Map:
		n = mapNewer{c}
	}
	v := n.NewElement()
	if isNull(raw) {
		return v, nil
	}
	return v, decodeMessage(raw, v.Message(), path)
}

func decodeScalar(raw json.RawMessage, fd protoreflect.FieldDescriptor, path string) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !isKind(raw, '"') {
			return protoreflect.Value{}, typeError(path, "a string")
		}
		s, err := jsonString(raw)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfString(s), nil
	case protoreflect.BoolKind:
		switch string(bytes.TrimSpace(raw)) {
		case "true":
			return protoreflect.ValueOfBool(true), nil
		case "false":
			return protoreflect.ValueOfBool(false), nil
		}
		return protoreflect.Value{}, typeError(path, "true or false")
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
		if err != nil {
			return protoreflect.Value{}, typeError(path, "a whole number")
		}
		if fd.Kind() == protoreflect.Int64Kind || fd.Kind() == protoreflect.Sint64Kind || fd.Kind() == protoreflect.Sfixed64Kind {
			return protoreflect.ValueOfInt64(n), nil
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return protoreflect.Value{}, typeError(path, "a whole number that fits in 32 bits")
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		var f float64
		if !isNumber(raw) || json.Unmarshal(raw, &f) != nil {
			return protoreflect.Value{}, typeError(path, "a number")
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	}
	return protoreflect.Value{}, fmt.Errorf("%s: a %v field cannot be decoded", path, fd.Kind())
}

// isKind reports whether raw is a JSON value starting with c.
func isKind(raw json.RawMessage, c byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == c
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func isNumber(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9')
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orTop(path string) string {
	if path == "" {
		return "the body"
	}
	return path
}
