# Rookery's entry points. `make test` is what CI runs (through .ci/run); every target installs
# what it needs first, and only what is missing.

CARGO ?= cargo
FUZZ_SECONDS ?= 20
BENCH_ARGS ?=

.PHONY: setup run test bench bench-peers fuzz fmt clean

## setup: install what the build needs and is missing (idempotent, quick the second time).
setup:
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust with rustup" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	@$(CARGO) fetch --locked >/dev/null 2>&1 || $(CARGO) fetch

## run: start Rookery. Until the desktop app lands, this builds the `rookery` command and shows
## its help; use it as `cargo run -p rookery -- post "hello"` or `target/debug/rookery ...`.
run: setup
	$(CARGO) run --locked -p rookery -- --help

## test: formatting, lints with warnings as errors, and every test of the workspace.
test: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) test --workspace --locked

## bench: the side-by-side benchmarks (release build); prints ratios. BENCH_ARGS=--json for JSON.
## The sync scenario runs against two peers installed here first: the real SSB stack (npm, pinned
## in bench/ssb/package-lock.json) and an iroh-docs peer (its own cargo project).
bench: setup bench-peers
	$(CARGO) run --release --locked -p rookery-bench -- tree $(BENCH_ARGS)
	$(CARGO) run --release --locked -p rookery-bench -- feeds $(BENCH_ARGS)
	$(CARGO) run --release --locked -p rookery-bench -- sync $(BENCH_ARGS)

bench-peers:
	@command -v node >/dev/null || { echo "node is missing: apt install nodejs npm" >&2; exit 1; }
	cd bench/ssb && { test -d node_modules || npm ci --no-audit --no-fund; }
	$(CARGO) build --release --locked --manifest-path bench/iroh-docs/Cargo.toml

## fuzz: a short run of every fuzz target (cargo-fuzz with libFuzzer, on the stable toolchain).
fuzz: setup
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in node_decode range_proof tree_ops feed_decode bundle_decode frame_decode; do \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
