# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_simulator.py --daemon / --stop, as the simulated_vm role runs them: each returns only when it is done."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from stratovirt_sim.control import SIMULATOR


def simulator(*args):
    return subprocess.run([sys.executable, SIMULATOR] + list(args), capture_output=True, text=True, timeout=30, check=False)


def greeting(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(3)
        conn.connect(path)
        return conn.recv(4096)


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            return handle.read().rsplit(b')', 1)[1].split()[0] not in (b'Z', b'X')
    except OSError:
        return False


@pytest.fixture
def daemon_paths(tmp_path):
    sock, pidfile = str(tmp_path / 'vm.sock'), str(tmp_path / 'vm.pid')
    yield sock, pidfile
    simulator('--stop', '--pidfile', pidfile)


def test_daemon_returns_once_the_socket_listens_and_stop_once_it_has_gone(daemon_paths):
    sock, pidfile = daemon_paths
    started = simulator('--daemon', '--socket', sock, '--pidfile', pidfile, '--profile', '2.5.0', '--machine', 'standard', '--root-ports', '2')
    assert started.returncode == 0, started.stderr
    pid = int(started.stdout.split()[1])
    assert started.stdout == 'ready %d\n' % pid
    # No wait: the socket answers the moment --daemon has returned, and the re-exec for --root-ports kept the pid.
    assert b'"package":"StratoVirt-2.5.0"' in greeting(sock)
    with open('/proc/%d/cmdline' % pid, 'rb') as handle:
        assert b'pcie-root-port,id=pcie.2' in handle.read()
    with open(pidfile, encoding='ascii') as handle:
        assert int(handle.read()) == pid

    again = simulator('--daemon', '--socket', sock, '--pidfile', pidfile)
    assert (again.returncode, again.stdout) == (0, 'running %d\n' % pid)

    stopped = simulator('--stop', '--pidfile', pidfile)
    assert (stopped.returncode, stopped.stdout) == (0, 'stopped %d\n' % pid)
    assert not alive(pid)
    assert not os.path.exists(sock) and not os.path.exists(pidfile)
    assert simulator('--stop', '--pidfile', pidfile).stdout == 'not running\n'


def test_a_simulator_that_cannot_start_fails_with_its_log(daemon_paths):
    sock, pidfile = daemon_paths
    failed = simulator('--daemon', '--socket', sock, '--pidfile', pidfile, '--', '-device', 'virtio-blk-device,drive=nope,id=x')
    assert failed.returncode == 1
    assert 'exited before it listened' in failed.stderr
    assert 'names no known -drive' in failed.stderr
    assert not os.path.exists(sock) and not os.path.exists(pidfile)


def test_stop_leaves_a_process_that_reused_the_pid_alone(daemon_paths):
    dummy, pidfile = daemon_paths
    other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        with open(pidfile, 'w', encoding='ascii') as handle:
            handle.write('%d\n' % other.pid)
        assert simulator('--stop', '--pidfile', pidfile).stdout == 'not running\n'
        assert other.poll() is None
        assert not os.path.exists(pidfile)
    finally:
        other.kill()
        other.wait()


def test_daemon_and_stop_need_a_pidfile(tmp_path):
    assert simulator('--daemon', '--socket', str(tmp_path / 'vm.sock')).returncode == 2
    assert simulator('--stop').returncode == 2


def test_a_simulator_started_by_hand_carries_name_and_qmp_as_a_vm_does(tmp_path):
    # docs/simulator.md starts it with --socket alone: the listing of the host's VMs must see it as a VM all the same.
    from ansible_collections.stratovirt.qmp.plugins.module_utils._host.vms import host_vm

    sock, pidfile = str(tmp_path / 'vm1.sock'), str(tmp_path / 'vm1.pid')
    started = simulator('--daemon', '--socket', sock, '--pidfile', pidfile, '--profile', '2.1.0', '--machine', 'q35', '--root-ports', '1')
    try:
        assert started.returncode == 0, started.stderr
        pid = int(started.stdout.split()[1])
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            argv = handle.read().decode().split('\0')[:-1]
        assert argv[argv.index('--') + 1 : argv.index('--') + 5] == ['-name', 'vm1', '-qmp', 'unix:%s,server,nowait' % sock]
        vm = host_vm(pid, argv)
        assert vm is not None and (vm.name, vm.sockets, vm.machine) == ('vm1', [sock], 'standard')
        assert 'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3' in argv
    finally:
        simulator('--stop', '--pidfile', pidfile)
