#!/usr/bin/make -f
# Stratus: every developer task has a target here. `make help` lists them.

BUILDDIR    ?= $(CURDIR)/build
TOOLSDIR    := $(BUILDDIR)/tools
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
GO          ?= go

BUF_VERSION     := v1.64.0
GOGOPROTO_VERSION := v1.7.2
GATEWAY_VERSION := v1.16.0

ldflags := -X github.com/cosmos/cosmos-sdk/version.Name=stratus \
	-X github.com/cosmos/cosmos-sdk/version.AppName=stratusd \
	-X github.com/cosmos/cosmos-sdk/version.Version=$(VERSION) \
	-X github.com/cosmos/cosmos-sdk/version.Commit=$(COMMIT)
BUILD_FLAGS := -ldflags '$(ldflags)'

.PHONY: all help build install examples test test-unit test-e2e test-race bench bench-client bench-storage bench-compute lint vet fmt \
	proto-tools proto-gen proto-check proto-lint localnet localnet-stop localnet-reset demo clean

all: build

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build build/stratusd, build/stratus-provider and build/stratus-gateway
	@mkdir -p $(BUILDDIR)
	$(GO) build $(BUILD_FLAGS) -o $(BUILDDIR)/stratusd ./cmd/stratusd
	$(GO) build $(BUILD_FLAGS) -o $(BUILDDIR)/stratus-provider ./cmd/stratus-provider
	$(GO) build $(BUILD_FLAGS) -o $(BUILDDIR)/stratus-gateway ./cmd/stratus-gateway

build-arm64: ## build build/arm64/stratus-provider for 64-bit ARM boards and phones (pure Go, no cgo)
	@mkdir -p $(BUILDDIR)/arm64
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o $(BUILDDIR)/arm64/stratus-provider ./cmd/stratus-provider

EXAMPLES := wordcount sha256sum testprog

examples: ## build the example compute programs into build/examples/*.wasm (wasip1)
	@mkdir -p $(BUILDDIR)/examples
	@for p in $(EXAMPLES); do \
		echo "GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(BUILDDIR)/examples/$$p.wasm ./examples/$$p"; \
		GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(BUILDDIR)/examples/$$p.wasm ./examples/$$p || exit 1; \
	done

install: ## install stratusd and stratus-provider into GOBIN
	$(GO) install $(BUILD_FLAGS) ./cmd/stratusd ./cmd/stratus-provider

test: ## unit, keeper, app and e2e tests (what CI runs)
	$(GO) test -count=1 -timeout 30m ./...

test-unit: ## everything but the real-process e2e tests
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /tests/e2e)

test-e2e: build ## real-process tests (validators and CLI on loopback)
	$(GO) test -count=1 -v -timeout 20m ./tests/e2e/...

bench: ## benchmarks; see docs/benchmarks.md
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-client: build ## client sealing (encrypt + hash) against sha256sum, 1 GiB
	./scripts/bench-client.sh

bench-storage: build ## storage put/get of 1 GiB on a localnet against plain HTTP
	./scripts/bench-storage.sh

bench-compute: ## wordcount and sha256sum over 256 MiB: wasm in the executor against native
	./scripts/bench-compute.sh

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

lint: vet ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

proto-tools: ## install the pinned protobuf tools into build/tools
	@mkdir -p $(TOOLSDIR)
	GOBIN=$(TOOLSDIR) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(TOOLSDIR) $(GO) install github.com/cosmos/gogoproto/protoc-gen-gocosmos@$(GOGOPROTO_VERSION)
	GOBIN=$(TOOLSDIR) $(GO) install github.com/grpc-ecosystem/grpc-gateway/protoc-gen-grpc-gateway@$(GATEWAY_VERSION)

proto-gen: ## regenerate Go code from proto/
	@[ -x $(TOOLSDIR)/buf ] && [ -x $(TOOLSDIR)/protoc-gen-gocosmos ] && [ -x $(TOOLSDIR)/protoc-gen-grpc-gateway ] || $(MAKE) proto-tools
	./scripts/protocgen.sh

proto-lint: ## buf lint
	$(TOOLSDIR)/buf lint --path proto/stratus

proto-check: proto-gen ## fail when committed generated code is stale
	@if [ -n "$$(git status --porcelain -- x/ | grep -E '\.pb(\.gw)?\.go$$')" ]; then \
		echo "generated protobuf code is stale; run 'make proto-gen' and commit:"; \
		git status --porcelain -- x/ | grep -E '\.pb(\.gw)?\.go$$'; exit 1; fi
	@echo "generated protobuf code is current"

localnet: build ## start a local chain (VALIDATORS=4 for a BFT set)
	VALIDATORS_SET=$(VALIDATORS) ./scripts/localnet.sh start

demo: build examples ## on the localnet: put a file 6+3, kill 3 providers, get it back, watch repair; run a wordcount job
	./scripts/demo.sh

localnet-stop: ## stop the local chain
	./scripts/localnet.sh stop

localnet-reset: ## stop the local chain and delete its data
	./scripts/localnet.sh reset

clean: ## remove build outputs
	rm -rf $(BUILDDIR)
