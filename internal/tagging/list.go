package tagging

import (
	"context"
	"log/slog"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/tagway/tagway/internal/arn"
)

// fingerprint identifies a list request without its paging fields, so a
// page token is only accepted with the request that earned it.
func fingerprint(req proto.Message, clearPaging func(proto.Message)) []byte {
	c := proto.Clone(req)
	clearPaging(c)
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	return append([]byte(string(req.ProtoReflect().Descriptor().FullName())+"\x00"), b...)
}

// namespaces returns the namespaces the scopes select, in order.
func (s *Service) namespaces(ctx context.Context, sc []arn.Scope) ([]arn.Namespace, error) {
	all, err := s.store.Namespaces(ctx, arn.Prefix(sc))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(ns arn.Namespace) bool { return !arn.MatchAny(sc, ns) }), nil
}

func (s *Service) storeFailed(ctx context.Context, err error) error {
	s.log.LogAttrs(ctx, slog.LevelWarn, "tag store read failed", slog.Any("error", err))
	return storeError(err)
}
