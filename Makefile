# hpc-auth developer targets. `make test` is what CI runs (.ci/run).
GO       ?= go
FUZZTIME ?= 10s

.PHONY: test build install demo bench fuzz

# Real sshd, gnome-keyring, pty: install-test-deps.sh makes sure they exist (a missing
# component fails the tests, it is never skipped).
test:
	scripts/install-test-deps.sh
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Two binaries, installed side by side: hpc-auth answers the fast path and
# execs hpc-auth-engine for the rest. CGO off: static binaries start faster.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/hpc-auth ./cmd/hpc-auth
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/hpc-auth-engine ./cmd/hpc-auth-engine

PREFIX ?= $(HOME)/.local
install: build
	install -d $(PREFIX)/bin
	install -m 0755 bin/hpc-auth bin/hpc-auth-engine $(PREFIX)/bin/

# The whole flow against built-in fakes (examples/demo): builds both binaries into a
# private temp dir, runs fake key services in-process and, when installed, a real sshd.
# Takes up to ~35 s: it waits once for a fresh TOTP time step.
demo:
	GO="$(GO)" $(GO) run ./examples/demo

# Placeholder: scripts/bench-fastpath.sh (Go fast path vs the AiiDA-docs bash baseline).
bench:
	bash scripts/bench-fastpath.sh

# Every FuzzXxx target in the repo, FUZZTIME each (go test -fuzz takes one target at a time).
fuzz:
	GO="$(GO)" FUZZTIME="$(FUZZTIME)" scripts/fuzz-all.sh
