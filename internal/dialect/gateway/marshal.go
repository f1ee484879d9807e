// Package gateway holds what the REST dialects build their grpc-gateway
// muxes from: a strict JSON marshaler and the mux options they share.
package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Marshaler is protojson that emits empty lists, maps and strings, ignores
// unknown members, refuses a body that is anything but one JSON value, and
// sends a dialect's own media type. It implements runtime.Marshaler.
type Marshaler struct {
	*runtime.JSONPb
	contentType string
	strict      bool
	fast        FastPath
}

// FastPath decodes and encodes the messages of a dialect's hot calls
// without reflection. Decode reports false for a body it does not take (see
// DecodeFlat), Encode for a message it does not write; the Marshaler then
// does the work itself, so a FastPath changes no result, only its cost.
type FastPath struct {
	Decode func(b []byte, msg proto.Message) bool
	Encode func(msg proto.Message) ([]byte, bool)
}

// WithFastPath returns m using f where it applies.
func (m *Marshaler) WithFastPath(f FastPath) *Marshaler {
	m.fast = f
	return m
}

// Marshal implements runtime.Marshaler.
func (m *Marshaler) Marshal(v any) ([]byte, error) {
	if msg, ok := v.(proto.Message); ok && m.fast.Encode != nil {
		if b, ok := m.fast.Encode(msg); ok {
			return b, nil
		}
	}
	return m.JSONPb.Marshal(v)
}

// NewMarshaler returns a Marshaler whose responses have the given media
// type.
func NewMarshaler(contentType string) *Marshaler {
	return &Marshaler{
		JSONPb: &runtime.JSONPb{
			// Empty lists, maps and strings are sent; absent messages and
			// optional fields are not.
			MarshalOptions:   protojson.MarshalOptions{EmitDefaultValues: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
		},
		contentType: contentType,
	}
}

// NewStrictMarshaler is NewMarshaler whose requests are decoded by
// UnmarshalStrict, as a Smithy JSON service decodes them.
func NewStrictMarshaler(contentType string) *Marshaler {
	m := NewMarshaler(contentType)
	m.strict = true
	return m
}

// ContentType implements runtime.Marshaler.
func (m *Marshaler) ContentType(any) string { return m.contentType }

// ErrTrailingData reports a body that is not one JSON value, when decoding
// strictly or into something other than a proto message.
var ErrTrailingData = errors.New("the body holds data after its JSON value")

// NewDecoder implements runtime.Marshaler with Decode.
func (m *Marshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error { return m.Decode(r, v) })
}

// Decode reads the whole body r and decodes it into v: an empty body
// decodes as io.EOF (no input), one that is not exactly one JSON value is
// an error.
func (m *Marshaler) Decode(r io.Reader, v any) error {
	var b []byte
	var err error
	if rb, ok := r.(*readBody); ok {
		// The body ReadBody read: nothing decoded keeps the bytes, so
		// they need no copy.
		b = rb.b
	} else if br, ok := r.(*bytes.Reader); ok {
		// grpc-gateway hands over the body it has read: copy it once.
		b = make([]byte, br.Len())
		_, err = io.ReadFull(br, b)
	} else {
		b, err = io.ReadAll(r)
	}
	if err != nil {
		return err
	}
	return m.DecodeBytes(b, v)
}

// DecodeBytes is Decode of a body already read.
func (m *Marshaler) DecodeBytes(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return io.EOF
	}
	msg, isMsg := v.(proto.Message)
	if isMsg && m.fast.Decode != nil && m.fast.Decode(b, msg) {
		return nil
	}
	if isMsg && !m.strict {
		// protojson reads the body once and refuses anything after
		// the value (JSONPb.Unmarshal would parse it twice).
		return m.UnmarshalOptions.Unmarshal(b, msg)
	}
	if !json.Valid(b) {
		var first json.RawMessage
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&first); err != nil {
			return err
		}
		return ErrTrailingData
	}
	if isMsg {
		return unmarshalValid(b, msg)
	}
	return m.JSONPb.Unmarshal(b, v)
}
