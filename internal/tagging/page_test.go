package tagging

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagstore"
)

// TestEncodedSize checks the page-size estimate against protobuf itself.
func TestEncodedSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		r := tagstore.Resource{Name: "arn:aws:ec2:us-east-1:111111111111:instance/" + strings.Repeat("é", rng.IntN(600))}
		for j := range rng.IntN(60) {
			r.Tags = append(r.Tags, tagstore.Tag{Key: fmt.Sprint("k", j, strings.Repeat("x", rng.IntN(200))), Value: strings.Repeat("v", rng.IntN(3)*rng.IntN(300))})
		}
		want := proto.Size(&tagwayv1.ListResourcesResponse{Resources: toProto([]tagstore.Resource{r})})
		if got := encodedSize(r); got != want {
			t.Fatalf("case %d: encodedSize = %d, proto.Size = %d", i, got, want)
		}
	}
}
