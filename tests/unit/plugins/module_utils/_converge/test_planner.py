# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner tables: (current devices, declared device) -> QMP commands, or a refusal. No socket."""

from __future__ import annotations

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._device.record import DeviceRecord
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import spec_from_params
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.errors import DeviceInputError
from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.planner import plan_device
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import MACHINE_MICRO, Dialect
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import ProcessIdentity
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.state import SOURCE_COLD, Device, VMState

V21 = Dialect((2, 1, 0), MACHINE_MICRO)
V25 = Dialect((2, 5, 0), MACHINE_MICRO)
IMG = '/srv/vm/disk0.img'


def vm(*devices, dialect=V21, held_taps=None):
    state = VMState(dialect, ProcessIdentity(1, 1), DeviceRecord('/nonexistent/record.json', 1, 1))
    for device in devices:
        state.devices[device.id] = device
    state.retained_by_unplugged = dict(held_taps or {})
    return state


def disk(device_id, slot, path, source='record', **options):
    return Device(device_id, 'disk', slot, options=dict(options, path=path), source=source)


def nic(device_id, slot, ifname, **options):
    return Device(device_id, 'nic', slot, options=dict(options, ifname=ifname))


def want_disk(**params):
    params.setdefault('id', 'drive-0')
    params.setdefault('path', IMG)
    return spec_from_params('disk', params)


def want_nic(**params):
    params.setdefault('id', 'net-0')
    params.setdefault('ifname', 'tap0')
    return spec_from_params('nic', params)


