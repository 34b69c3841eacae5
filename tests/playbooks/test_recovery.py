# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: a run that died half-way, and a device the record lost, are repaired by the next run."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import held_taps
from conftest import mutating_received
from tested_releases import EDGE_PROFILES as PROFILES, release
from test_micro_modules import blockdev_add, device_del, disk_device_add, disk_task, may_fail, netdev_add, nic_device_add, nic_task
from test_standard_modules import ROOT_PORTS


def record_of(socket_path):
    with open(os.path.realpath(socket_path) + '.devices.json', encoding='utf-8') as handle:
        return {entry['id']: entry for entry in json.load(handle)['devices']}


@pytest.mark.parametrize('profile', PROFILES)
def test_run_cut_between_blockdev_add_and_device_add_is_repaired(profile, recorded_vm, make_image, playbook):
    # The connection drops when device_add arrives (query-version and blockdev-add answered): the backend is
    # registered, the device is not plugged, and the run fails.
    vm = recorded_vm(profile, options=['--fault-drop-after', '2'])
    image = make_image('disk0.img')
    task = disk_task(vm.socket_path, 'drive-0', path=image, addr='0x1')
    cut = playbook([may_fail(task)]).results[0]
    assert cut['failed'] and 'closed by the peer' in cut['msg']
    assert [command['execute'] for command in cut['commands']] == ['blockdev-add', 'device_add']
    assert record_of(vm.socket_path)['drive-0']['state'] == 'plugging'

    again = playbook([task]).results[0]
    assert again['changed'] and 'interrupted while plugging' in json.dumps(again.get('warnings'))
    assert mutating_received(vm.socket_path) == [
        blockdev_add(profile, 'drive-0', image),
        disk_device_add(profile, 'drive-0', '0x1'),
        device_del('drive-0'),
        blockdev_add(profile, 'drive-0', image),
        disk_device_add(profile, 'drive-0', '0x1'),
    ]
    assert record_of(vm.socket_path)['drive-0']['state'] == 'plugged'
    assert not playbook([task]).results[0]['changed']


@pytest.mark.parametrize('profile', PROFILES)
def test_absent_with_the_path_unplugs_a_device_the_record_lost(profile, recorded_vm, make_image, playbook):
    vm = recorded_vm(profile)
    image = make_image('disk0.img')
    assert playbook([disk_task(vm.socket_path, 'drive-0', path=image, addr='0x1')]).results[0]['changed']
    os.unlink(os.path.realpath(vm.socket_path) + '.devices.json')

    without_path = playbook([disk_task(vm.socket_path, 'drive-0', state='absent')]).results[0]
    assert not without_path['changed'], 'nothing tells that drive-0 is attached: nothing is sent'
    with_path = playbook([disk_task(vm.socket_path, 'drive-0', path=image, state='absent')]).results[0]
    assert with_path['changed']
    assert mutating_received(vm.socket_path)[-1] == device_del('drive-0')
    assert record_of(vm.socket_path) == {}


# -- issue 10.2 / 10.3: runs killed once a command reached the VM (the simulator drops the connection before
# the reply: the VM keeps what it did, the run stops) ------------------------------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_nic_plug_killed_after_device_add_is_taken_as_plugged(profile, recorded_vm, host_tap, playbook):
    vm = recorded_vm(profile, options=['--fault-drop-reply-on', 'device_add'])
    tap = host_tap()
    task = nic_task(vm.socket_path, 'x1', ifname=tap, addr='0x0')
    cut = playbook([may_fail(task)]).results[0]
    assert cut['failed'] and [command['execute'] for command in cut['commands']] == ['netdev_add', 'device_add']
    plug = [netdev_add('x1', tap), nic_device_add(profile, 'x1', '0x0')]
    assert mutating_received(vm.socket_path) == plug

    again = playbook([task]).results[0]
    # The tap is attached by device_add only: held means the plug went through; nothing is sent again.
    assert not again.get('failed') and again['commands'] == [], again
    assert 'interrupted after plugging it' in json.dumps(again.get('warnings'))
    assert record_of(vm.socket_path)['x1']['state'] == 'plugged'
    assert held_taps(vm.pid) == [tap]
    assert mutating_received(vm.socket_path) == plug
    assert not playbook([task]).results[0]['changed']

    gone = playbook([nic_task(vm.socket_path, 'x1', state='absent')]).results[0]
    assert gone['changed'] and not gone.get('failed'), gone
    # 2.5.0 keeps the tap of an unplugged NIC: recorded as held, never as a NIC.
    assert record_of(vm.socket_path) == ({'x1': dict(record_of(vm.socket_path)['x1'], state='tap-held')} if release(profile) >= (2, 5) else {})


@pytest.mark.parametrize('profile', PROFILES)
@pytest.mark.parametrize('kind', ['disk', 'nic'])
def test_standard_unplug_killed_after_device_del_removes_the_backend(profile, kind, recorded_vm, make_image, host_tap, playbook):
    # The guest lets the device go at once (ack delay 0), after the run died and before its blockdev-del.
    vm = recorded_vm(profile, options=['--machine', 'standard', '--guest-ack-delay', '0', '--fault-drop-reply-on', 'device_del'], cmdline=ROOT_PORTS)
    sock = vm.socket_path
    if kind == 'disk':
        image = make_image('disk0.img')
        present = disk_task(sock, 'x1', path=image)
        absent = disk_task(sock, 'x1', state='absent')
        backend_del = '{"execute":"blockdev-del","arguments":{"node-name":"x1"}}\n'
    else:
        present = nic_task(sock, 'x1', ifname=host_tap())
        absent = nic_task(sock, 'x1', state='absent')
        backend_del = '{"execute":"netdev_del","arguments":{"id":"x1"}}\n'
    assert playbook([present]).results[0]['changed']
    cut = playbook([may_fail(absent)]).results[0]
    assert cut['failed'] and [command['execute'] for command in cut['commands']] == ['device_del']
    sent = len(mutating_received(sock))

    again = playbook([absent]).results[0]
    assert again['changed'] and not again.get('failed'), again
    assert backend_del in mutating_received(sock)[sent:]
    assert again['commands'] == [json.loads(line) for line in mutating_received(sock)[sent:]]
    assert 'x1' not in record_of(sock) or record_of(sock)['x1']['state'] == 'tap-held'
    # Nothing leaked: the id takes a new backend (StratoVirt would answer "has been added"); 2.5.0 keeps the old tap.
    if kind == 'nic':
        present = nic_task(sock, 'x1', ifname=host_tap())
    probe = playbook([present]).results[0]
    assert probe['changed'] and not probe.get('failed'), probe
