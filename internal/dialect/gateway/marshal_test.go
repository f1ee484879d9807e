package gateway

import (
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

func TestDecode(t *testing.T) {
	m := NewMarshaler("application/x-test")
	for _, tc := range []struct {
		body string
		want error // nil: decodes
		fail bool
	}{
		{`{"a":1}`, nil, false},
		{"  {\"a\":1}\n", nil, false},
		{``, io.EOF, true},
		{" \n", io.EOF, true},
		{`{"a":1} trailing`, nil, true},
		{`{"a":1}{"b":2}`, nil, true},
		{`{"a":`, nil, true},
	} {
		var v structpb.Struct
		err := m.NewDecoder(strings.NewReader(tc.body)).Decode(&v)
		if (err != nil) != tc.fail || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("Decode(%q) = %v", tc.body, err)
		}
	}
	// Not a proto message (the gateway decodes a body member through a
	// pointer): syntax errors and trailing data are told apart.
	var inner *structpb.Struct
	if err := m.NewDecoder(strings.NewReader(`{"a":`)).Decode(&inner); err == nil || errors.Is(err, ErrTrailingData) {
		t.Errorf("truncated body: %v", err)
	}
	if err := m.NewDecoder(strings.NewReader(`{} x`)).Decode(&inner); !errors.Is(err, ErrTrailingData) {
		t.Errorf("trailing data: %v", err)
	}
	if err := m.NewDecoder(strings.NewReader(`{"a":1}`)).Decode(&inner); err != nil || inner.GetFields()["a"].GetNumberValue() != 1 {
		t.Errorf("valid body: %v %v", inner, err)
	}
	if m.ContentType(nil) != "application/x-test" {
		t.Error("ContentType")
	}
	out, err := m.Marshal(&structpb.Struct{})
	if err != nil || string(out) != "{}" {
		t.Errorf("Marshal = %s, %v", out, err)
	}
}
