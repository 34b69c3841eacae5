# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator's vCPUs, memory balloon and iothreads beyond the resource recordings: the active balloon driver
(from StratoVirt's source; no recording shows one) and the command-line grammar they come from."""

from __future__ import annotations

import json

import pytest

from test_sim_micro import Raw

NOT_ACTIVE = {'error': {'class': 'DeviceNotActive', 'desc': 'No balloon device has been activated'}}


@pytest.mark.parametrize('machine', ['microvm', 'q35'])
def test_active_balloon_driver_follows_the_target_in_pages(start_vm, machine):
    vm = start_vm('2.5.0', options=['--machine', machine, '--guest-balloon', 'active'], cmdline=['-m', '1G', '-device', 'virtio-balloon-device,id=b0'])
    qmp = Raw(vm.socket_path)
    qmp.reply('qmp_capabilities')
    assert qmp.reply('query-balloon') == {'return': {'actual': 1 << 30}}
    assert changed(qmp, 512 << 20) == {'actual': 512 << 20}  # the reply, then the guest's answer
    assert qmp.reply('query-balloon') == {'return': {'actual': 512 << 20}}
    assert qmp.cmd('balloon', {'value': 512 << 20}) == [{'return': {}}]
    assert qmp.reply('query-status')['return']['status'] == 'running'  # nothing changed: no event came before it
    assert changed(qmp, (512 << 20) + 1000) == {'actual': (512 << 20) + 4096}  # whole pages
    assert changed(qmp, 4 << 30) == {'actual': 1 << 30}  # at or above the memory: deflated


def changed(qmp, value):
    assert qmp.cmd('balloon', {'value': value}) == [{'return': {}}]
    message = json.loads(qmp.line())
    assert message['event'] == 'BALLOON_CHANGED'
    return message['data']


def test_balloon_without_driver_or_device_is_not_active(start_vm):
    absent = Raw(start_vm('2.1.0', cmdline=['-m', '256', '-device', 'virtio-balloon-device']).socket_path)
    absent.reply('qmp_capabilities')
    assert absent.reply('balloon', {'value': 1 << 27}) == NOT_ACTIVE
    assert absent.reply('query-balloon') == {'return': {'actual': 256 << 20}}
    none = Raw(start_vm('2.5.0', options=['--guest-balloon', 'active']).socket_path)
    none.reply('qmp_capabilities')
    assert none.reply('query-balloon') == NOT_ACTIVE
    assert none.reply('balloon', {'value': 1 << 27}) == NOT_ACTIVE


def test_vcpus_from_smp(start_vm):
    micro = Raw(start_vm('2.5.0', cmdline=['-smp', 'cpus=2,maxcpus=3']).socket_path)
    micro.reply('qmp_capabilities')
    assert [cpu['CPU'] for cpu in micro.reply('query-cpus')['return']] == [0, 1]
    possible = micro.reply('query-hotpluggable-cpus')['return']
    assert [('qom-path' in cpu, cpu['props']['core-id']) for cpu in possible] == [(True, 0), (True, 1), (False, 2)]
    q35 = Raw(start_vm('2.1.0', options=['--machine', 'q35'], cmdline=['-smp', '2']).socket_path)
    q35.reply('qmp_capabilities')
    assert q35.reply('query-hotpluggable-cpus') == {'return': {}}
    assert len(q35.reply('query-cpus')['return']) == 2
