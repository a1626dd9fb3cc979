# datacosmos-auth: `make demo` runs the main job, `make test` the whole suite.
# Each target installs and builds what it needs; `make setup` is idempotent.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

WASM_BINDGEN_VERSION := 0.2.130
TOOLS := $(CURDIR)/.tools
WASM_BINDGEN := $(TOOLS)/bin/wasm-bindgen
WASM_OPT := node_modules/.bin/wasm-opt
ESBUILD := node_modules/.bin/esbuild
TARGET_WASM := target/wasm32-unknown-unknown/release/datacosmos_auth.wasm
PKG_WASM := pkg/datacosmos_auth_bg.wasm
export PATH := $(TOOLS)/bin:$(PATH)

.PHONY: setup setup-system build demo test test-rust test-wasm test-node test-publish test-runtimes test-browser test-store bench lint size clean

setup: $(WASM_BINDGEN) node_modules/.installed
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# The CLI must match the wasm-bindgen crate exactly (Cargo.toml pins it with `=`).
$(WASM_BINDGEN):
	@if ! "$(WASM_BINDGEN)" --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)"; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into $(TOOLS) (about 4 minutes)"; \
	  cargo install wasm-bindgen-cli --version "=$(WASM_BINDGEN_VERSION)" --root "$(TOOLS)" --quiet; \
	fi

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The licences and the changelog go into the tarball next to pkg/README.md.
PKG_DOCS := pkg/LICENSE-MIT pkg/LICENSE-APACHE pkg/CHANGELOG.md

build: setup $(PKG_WASM) pkg/.packaged $(PKG_DOCS)

# scripts/package.mjs completes pkg/ from the glue and the hand-written modules (the
# CommonJS copies, the bundled Node.js entry pkg/node.bundle.js, wasm_inline.js): again
# whenever one of them changes.
PKG_JS := $(filter-out pkg/datacosmos_auth.js pkg/wasm_inline.js pkg/node.bundle.js,$(wildcard pkg/*.js)) pkg/index.d.ts
pkg/.packaged: $(PKG_WASM) $(PKG_JS) scripts/package.mjs
	node scripts/package.mjs
	@touch $@

$(PKG_DOCS): pkg/%: %
	cp $< $@

SOURCES := $(shell find src -type f) Cargo.toml Cargo.lock
CARGO_HOME ?= $(HOME)/.cargo
REMAP := --remap-path-prefix=$(CARGO_HOME)/registry/src/index.crates.io-1949cf8c6b5b557f/=

$(PKG_WASM): $(SOURCES)
	# bulk-memory etc.: memory.copy/fill instead of software loops (every runtime we
	# support has them; wasm-opt below enables the same features).
	# The remap shortens the crates' source paths kept in panic locations (dead weight:
	# the panic handler reads none of them) to paths relative to their crate.
	RUSTFLAGS="-C target-feature=+bulk-memory,+nontrapping-fptoint,+sign-ext $(REMAP)" \
	  cargo build --release --target wasm32-unknown-unknown --no-default-features --features npm --quiet
	$(WASM_BINDGEN) $(TARGET_WASM) --out-dir pkg --out-name datacosmos_auth --target web \
	  --no-typescript --remove-name-section --remove-producers-section --omit-default-module-path
	$(WASM_OPT) -Oz --converge --low-memory-unused --zero-filled-memory --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
	  --enable-mutable-globals --enable-reference-types --enable-multivalue \
	  --strip-debug --strip-producers --strip-target-features $(PKG_WASM) -o $(PKG_WASM)

demo: build
	node scripts/demo.mjs

test: lint test-rust build test-wasm test-node test-publish test-store test-runtimes test-browser size

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --quiet -- -D warnings
	rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	cargo clippy --all-targets --target wasm32-unknown-unknown --quiet -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features npm --quiet -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet --target wasm32-unknown-unknown

test-rust:
	cargo test --quiet

# The wasm-bindgen tests under Node, then the crate docs' example, which compiles only
# against the wasm32 API (it is `ignore`d on the host).
# The Rust driver is run, not only compiled: against the loopback token server.
test-wasm: setup
	bash scripts/with-demo.sh env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(TOOLS)/bin/wasm-bindgen-test-runner \
	  cargo test --target wasm32-unknown-unknown --lib
	cargo test --doc --target wasm32-unknown-unknown

test-node: build
	node --test --test-concurrency=1 tests/node/

# What `npm publish` and `cargo publish` would upload: file lists checked, sizes printed.
test-publish: build
	node --test tests/publish/

size: build
	node scripts/size.mjs

# Debian packages some suites need (Chromium for browser tests, redis-server for the
# shared-store tests); installed only where missing.
setup-system:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The packed tarball in consumer projects: Node ESM/CJS, workerd, Deno, Bun, TypeScript, publint, attw.
test-runtimes: build
	bash tests/runtimes/run.sh

# The shared store on real engines: redis-server, workerd KV (miniflare), Deno KV.
test-store: build setup-system
	bash tests/store/run.sh

# Chromium (./web entry, the www page, bundler outputs).
test-browser: build setup-system
	bash tests/browser/run.sh

# Benchmarks (not part of make test): regenerates bench/REPORT.md.
bench: build
	bash bench/run.sh

clean:
	cargo clean
	rm -rf pkg/datacosmos_auth* pkg/wasm_inline.js pkg/node.bundle.js pkg/.packaged pkg/snippets pkg/*.tgz $(PKG_DOCS)
