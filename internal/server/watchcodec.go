package server

import (
	"hash/maphash"
	"sync"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
)

// sharedChangesCodec is a codec that encodes the changes of
// WatchTagChanges messages once for every watcher. The core hands every
// watcher of a change the same TagChange (and never changes it), so
// encoding each message whole would encode each change once per watcher;
// with many watchers of the same changes that was about a third of a
// delivery's cost. The codec keeps the encoding of recent changes, by
// message, and writes a message from them, byte for byte what proto.Marshal
// writes. Other messages go to the codec it wraps.
type sharedChangesCodec struct {
	encoding.CodecV2
	changes changeEncodings
}

func (c *sharedChangesCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*tagwayv1.WatchTagChangesResponse)
	if !ok || len(m.GetChanges()) == 0 || len(m.ProtoReflect().GetUnknown()) > 0 {
		return c.CodecV2.Marshal(v)
	}
	encs := make([][]byte, len(m.Changes))
	size := stringFieldSize(2, m.ResumeToken)
	for i, wc := range m.Changes {
		if wc == nil || len(wc.ProtoReflect().GetUnknown()) > 0 {
			return c.CodecV2.Marshal(v)
		}
		if wc.Change != nil {
			e, err := c.changes.of(wc.Change)
			if err != nil {
				return nil, err
			}
			encs[i] = e
		}
		size += protowire.SizeTag(3) + protowire.SizeBytes(watchedChangeSize(encs[i], wc))
	}
	var out mem.BufferSlice
	if mem.IsBelowBufferPoolingThreshold(size) {
		b := appendWatch(make([]byte, 0, size), m, encs)
		out = append(out, mem.SliceBuffer(b))
	} else {
		pool := mem.DefaultBufferPool()
		buf := pool.Get(size)
		*buf = appendWatch((*buf)[:0], m, encs)
		out = append(out, mem.NewBuffer(buf, pool))
	}
	return out, nil
}

// appendWatch appends the encoding of m, whose changes' encodings are
// encs, in field order as proto.Marshal writes it.
func appendWatch(b []byte, m *tagwayv1.WatchTagChangesResponse, encs [][]byte) []byte {
	b = appendStringField(b, 2, m.ResumeToken)
	for i, wc := range m.Changes {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(watchedChangeSize(encs[i], wc)))
		if wc.Change != nil {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, encs[i])
		}
		b = appendStringField(b, 2, wc.ResumeToken)
	}
	return b
}

// watchedChangeSize is the encoded size of wc, whose change encodes to enc.
func watchedChangeSize(enc []byte, wc *tagwayv1.WatchedChange) int {
	n := stringFieldSize(2, wc.ResumeToken)
	if wc.Change != nil {
		n += protowire.SizeTag(1) + protowire.SizeBytes(len(enc))
	}
	return n
}

// stringFieldSize is the encoded size of a string field; an empty one is
// not written.
func stringFieldSize(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// changeEncodings keeps the encodings of the last changes encoded, by
// message. It holds each message it keeps, so no other message can be made
// at its address while its entry lives.
type changeEncodings struct {
	shards [changeShards]changeShard
}

// changeSeed spreads changes over the shards.
var changeSeed = maphash.MakeSeed()

const (
	changeShards = 16
	// changesPerShard bounds the encodings kept: 16 × 512 changes, a few
	// megabytes, a hundred watchers' worth of recent changes.
	changesPerShard = 512
)

type changeShard struct {
	mu   sync.Mutex
	m    map[*tagwayv1.TagChange][]byte
	ring [changesPerShard]*tagwayv1.TagChange // the keys of m, oldest at next once full
	next int
}

// of returns the encoding of c.
func (e *changeEncodings) of(c *tagwayv1.TagChange) ([]byte, error) {
	s := &e.shards[maphash.Comparable(changeSeed, c)%changeShards]
	s.mu.Lock()
	b, ok := s.m[c]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := proto.Marshal(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[c]; ok { // encoded meanwhile by another watcher
		return b, nil
	}
	if s.m == nil {
		s.m = make(map[*tagwayv1.TagChange][]byte, changesPerShard)
	}
	if old := s.ring[s.next]; old != nil {
		delete(s.m, old)
	}
	s.ring[s.next], s.next = c, (s.next+1)%changesPerShard
	s.m[c] = b
	return b, nil
}
