"""tests/bench/bench.sh, sourced into bash: which bench it keeps, what it checks before deleting one, how it
knows the assets are built, and that Ctrl-C on the demo site stops the fleet it started.

The bench's home is a temporary directory holding a bench's shape (apps with their versions, the snapshot's
folder, the markers); the steps that need root, a database or a web server are replaced by functions that record
their call. No test reaches the network: the upstream is a closed port on loopback, or local git repositories.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH_SH = ROOT / "tests" / "bench" / "bench.sh"
PINNED = {"frappe": "15.101.1", "erpnext": "15.99.1", "hrms": "15.58.2"}
PINNED_LINE = "frappe 15.101.1 erpnext 15.99.1 hrms 15.58.2"
# What bench.sh of recipe 3 wrote to BENCH_HOME/.built for the bench built from ../shared/bench-sources.
HOME_MARKER = "0d409513d3736e05"
# The steps of ensure_bench that touch the machine, recorded instead; a build stops at its first step that
# changes anything (stop_all, right before it deletes the cached bench).
RECORDED = """
prepare_user() { echo PREPARE_USER; }
restore_database() { echo RESTORE_DATABASE; }
stop_all() { echo STOP_ALL; exit 98; }
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bench.sh needs bash")


def closed_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


@pytest.fixture
def home(tmp_path: Path) -> Path:
	home = tmp_path / "bench-home"
	home.mkdir()
	return home


def make_bench(
	home: Path, versions: dict[str, str], marker: str | None = None, snapshot: bool = True
) -> Path:
	"""A bench's shape: its apps' __init__.py files, the snapshot's folder, the marker inside if given."""
	bench = home / "frappe-bench"
	for app, version in {**versions, "payments": "0.0.1"}.items():
		package = bench / "apps" / app / app
		package.mkdir(parents=True)
		(package / "__init__.py").write_text(f'import os\n\n__version__ = "{version}"\n__title__ = "{app}"\n')
	if snapshot:
		(home / "mariadb.snapshot" / "mysql").mkdir(parents=True)
	if marker is not None:
		(bench / ".attendance-sync-built").write_text(marker + "\n")
	return bench


def make_archives(directory: Path, versions: dict[str, str], leave_out: str | None = None) -> Path:
	"""Archives like ../shared/bench-sources: one folder per archive, named after it, and SHA256SUMS."""
	directory.mkdir()
	sums = []
	for name in ("frappe", "erpnext", "hrms", "payments", "air-datepicker", "gunicorn"):
		source = directory / "unpacked" / name
		package = source / name
		package.mkdir(parents=True)
		(package / "__init__.py").write_text(f'__version__ = "{versions.get(name, "0.0.1")}"\n')
		if name == leave_out:
			continue
		with tarfile.open(directory / f"{name}.tar.gz", "w:gz") as tar:
			tar.add(source, arcname=name)
		sums.append(f"{name}.tar.gz")
	shutil.rmtree(directory / "unpacked")
	digest = subprocess.run(["sha256sum", *sums], cwd=directory, capture_output=True, text=True, check=True)
	(directory / "SHA256SUMS").write_text(digest.stdout)
	return directory


def bench_sh(home: Path, script: str, *, sources: Path | None = None, upstream: str | None = None, **kw):
	"""`script` run by bash after sourcing bench.sh with BENCH_HOME=home (and the recorded steps)."""
	env = {
		"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
		"HOME": str(home),
		"BENCH_HOME": str(home),
		"BENCH_USER": "attendance-sync-no-such-user",
		"BENCH_UPSTREAM": upstream or f"http://127.0.0.1:{closed_port()}/frappe",
		**({"BENCH_SOURCES": str(sources)} if sources else {}),
		**kw.pop("env", {}),
	}
	return subprocess.run(
		["bash", "-c", f'source "{BENCH_SH}"\n{RECORDED}\n{script}'],
		env=env,
		capture_output=True,
		text=True,
		timeout=kw.pop("timeout", 120),
		check=False,
		**kw,
	)


# --- which bench --------------------------------------------------------------------------------------------


def test_a_bench_built_from_the_archives_serves_a_run_without_them(home):
	"""The bench recipe 3 built from the archives (its marker in BENCH_HOME) holds the pinned versions: a run
	without BENCH_SOURCES restores it, and its marker moves inside it."""
	bench = make_bench(home, PINNED)
	(home / ".built").write_text(HOME_MARKER + "\n")
	done = bench_sh(home, "ensure_bench")
	assert done.returncode == 0, done.stderr
	assert "RESTORE_DATABASE" in done.stdout and "STOP_ALL" not in done.stdout
	assert f"cached: {PINNED_LINE}" in done.stdout
	assert (bench / ".attendance-sync-built").read_text() == "recipe 3\n"
	assert (home / ".built").read_text() == HOME_MARKER + "\n"  # left for the older scripts


