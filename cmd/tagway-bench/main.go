// Command tagway-bench measures tagway against its own baselines on a
// redis-server it starts and stops (see package bench), and prints the
// table docs/performance.md quotes. It needs redis-server on PATH.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/tagway/tagway/internal/bench"
)

func main() {
	var cfg bench.Config
	flag.IntVar(&cfg.Groups, "groups", 5000, "accounts (groups), and types in one account, for the listing rows")
	flag.IntVar(&cfg.Small, "small", 10000, "stored resources of the small store")
	flag.IntVar(&cfg.Large, "large", 1000000, "stored resources of the large store")
	flag.DurationVar(&cfg.Duration, "duration", 3*time.Second, "how long each throughput figure runs")
	only := flag.String("only", "", "comma-separated parts to run, of "+strings.Join(bench.Parts, ", ")+"; all when empty")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	// The watchers part runs its watch clients in a child: this program
	// with -watch-client.
	watchClient := flag.String("watch-client", "", "(internal) run as the watchers part's watch client of this gRPC address")
	watchAll := flag.Bool("watch-all", false, "(internal) with -watch-client: watch every change")
	flag.Parse()
	if *watchClient != "" {
		if err := bench.WatchClient(*watchClient, *watchAll, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "tagway-bench watch client:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tagway-bench:", err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "tagway-bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
		for _, p := range cfg.Only {
			if !slices.Contains(bench.Parts, p) {
				fmt.Fprintf(os.Stderr, "tagway-bench: --only: no part %q; parts are %s\n", p, strings.Join(bench.Parts, ", "))
				os.Exit(2)
			}
		}
	}
	if cfg.Groups < 5 || cfg.Small < 1000 || cfg.Large < cfg.Small || cfg.Duration <= 0 {
		fmt.Fprintln(os.Stderr, "tagway-bench: want --groups >= 5, --small >= 1000, --large >= --small and a positive --duration")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := bench.Run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "tagway-bench:", err)
		os.Exit(1)
	}
}
