package memstore_test

import (
	"testing"

	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/tagstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) tagstore.Store { return memstore.New() })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(*testing.B) tagstore.Store { return memstore.New() })
}