PLUG_DISK_21 = [
    {
        'execute': 'blockdev-add',
        'arguments': {'node-name': 'drive-0', 'file': {'driver': 'file', 'filename': IMG}, 'cache': {'direct': True}, 'read-only': False},
    },
    {'execute': 'device_add', 'arguments': {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1'}},
]
SAME_DISK = disk('drive-0', 1, IMG, read_only=False, direct=True, aio=None)

TABLE = [
    # (name, current state, declared, expected commands)
    ('plug a new disk', vm(), want_disk(addr='0x1'), PLUG_DISK_21),
    ('present and equal', vm(SAME_DISK), want_disk(addr='0x1'), []),
    ('present, addr not declared', vm(SAME_DISK), want_disk(), []),
    ('absent and gone', vm(), want_disk(state='absent'), []),
    ('absent and present', vm(SAME_DISK), want_disk(state='absent'), [{'execute': 'device_del', 'arguments': {'id': 'drive-0'}}]),
    (
        'lowest free slot',
        vm(disk('a', 0, '/a'), disk('b', 2, '/b')),
        want_disk(),
        [PLUG_DISK_21[0], {'execute': 'device_add', 'arguments': {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1'}}],
    ),
    (
        'replace on a different image',
        vm(SAME_DISK),
        want_disk(path='/srv/vm/other.img', on_change='replace'),
        [
            {'execute': 'device_del', 'arguments': {'id': 'drive-0'}},
            {
                'execute': 'blockdev-add',
                'arguments': {
                    'node-name': 'drive-0',
                    'file': {'driver': 'file', 'filename': '/srv/vm/other.img'},
                    'cache': {'direct': True},
                    'read-only': False,
                },
            },
            {'execute': 'device_add', 'arguments': {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1'}},
        ],
    ),
    (
        'plug a NIC',
        vm(),
        want_nic(addr='0x0'),
        [
            {'execute': 'netdev_add', 'arguments': {'id': 'net-0', 'ifname': 'tap0'}},
            {'execute': 'device_add', 'arguments': {'id': 'net-0', 'driver': 'virtio-net-mmio', 'addr': '0x0'}},
        ],
    ),
    (
        'plug a NIC on 2.5.0',
        vm(dialect=V25),
        want_nic(mac='52:54:00:00:00:01'),
        [
            {'execute': 'netdev_add', 'arguments': {'id': 'net-0', 'ifname': 'tap0'}},
            {'execute': 'device_add', 'arguments': {'id': 'net-0', 'driver': 'virtio-net-mmio', 'addr': '0x0', 'chardev': 'net-0', 'mac': '52:54:00:00:00:01'}},
        ],
    ),
    (
        'plug a disk on 2.5.0',
        vm(dialect=V25),
        want_disk(serial='S1'),
        [
            {
                'execute': 'blockdev-add',
                'arguments': {
                    'node-name': 'drive-0',
                    'file': {'driver': 'file', 'filename': IMG, 'aio': 'native'},
                    'cache': {'direct': True},
                    'read-only': False,
                },
            },
            {'execute': 'device_add', 'arguments': {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x0', 'drive': 'drive-0', 'serial': 'S1'}},
        ],
    ),
    ('adopted device, slot unknown, is equal', vm(Device('drive-0', 'disk', options={'path': IMG}, source='adopted')), want_disk(addr='0x1'), []),
]


@pytest.mark.parametrize('name,state,spec,expected', TABLE, ids=[row[0] for row in TABLE])
def test_plan_table(name, state, spec, expected):
    plan = plan_device(state, spec)
    assert plan.commands == expected, name
    if expected and spec.state == 'present':
        assert plan.after['id'] == spec.id and plan.entry is not None
    if not expected:
        assert plan.after == plan.before


REFUSALS = [
    ('differs without replace', vm(SAME_DISK), want_disk(path='/srv/vm/other.img'), "path: '/srv/vm/disk0.img' -> '/srv/vm/other.img'"),
    ('id used by a NIC', vm(nic('drive-0', 0, 'tap0')), want_disk(), 'already used by NIC drive-0'),
    ('slot beyond the limit', vm(), want_disk(addr='0x4'), 'beyond the 4 disk slots of a micro VM (0x0-0x3)'),
    ('NIC slot beyond the limit', vm(), want_nic(addr='2'), 'beyond the 2 NIC slots'),
    ('slot taken', vm(disk('other', 1, '/o')), want_disk(addr='0x1'), 'addr 0x1 of disk drive-0 is taken by disk other'),
    ('no free slot', vm(*[disk('d%d' % n, n, '/d%d' % n) for n in range(4)]), want_disk(), 'no free disk slot'),
    (
        'backends exhausted',
        vm(
            *[disk('d%d' % n, n, '/d%d' % n) for n in range(3)]
            + [nic('n%d' % n, n, 't%d' % n) for n in range(2)]
            + [Device('x', 'disk', options={'path': '/x'}, source='adopted')]
        ),
        want_nic(),
        'most a micro VM takes',
    ),
    ('image attached twice', vm(disk('other', 0, IMG)), want_disk(), 'already plugged as other'),
    ('the rootfs', vm(disk('rootfs', 0, IMG, source=SOURCE_COLD)), want_disk(), "the VM's own cold-plugged disk rootfs"),
    ('cold device absent', vm(disk('rootfs', 0, '/r', source=SOURCE_COLD)), want_disk(id='rootfs', state='absent'), 'allow_cold_unplug'),
    ('aio before 2.3.0', vm(), want_disk(aio='native'), 'aio needs StratoVirt 2.3.0'),
    ('aio off with direct on 2.5.0', vm(dialect=V25), want_disk(aio='off'), 'refuses aio=off with direct=true'),
    ('serial on 2.1.0', vm(), want_disk(serial='S1'), 'honours serial from StratoVirt 2.5.0'),
    ('mac on 2.1.0', vm(), want_nic(mac='52:54:00:00:00:01'), 'honours mac from StratoVirt 2.5.0'),
    ('tap used twice', vm(nic('other', 0, 'tap0')), want_nic(), 'already used by NIC other'),
    ('tap held after a 2.5.0 unplug', vm(dialect=V25, held_taps={'tap0': 'old'}), want_nic(), 'still held by this VM'),
]


@pytest.mark.parametrize('name,state,spec,message', REFUSALS, ids=[row[0] for row in REFUSALS])
def test_refusals(name, state, spec, message):
    with pytest.raises(DeviceInputError) as caught:
        plan_device(state, spec)
    assert message in caught.value.message, name


@pytest.mark.parametrize(
    'params,message',
    [
        ({'id': 'a b', 'path': IMG}, 'is not usable'),
        ({'id': 'x', 'path': IMG, 'addr': 'zz'}, 'is not a slot number'),
        ({'id': 'x', 'path': IMG, 'addr': '0x1g'}, 'is not a slot number'),
        ({'id': 'x'}, 'path is required'),
        ({'id': 'x', 'path': IMG, 'serial': 'has space'}, 'serial must be'),
    ],
)
def test_disk_input_refused(params, message):
    with pytest.raises(DeviceInputError, match=message):
        spec_from_params('disk', params)


@pytest.mark.parametrize(
    'params,message',
    [
        ({'id': 'n', 'ifname': 'tap0', 'mac': '52:54:00:00:00'}, 'six hexadecimal pairs'),
        ({'id': 'n', 'ifname': 'tap0', 'mac': '52:54:00:00:00:01:02'}, 'six hexadecimal pairs'),
        ({'id': 'n', 'ifname': 'a-very-long-tap-name'}, 'not a valid interface name'),
        ({'id': 'n'}, r'ifname \(the host tap\) is required'),
    ],
)
def test_nic_input_refused(params, message):
    with pytest.raises(DeviceInputError, match=message):
        spec_from_params('nic', params)


def test_addr_forms():
    assert spec_from_params('disk', {'id': 'x', 'path': IMG, 'addr': '0x3'}).slot == 3
    assert spec_from_params('disk', {'id': 'x', 'path': IMG, 'addr': '3'}).slot == 3


# -- standard VMs ------------------------------------------------------------

S21 = Dialect((2, 1, 0), 'standard')
S25 = Dialect((2, 5, 0), 'standard')


def std_vm(*devices, dialect=S25, ports=('pcie.1', 'pcie.2')):
    state = vm(*devices, dialect=dialect)
    state.root_ports = list(ports)
    return state


def pci_disk(device_id, bus, path, **options):
    return Device(device_id, 'disk', None, bus, dict(options, path=path))


STD_TABLE = [
    (
        'plug into the first free root port',
        std_vm(pci_disk('a', 'pcie.1', '/a')),
        want_disk(),
        [
            {
                'execute': 'blockdev-add',
                'arguments': {
                    'node-name': 'drive-0',
                    'file': {'driver': 'file', 'filename': IMG, 'aio': 'native'},
                    'cache': {'direct': True},
                    'read-only': False,
                },
            },
            {'execute': 'device_add', 'arguments': {'id': 'drive-0', 'driver': 'virtio-blk-pci', 'drive': 'drive-0', 'bus': 'pcie.2', 'addr': '0x0'}},
        ],
    ),
    (
        'NIC with mac on 2.1.0',
        std_vm(dialect=S21),
        want_nic(mac='52:54:00:12:34:56', bus='pcie.2'),
        [
            {'execute': 'netdev_add', 'arguments': {'id': 'net-0', 'ifname': 'tap0'}},
            {
                'execute': 'device_add',
                'arguments': {'id': 'net-0', 'driver': 'virtio-net-pci', 'netdev': 'net-0', 'bus': 'pcie.2', 'addr': '0x0', 'mac': '52:54:00:12:34:56'},
            },
        ],
    ),
    (
        'unplug then delete the backend',
        std_vm(pci_disk('drive-0', 'pcie.1', IMG)),
        want_disk(state='absent'),
        [{'execute': 'device_del', 'arguments': {'id': 'drive-0'}}, {'execute': 'blockdev-del', 'arguments': {'node-name': 'drive-0'}}],
    ),
    ('present and equal', std_vm(pci_disk('drive-0', 'pcie.1', IMG, read_only=False, direct=True, aio='native')), want_disk(bus='pcie.1'), []),
    (
        'a pending unplug is finished before plugging again',
        std_vm(Device('drive-0', 'disk', None, 'pcie.1', {'path': IMG, 'read_only': False}, pending=True)),
        want_disk(),
        [
            {'execute': 'device_del', 'arguments': {'id': 'drive-0'}},
            {'execute': 'blockdev-del', 'arguments': {'node-name': 'drive-0'}},
            {
                'execute': 'blockdev-add',
                'arguments': {
                    'node-name': 'drive-0',
                    'file': {'driver': 'file', 'filename': IMG, 'aio': 'native'},
                    'cache': {'direct': True},
                    'read-only': False,
                },
            },
            {'execute': 'device_add', 'arguments': {'id': 'drive-0', 'driver': 'virtio-blk-pci', 'drive': 'drive-0', 'bus': 'pcie.1', 'addr': '0x0'}},
        ],
    ),
]


@pytest.mark.parametrize('name,state,spec,expected', STD_TABLE, ids=[row[0] for row in STD_TABLE])
def test_standard_plan_table(name, state, spec, expected):
    assert plan_device(state, spec).commands == expected, name


STD_REFUSALS = [
    ('the root bus', std_vm(), want_disk(bus='pcie.0'), 'bus pcie.0 of disk drive-0 is not a pcie-root-port of this VM'),
    ('addr other than 0x0', std_vm(), want_disk(addr='0x1'), 'at addr 0x0 of a pcie-root-port only'),
    ('root port taken', std_vm(pci_disk('a', 'pcie.1', '/a')), want_disk(bus='pcie.1'), 'bus pcie.1 of disk drive-0 is taken by a'),
    ('no free root port', std_vm(pci_disk('a', 'pcie.1', '/a'), pci_disk('b', 'pcie.2', '/b')), want_disk(), 'no free pcie-root-port'),
    ('bus on a micro VM', vm(), want_disk(bus='pcie.1'), 'bus applies to standard VMs'),
]


@pytest.mark.parametrize('name,state,spec,message', STD_REFUSALS, ids=[row[0] for row in STD_REFUSALS])
def test_standard_refusals(name, state, spec, message):
    with pytest.raises(DeviceInputError) as caught:
        plan_device(state, spec)
    assert message in caught.value.message, name
