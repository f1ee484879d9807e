package tagging

import (
	"strings"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/pagetoken"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/watch"
)

// FuzzResumeToken: any string decodes to a position or an error, never a
// panic; what decodes is at or after the signed checkpoint it starts with.
func FuzzResumeToken(f *testing.F) {
	s := &Service{watchTokens: pagetoken.New([]byte("k"), time.Hour)}
	query := []byte("q")
	cp := &watch.Position{Base: tagstore.Pos{Ms: 100}, Groups: map[string]tagstore.Pos{"aws:us-east-1:111111111111": {Ms: 120}}}
	tokens := resumeTokens{codec: s.watchTokens, query: pagetoken.HashQuery(query)}
	signed := tokens.of(watch.Mark{Checkpoint: cp})
	f.Add(signed)
	f.Add(tokens.of(watch.Mark{Checkpoint: cp, Moved: []watch.GroupPos{{Group: "aws:eu-west-1:111111111111", Pos: tagstore.Pos{Ms: 130, Seq: 2}}}}))
	f.Add("")
	f.Add(".")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.decodeResumeToken(tok, query)
		if err != nil {
			return
		}
		for g, q := range p.Groups {
			if !p.Base.Less(q) {
				t.Fatalf("%q: group %s at %v, not after the base %v", tok, g, q, p.Base)
			}
		}
		// Whatever follows a checkpoint, the position is at or after it.
		if head, _, _ := strings.Cut(tok, movesSep); head == signed {
			if p.Base != cp.Base {
				t.Fatalf("%q: base %v, the checkpoint's is %v", tok, p.Base, cp.Base)
			}
			for g, q := range cp.Groups {
				if p.Groups[g].Less(q) {
					t.Fatalf("%q: group %s went back to %v from %v", tok, g, p.Groups[g], q)
				}
			}
		}
	})
}
