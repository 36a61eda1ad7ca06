"""The simulator helper the bench tests use: output parsing, and a real run where the binary is built."""

import pytest

from attendance_sync.simulator import SimDevice, Simulator, find_binary, parse_device_line


def test_parse_device_line():
	device = parse_device_line("device sim-1 http://127.0.0.1:41234 events=2100\n")
	assert device == SimDevice("sim-1", "http://127.0.0.1:41234", 2100)
	assert device.host == "127.0.0.1" and device.port == 41234
	assert parse_device_line("listening on 127.0.0.1") is None
	assert parse_device_line("device x ftp://h events=1") is None


def test_missing_binary_is_reported():
	with pytest.raises(FileNotFoundError):
		Simulator(binary="").start()


@pytest.mark.skipif(find_binary() is None, reason="attendance-sync binary not built")
def test_simulator_starts_and_counts_requests():
	with Simulator(devices=2, args=["--days", "1", "--events-per-day", "20", "--seed", "7"]) as sim:
		assert len(sim.devices) == 2
		assert len({d.port for d in sim.devices}) == 2
		stats = sim.devices[0].stats()
		assert "requests" in stats
