package calltest

import (
	"io"
	"net/http"
	"testing"
)

func TestCaller(t *testing.T) {
	calls := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/p" || r.URL.Query().Get("q") != "1" || r.Header.Get("X-A") != "b" || r.ContentLength != 4 || r.RemoteAddr == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Calls", "1")
		if calls == 2 {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write(b)
	})
	c := New(h, "/p?q=1", http.Header{"X-A": {"b"}}, "body")
	for i, want := range []int{http.StatusOK, http.StatusCreated, http.StatusOK} {
		w := c.Call()
		if w.Code != want || string(w.Body) != "body" || w.Header().Get("X-Calls") != "1" || len(w.Header()) != 1 {
			t.Fatalf("call %d: %d %q %v", i, w.Code, w.Body, w.Header())
		}
	}
}
