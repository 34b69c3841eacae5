# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by every pytest suite: simulated VMs, image files, host taps, printed figures."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from stratovirt_sim.control import SimulatedVM, new_tap_name

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.monitor_usage import UnixDiagError, monitor_usage

FIGURES = []


def pytest_runtest_logreport(report):
    # Runs in the controller, with or without xdist: figures travel as user properties of the report.
    if report.when == 'call':
        FIGURES.extend(value for key, value in report.user_properties if key == 'figure')


def pytest_terminal_summary(terminalreporter):
    for line in FIGURES:
        terminalreporter.write_line(line)


@pytest.fixture
def figures(record_property):
    """``figures('replay: 175/179 identical')`` prints that line at the end of the run."""
    return lambda line: record_property('figure', line)


SYS_CLASS_NET = '/sys/class/net'


def taps_of_this_process():
    """The host interfaces named by :func:`new_tap_name` in this (worker) process, whatever the prefix."""
    tag = '%d_' % (os.getpid() % 100000)
    try:
        names = os.listdir(SYS_CLASS_NET)
    except OSError:
        return []
    return sorted(name for name in names if name[3:].startswith(tag) and name[:3].isalpha())


@pytest.fixture(autouse=True)
def _host_left_as_found():
    """Every test leaves no tap of its own behind (set up first, so checked after every other teardown)."""
    before = taps_of_this_process()
    yield
    left = sorted(set(taps_of_this_process()) - set(before))
    assert not left, 'the test left host interfaces behind: %s' % ', '.join(left)


@pytest.fixture
def _tap_registry():
    """Persistent taps a test created; deleted after every VM of the test has stopped (start_vm depends on this,
    so it is torn down first): a tap a VM still holds cannot be deleted."""
    created = []
    yield created
    failed = []
    for name in created:
        deleted = subprocess.run(['ip', 'tuntap', 'del', 'dev', name, 'mode', 'tap'], check=False, capture_output=True, text=True)
        if deleted.returncode != 0 or os.path.lexists(os.path.join(SYS_CLASS_NET, name)):
            failed.append('%s (%s)' % (name, deleted.stderr.strip()))
    assert not failed, 'cannot delete the test\'s taps: %s' % ', '.join(failed)


@pytest.fixture
def start_vm(tmp_path, _tap_registry):
    """``start_vm(profile='2.1.0', options=[...], cmdline=[...])`` -> a started :class:`SimulatedVM`."""
    started = []

    def start(profile='2.1.0', machine='microvm', options=None, cmdline=None, name=None):
        sock = str(tmp_path / (name or 'vm%d.sock' % len(started)))
        vm = SimulatedVM(sock, profile, machine, options, cmdline).start()
        started.append(vm)
        return vm

    yield start
    for vm in started:
        vm.stop()


@pytest.fixture
def make_image(tmp_path):
    """``make_image('disk0.img', size_mib=64)`` -> path of a sparse raw image (on disk, not tmpfs: O_DIRECT)."""

    def make(name='disk0.img', size_mib=64):
        path = tmp_path / name
        with open(path, 'wb') as image:
            image.truncate(size_mib * 1024 * 1024)
        return str(path)

    return make


@pytest.fixture
def host_tap(_tap_registry):
    """``host_tap()`` -> name of a persistent host tap created for the test and deleted after it (and after the
    test's VMs have stopped)."""

    def make():
        name = new_tap_name('svt')
        subprocess.run(['ip', 'tuntap', 'add', 'dev', name, 'mode', 'tap'], check=True)
        _tap_registry.append(name)
        return name

    return make


@pytest.fixture
def free_tap_name():
    """``free_tap_name()`` -> a tap name that does not exist on this host (StratoVirt creates such taps itself)."""
    return new_tap_name


QEMU = shutil.which('qemu-system-x86_64')


def listening(path):
    if not os.path.exists(path):
        return False
    try:
        return monitor_usage(path).listening
    except UnixDiagError:
        return False


@pytest.fixture
def qemu(tmp_path):
    """A real QEMU (no guest, -S) serving QMP at the path yielded; started and stopped by pid."""
    if QEMU is None:
        pytest.skip('qemu-system-x86_64 is not installed (make test installs it)')
    sock = str(tmp_path / 'qemu.sock')
    process = subprocess.Popen(
        [QEMU, '-M', 'none', '-accel', 'tcg', '-S', '-display', 'none', '-nodefaults', '-qmp', 'unix:%s,server,nowait' % sock],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Ready means listening (the kernel's Unix socket table says so), not merely bound: QEMU creates the file first.
    deadline = time.monotonic() + 30
    while not listening(sock):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            process.wait()
            pytest.fail('QEMU did not listen on %s' % sock)
        time.sleep(0.02)
    yield sock
    process.kill()
    process.wait()