def test_a_bench_is_known_by_its_versions_not_by_its_sources(home, tmp_path):
	make_bench(home, PINNED, marker="recipe 3")
	archives = make_archives(tmp_path / "sources", PINNED)
	done = bench_sh(home, "echo WANTED $(wanted_versions); ensure_bench", sources=archives)
	assert done.returncode == 0, done.stderr
	assert f"WANTED {PINNED_LINE}" in done.stdout
	assert "RESTORE_DATABASE" in done.stdout


@pytest.mark.parametrize(
	"shape",
	["other versions", "no marker", "another recipe", "no snapshot"],
)
def test_a_bench_that_does_not_serve_is_replaced_only_when_the_upstream_answers(home, shape):
	"""A bench to be replaced is left whole while the upstream does not answer (a closed port here)."""
	versions = {**PINNED, "hrms": "15.40.0"} if shape == "other versions" else PINNED
	marker = {"no marker": None, "another recipe": "recipe 2"}.get(shape, "recipe 3")
	bench = make_bench(home, versions, marker=marker, snapshot=shape != "no snapshot")
	before = sorted(p.relative_to(home) for p in home.rglob("*"))
	done = bench_sh(home, "ensure_bench")
	assert done.returncode != 0
	assert "nothing was deleted" in done.stderr
	assert "RESTORE_DATABASE" not in done.stdout and "STOP_ALL" not in done.stdout
	assert sorted(p.relative_to(home) for p in home.rglob("*")) == before
	assert (bench / "apps" / "frappe" / "frappe" / "__init__.py").exists()


def test_nothing_is_deleted_when_an_archive_is_missing(home, tmp_path):
	make_bench(home, {**PINNED, "frappe": "15.90.0"}, marker="recipe 3")
	archives = make_archives(tmp_path / "sources", PINNED, leave_out="gunicorn")
	before = sorted(p.relative_to(home) for p in home.rglob("*"))
	done = bench_sh(home, "ensure_bench", sources=archives)
	assert done.returncode != 0
	assert "gunicorn.tar.gz is missing" in done.stderr and "nothing was deleted" in done.stderr
	assert sorted(p.relative_to(home) for p in home.rglob("*")) == before


def test_nothing_is_deleted_when_an_archive_does_not_match_its_checksum(home, tmp_path):
	make_bench(home, PINNED)
	archives = make_archives(tmp_path / "sources", PINNED)
	with (archives / "payments.tar.gz").open("ab") as f:
		f.write(b"\0")
	done = bench_sh(home, "ensure_bench", sources=archives)
	assert done.returncode != 0
	assert "checksums" in done.stderr and "nothing was deleted" in done.stderr
	assert (home / "frappe-bench" / "apps" / "hrms" / "hrms" / "__init__.py").exists()


def test_an_upstream_that_answers_passes_the_check(home, tmp_path):
	"""The check that guards the deletion passes for an upstream holding the pinned tags and branch."""
	upstream = tmp_path / "upstream"
	for repo, ref in [
		("frappe", "tag v15.101.1"),
		("erpnext", "tag v15.99.1"),
		("hrms", "tag v15.58.2"),
		("payments", "branch version-15"),
		("air-datepicker", None),
		("gunicorn", None),
	]:
		path = upstream / repo
		path.mkdir(parents=True)
		git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@localhost"]
		subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
		subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", repo], check=True)
		if ref:
			kind, name = ref.split()
			subprocess.run([*git, kind, name], check=True)
	done = bench_sh(home, "check_sources && echo REACHABLE", upstream=f"file://{upstream}")
	assert done.returncode == 0, done.stderr
	assert "REACHABLE" in done.stdout
	subprocess.run(
		["git", "-C", str(upstream / "hrms"), "tag", "-d", "v15.58.2"], check=True, capture_output=True
	)
	done = bench_sh(home, "check_sources && echo REACHABLE", upstream=f"file://{upstream}")
	assert done.returncode != 0 and "hrms did not answer with refs/tags/v15.58.2" in done.stderr


# --- assets ---------------------------------------------------------------------------------------------------


