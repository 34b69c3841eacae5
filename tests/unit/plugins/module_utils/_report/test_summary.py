# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one-line-per-VM summary of stratovirt_vms_info and stratovirt_vms: what a person reads of a host."""

from __future__ import annotations

from ansible_collections.stratovirt.qmp.plugins.module_utils._report.summary import converge_summary, info_summary

WEB1 = {
    'pid': 4242,
    'name': 'web1',
    'sockets': ['/srv/vm/web1.sock'],
    'release': '2.1.0',
    'machine': 'micro',
    'status': 'running',
    'devices': [
        {'id': 'data0', 'kind': 'disk', 'addr': '0x1', 'guest_name': 'vdb'},
        {'id': 'net0', 'kind': 'nic', 'addr': '0x0', 'guest_name': 'eth0'},
    ],
    'free': {'disk_slots': ['0x2', '0x3'], 'nic_slots': ['0x1'], 'backends': 6},
    'resources': {
        'vcpus': {'present': 1, 'possible': 4, 'hotplug': 'StratoVirt 2.1.0 has no vCPU hot-plug on a micro VM'},
        'memory': {'size': 256 << 20, 'balloon': 'balloon0', 'balloon_actual': 192 << 20},
        'iothreads': ['iothread0'],
        'cold_plugged': [{'driver': 'virtio-balloon-device', 'id': 'balloon0'}],
    },
    'msg': '',
}
DB1 = {
    'pid': 4243,
    'name': 'db1',
    'sockets': ['/srv/vm/db1.sock'],
    'release': None,
    'machine': 'standard',
    'status': 'busy',
    'devices': None,
    'free': None,
    'msg': 'its monitor is in use',
}


def test_info_summary_is_one_aligned_line_per_vm_with_devices_free_places_and_declared():
    lines = info_summary([WEB1, DB1], [{'name': 'web1', 'socket': '/srv/vm/web1.sock'}])
    assert lines == [
        'web1  pid 4242  2.1.0  micro     running  disks data0=vdb@0x1  nics net0=eth0@0x0  free slots disk 0x2,0x3 nic 0x1  '
        'vcpus 1/4 memory 256M balloon 192M iothreads 1 cold-plugged 1  declared',
        'db1   pid 4243  -      standard  busy     disks -              nics -              free -                           '
        'resources -                                                    not declared  its monitor is in use',
    ]


def test_info_summary_without_declared_vms_says_nothing_of_declaring_and_a_standard_vm_shows_root_ports():
    standard = dict(WEB1, devices=[{'id': 'pgdata', 'kind': 'disk', 'addr': '0x0', 'bus': 'pcie.1', 'guest_name': None}], free={'root_ports': ['pcie.2']})
    no_balloon = dict(WEB1['resources'], memory={'size': 512 << 20, 'balloon': 'no balloon device', 'balloon_actual': None})
    standard['resources'] = no_balloon
    assert info_summary([standard]) == [
        'web1  pid 4242  2.1.0  micro  running  disks pgdata@pcie.1  nics -  free root ports pcie.2  vcpus 1/4 memory 512M balloon - iothreads 1 cold-plugged 1'
    ]
    assert info_summary([]) == []


def test_converge_summary_says_per_vm_what_changed_and_in_check_mode_what_would_be_sent():
    add = [{'execute': 'blockdev-add', 'arguments': {'node-name': 'data0'}}, {'execute': 'device_add', 'arguments': {'id': 'data0'}}]
    entries = [
        {
            'name': 'web1',
            'attempted': True,
            'changed': True,
            'failed': False,
            'msg': '',
            'commands': add,
            'devices': [{'id': 'data0', 'commands': add}],
            'stratovirt': {'release': '2.1.0', 'machine': 'micro', 'pid': 7},
        },
        {'name': 'db1', 'attempted': True, 'changed': False, 'failed': True, 'msg': 'db1 went away', 'commands': [], 'devices': [], 'stratovirt': None},
        {'name': 'db2', 'attempted': False, 'changed': False, 'failed': False, 'msg': '', 'commands': [], 'devices': [], 'stratovirt': None},
    ]
    assert converge_summary(entries, check_mode=True) == [
        'web1  would change   pid 7  2.1.0  micro  plug data0  unplug -  would send blockdev-add data0, device_add data0',
        'db1   FAILED         pid -  -      -      plug -      unplug -  db1 went away',
        'db2   not attempted  pid -  -      -      plug -      unplug -',
    ]
    assert converge_summary(entries[:1], check_mode=False) == ['web1  changed  pid 7  2.1.0  micro  plug data0  unplug -']
