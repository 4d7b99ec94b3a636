# loadgate: build, try, test and measure. `make help` lists the targets.
SHELL   := bash
GO      ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 20s
FLAKY_COUNT ?= 10
FLAKY_PKGS ?= ./...

.PHONY: all build demo test flaky vet fmt-check bench soak fuzz clean help image

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

test: vet fmt-check ## vet, gofmt check, every test with -race, then the ...NoRace tests without it
	$(GO) test -race -count=1 -p 1 -timeout 20m ./...
	@# Tests that cannot run under the race detector (timing, allocations,
	@# the mini-soak of docs/reliability.md) are named ...NoRace: they skip
	@# under -race and this pass runs exactly them (TestNoRaceNaming checks
	@# the rule), one package and one test at a time.
	set -o pipefail; $(GO) test -count=1 -p 1 -timeout 10m -run 'NoRace$$' -v ./... | grep -E '_test\.go:|^(ok|FAIL|--- |panic)'

flaky: ## hunt flaky tests: FLAKY_COUNT (10) runs of each package of FLAKY_PKGS (./...), with and without -race, the other core busy (.ci/flaky)
	FLAKY_COUNT=$(FLAKY_COUNT) FLAKY_PKGS='$(FLAKY_PKGS)' bash .ci/flaky

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
