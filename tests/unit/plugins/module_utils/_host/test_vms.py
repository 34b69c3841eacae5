# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_host/vms.py and _host_vms_info.py: the VMs a host runs, against simulated VMs.

The host may run other people's VMs too: assertions look at this test's VMs only, and a listing that reads monitors
is given the declared VMs with read_undeclared false, so that it never touches a monitor that is not this test's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.host_vms import Fleet
from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.vms import validated_vms
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.vms import compare_declared, host_vm, running_vms
from ansible_collections.stratovirt.qmp.plugins.module_utils._report.host_vms_info import host_vms_report
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import all_kinds
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.lock import VMLock
from tested_releases import PROFILES


def mine(vms, *started):
    pids = {vm.pid for vm in started}
    return sorted((vm for vm in vms if vm.pid in pids), key=lambda vm: vm.pid)


def test_running_vms_are_found_by_their_command_line(start_vm):
    micro = start_vm('2.1.0', 'microvm', cmdline=['-name', 'web1'], name='web1.sock')
    standard = start_vm('2.5.0', 'standard', name='db1.sock')
    found = mine(running_vms(), micro, standard)
    assert [(vm.pid, vm.name, vm.sockets, vm.machine) for vm in found] == [
        (micro.pid, 'web1', [micro.socket_path], 'micro'),
        (standard.pid, None, [standard.socket_path], 'standard'),
    ]


def test_a_process_naming_no_monitor_is_not_a_vm(tmp_path):
    child = subprocess.Popen(
        [sys.executable, '-c', 'import sys; sys.stdin.read()', '-machine', 'microvm', '-qmp', 'tcp:127.0.0.1:4444,server,nowait'], stdin=subprocess.PIPE
    )
    try:
        time.sleep(0.2)
        assert [vm for vm in running_vms() if vm.pid == child.pid] == []
    finally:
        child.stdin.close()
        child.wait()


def test_a_relative_monitor_path_is_read_from_the_vm_working_directory():
    vm = host_vm(os.getpid(), ['stratovirt', '-qmp', 'unix:run/qmp.sock,server,nowait', '-name', 'x'])
    assert vm.sockets == [os.path.join(os.getcwd(), 'run/qmp.sock')]
    assert host_vm(os.getpid(), ['stratovirt', '-machine', 'microvm']) is None


def test_declared_vms_not_running_and_running_vms_not_declared(start_vm, tmp_path):
    declared_vm = start_vm(name='declared.sock')
    stray = start_vm(cmdline=['-name', 'stray'], name='stray.sock')
    link = tmp_path / 'alias.sock'
    link.symlink_to(declared_vm.socket_path)
    compared = compare_declared(
        [{'name': 'declared', 'socket': str(link)}, {'name': 'ghost', 'socket': str(tmp_path / 'ghost.sock')}], mine(running_vms(), declared_vm, stray)
    )
    assert compared == {'not_running': ['ghost'], 'undeclared': [{'pid': stray.pid, 'name': 'stray', 'sockets': [stray.socket_path]}]}


def test_a_declared_socket_that_is_a_hard_link_of_a_running_vms_socket_is_that_vm(start_vm, tmp_path):
    running = start_vm(name='vm.sock')
    hard_link = tmp_path / 'other-name.sock'
    os.link(running.socket_path, str(hard_link))
    compared = compare_declared([{'name': 'vm', 'socket': str(hard_link)}], mine(running_vms(), running))
    assert compared == {'not_running': [], 'undeclared': []}
    report = host_vms_report(5.0, 2, [{'name': 'vm', 'socket': str(hard_link)}], read_undeclared=False)
    entry = next(vm for vm in report['vms'] if vm['pid'] == running.pid)
    assert [declared['name'] for declared in report['declared'] if declared.get('pid') == running.pid] == ['vm'], report['declared']
    assert entry['status'] != 'busy'


def test_the_fleet_run_reports_the_host_without_touching_an_undeclared_monitor(start_vm, tmp_path):
    declared_vm = start_vm(name='declared.sock')
    stray = start_vm(cmdline=['-name', 'stray'], options=['--record', str(tmp_path / 'stray.jsonl')], name='stray.sock')
    checked, dummy = validated_vms([{'name': 'declared', 'socket': declared_vm.socket_path}, {'name': 'ghost', 'socket': str(tmp_path / 'ghost.sock')}])
    result = Fleet(checked, tuple(kind.name for kind in all_kinds())).run()
    assert result['host']['not_running'] == ['ghost']
    assert {'pid': stray.pid, 'name': 'stray', 'sockets': [stray.socket_path]} in result['host']['undeclared']
    assert result['failed_vms'] == ['ghost']
    assert not os.path.exists(tmp_path / 'stray.jsonl') or os.path.getsize(tmp_path / 'stray.jsonl') == 0


