# Tasks for tagway. `make test` is the whole suite; it needs redis-server on
# PATH (the tests start their own servers) and nothing else.

BUF := go tool -modfile=tools/go.mod buf

.PHONY: test lint generate check-generated bench

test:
	go test -race ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); exit 1; }
	go vet ./...
	$(BUF) lint
	$(BUF) format -d --exit-code

generate:
	$(BUF) generate

# check-generated fails when gen/ differs from what proto/ generates.
check-generated: generate
	git diff --exit-code -- gen/
	@test -z "$$(git status --porcelain -- gen/)" || { git status --porcelain -- gen/; exit 1; }

bench:
	go test -run '^$$' -bench . -benchmem ./...
