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
	if m.ContentType(nil) != "application/x-test" {
		t.Error("ContentType")
	}
	out, err := m.Marshal(&structpb.Struct{})
	if err != nil || string(out) != "{}" {
		t.Errorf("Marshal = %s, %v", out, err)
	}
}
