"""The two distributions agree: the pure-Python app pins the compiled core to its own version.

A bench installs the app with `pip install -e` (or uv); the core comes as a wheel. If the pin and the versions
drift, a bench would pair an app with a core it was not tested with, or fail to resolve at all.
"""

import zipfile
from pathlib import Path

import attendance_sync_core
import tomllib

import attendance_sync
from attendance_sync import _core

ROOT = Path(__file__).resolve().parent.parent


def _toml(path: str) -> dict:
	return tomllib.loads((ROOT / path).read_text())


def test_the_app_pins_the_core_to_its_own_version():
	cargo = _toml("Cargo.toml")
	app = _toml("pyproject.toml")["project"]
	assert (
		cargo["package"]["version"] == cargo["workspace"]["package"]["version"] == attendance_sync.__version__
	)
	assert app["dependencies"] == [f"attendance-sync-core=={attendance_sync.__version__}"]
	assert attendance_sync_core.__version__ == _core.__version__ == attendance_sync.__version__


def test_the_app_builds_with_flit_and_the_core_with_maturin():
	app = _toml("pyproject.toml")
	core = _toml("python/pyproject.toml")
	assert app["build-system"]["build-backend"] == "flit_core.buildapi"
	assert core["build-system"]["build-backend"] == "maturin"
	assert core["project"]["name"] == "attendance-sync-core"
	assert core["tool"]["maturin"]["module-name"] == "attendance_sync_core._core"
	assert (ROOT / core["tool"]["maturin"]["manifest-path"].replace("../", "")).name == "Cargo.toml"


def test_the_apps_name_for_the_core_is_the_compiled_module():
	assert _core.fetch_events is attendance_sync_core._core.fetch_events
	assert _core.AttendanceSyncError is attendance_sync_core._core.AttendanceSyncError
	assert _core.Device.__module__ == "attendance_sync_core._core"


def test_the_apps_wheel_is_pure_python(tmp_path, monkeypatch):
	from flit_core import buildapi

	monkeypatch.chdir(ROOT)
	name = buildapi.build_wheel(str(tmp_path))
	with zipfile.ZipFile(tmp_path / name) as wheel:
		files = wheel.namelist()
		metadata = wheel.read(next(f for f in files if f.endswith(".dist-info/METADATA"))).decode()
		tag = wheel.read(next(f for f in files if f.endswith(".dist-info/WHEEL"))).decode()
	assert name.endswith("-py3-none-any.whl")
	assert "Root-Is-Purelib: true" in tag
	assert not [f for f in files if f.endswith((".so", ".pyd", ".rs"))]
	assert "attendance_sync/_core.py" in files
	assert "attendance_sync/hooks.py" in files
	assert f"Requires-Dist: attendance-sync-core=={attendance_sync.__version__}" in metadata
