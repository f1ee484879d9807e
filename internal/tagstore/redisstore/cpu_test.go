package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagstore"
)

func scriptUsec(t *testing.T, srv *redistest.Server) (calls, usec int) {
	info, _ := srv.Do("INFO", "commandstats")
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "cmdstat_evalsha:") || strings.HasPrefix(line, "cmdstat_eval:") {
			for _, f := range strings.Split(strings.TrimSpace(strings.SplitN(line, ":", 2)[1]), ",") {
				k, v, _ := strings.Cut(f, "=")
				n, _ := strconv.Atoi(v)
				switch k {
				case "calls":
					calls += n
				case "usec":
					usec += n
				}
			}
		}
	}
	return
}

func TestCPUPerResource(t *testing.T) {
	srv := redistest.Run(t)
	s := open(t, srv.URL())
	ctx := context.Background()
	keys := []string{"a", "b", "c", "d", "e"}
	mk := func(round, i int) tagstore.Change {
		c := tagstore.Change{Resource: mustParse(t, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d-%d", round, i)), Set: map[string]string{}}
		for _, k := range keys {
			c.Set[k] = "v" + k
		}
		return c
	}
	for _, batch := range []int{1, 20} {
		_, u0 := scriptUsec(t, srv)
		n := 0
		for round := range 200 {
			var cs []tagstore.Change
			for i := range batch {
				cs = append(cs, mk(round, i))
			}
			for _, err := range s.Apply(ctx, cs) {
				if err != nil {
					t.Fatal(err)
				}
			}
			n += batch
		}
		_, u1 := scriptUsec(t, srv)
		for round := range 200 {
			var cs []tagstore.Change
			for i := range batch {
				cs = append(cs, tagstore.Change{Resource: mk(round, i).Resource, Remove: keys})
			}
			for _, err := range s.Apply(ctx, cs) {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		_, u2 := scriptUsec(t, srv)
		t.Logf("batch %d: tag %.1f us/resource, untag %.1f us/resource", batch, float64(u1-u0)/float64(n), float64(u2-u1)/float64(n))
		srv.Do("FLUSHALL")
	}
}
