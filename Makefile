# make test  — everything from a fresh clone: venv, tools, test peers, the extension, cargo test, pytest.
# make demo  — the main job on the bundled simulator.
# make wheels — the core's wheels (manylinux x86_64 + aarch64, CPython 3.10-3.14) and the app's, in dist/.
# make bench — benchmarks (release build), results in benches/RESULTS.md.
# make bench-frappe — check-ins per second on that bench (normal path, doc.insert, the seed's path, bulk).
# make workspace-load — the Attendance Sync workspace's load time on that bench, 200 devices, 1,000,000 punches.
# make test-bench — the Frappe half on a real ERPNext + HRMS bench (built once, cached); BENCH_SOURCES=DIR for archives.
# make histories — 1,000 randomized histories on that bench, checked against the README's promises.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export CARGO_BUILD_JOBS ?= 2
export CARGO_TERM_COLOR ?= never

.PHONY: test test-bench histories bench-frappe workspace-load demo demo-site bench fuzz lint build peers wheels

$(VENV)/.installed: requirements-test.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

# Apache httpd (Debian) is the second independent digest server of the interoperability test.
peers:
	@test -x /usr/sbin/apache2 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		export DEBIAN_FRONTEND=noninteractive; \
		$$SUDO apt-get install -y -q apache2-bin >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q apache2-bin >/dev/null; }; }

# The core (python/, attendance-sync-core) built into the venv, then the pure-Python app on top of it.
build: $(VENV)/.installed
	cargo build --bin attendance-sync
	cd python && VIRTUAL_ENV=$(abspath $(VENV)) $(abspath $(VENV))/bin/maturin develop -q
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .

test: build peers
	ATTENDANCE_SYNC_INTEROP=1 ATTENDANCE_SYNC_PYTHON=$(abspath $(PY)) cargo test
	$(PY) -m mypy.stubtest attendance_sync_core._core
	$(PY) -m mypy
	ATTENDANCE_SYNC_BIN=$(abspath target/debug/attendance-sync) $(VENV)/bin/pytest -q

# Root: it creates the bench user and runs MariaDB and Redis on loopback (see tests/bench/bench.sh).
test-bench:
	tests/bench/bench.sh test

# Root, like test-bench: 1,000 randomized histories against the README's promises (tests/bench/histories.py).
HISTORIES ?= 1000
# The share of histories through a web server (pushes over HTTP) and an RQ worker (device jobs, Reprocess).
HISTORIES_SERVICES ?= 0.1
# Copies of the site the histories run on at once, one process each (2: both cores of the 2-core machine).
HISTORIES_SITES ?= 2
histories:
	HISTORIES_SITES=$(HISTORIES_SITES) tests/bench/bench.sh histories --histories $(HISTORIES) \
		--services $(HISTORIES_SERVICES) $(HISTORIES_ARGS)

# Root, like test-bench: check-ins per second on the test bench (see benches/frappe_checkins.py).
bench-frappe:
	tests/bench/bench.sh bench-frappe $(BENCH_FRAPPE_ARGS)

# Root, like test-bench: the workspace's cards and charts over HTTP and in a browser, at 10,000 punches and at
# 1,000,000, with and without the indexes issue 20 added (see benches/workspace_load.py). About 15 minutes.
workspace-load:
	tests/bench/bench.sh workspace-load $(WORKSPACE_LOAD_ARGS)

# Root, like test-bench: a local site with the app and a simulated fleet until Ctrl-C, which stops everything it
# started. It uses the cached test bench whatever it was built from (BENCH_SOURCES or the upstream), offline;
# without one it builds it, from BENCH_SOURCES=DIR (../shared/bench-sources-style archives) when given.
demo-site:
	tests/bench/bench.sh demo-site

demo:
	cargo build --release --bin attendance-sync
	./target/release/attendance-sync demo --devices 3 --days 7 --out-dir demo-out

# What a release publishes (.github/workflows/release.yml): the core cross-compiled with zig for manylinux_2_17
# on both architectures and every supported CPython (maturin's own interpreter data where one is not installed),
# and the pure-Python app. A bench then installs the app without a Rust toolchain.
WHEEL_PYTHONS := python3.10 python3.11 python3.12 python3.13 python3.14
WHEEL_TARGETS := x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
wheels: $(VENV)/.installed
	$(PY) -m pip install -q ziglang
	rm -rf dist && mkdir -p dist
	for target in $(WHEEL_TARGETS); do \
		rustup target list --installed | grep -qx $$target || rustup target add $$target || exit 1; \
		(cd python && PATH=$(abspath $(VENV))/bin:$$PATH maturin build --release --locked --zig \
			--compatibility manylinux_2_17 --target $$target -i $(WHEEL_PYTHONS) -o ../dist) || exit 1; \
	done
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .
	ls -l dist

# Six parser properties x 20,000 cases = 120,000 cases; each test prints its count.
fuzz:
	ATTENDANCE_SYNC_FUZZ_CASES=20000 cargo test --release --test parsers_prop -- --nocapture --test-threads 2

bench: $(VENV)/.installed
	cargo build --release --bin attendance-sync
	cd python && VIRTUAL_ENV=$(abspath $(VENV)) $(abspath $(VENV))/bin/maturin develop --release -q
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip install -q requests psutil
	ATTENDANCE_SYNC_BIN=$(abspath target/release/attendance-sync) $(PY) benches/bench.py

lint: $(VENV)/.installed
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p attendance-sync --features python -- -D warnings
	$(VENV)/bin/ruff check attendance_sync python tests benches
	$(VENV)/bin/ruff format --check attendance_sync python tests benches
	$(PY) -m mypy
