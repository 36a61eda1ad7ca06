#!/usr/bin/env bash
# A real Frappe + ERPNext + HRMS (version 15) bench for the app's tests and the demo site.
#
#   tests/bench/bench.sh test        build (once, cached) or restore the bench, install this working tree the way
#                                    the README says (bench get-app, install-app), run the app's bench tests and
#                                    the end-to-end scenario
#   tests/bench/bench.sh demo-site   the same bench serving http://127.0.0.1:8000 with a simulated fleet until
#                                    Ctrl-C, which stops everything it started
#   tests/bench/bench.sh dev-test [run-tests options]
#                                    quick loop on a built bench: copy this working tree into the bench's app,
#                                    rebuild the extension if the Rust changed, restore the database, install-app,
#                                    run-tests
#   tests/bench/bench.sh dev-e2e | dev-push | dev-browser
#                                    the same loop for the end-to-end scenario, the push fleet or the browser run
#   tests/bench/bench.sh histories [--histories N] [--seed N] | dev-histories [...]
#                                    randomized histories against the README's promises (tests/bench/histories.py):
#                                    on a fresh install, or on the developers' loop
#   tests/bench/bench.sh bench-frappe [options]
#                                    restore the bench, install this working tree, run benches/frappe_checkins.py
#                                    (check-ins per second, results in benches/RESULTS.md format on stdout)
#   tests/bench/bench.sh dev-bench-frappe [options]
#                                    the same on the developers' loop (no reinstall)
#   tests/bench/bench.sh workspace-load [options] | dev-workspace-load [options]
#                                    the workspace's load time with 200 devices and 1,000,000 Device Punches
#                                    (benches/workspace_load.py), as bench-frappe and dev-bench-frappe do
#   tests/bench/bench.sh stop        stop the services this script started
#
# Sources: the upstream repositories (BENCH_UPSTREAM) at the pinned versions below, or BENCH_SOURCES=DIR with
# frappe.tar.gz, erpnext.tar.gz, hrms.tar.gz, payments.tar.gz, air-datepicker.tar.gz and gunicorn.tar.gz (each
# unpacking to one folder named after the file). MariaDB and Redis come from Debian and run on loopback under an
# unprivileged user (bench refuses root). Everything lives in BENCH_HOME (default /var/tmp/attendance-sync-bench):
# the first run builds it and snapshots the database after the site's setup wizard; later runs restore that
# snapshot. A bench is known by the versions of Frappe, ERPNext and HRMS it holds (read from its apps), not by
# where they came from: a bench built from the archives serves a later run without BENCH_SOURCES, offline. It is
# replaced only when the sources give other versions, and nothing of it is deleted before the new sources are
# known to be reachable (the archives present and intact, or the upstream answering).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_HOME=${BENCH_HOME:-/var/tmp/attendance-sync-bench}
BENCH_USER=${BENCH_USER:-asbench}
SITE=${BENCH_SITE:-test.localhost}
DB_PORT=${BENCH_DB_PORT:-3307}
DB_ROOT_PASSWORD=attendance-sync-test-root
ADMIN_PASSWORD=admin
BENCH_SOURCES=${BENCH_SOURCES:+$(cd "$BENCH_SOURCES" && pwd)}
# Bump when a change here needs a new bench (a cached bench built by an older recipe is rebuilt).
RECIPE=3

