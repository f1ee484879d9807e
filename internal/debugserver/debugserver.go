// Package debugserver serves net/http/pprof on its own listener, for
// profiling on demand. It is off unless an address is given, and listens
// only on loopback or a Unix socket unless told otherwise: profiles show
// the process's internals, and some endpoints cost CPU.
package debugserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"

	"github.com/tagway/tagway/internal/listen"
)

// Listen listens on addr, refusing an address that is not loopback (a
// Unix socket is fine) unless allowRemote.
func Listen(addr string, allowRemote bool) (net.Listener, error) {
	if _, unix := listen.SocketPath(addr); !unix && !allowRemote {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ip, err := netip.ParseAddr(host)
		if host != "localhost" && (err != nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("%q is not a loopback address: profiles would be open to the network (use 127.0.0.1:PORT, a unix:// socket, or --debug-allow-remote)", addr)
		}
	}
	return listen.Listen(addr)
}

// Handler serves the pprof endpoints under /debug/pprof/.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Serve serves Handler on l until ctx is done.
func Serve(ctx context.Context, l net.Listener, log *slog.Logger) {
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("debug server stopped", "error", err)
	}
}
