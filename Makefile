# Tasks for tagway. `make test` is the whole suite: the product module, then
# the test-only e2e module that drives the real binary with the official
# clients. It needs redis-server on PATH (the tests start their own servers);
# the AWS CLI and boto3 tests run when /usr/bin/aws and python3-boto3 are
# installed, and CI (TAGWAY_E2E_REQUIRE_CLIENTS=1) requires them.

BUF := go tool -modfile=tools/go.mod buf
GOFILES = $(shell git ls-files '*.go' | grep -v '^gen/')

.PHONY: test lint generate check-generated bench bench-store chaos

test:
	go test -race -count=1 ./...
	cd e2e && go test -race -count=1 ./...

lint:
	@test -z "$$(gofmt -l $(GOFILES))" || { echo "gofmt:"; gofmt -l $(GOFILES); exit 1; }
	go vet ./...
	cd e2e && go vet ./...
	$(BUF) lint
	$(BUF) format -d --exit-code

# generate makes gen/ from proto/, then the OpenAPI documents tagway serves
# (internal/openapi/*.json) from gen/openapiv2.
GENERATED = gen/ internal/openapi/aws.json internal/openapi/huawei.json
generate:
	$(BUF) generate
	go run ./internal/openapi/generate

# check-generated fails when what is committed differs from what proto/
# generates.
check-generated: generate
	git diff --exit-code -- $(GENERATED)
	@test -z "$$(git status --porcelain -- $(GENERATED))" || { git status --porcelain -- $(GENERATED); exit 1; }

bench:
	go test -run '^$$' -bench . -benchmem ./...

# chaos runs the fault drills at full length (a few minutes, loopback only;
# they start and stop their own Redis and tagway processes): Redis killed,
# paused and stuck under load, tagway stopped under load, slow and large
# bodies, and Sentinel and Cluster failovers. make test runs them short.
chaos:
	cd e2e && TAGWAY_CHAOS=full go test -count=1 -timeout 15m -run 'Fault|Failover' -v ./...

# bench-store prints the performance table of docs/performance.md: each
# figure against its baseline, measured in the same run, on a redis-server
# it starts. LARGE sets the large store (1000000 by default; a few minutes).
LARGE ?= 1000000
bench-store:
	go run ./cmd/tagway-bench --large $(LARGE)