FRAPPE_VERSION=v15.101.1
ERPNEXT_VERSION=v15.99.1
HRMS_VERSION=v15.58.2
PAYMENTS_BRANCH=version-15
UPSTREAM=${BENCH_UPSTREAM:-https://github.com/frappe}
# The apps whose versions identify a bench (payments follows its branch and has no release version).
KEY_APPS="frappe erpnext hrms"

BENCH=$BENCH_HOME/frappe-bench
# Written last by a build, inside the bench it describes: "recipe N", the bench and the snapshot of its site's
# database are complete. A bench whose marker is missing or names another recipe is rebuilt.
BUILT=$BENCH/.attendance-sync-built
RUN=$BENCH_HOME/run
DATADIR=$BENCH_HOME/mariadb
SNAPSHOT=$BENCH_HOME/mariadb.snapshot
# The core's wheel for the bench's Python, built here; the bench installs it as a site without Rust would.
WHEELS=$BENCH_HOME/wheels

stage_started=0
stage() {
	local now
	now=$(date +%s)
	[ "$stage_started" = 0 ] || printf '   (%ss)\n' $((now - stage_started))
	stage_started=$now
	[ $# -gt 0 ] && printf '\n== %s\n' "$*"
	return 0
}

die() {
	printf 'bench.sh: %s\n' "$*" >&2
	exit 1
}

as_root() { [ "$(id -u)" = 0 ] || die "run as root (it creates the bench user and starts MariaDB and Redis)"; }

# Run a command as the bench user with a clean, readable environment: no Rust toolchain on its PATH, the
# core's wheel where pip and uv look for packages (as a site installing from wheels has it).
as_bench() {
	(cd "${WORKDIR:-$BENCH_HOME}" && runuser -u "$BENCH_USER" -- env -i \
		HOME="$BENCH_HOME/home" USER="$BENCH_USER" LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb \
		PATH="$BENCH_HOME/cli/bin:/usr/local/bin:/usr/bin:/bin" \
		UV_FIND_LINKS="$WHEELS" PIP_FIND_LINKS="$WHEELS" \
		SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
		NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt GIT_SSL_CAINFO=/etc/ssl/certs/ca-certificates.crt \
		UV_NATIVE_TLS=1 UV_SYSTEM_CERTS=1 UV_HTTP_TIMEOUT=300 PIP_DEFAULT_TIMEOUT=300 \
		YARN_NETWORK_TIMEOUT=600000 CI="${CI:-}" \
		ATTENDANCE_SYNC_BIN="$BENCH_HOME/bin/attendance-sync" \
		"$@")
}

in_bench() { WORKDIR=$BENCH as_bench "$BENCH_HOME/cli/bin/bench" "$@"; }

# --- which bench: the versions it holds, the versions the sources give ---------------------------------------

# The __version__ a Python file sets, from its standard input.
version_in() { sed -n '/^__version__ = "/{s/^__version__ = "\([^"]*\)".*/\1/p;q}'; }

# "frappe 15.101.1 erpnext 15.99.1 hrms 15.58.2": what the bench in BENCH holds, read from its apps; fails when
# an app or its version is missing.
bench_versions() {
	local app version out=()
	for app in $KEY_APPS; do
		[ -f "$BENCH/apps/$app/$app/__init__.py" ] || return 1
		version=$(version_in <"$BENCH/apps/$app/$app/__init__.py")
		[ -n "$version" ] || return 1
		out+=("$app $version")
	done
	echo "${out[*]}"
}

# The same for the sources: read from the archives with BENCH_SOURCES, the pinned versions otherwise.
wanted_versions() {
	local app version out=()
	for app in $KEY_APPS; do
		if [ -n "$BENCH_SOURCES" ]; then
			[ -f "$BENCH_SOURCES/$app.tar.gz" ] || die "$BENCH_SOURCES/$app.tar.gz is missing"
			version=$(tar -xzOf "$BENCH_SOURCES/$app.tar.gz" --occurrence=1 "$app/$app/__init__.py" 2>/dev/null |
				version_in) || true
			[ -n "$version" ] || die "$BENCH_SOURCES/$app.tar.gz has no $app/$app/__init__.py setting __version__"
		else
			case $app in
			frappe) version=${FRAPPE_VERSION#v} ;;
			erpnext) version=${ERPNEXT_VERSION#v} ;;
			hrms) version=${HRMS_VERSION#v} ;;
			esac
		fi
		out+=("$app $version")
	done
	echo "${out[*]}"
}

# A bench built by recipe 3 of an earlier bench.sh has its marker at BENCH_HOME/.built, written last by a build
# and removed first by the next, so it stands for the bench beside it: recipe 3 is the only recipe that wrote
# it. Such a bench, with its snapshot, gets the marker inside (the file itself is left for the older scripts).
adopt_home_marker() {
	if [ ! -f "$BUILT" ] && [ -f "$BENCH_HOME/.built" ] && [ -d "$BENCH/apps/frappe" ] && [ -d "$SNAPSHOT" ]; then
		echo "recipe 3" >"$BUILT"
	fi
	return 0
}

# The bench was completed by this recipe and its snapshot is there.
bench_complete() {
	adopt_home_marker
	[ "$(cat "$BUILT" 2>/dev/null)" = "recipe $RECIPE" ] && [ -d "$SNAPSHOT" ]
}

# The sources of a new bench can be had: the archives present and matching their checksums, or each upstream
# repository answering with the pinned version. Checked before anything of the cached bench is deleted.
check_sources() {
	local name repo ref
	if [ -n "$BENCH_SOURCES" ]; then
		for name in frappe erpnext hrms payments air-datepicker gunicorn; do
			[ -f "$BENCH_SOURCES/$name.tar.gz" ] ||
				die "$BENCH_SOURCES/$name.tar.gz is missing: no bench is built and nothing was deleted"
		done
		(cd "$BENCH_SOURCES" && sha256sum --quiet -c SHA256SUMS) ||
			die "checksums of $BENCH_SOURCES do not match: no bench is built and nothing was deleted"
		return 0
	fi
	while read -r repo ref; do
		GIT_TERMINAL_PROMPT=0 timeout 120 git ls-remote --exit-code "$UPSTREAM/$repo" "$ref" >/dev/null 2>&1 ||
			die "$UPSTREAM/$repo did not answer with $ref: no bench is built and nothing was deleted" \
				"(where the upstream cannot be reached, BENCH_SOURCES=DIR builds from archives)"
	done <<EOF
frappe refs/tags/$FRAPPE_VERSION
erpnext refs/tags/$ERPNEXT_VERSION
hrms refs/tags/$HRMS_VERSION
payments refs/heads/$PAYMENTS_BRANCH
air-datepicker HEAD
gunicorn HEAD
EOF
}

# --- the machine: Debian packages, the bench user, a toolchain it can read -------------------------------------

install_packages() {
	local missing=()
	command -v mariadbd >/dev/null || missing+=(mariadb-server mariadb-client)
	command -v redis-server >/dev/null || missing+=(redis-server)
	command -v git >/dev/null || missing+=(git)
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
	[ -e /usr/include/python3.11/Python.h ] || missing+=(python3-dev)
	command -v pkg-config >/dev/null || missing+=(pkg-config)
	command -v rsync >/dev/null || missing+=(rsync)
	command -v node >/dev/null || missing+=(nodejs npm)
	dpkg -s libmariadb-dev >/dev/null 2>&1 || missing+=(libmariadb-dev)
	dpkg -s cron >/dev/null 2>&1 || true
	if [ ${#missing[@]} -gt 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
	fi
	command -v yarn >/dev/null || npm install -g --silent yarn >/dev/null
}

prepare_user() {
	id "$BENCH_USER" >/dev/null 2>&1 || useradd --system --shell /bin/bash --home-dir "$BENCH_HOME/home" "$BENCH_USER"
	mkdir -p "$BENCH_HOME/home" "$RUN" "$BENCH_HOME/bin" "$WHEELS"
	chown "$BENCH_USER": "$BENCH_HOME" "$BENCH_HOME/home" "$RUN"
	# (Benches of recipe 3 and older built the extension as the bench user with a copy of root's toolchain.)
	rm -rf "$BENCH_HOME/rust"
	# Browsers resolve *.localhost themselves; socketio (Node) asks the resolver when it checks a session with the
	# web server, as in any bench's development setup.
	grep -qE "^127\.0\.0\.1[[:space:]].*\b$SITE\b" /etc/hosts || printf '127.0.0.1\t%s\n' "$SITE" >>/etc/hosts
	# The simulator the tests talk to, built from this checkout.
	(cd "$REPO" && cargo build -q --bin attendance-sync)
	install -m 0755 "$REPO/target/debug/attendance-sync" "$BENCH_HOME/bin/attendance-sync"
}

# --- MariaDB and Redis ----------------------------------------------------------------------------------------

write_mariadb_config() {
	cat >"$BENCH_HOME/mariadb.cnf" <<EOF
[mysqld]
datadir = $DATADIR
socket = $RUN/mysqld.sock
pid-file = $RUN/mysqld.pid
port = $DB_PORT
bind-address = 127.0.0.1
log-error = $BENCH_HOME/mariadb.log
skip-log-bin
character-set-client-handshake = FALSE
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
innodb-buffer-pool-size = 768M
# A test database: durability per transaction is not what is under test, speed is welcome.
innodb-flush-log-at-trx-commit = 2
innodb-doublewrite = 0

[client]
socket = $RUN/mysqld.sock
default-character-set = utf8mb4
EOF
}

mariadb_running() { [ -S "$RUN/mysqld.sock" ] && mariadb-admin --defaults-file="$BENCH_HOME/mariadb.cnf" -uroot -p"$DB_ROOT_PASSWORD" --silent ping >/dev/null 2>&1; }

start_mariadb() {
	mariadb_running && return 0
	write_mariadb_config
	rm -f "$RUN/mysqld.sock"
	runuser -u "$BENCH_USER" -- setsid mariadbd --defaults-file="$BENCH_HOME/mariadb.cnf" </dev/null >/dev/null 2>&1 9>&- &
	for _ in $(seq 1 120); do
		[ -S "$RUN/mysqld.sock" ] && mariadb-admin --defaults-file="$BENCH_HOME/mariadb.cnf" -uroot \
			-p"$DB_ROOT_PASSWORD" --silent ping >/dev/null 2>&1 && return 0
		# A fresh data directory still has root on unix_socket only.
		[ -S "$RUN/mysqld.sock" ] && mariadb-admin --defaults-file="$BENCH_HOME/mariadb.cnf" -uroot --silent ping \
			>/dev/null 2>&1 && return 0
		sleep 0.5
	done
	tail -20 "$BENCH_HOME/mariadb.log" >&2
	die "MariaDB did not start (log above)"
}

stop_mariadb() {
	[ -f "$RUN/mysqld.pid" ] || return 0
	local pid
	pid=$(cat "$RUN/mysqld.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	rm -f "$RUN/mysqld.pid"
}

init_mariadb() {
	stop_mariadb
	rm -rf "$DATADIR"
	mkdir -p "$DATADIR"
	chown "$BENCH_USER": "$DATADIR"
	write_mariadb_config
	runuser -u "$BENCH_USER" -- mariadb-install-db --defaults-file="$BENCH_HOME/mariadb.cnf" --auth-root-authentication-method=socket \
		--auth-root-socket-user=root >/dev/null
	start_mariadb
	mariadb --defaults-file="$BENCH_HOME/mariadb.cnf" -uroot -e \
		"ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('$DB_ROOT_PASSWORD') OR unix_socket; FLUSH PRIVILEGES;"
}

start_redis() {
	local conf port
	for conf in redis_cache redis_queue; do
		port=$(sed -n 's/^port \([0-9]*\).*/\1/p' "$BENCH/config/$conf.conf")
		redis-cli -p "$port" ping >/dev/null 2>&1 && continue
		WORKDIR=$BENCH/config as_bench setsid redis-server "$BENCH/config/$conf.conf" --daemonize yes \
			--pidfile "$RUN/$conf.pid" >/dev/null 9>&-
		for _ in $(seq 1 40); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.25; done
	done
}

# Each Redis ends (SIGTERM, then up to 30 s to save and exit) before this returns.
stop_redis() {
	local conf pid
	for conf in redis_cache redis_queue; do
		[ -f "$RUN/$conf.pid" ] || continue
		pid=$(cat "$RUN/$conf.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		rm -f "$RUN/$conf.pid"
	done
	return 0
}

stop_all() {
	pkill -u "$BENCH_USER" -f 'frappe.utils.bench_helper|bench serve|bench worker|bench schedule|socketio.js|attendance-sync simulate|apps/attendance_sync/tests/bench/' \
		2>/dev/null || true
	stop_redis
	stop_mariadb
}

# --- sources ---------------------------------------------------------------------------------------------------

# A local git repository for an app: bench clones even from a folder.
local_repo() {
	local name=$1 branch=$2 dir=$BENCH_HOME/src/$1
	if [ ! -d "$dir/.git" ]; then
		rm -rf "$dir"
		mkdir -p "$BENCH_HOME/src"
		tar -xzf "$BENCH_SOURCES/$name.tar.gz" -C "$BENCH_HOME/src"
		[ -d "$dir" ] || die "$BENCH_SOURCES/$name.tar.gz did not unpack to a folder named $name"
		case $name in
		frappe)
			# frappe's two GitHub-only dependencies, pointed at the local copies.
			sed -i "s#\"air-datepicker\": \"github:frappe/air-datepicker\"#\"air-datepicker\": \"file:$BENCH_HOME/src/air-datepicker\"#" "$dir/package.json"
			python3 - "$dir/yarn.lock" "$BENCH_HOME/src/air-datepicker" <<'EOF'
import re, sys
path, folder = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(
	r'"air-datepicker@github:frappe/air-datepicker":\n  version "([^"]+)"\n  resolved "[^"]+"\n',
	lambda m: f'"air-datepicker@file:{folder}":\n  version "{m.group(1)}"\n',
	text,
)
open(path, "w").write(text)
EOF
			sed -i "s#\"gunicorn @ git+https://github.com/frappe/gunicorn@[0-9a-f]*\"#\"gunicorn @ file://$BENCH_HOME/src/gunicorn\"#" "$dir/pyproject.toml"
			grep -q "file:$BENCH_HOME/src/air-datepicker" "$dir/package.json" || die "could not point frappe at the local air-datepicker"
			grep -q "file://$BENCH_HOME/src/gunicorn" "$dir/pyproject.toml" || die "could not point frappe at the local gunicorn"
			;;
		esac
		git -C "$dir" init -q -b "$branch"
		git -C "$dir" add -A
		git -C "$dir" -c user.name=bench -c user.email=bench@localhost commit -q -m "$name from $(basename "$BENCH_SOURCES")"
		chown -R "$BENCH_USER": "$dir"
	fi
	echo "$dir"
}

# --- the bench -------------------------------------------------------------------------------------------------

# A new bench of the versions in $1, from BENCH_SOURCES or the upstream; the cached one goes only once the new
# sources are known to be reachable.
build_bench() {
	stage "sources of a bench of $1: ${BENCH_SOURCES:-$UPSTREAM}"
	check_sources
	stage "clean bench home"
	stop_all
	rm -rf "$BENCH" "$BENCH_HOME/src" "$BENCH_HOME/cli" "$SNAPSHOT" "$BENCH_HOME/cargo-target" \
		"$BENCH_HOME/.built" "$BENCH_HOME/.assets"
	prepare_user

	stage "bench CLI (frappe-bench)"
	as_bench /usr/bin/python3 -m venv "$BENCH_HOME/cli"
	as_bench "$BENCH_HOME/cli/bin/pip" install -q frappe-bench

	local frappe_source erpnext_source hrms_source payments_source
	if [ -n "$BENCH_SOURCES" ]; then
		stage "sources from $BENCH_SOURCES"
		mkdir -p "$BENCH_HOME/src"
		for dep in air-datepicker gunicorn; do
			rm -rf "$BENCH_HOME/src/$dep"
			tar -xzf "$BENCH_SOURCES/$dep.tar.gz" -C "$BENCH_HOME/src"
		done
		chown -R "$BENCH_USER": "$BENCH_HOME/src"
		frappe_source=$(local_repo frappe version-15)
		erpnext_source=$(local_repo erpnext version-15)
		hrms_source=$(local_repo hrms version-15)
		payments_source=$(local_repo payments "$PAYMENTS_BRANCH")
		frappe_branch=version-15 erpnext_branch=version-15 hrms_branch=version-15 payments_branch=$PAYMENTS_BRANCH
	else
		frappe_source=$UPSTREAM/frappe erpnext_source=$UPSTREAM/erpnext hrms_source=$UPSTREAM/hrms
		payments_source=$UPSTREAM/payments
		frappe_branch=$FRAPPE_VERSION erpnext_branch=$ERPNEXT_VERSION hrms_branch=$HRMS_VERSION
		payments_branch=$PAYMENTS_BRANCH
	fi

	stage "MariaDB data directory"
	init_mariadb

	stage "bench init (frappe)"
	as_bench "$BENCH_HOME/cli/bin/bench" init --skip-assets --no-backups --no-procfile --python /usr/bin/python3 \
		--frappe-path "$frappe_source" --frappe-branch "$frappe_branch" "$BENCH"
	as_bench "$BENCH_HOME/cli/bin/bench" --version >/dev/null
	start_redis

	stage "get-app payments, erpnext, hrms"
	in_bench get-app --skip-assets --branch "$payments_branch" "$payments_source"
	in_bench get-app --skip-assets --branch "$erpnext_branch" "$erpnext_source"
	in_bench get-app --skip-assets --branch "$hrms_branch" "$hrms_source"

	stage "new-site $SITE with erpnext, hrms, payments"
	in_bench new-site "$SITE" --db-host 127.0.0.1 --db-port "$DB_PORT" --db-root-username root \
		--db-root-password "$DB_ROOT_PASSWORD" --admin-password "$ADMIN_PASSWORD" \
		--install-app erpnext --install-app hrms --install-app payments
	in_bench --site "$SITE" set-config allow_tests true
	in_bench use "$SITE"

	stage "setup wizard"
	local year
	year=$(date +%Y)
	in_bench --site "$SITE" execute frappe.desk.page.setup_wizard.setup_wizard.setup_complete --kwargs "{\"args\": {
		\"language\": \"English\", \"country\": \"Bangladesh\", \"timezone\": \"Asia/Dhaka\", \"currency\": \"BDT\",
		\"full_name\": \"HR Admin\", \"email\": \"hr-admin@example.com\", \"password\": \"$ADMIN_PASSWORD\",
		\"company_name\": \"Attendance Test Ltd\", \"company_abbr\": \"ATL\", \"chart_of_accounts\": \"Standard\",
		\"fy_start_date\": \"$year-01-01\", \"fy_end_date\": \"$year-12-31\", \"company_tagline\": \"Testing\",
		\"industry\": \"Manufacturing\"}}"
	[ "$(in_bench --site "$SITE" execute frappe.is_setup_complete)" = "true" ] || die "setup wizard did not complete"

	stage "database snapshot"
	stop_mariadb
	rm -rf "$SNAPSHOT"
	cp -a "$DATADIR" "$SNAPSHOT"
	start_mariadb
	echo "recipe $RECIPE" >"$BUILT"
}

# The site as the setup wizard left it, before this app was installed.
restore_database() {
	stop_all
	rm -rf "$DATADIR"
	cp -a "$SNAPSHOT" "$DATADIR"
	# Frappe's list of the doctypes whose test records it made describes the database: the snapshot has none (a
	# run-tests killed after making some left it saying otherwise, and the next run skipped making them).
	rm -f "$BENCH/sites/$SITE/.test_log"
	start_mariadb
	start_redis
	flush_redis
}

# Jobs and cache entries left by an earlier run (a test's queued scheduler job keeps the scheduler from
# enqueueing that job type again): each stage that drives workers starts without them.
flush_redis() {
	local conf
	for conf in redis_cache redis_queue; do
		redis-cli -p "$(sed -n 's/^port \([0-9]*\).*/\1/p' "$BENCH/config/$conf.conf")" FLUSHALL >/dev/null
	done
}

# The cached bench when it holds the versions the sources give (wherever it was built from), else a new one.
ensure_bench() {
	local wanted held=""
	wanted=$(wanted_versions)
	if bench_complete; then
		held=$(bench_versions) || held=""
	fi
	if [ -n "$held" ] && [ "$held" = "$wanted" ]; then
		stage "restore the bench (cached: $held; database from the snapshot)"
		prepare_user
		restore_database
		return 0
	fi
	[ -z "$held" ] || echo "the cached bench holds $held; the sources give $wanted"
	build_bench "$wanted"
}

# The files of this working tree that git would see (tracked and new, not ignored), as a tar stream; with
# BENCH_FROM_HEAD=1 the last commit instead (while the working tree is being edited).
working_tree_tar() {
	if [ -n "${BENCH_FROM_HEAD:-}" ]; then
		git -C "$REPO" archive --format=tar HEAD
		return
	fi
	(cd "$REPO" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | tar --null -T - -cf -)
}

# The compiled core (attendance-sync-core) from the tree in $1, as a release wheel for the bench's Python, built
# by root with root's toolchain (the way a release builds the wheels a site then downloads).
build_core_wheel() {
	stage "the core's wheel (maturin, release) for the bench's Python"
	if [ ! -x "$BENCH_HOME/tools/bin/maturin" ]; then
		python3 -m venv "$BENCH_HOME/tools"
		"$BENCH_HOME/tools/bin/pip" install -q "maturin>=1.7,<2"
	fi
	rm -rf "$WHEELS"
	mkdir -p "$WHEELS"
	(cd "$1/python" && CARGO_TARGET_DIR=$BENCH_HOME/cargo-target CARGO_BUILD_JOBS=2 \
		"$BENCH_HOME/tools/bin/maturin" build --release --locked -q -i "$BENCH/env/bin/python" -o "$WHEELS")
	chmod -R a+rX "$WHEELS"
	ls "$WHEELS"
	# uv caches a wheel by name and version: an earlier build of this version must not stand in for this one.
	as_bench uv cache clean -q attendance-sync-core
}

# The installed core must be the wheel just built (no stale copy from a cache).
check_core_installed() {
	python3 - "$WHEELS" "$BENCH/env" <<'PYTHON' || die "the bench's attendance_sync_core is not the wheel just built"
import glob, hashlib, sys, zipfile

(wheel,) = glob.glob(f"{sys.argv[1]}/attendance_sync_core-*.whl")
with zipfile.ZipFile(wheel) as archive:
	(member,) = [n for n in archive.namelist() if n.startswith("attendance_sync_core/_core.") and n.endswith(".so")]
	built = hashlib.sha256(archive.read(member)).hexdigest()
(installed,) = glob.glob(f"{sys.argv[2]}/lib/python3*/site-packages/attendance_sync_core/_core.*.so")
with open(installed, "rb") as f:
	sys.exit(hashlib.sha256(f.read()).hexdigest() != built)
PYTHON
}

# This working tree (tracked and new files, not ignored ones) as a git repository, so that `bench get-app`
# installs exactly what is being tested, uncommitted changes included; the core comes from its wheel, and the
# bench user has no Rust toolchain (the install section of the README, the wheels route).
install_app() {
	local staging=$BENCH_HOME/staging/attendance_sync
	rm -rf "$BENCH_HOME/staging"
	mkdir -p "$staging"
	# -m: files stamped now, not with their own times; cargo's cached build in cargo-target judges freshness by
	# time, and a source edited before an older checkout was last built there would look built already.
	working_tree_tar | tar -xmf - -C "$staging"
	build_core_wheel "$staging"
	stage "bench get-app attendance_sync (this working tree, the core from its wheel) + install-app"
	if as_bench sh -c 'command -v cargo || command -v rustc'; then
		die "the bench user's PATH has a Rust toolchain: this stage proves the install without one"
	fi
	echo "bench user's PATH: no cargo, no rustc"
	git -C "$staging" init -q -b main
	git -C "$staging" add -A
	git -C "$staging" -c user.name=bench -c user.email=bench@localhost commit -q -m "working tree"
	chown -R "$BENCH_USER": "$BENCH_HOME/staging"
	# A previous run's copy goes first (bench's own --overwrite loses track of a local path).
	if [ -d "$BENCH/apps/attendance_sync" ]; then
		WORKDIR=$BENCH as_bench uv pip uninstall -q attendance_sync attendance-sync-core --python env/bin/python || true
		rm -rf "$BENCH/apps/attendance_sync" "$BENCH/archived"
		sed -i '/^attendance_sync$/d' "$BENCH/sites/apps.txt"
	fi
	in_bench get-app --skip-assets "$staging"
	check_core_installed
	# Frappe reads its module map from the Redis cache when a process starts, and clear_cache (which
	# install-app runs) does not rebuild it: a map cached before this app was in apps.txt makes install-app sync
	# none of its DocTypes (seen on a freshly built bench: "No module named
	# 'frappe.core.doctype.attendance_sync_settings'").
	flush_redis
	in_bench --site "$SITE" install-app attendance_sync
}

run_tests() {
	stage "bench run-tests --app attendance_sync"
	local out=$BENCH_HOME/run-tests.log
	set +e
	in_bench --site "$SITE" run-tests --app attendance_sync 2>&1 | tee "$out"
	local status=${PIPESTATUS[0]}
	set -e
	[ "$status" = 0 ] || die "bench tests failed (log: $out)"
	if grep -E '^(OK|FAILED).*skipped=' "$out" >/dev/null; then
		die "bench tests skipped some tests; in this stage every test must run"
	fi
	grep -q '^OK' "$out" || die "bench tests did not report OK"
}

# --- the browser stage: assets, Chromium, Playwright, a web server with socketio and a worker -------------------

ensure_browser() {
	stage "browser: Chromium, Playwright, assets (built once)"
	if [ ! -x /usr/bin/chromium ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
	fi
	WORKDIR=$BENCH as_bench uv pip install -q playwright --python env/bin/python
	if ! assets_built; then
		in_bench build --force
		assets_built || die "bench build left no complete assets in $BENCH/sites/assets"
	fi
}

# The bench's desk assets are built: sites/assets/assets.json (the bundles the pages name) and every file it names
# (without them every page of the site, the login page included, answers with a 500).
assets_built() {
	python3 - "$BENCH/sites" <<'PYTHON'
import json, os, sys

sites = sys.argv[1]
try:
	with open(os.path.join(sites, "assets", "assets.json")) as f:
		bundles = json.load(f)
except (OSError, ValueError):
	sys.exit(1)
sys.exit(not ("desk.bundle.js" in bundles and all(os.path.isfile(sites + path) for path in bundles.values())))
PYTHON
}

# The login page loads: 200, the first thing a person opens.
check_login_page() {
	local status
	status=$(curl -s -o /dev/null -w '%{http_code}' "http://$SITE:8000/login") || true
	if [ "$status" != 200 ]; then
		tail -20 "$BENCH_HOME/logs/web.log" >&2
		die "http://$SITE:8000/login answered ${status:-nothing}, not 200 (the web server's log above)"
	fi
	echo "http://$SITE:8000/login loads (200)"
}

# Starts a background process as the bench user; its output goes to $BENCH_HOME/logs/NAME.log.
start_service() {
	local name=$1
	shift
	mkdir -p "$BENCH_HOME/logs"
	chown "$BENCH_USER": "$BENCH_HOME/logs"
	WORKDIR=$BENCH as_bench setsid "$@" </dev/null >"$BENCH_HOME/logs/$name.log" 2>&1 9>&- &
}

start_web() {
	start_service socketio node apps/frappe/socketio.js
	# DEV_SERVER: the desk's realtime client then talks to socketio's own port, as under `bench start`.
	start_service web env DEV_SERVER=1 "$BENCH_HOME/cli/bin/bench" serve --port 8000
	start_service worker "$BENCH_HOME/cli/bin/bench" worker
	for _ in $(seq 1 120); do
		curl -fs -o /dev/null "http://$SITE:8000/api/method/ping" && return 0
		sleep 0.5
	done
	tail -20 "$BENCH_HOME/logs/web.log" >&2
	die "bench serve did not answer on port 8000"
}

run_browser() {
	ensure_browser
	stage "browser: log in, create a device, Test Connection, Fetch Check-in, the lists"
	flush_redis
	start_web
	rm -rf "$BENCH_HOME/screenshots"
	mkdir -p "$BENCH_HOME/screenshots"
	chown "$BENCH_USER": "$BENCH_HOME/screenshots"
	WORKDIR=$BENCH/sites as_bench "$BENCH/env/bin/python" "$BENCH/apps/attendance_sync/tests/bench/browser.py" \
		--site "$SITE" --url "http://$SITE:8000" --admin-password "$ADMIN_PASSWORD" --shots "$BENCH_HOME/screenshots"
	echo "screenshots: $BENCH_HOME/screenshots"
}

run_scenario() {
	stage "end-to-end scenario (simulated fleet, real workers and scheduler entry points)"
	flush_redis
	WORKDIR=$BENCH/sites as_bench "$BENCH/env/bin/python" "$BENCH/apps/attendance_sync/tests/bench/e2e.py" --site "$SITE"
}

# 50 simulated terminals pushing to the site (10% of pushes lost), reconciled by search; latency measured.
run_push_fleet() {
	stage "push fleet (terminals push over HTTP, some pushes lost, search reconciles)"
	flush_redis
	WORKDIR=$BENCH/sites as_bench "$BENCH/env/bin/python" "$BENCH/apps/attendance_sync/tests/bench/push_fleet.py" --site "$SITE"
}

# Randomized histories checked against the README's promises (tests/bench/histories.py); failing examples are
# kept in the bench's Hypothesis database and run first next time. Hypothesis is pinned: the regression blobs
# and seeds replay the same histories only under the version that printed them.
# HISTORIES_SITES=N (default 1) runs them on N copies of the site at once, one process each (a machine's cores
# beyond one are otherwise idle: a history waits on MariaDB about half its time).
run_histories() {
	local sites=(--site "$SITE") n
	stage "randomized histories (tests/bench/histories.py $*)"
	flush_redis
	WORKDIR=$BENCH as_bench uv pip install -q "hypothesis==6.170.27" --python env/bin/python
	mkdir -p "$BENCH_HOME/histories-db"
	chown "$BENCH_USER": "$BENCH_HOME/histories-db"
	drop_site_copies
	for n in $(seq 2 "${HISTORIES_SITES:-1}"); do
		copy_site "histories-$n.localhost"
		sites+=(--site "histories-$n.localhost")
	done
	WORKDIR=$BENCH/sites as_bench "$BENCH/env/bin/python" "$BENCH/apps/attendance_sync/tests/bench/histories.py" \
		"${sites[@]}" --database "$BENCH_HOME/histories-db" "$@" || { drop_site_copies; return 1; }
	drop_site_copies
}

# A copy of the site (its database and folder) under another name, with a database and user of its own.
copy_site() {
	local copy=$1 config="$BENCH/sites/$SITE/site_config.json" db password
	db="_h$(printf '%s' "$copy" | md5sum | cut -c1-14)"
	password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mariadb --defaults-file="$BENCH_HOME/mariadb.cnf" -uroot -p"$DB_ROOT_PASSWORD" -e \
		"CREATE DATABASE \`$db\`; CREATE USER '$db'@'localhost' IDENTIFIED BY '$password';
		GRANT ALL PRIVILEGES ON \`$db\`.* TO '$db'@'localhost'; FLUSH PRIVILEGES;"
	mariadb-dump --defaults-file="$BENCH_HOME/mariadb.cnf" -uroot -p"$DB_ROOT_PASSWORD" --single-transaction --quick \
		"$(site_config_value "$config" db_name)" |
		mariadb --defaults-file="$BENCH_HOME/mariadb.cnf" -uroot -p"$DB_ROOT_PASSWORD" "$db"
	cp -a "$BENCH/sites/$SITE" "$BENCH/sites/$copy"
	"$BENCH/env/bin/python" - "$config" "$BENCH/sites/$copy/site_config.json" "$db" "$password" <<'PY'
import json, sys
source, target, db, password = sys.argv[1:]
config = json.load(open(source))
config.update(db_name=db, db_password=password)
json.dump(config, open(target, "w"), indent=1)
PY
}

site_config_value() { "$BENCH/env/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

# The site copies of an earlier run, and their databases.
drop_site_copies() {
	local folder db
	for folder in "$BENCH"/sites/histories-*.localhost; do
		[ -d "$folder" ] || continue
		db=$(site_config_value "$folder/site_config.json" db_name 2>/dev/null) || db=""
		if [ -n "$db" ]; then
			mariadb --defaults-file="$BENCH_HOME/mariadb.cnf" -uroot -p"$DB_ROOT_PASSWORD" -e \
				"DROP DATABASE IF EXISTS \`$db\`; DROP USER IF EXISTS '$db'@'localhost';"
		fi
		rm -rf "$folder"
	done
}

# The check-in benchmark: it makes its own fixtures on the wizard's site and starts its own workers.
run_bench_frappe() {
	stage "check-in benchmark (benches/frappe_checkins.py $*)"
	flush_redis
	# The app on the bench is a copy committed as "working tree": the run names the checkout's own commit.
	local commit
	commit=$(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD || echo -dirty)
	WORKDIR=$BENCH/sites as_bench "$BENCH/env/bin/python" "$BENCH/apps/attendance_sync/benches/frappe_checkins.py" \
		--site "$SITE" --bench "$BENCH" --commit "$commit" "$@"
}

# The workspace's load time (benches/workspace_load.py): its own fixtures, web server and browser.
run_workspace_load() {
	ensure_browser
	stage "workspace load (benches/workspace_load.py $*)"
	flush_redis
	local commit
	commit=$(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD || echo -dirty)
	WORKDIR=$BENCH/sites as_bench "$BENCH/env/bin/python" "$BENCH/apps/attendance_sync/benches/workspace_load.py" \
		--site "$SITE" --commit "$commit" "$@"
}

# One command at a time on a bench: they share its database and services. Services started under the lock
# get fd 9 closed (9>&-), or they would hold it for as long as they run.
lock_bench() {
	mkdir -p "$BENCH_HOME"
	exec 9>"$BENCH_HOME/.lock"
	flock 9
}

# What the core's wheel and the app's installation are made from.
core_sources_hash() {
	(cd "$1" && cat Cargo.toml Cargo.lock pyproject.toml python/pyproject.toml $(find src python -name '*.rs' -o -name '*.py' -o -name '*.pyi' | sort) 2>/dev/null | sha256sum)
}

# The developers' loop: no reinstall; what changed is copied in and picked up.
dev_sync() {
	bench_complete && [ -d "$BENCH/apps/attendance_sync" ] || die "no bench yet: run '$0 test' once"
	prepare_user
	start_mariadb
	start_redis
	local app=$BENCH/apps/attendance_sync before after
	before=$(core_sources_hash "$app")
	# A mirror, not an overlay: a file deleted or moved in the tree goes from the app too.
	rm -rf "$BENCH_HOME/mirror"
	mkdir -p "$BENCH_HOME/mirror"
	working_tree_tar | tar -xmf - -C "$BENCH_HOME/mirror" # -m: as in install_app
	rsync -a --delete --exclude /.git "$BENCH_HOME/mirror/" "$app/"
	chown -R "$BENCH_USER": "$app"
	after=$(core_sources_hash "$app")
	if [ "$before" != "$after" ] || [ -n "${REBUILD:-}" ] || ! ls "$BENCH"/env/lib/python3*/site-packages/attendance_sync_core/_core.*.so >/dev/null 2>&1; then
		build_core_wheel "$BENCH_HOME/mirror"
		stage "reinstall the core's wheel and the app"
		WORKDIR=$BENCH as_bench uv pip install -q --reinstall --no-deps "$WHEELS"/attendance_sync_core-*.whl --python env/bin/python
		WORKDIR=$BENCH as_bench uv pip install -q -e apps/attendance_sync --python env/bin/python
		check_core_installed
	fi
	stage "migrate"
	in_bench --site "$SITE" migrate --skip-search-index >/dev/null
}

# Ctrl-C (or SIGTERM, SIGHUP) at any point stops what the demo started: the fleet, then the services.
demo_site() {
	trap stop_demo EXIT
	trap 'exit 0' INT TERM HUP
	install_packages
	ensure_bench
	install_app
	ensure_browser
	stage "demo site: web server, socketio, worker, scheduler, simulated fleet"
	in_bench --site "$SITE" enable-scheduler >/dev/null
	start_web
	check_login_page
	start_service scheduler "$BENCH_HOME/cli/bin/bench" schedule
	cat <<EOF

  Attendance Sync demo site: http://$SITE:8000  (or http://127.0.0.1:8000)
  log in as Administrator / $ADMIN_PASSWORD
  Device Configuration, Employee Checkin, Device Punch, Attendance Sync Log: watch the check-ins arrive.
  Ctrl-C stops everything this started.

EOF
	WORKDIR=$BENCH/sites start_fleet as_bench "$BENCH/env/bin/python" \
		"$BENCH/apps/attendance_sync/tests/bench/e2e.py" --site "$SITE" --demo
	wait "$demo_group" || true
}

# "$@" (the demo's fleet) in the background, in a process group of its own (job control for this one command):
# the terminal's Ctrl-C reaches this script only, whose stop_demo signals the fleet's group once; and the fleet
# keeps SIGINT, which a background command of a script without job control ignores.
start_fleet() {
	set -m
	"$@" &
	demo_group=$!
	set +m
}

# The fleet ends on SIGINT (e2e.py --demo stops its terminals); what its process group still holds after 30 s
# is killed. Then the services.
stop_demo() {
	if [ -n "${demo_group:-}" ]; then
		kill -INT -- "-$demo_group" 2>/dev/null || true
		for _ in $(seq 1 60); do
			kill -0 -- "-$demo_group" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL -- "-$demo_group" 2>/dev/null || true
		wait "$demo_group" 2>/dev/null || true
		demo_group=
	fi
	stage
	stop_all
}

# Everything runs from main, read whole before it starts: the file can be replaced while a run goes on.
main() {
	case "${1:-}" in
	demo-site)
		as_root
		lock_bench
		demo_site
		;;
	dev-test)
		as_root
		lock_bench
		shift
		dev_sync
		# From the wizard's site, as in the test stage: a scenario or benchmark run leaves Employees holding the
		# simulator's device IDs, which the tests' own fixtures would collide with.
		stage "restore the database, install-app"
		restore_database
		in_bench --site "$SITE" install-app attendance_sync
		stage "run-tests $*"
		in_bench --site "$SITE" run-tests --app attendance_sync "$@"
		stage
		;;
	histories | dev-histories)
		as_root
		lock_bench
		trap stop_all EXIT
		local command=$1
		shift
		if [ "$command" = histories ]; then
			install_packages
			ensure_bench
			install_app
		else
			dev_sync
			stage "restore the database, install-app"
			restore_database
			in_bench --site "$SITE" install-app attendance_sync
		fi
		run_histories "$@"
		stage
		;;
	dev-e2e | dev-push | dev-browser)
		as_root
		lock_bench
		trap stop_all EXIT
		dev_sync
		# The scenario and the browser run make their own fixtures: they start from the wizard's site.
		stage "restore the database, install-app"
		restore_database
		in_bench --site "$SITE" install-app attendance_sync
		case $1 in
		dev-e2e) run_scenario ;;
		dev-push) run_push_fleet ;;
		*) run_browser ;;
		esac
		stage
		;;
	bench-frappe | workspace-load)
		as_root
		lock_bench
		trap stop_all EXIT
		local command=$1
		shift
		install_packages
		ensure_bench
		install_app
		if [ "$command" = bench-frappe ]; then run_bench_frappe "$@"; else run_workspace_load "$@"; fi
		stage
		;;
	dev-bench-frappe | dev-workspace-load)
		as_root
		lock_bench
		trap stop_all EXIT
		local command=$1
		shift
		dev_sync
		stage "restore the database, install-app"
		restore_database
		in_bench --site "$SITE" install-app attendance_sync
		if [ "$command" = dev-bench-frappe ]; then run_bench_frappe "$@"; else run_workspace_load "$@"; fi
		stage
		;;
	test)
		as_root
		lock_bench
		trap stop_all EXIT
		started=$(date +%s)
		install_packages
		ensure_bench
		install_app
		run_tests
		run_scenario
		run_push_fleet
		run_histories --histories "${CI_HISTORIES:-20}" --no-shrink --services 0.25
		run_browser
		stage
		stop_all
		printf '\nbench stage done in %ss\n' $(($(date +%s) - started))
		;;
	stop)
		as_root
		stop_all
		;;
	*)
		sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
		exit 2
		;;
	esac
}

# Sourced (tests/test_bench_script.py), it defines its functions and runs nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
	exit $?
fi