@pytest.mark.parametrize('profile', PROFILES)
def test_the_listing_reads_free_monitors_and_says_busy_at_once(profile, start_vm, make_image, tmp_path):
    rootfs = make_image('rootfs.img', 8)
    free = start_vm(
        profile,
        'microvm',
        name='free.sock',
        cmdline=['-name', 'free', '-drive', 'file=%s,id=rootfs,readonly=off,direct=off' % rootfs, '-device', 'virtio-blk-device,drive=rootfs,id=rootfs'],
    )
    standard = start_vm(profile, 'standard', name='standard.sock', options=['--root-ports', '1'])
    locked = start_vm(profile, 'microvm', name='locked.sock')
    connected = start_vm(profile, 'microvm', name='connected.sock')
    stray = start_vm(profile, 'microvm', name='stray.sock', options=['--record', str(tmp_path / 'stray.jsonl')])
    declared = [{'name': name, 'socket': vm.socket_path} for name, vm in (('free', free), ('standard', standard), ('locked', locked), ('connected', connected))]
    declared.append({'name': 'ghost', 'socket': str(tmp_path / 'ghost.sock')})
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(connected.socket_path)
    client.recv(4096)  # the greeting: the monitor is now held by this client
    with VMLock(locked.socket_path, 1.0):
        started = time.monotonic()
        result = host_vms_report(5.0, 4, declared, read_undeclared=False)
        elapsed = time.monotonic() - started
    client.close()
    assert elapsed < 4.0, 'nothing waited for a busy monitor'  # a wait would last the 5 s timeout
    by_name = {entry['name']: entry for entry in result['declared']}
    assert by_name['free']['running'] and by_name['free']['status'] == 'running'
    assert (by_name['free']['release'], by_name['free']['machine'], by_name['free']['mismatches']) == (profile, 'micro', [])
    assert (by_name['standard']['release'], by_name['standard']['machine']) == (profile, 'standard')
    assert by_name['locked']['status'] == 'busy' and 'another stratovirt.qmp run has held the lock' in by_name['locked']['msg']
    assert by_name['connected']['status'] == 'busy' and 'in use by another client' in by_name['connected']['msg']
    with open('/proc/self/comm', encoding='utf-8') as handle:
        me = handle.read().strip()
    assert 'held by %s (pid %d)' % (me, os.getpid()) in by_name['connected']['msg']
    assert 'a second monitor (-mon) would not make sharing safe' in by_name['connected']['msg']
    assert {entry['pid']: entry['held_by'] for entry in result['vms']}[connected.pid] == [{'pid': os.getpid(), 'name': me}]
    assert by_name['ghost'] == {'name': 'ghost', 'socket': str(tmp_path / 'ghost.sock'), 'running': False}
    assert result['not_running'] == ['ghost']
    listed = {entry['pid']: entry for entry in result['vms']}
    assert [device['id'] for device in listed[free.pid]['devices']] == ['rootfs']
    assert listed[free.pid]['name'] == 'free' and listed[free.pid]['sockets'] == [free.socket_path]
    assert listed[locked.pid]['devices'] is None and listed[locked.pid]['release'] is None
    assert listed[stray.pid]['msg'] == 'not read: not declared' and listed[stray.pid]['status'] is None
    assert stray.pid in [entry['pid'] for entry in result['undeclared']]
    assert not os.path.exists(tmp_path / 'stray.jsonl') or os.path.getsize(tmp_path / 'stray.jsonl') == 0


# A process that names a socket in its command line and does nothing else: an impostor, unless it serves the socket.
NAMER = 'import sys; sys.stdin.read()'
# A service that is no QMP server: it accepts and never says a word; it appends one line to argv[2] per connection.
SILENT_SERVICE = '''
import socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(8)
held = []
while True:
    connection, dummy = server.accept()
    held.append(connection)
    with open(sys.argv[2], 'a') as log:
        log.write('accepted\\n')
'''


