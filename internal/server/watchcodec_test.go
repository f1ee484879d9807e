package server

import (
	"bytes"
	"fmt"
	"testing"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
)

func change(i int) *tagwayv1.TagChange {
	return &tagwayv1.TagChange{
		Resource:  fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d", i),
		Added:     []*tagwayv1.Tag{{Key: "env", Value: "prod"}},
		Changed:   []*tagwayv1.ChangedTag{{Key: "team", OldValue: "a", NewValue: "b"}},
		Removed:   []*tagwayv1.Tag{{Key: "gone", Value: ""}},
		Tags:      []*tagwayv1.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "b"}},
		Time:      timestamppb.New(timestamppb.Now().AsTime()),
		Surface:   "aws",
		Operation: "TagResources",
		RequestId: "r",
		Id:        fmt.Sprintf("aws:us-east-1:111111111111/%d-0", i),
	}
}

// TestSharedChangesCodec: the codec writes WatchTagChanges messages byte
// for byte as proto.Marshal does, from its kept encodings and after they
// are evicted, and passes other messages on.
func TestSharedChangesCodec(t *testing.T) {
	c := &sharedChangesCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name)}
	shared := []*tagwayv1.TagChange{change(1), change(2), {}}
	big := &tagwayv1.WatchTagChangesResponse{ResumeToken: "t"}
	for i := range 300 { // past gRPC's pooling threshold
		big.Changes = append(big.Changes, &tagwayv1.WatchedChange{Change: shared[i%2], ResumeToken: fmt.Sprint("tok-", i)})
	}
	msgs := []proto.Message{
		&tagwayv1.WatchTagChangesResponse{ResumeToken: "progress"},
		&tagwayv1.WatchTagChangesResponse{ResumeToken: "b", Changes: []*tagwayv1.WatchedChange{{Change: shared[0], ResumeToken: "a"}, {Change: shared[1], ResumeToken: "b"}}},
		&tagwayv1.WatchTagChangesResponse{Changes: []*tagwayv1.WatchedChange{{Change: shared[2]}, {ResumeToken: "no change"}, {}}},
		big,
		&tagwayv1.UntagResourcesResponse{},
	}
	check := func(round string) {
		for i, m := range msgs {
			want, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Marshal(m)
			if err != nil {
				t.Fatalf("%s, message %d: %v", round, i, err)
			}
			if b := got.Materialize(); !bytes.Equal(b, want) {
				t.Fatalf("%s, message %d: the codec wrote %x, proto.Marshal %x", round, i, b, want)
			}
			got.Free()
		}
	}
	check("first")
	check("from kept encodings")
	for i := range changeShards * changesPerShard * 2 { // evict them all
		if _, err := c.changes.of(change(1000 + i)); err != nil {
			t.Fatal(err)
		}
	}
	check("after eviction")
	kept := 0
	for i := range c.changes.shards {
		if n := len(c.changes.shards[i].m); n > changesPerShard {
			t.Fatalf("shard %d keeps %d encodings", i, n)
		} else {
			kept += n
		}
	}
	if kept == 0 {
		t.Fatal("nothing kept")
	}
}

func BenchmarkSharedChangesCodec(b *testing.B) {
	m := &tagwayv1.WatchTagChangesResponse{ResumeToken: "t"}
	for i := range 64 {
		m.Changes = append(m.Changes, &tagwayv1.WatchedChange{Change: change(i), ResumeToken: fmt.Sprint("token-", i)})
	}
	for _, bc := range []struct {
		name  string
		codec encoding.CodecV2
	}{
		{"proto", encoding.GetCodecV2(grpcproto.Name)},
		{"shared", &sharedChangesCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				out, err := bc.codec.Marshal(m)
				if err != nil {
					b.Fatal(err)
				}
				out.Free()
			}
		})
	}
}