def test_the_assets_are_checked_themselves_not_a_marker_in_the_bench_home(home):
	"""A marker in BENCH_HOME outlived the bench it described: a new bench without assets answered every page
	with a 500. The check looks at sites/assets: assets.json and every file it names."""
	bench = make_bench(home, PINNED, marker="recipe 3")
	(home / ".assets").touch()
	check = "assets_built && echo BUILT || echo NOT_BUILT"
	assert bench_sh(home, check).stdout.strip() == "NOT_BUILT"
	public = bench / "apps" / "frappe" / "frappe" / "public"
	(public / "dist" / "js").mkdir(parents=True)
	(bench / "sites" / "assets").mkdir(parents=True)
	(bench / "sites" / "assets" / "frappe").symlink_to(public)
	(bench / "sites" / "assets" / "assets.json").write_text(
		'{"desk.bundle.js": "/assets/frappe/dist/js/desk.bundle.ABC.js",'
		' "login.bundle.js": "/assets/frappe/dist/js/login.bundle.DEF.js"}'
	)
	(public / "dist" / "js" / "desk.bundle.ABC.js").write_text("")
	assert bench_sh(home, check).stdout.strip() == "NOT_BUILT"  # login.bundle is missing
	(public / "dist" / "js" / "login.bundle.DEF.js").write_text("")
	assert bench_sh(home, check).stdout.strip() == "BUILT"


# --- Ctrl-C on the demo site -------------------------------------------------------------------------------------

FLEET = """
import os, signal, subprocess, sys, time
log = os.environ["FLEET_LOG"]
child = subprocess.Popen(["sleep", "600"])
with open(log, "a") as f:
	f.write(f"started {os.getpid()} {child.pid} {sys.argv[1:]}\\n")
try:
	signal.pause()
except KeyboardInterrupt:
	child.terminate()
	child.wait()
	with open(log, "a") as f:
		f.write("stopped\\n")
"""

# demo_site's steps up to the fleet, recorded; the fleet is FLEET, installed where the bench's e2e.py is.
DEMO_STEPS = """
install_packages() { :; }
ensure_bench() { :; }
install_app() { :; }
ensure_browser() { :; }
in_bench() { :; }
start_web() { :; }
check_login_page() { :; }
start_service() { :; }
as_bench() { (cd "$WORKDIR" && "$@"); }
stop_all() { echo STOP_ALL >>"$FLEET_LOG"; }
"""


def alive(pid: int) -> bool:
	try:
		os.kill(pid, 0)
	except ProcessLookupError:
		return False
	# A zombie has ended; only its parent has not collected it yet.
	stat = Path(f"/proc/{pid}/stat")
	return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGTERM"])
def test_ctrl_c_on_the_demo_site_stops_the_fleet_it_started(home, how):
	"""Ctrl-C signals the terminal's foreground process group, the demo site's script; a tool that stops a
	command signals the command alone (SIGTERM to make, which passes it on). Either way the fleet in the
	background ends through its own cleanup (its terminals stop) before the services are stopped."""
	bench = make_bench(home, PINNED, marker="recipe 3")
	(bench / "sites").mkdir()
	(bench / "env" / "bin").mkdir(parents=True)
	(bench / "env" / "bin" / "python").symlink_to(sys.executable)
	script = bench / "apps" / "attendance_sync" / "tests" / "bench" / "e2e.py"
	script.parent.mkdir(parents=True)
	script.write_text(FLEET)
	log = home / "fleet.log"
	log.touch()
	demo = subprocess.Popen(
		["bash", "-c", f'source "{BENCH_SH}"\n{DEMO_STEPS}\ndemo_site'],
		env={
			"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
			"BENCH_HOME": str(home),
			"BENCH_USER": "attendance-sync-no-such-user",
			"FLEET_LOG": str(log),
		},
		stdout=subprocess.DEVNULL,
		stderr=subprocess.PIPE,
		text=True,
		start_new_session=True,  # a terminal's foreground process group
	)
	fleet = []
	try:
		deadline = time.monotonic() + 60
		while not log.read_text().startswith("started") and time.monotonic() < deadline:
			time.sleep(0.1)
		started = log.read_text().split("\n")[0].split()
		assert started[0] == "started", (log.read_text(), demo.stderr)
		fleet = [int(started[1]), int(started[2])]
		assert "'--demo'" in log.read_text()
		if how == "Ctrl-C":
			os.killpg(demo.pid, signal.SIGINT)
		else:
			os.kill(demo.pid, signal.SIGTERM)
		assert demo.wait(timeout=60) == 0, demo.stderr.read()
		lines = log.read_text().splitlines()
		assert lines[1:] == ["stopped", "STOP_ALL"], lines  # the fleet's own cleanup, then the services
		assert not any(alive(pid) for pid in fleet)
	finally:
		if demo.poll() is None:
			os.killpg(demo.pid, signal.SIGKILL)
			demo.wait()
		for pid in fleet:
			if alive(pid):
				os.kill(pid, signal.SIGKILL)