class Helpers:
    """Processes a test starts, stopped by their pid at the end."""

    def __init__(self):
        self.started = []

    def start(self, *args):
        process = subprocess.Popen([sys.executable, '-c'] + list(args), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.started.append(process)
        return process

    def stop(self):
        for process in self.started:
            process.kill()
            process.wait()


@pytest.fixture
def helpers():
    started = Helpers()
    yield started
    started.stop()


def qmp_argument(path):
    return ['-qmp', 'unix:%s,server,nowait' % path]


def wait_listening(path):
    deadline = time.monotonic() + 10
    while not os.path.exists(path):
        assert time.monotonic() < deadline, 'nothing listens on %s' % path
        time.sleep(0.02)


def pids_like_this_process():
    """Processes with this process's command line (the forks a QMP client might leave behind), this one excepted."""
    with open('/proc/self/cmdline', 'rb') as own:
        mine = own.read()
    found = set()
    for name in os.listdir('/proc'):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open('/proc/%s/cmdline' % name, 'rb') as other:
                    if other.read() == mine:
                        found.add(int(name))
            except OSError:
                continue
    return found


def lingering(pids, settle=0.3):
    """Those of ``pids`` still running this process's command line after ``settle`` s: a test worker beside this
    one (pytest-xdist's share one command line) that forks to exec a child shows it for a moment; a left-behind
    greeting hand-off waits far longer."""
    time.sleep(settle)
    return pids & pids_like_this_process()


@pytest.mark.parametrize('profile', PROFILES)
def test_impostors_a_qemu_and_a_silent_service_are_not_vms_and_each_vm_is_read_once(profile, start_vm, helpers, qemu, tmp_path):
    vm = start_vm(profile, 'microvm', name='vm.sock', cmdline=['-name', 'real'], options=['--record', str(tmp_path / 'vm.jsonl')])
    busy = start_vm(profile, 'microvm', name='busy.sock', cmdline=['-name', 'busy'])
    copycat = helpers.start(NAMER, '-name', 'copycat', *qmp_argument(vm.socket_path))
    service_path, accepted = str(tmp_path / 'service.sock'), str(tmp_path / 'accepted.txt')
    service = helpers.start(SILENT_SERVICE, service_path, accepted)
    pretender = helpers.start(NAMER, '-name', 'pretender', *qmp_argument(service_path))
    # QEMU names its own socket and serves it: only its greeting tells it is not StratoVirt.
    wait_listening(service_path)
    holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    holder.connect(busy.socket_path)
    holder.recv(4096)  # the greeting: this client holds the busy VM's monitor
    declared = [
        {'name': 'real', 'socket': vm.socket_path},
        {'name': 'busy', 'socket': busy.socket_path},
        {'name': 'service', 'socket': service_path},
        {'name': 'qemu', 'socket': qemu},
    ]
    before = pids_like_this_process()
    started = time.monotonic()
    try:
        result = host_vms_report(3.0, 4, declared, read_undeclared=False)
    finally:
        holder.close()
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, 'the listing returns within its timeout'
    assert lingering(pids_like_this_process() - before) == set(), 'the listing leaves no process behind'
    assert not os.path.exists(accepted), 'a socket its namer does not serve is never connected to'
    listed = {entry['pid']: entry for entry in result['vms']}
    assert listed[vm.pid]['status'] == 'running' and listed[vm.pid]['release'] == profile
    assert listed[busy.pid]['status'] == 'busy'
    assert [entry['socket'] for entry in result['vms'] if entry['pid'] in (vm.pid, busy.pid, copycat.pid, pretender.pid, service.pid)] == [
        vm.socket_path,
        busy.socket_path,
    ]
    ignored = {entry['pid']: entry for entry in result['ignored']}
    assert ignored[copycat.pid]['reason'] == 'impostor' and 'process %d serves it' % vm.pid in ignored[copycat.pid]['msg']
    assert ignored[pretender.pid]['reason'] == 'impostor' and 'process %d serves it' % service.pid in ignored[pretender.pid]['msg']
    qemu_entries = [entry for entry in result['ignored'] if entry['sockets'] == [qemu]]
    assert [entry['reason'] for entry in qemu_entries] == ['not StratoVirt'], result
    assert 'greeting' in qemu_entries[0]['msg']
    by_name = {entry['name']: entry for entry in result['declared']}
    assert by_name['real']['pid'] == vm.pid and by_name['real']['status'] == 'running'
    assert by_name['service']['running'] is False and by_name['qemu']['running'] is False
    with open(tmp_path / 'vm.jsonl', encoding='utf-8') as record:
        greetings = [line for line in map(json.loads, record) if '"QMP"' in line.get('sent', '')]
    assert len(greetings) == 1, 'one session per monitor'


def test_the_listing_reads_the_socket_table_once_for_every_monitor(start_vm, monkeypatch):
    """Density: a host of N VMs is listed with one dump of the kernel's socket table, not one per monitor."""
    from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp import monitor_usage as unix_diag  # pylint: disable=import-outside-toplevel

    started = [start_vm(cmdline=['-name', 'dense%d' % number], name='dense%d.sock' % number) for number in range(3)]
    dumps = []
    real_dump = unix_diag._dump_unix_sockets
    monkeypatch.setattr(unix_diag, '_dump_unix_sockets', lambda *args: dumps.append(args) or real_dump(*args))
    found = mine(running_vms(), *started)
    assert [(vm.pid, vm.sockets) for vm in found] == [(vm.pid, [vm.socket_path]) for vm in started]
    assert len(dumps) == 1


def test_without_sock_diag_each_monitor_is_still_attributed(start_vm, monkeypatch):
    from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp import monitor_usage as unix_diag  # pylint: disable=import-outside-toplevel

    started = [start_vm(name='procnet%d.sock' % number) for number in range(2)]

    def refuse(*args):
        raise unix_diag._SockDiagUnavailable('no netlink here')

    monkeypatch.setattr(unix_diag, '_dump_unix_sockets', refuse)
    assert [(vm.pid, vm.sockets) for vm in mine(running_vms(), *started)] == [(vm.pid, [vm.socket_path]) for vm in started]
