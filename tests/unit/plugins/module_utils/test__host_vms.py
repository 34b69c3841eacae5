# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_host_vms.py and _host_vms_info.py: the VMs a host runs, against simulated VMs.

The host may run other people's VMs too: assertions look at this test's VMs only, and a listing that reads monitors
is given the declared VMs with read_undeclared false, so that it never touches a monitor that is not this test's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._fleet import Fleet
from ansible_collections.stratovirt.qmp.plugins.module_utils._fleet_runner import validated_vms
from ansible_collections.stratovirt.qmp.plugins.module_utils._host_vms import compare_declared, host_vm, running_vms
from ansible_collections.stratovirt.qmp.plugins.module_utils._host_vms_info import host_vms_report
from ansible_collections.stratovirt.qmp.plugins.module_utils._kinds import all_kinds
from ansible_collections.stratovirt.qmp.plugins.module_utils._vm_lock import VMLock
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
    assert elapsed < 3.0, 'nothing waited for a busy monitor'
    by_name = {entry['name']: entry for entry in result['declared']}
    assert by_name['free']['running'] and by_name['free']['status'] == 'running'
    assert (by_name['free']['release'], by_name['free']['machine'], by_name['free']['mismatches']) == (profile, 'micro', [])
    assert (by_name['standard']['release'], by_name['standard']['machine']) == (profile, 'standard')
    assert by_name['locked']['status'] == 'busy' and 'another stratovirt.qmp run has held the lock' in by_name['locked']['msg']
    assert by_name['connected']['status'] == 'busy' and 'in use by another client' in by_name['connected']['msg']
    assert by_name['ghost'] == {'name': 'ghost', 'socket': str(tmp_path / 'ghost.sock'), 'running': False}
    assert result['not_running'] == ['ghost']
    listed = {entry['pid']: entry for entry in result['vms']}
    assert [device['id'] for device in listed[free.pid]['devices']] == ['rootfs']
    assert listed[free.pid]['name'] == 'free' and listed[free.pid]['sockets'] == [free.socket_path]
    assert listed[locked.pid]['devices'] is None and listed[locked.pid]['release'] is None
    assert listed[stray.pid]['msg'] == 'not read: not declared' and listed[stray.pid]['status'] is None
    assert stray.pid in [entry['pid'] for entry in result['undeclared']]
    assert not os.path.exists(tmp_path / 'stray.jsonl') or os.path.getsize(tmp_path / 'stray.jsonl') == 0
