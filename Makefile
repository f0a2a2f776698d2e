# Rookery's entry points. `make test` is what CI runs (through .ci/run); every target installs
# what it needs first, and only what is missing.

CARGO ?= cargo
FUZZ_SECONDS ?= 20
BENCH_ARGS ?=

.PHONY: setup ui run demo serve test screenshots package bench bench-peers fuzz fmt clean

# System packages the desktop app and the browser tests need (Debian names).
APT_PACKAGES := libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev build-essential pkg-config \
	xvfb imagemagick xdotool chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

## setup: install what the build needs and is missing (idempotent, quick the second time).
setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
		command -v npm >/dev/null || echo nodejs npm); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust with rustup" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	@$(CARGO) fetch --locked >/dev/null 2>&1 || $(CARGO) fetch
	@cd ui && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }
	@cd bench/ssb && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }

## ui: build the web UI into ui/dist (the desktop app embeds it; `rookery serve` serves it).
ui: setup
	cd ui && npm run build

## run: start the desktop app (building the UI first). Binaries are built with --workspace, as
## everywhere, so the build is shared with `make test` (a -p build unifies features differently).
run: ui
	$(CARGO) build --workspace --bins --locked
	target/debug/rookery-desktop

## demo: start the desktop app with the demo network (five local peers with history).
demo: ui
	$(CARGO) build --workspace --bins --locked
	target/debug/rookery-desktop --demo

## serve: run the headless node with the web UI on http://127.0.0.1:7777 (the URL to open,
## with its token, is printed).
serve: ui
	$(CARGO) build --workspace --bins --locked
	target/debug/rookery serve --http 127.0.0.1:7777

## test: formatting, lints with warnings as errors, every Rust test, the UI's type check and unit
## tests (among them a seconds-long run of every bench scenario, the real SSB stack included),
## the end-to-end tests in Chromium against two real `rookery serve` nodes, a smoke test of the
## desktop window under Xvfb, and the .deb of that same debug build, installed and started. One
## debug build serves all of them.
test: ui
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	ROOKERY_BENCH_SSB=1 $(CARGO) test --workspace --locked
	$(CARGO) build --workspace --bins --locked
	cd ui && npm run check && npm test
	cd ui && ROOKERY_BIN=$(CURDIR)/target/debug/rookery npm run e2e
	scripts/desktop-smoke.sh target/debug/rookery-desktop
	scripts/package-smoke.sh

## screenshots: Home, Thread and Notifications with demo data (the e2e run's last step), into docs/.
screenshots: ui
	$(CARGO) build --workspace --bins --locked
	cd ui && ROOKERY_BIN=$(CURDIR)/target/debug/rookery node e2e/screenshots.mjs ../docs

## package: the .deb (Tauri's bundler): the desktop app and the `rookery` command, icons, desktop
## entry, its dependencies (WebKitGTK, GTK) declared. A stripped build: the release profile keeps
## line tables for the benchmarks. Install with `apt install ./target/release/bundle/deb/Rookery_*.deb`.
package: ui
	CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
		$(CARGO) build --release --locked --workspace --bins
	CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
		ui/node_modules/.bin/tauri build --bundles deb
	@ls -1 target/release/bundle/deb/*.deb

## bench: the side-by-side benchmarks (release build); prints ratios. BENCH_ARGS=--json for JSON.
## The sync scenario runs against two peers installed here first: the real SSB stack (npm, pinned
## in bench/ssb/package-lock.json) and an iroh-docs peer (its own cargo project).
bench: setup bench-peers
	$(CARGO) run --release --locked -p rookery-bench -- tree $(BENCH_ARGS)
	$(CARGO) run --release --locked -p rookery-bench -- feeds $(BENCH_ARGS)
	$(CARGO) run --release --locked -p rookery-bench -- sync $(BENCH_ARGS)
	$(CARGO) run --release --locked -p rookery-bench -- onboard $(BENCH_ARGS)

bench-peers: setup
	$(CARGO) build --release --locked --manifest-path bench/iroh-docs/Cargo.toml

## fuzz: a short run of every fuzz target (cargo-fuzz with libFuzzer, on the stable toolchain).
fuzz: setup
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in node_decode range_proof tree_ops feed_decode bundle_decode frame_decode sync_verify image_normalize; do \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
