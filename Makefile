# loadgate: build, try, test and measure. `make help` lists the targets.
SHELL   := bash
GO      ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 20s

.PHONY: all build demo test vet fmt-check bench soak fuzz clean help image

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-10s %s\n", $$1, $$2 }'

# CGO_ENABLED=0: the static binary the Docker image ships (TestStaticBuild),
# and 2 MB less resident memory than one linked to libc.
build: ## build bin/loadgate (static)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/loadgate ./cmd/loadgate

demo: build ## run examples/demo.yaml against the built-in target; report in out/demo.json
	mkdir -p out
	./bin/loadgate demo -o json=out/demo.json

vet: ## go vet
	$(GO) vet ./...

fmt-check: ## fail when a Go file is not gofmt'ed
	@files="$$(find . -name '*.go' -not -path './.git/*' -not -path './out/*' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l)"; \
	if [ -n "$$files" ]; then echo "not gofmt'ed (run gofmt -w):"; echo "$$files"; exit 1; fi

test: vet fmt-check ## vet, gofmt check, every test with -race, then the timing tests without it
	$(GO) test -race -count=1 -p 1 -timeout 20m ./...
	@# The race detector slows loopback requests several-fold; timing tests
	@# skip under it and run here on their own, without it.
	$(GO) test -count=1 -timeout 5m -run 'TestStall|TestSendDoesNotAllocate|TestClockWaitDoesNotAllocate' ./engine/
	@# The 90 s mini-soak (RELIABILITY row 23): heap, RSS, goroutines and fds
	@# flat at 2000 req/s; alone, so that it neither slows nor is slowed by
	@# the other tests.
	set -o pipefail; $(GO) test -count=1 -timeout 5m -run 'TestMiniSoak' -v ./engine/ | grep -E 'soak_test|^(ok|FAIL|---)'

bench: ## Go benchmarks, then the wrk/nginx comparison (bench/run.sh)
	$(GO) test -run '^$$' -bench . -benchmem ./...
	bash bench/run.sh

soak: ## long-running soak tests (build tag soak): the engine mini-soak for 30 minutes
	$(GO) test -run Soak -tags soak -count=1 -timeout 40m -v ./engine/

fuzz: ## every Fuzz target for $(FUZZTIME) each
	@set -euo pipefail; \
	for pkg in $$($(GO) list ./...); do \
		list="$$($(GO) test -list '^Fuzz' "$$pkg")"; \
		for f in $$(grep '^Fuzz' <<<"$$list" || true); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

IMAGE ?= loadgate:$(VERSION)

image: ## build the container image (Dockerfile) where a Docker engine runs; the static build itself is tested in make test
	@if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
		echo "make image: no Docker engine here: skipping (the static build is checked by TestStaticBuild in make test)"; \
		exit 0; \
	fi; \
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) . && \
	docker build --build-arg VERSION=$(VERSION) --target ci -t $(IMAGE)-ci . && \
	docker run --rm $(IMAGE) version

clean: ## remove build and run outputs
	rm -rf bin out
