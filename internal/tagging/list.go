package tagging

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/proto"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// fingerprint identifies a list request without its paging fields, and the
// caller it is made for, so a page token is only accepted with the request,
// and from the caller, that earned it.
func fingerprint(ctx context.Context, req proto.Message, clearPaging func(proto.Message)) []byte {
	c := proto.Clone(req)
	clearPaging(c)
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	return append([]byte(string(req.ProtoReflect().Descriptor().FullName())+"\x00"+grantOf(ctx).Subject+"\x00"), b...)
}

// namespaceBatch is how many namespaces one registry read returns.
const namespaceBatch = 512

// namespaces calls visit with the namespaces the scopes select, in order,
// from the first not less than from, until visit returns false.
func (s *Service) namespaces(ctx context.Context, sc []arn.Scope, from string, visit func(arn.Namespace) bool) error {
	prefix := arn.Prefix(sc)
	g := grantOf(ctx)
	for {
		batch, err := s.store.Namespaces(ctx, prefix, from, namespaceBatch)
		if err != nil {
			return err
		}
		for _, ns := range batch {
			if arn.MatchAny(sc, ns) && g.allows(ns) && !visit(ns) {
				return nil
			}
		}
		if len(batch) < namespaceBatch {
			return nil
		}
		from = tagstore.Successor(batch[len(batch)-1].Key())
	}
}

func (s *Service) storeFailed(ctx context.Context, err error) error {
	s.log.LogAttrs(ctx, slog.LevelWarn, "tag store read failed", slog.Any("error", err))
	return errStoreUnavailable
}
