package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

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

// MaxItems bounds the members of an object and the items of a list or map
// UnmarshalStrict decodes: every request of the dialects has far fewer, and
// the bound keeps a body's decoded size near its own, whatever it holds.
const MaxItems = 1000

// eachMember calls fn with the members of a JSON object, in order.
func eachMember(raw json.RawMessage, path string, fn func(name string, v json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for n := 0; dec.More(); n++ {
		if n == MaxItems {
			return typeError(orTop(path), fmt.Sprintf("an object of at most %d members", MaxItems))
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := fn(tok.(string), v); err != nil {
			return err
		}
	}
	return nil
}

// eachItem calls fn with the items of a JSON array, in order.
func eachItem(raw json.RawMessage, path string, fn func(i int, v json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // [
		return err
	}
	for i := 0; dec.More(); i++ {
		if i == MaxItems {
			return typeError(path, fmt.Sprintf("an array of at most %d items", MaxItems))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := fn(i, v); err != nil {
			return err
		}
	}
	return nil
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
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
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
