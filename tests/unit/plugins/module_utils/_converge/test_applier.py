# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The executor, table-driven: (VM, task, scripted replies) -> (commands sent, record after, error)."""

from __future__ import annotations

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.applier import Applier
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.record import DeviceEntry, DeviceRecord
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.errors import DeviceApplyError
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import spec_from_params
from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.planner import plan_device
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.errors import QMPCommandError, QMPTimeoutError
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import Dialect
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import ProcessIdentity
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.state import VMState

OK = {}
NO_EVENT = 'no event'
IMAGE = '/srv/vm/d0.img'


class ScriptedClient:
    """Answers each command, and each event wait, with the next scripted reply: {} or an error text."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.received = []

    def _next(self, command):
        reply = self.replies.pop(0)
        if isinstance(reply, str):
            if reply == NO_EVENT:
                raise QMPTimeoutError('no event')
            raise QMPCommandError('GenericError', reply, command)
        return reply

    def execute(self, name, arguments=None):
        self.received.append((name, dict(arguments or {})))
        return self._next({'execute': name})

    def wait_event(self, name, device=None, timeout=None):
        return self._next({'event': name})


def _state(tmp_path, release, machine, entries=(), unfinished_plugs=()):
    record = DeviceRecord(str(tmp_path / 'vm.sock.devices.json'), 1, 1)
    state = VMState(Dialect(release, machine), ProcessIdentity(1, 1), record)
    state.root_ports = ['port1', 'port2']
    for entry in entries:
        record.put(entry)
        state.devices[entry.id] = entry.as_device()
    for entry in unfinished_plugs:
        record.put(entry)
        state.unfinished_plugs[entry.id] = entry
    return state


DISK = dict(id='d0', path=IMAGE, direct=False)
NIC_AT_0 = DeviceEntry('net0', 'nic', slot=0, ifname='tap0')
DISK_ON_PORT1 = DeviceEntry('d0', 'disk', bus='port1', addr='0x0', path=IMAGE, options={'read_only': False, 'direct': False, 'aio': None})
PLUGGING_ON_PORT1 = DeviceEntry('d0', 'disk', state='plugging', bus='port1', addr='0x0', path=IMAGE, options={'read_only': False, 'direct': False, 'aio': None})
CASES = {
    'a half plug is rolled back': (
        (2, 5, 0),
        'micro',
        (),
        (),
        ('disk', DISK),
        [OK, 'Failed to realize virtio-blk', OK, NO_EVENT],
        ['blockdev-add', ('device_add', '0x0'), 'device_del'],
        {},
        'rolled back with device_del',
    ),
    'a taken slot is retried at the next free one': (
        (2, 5, 0),
        'micro',
        (),
        (),
        ('disk', DISK),
        [OK, 'The slot 0 is occupied already.', OK],
        ['blockdev-add', ('device_add', '0x0'), ('device_add', '0x1')],
        {'d0': ('plugged', 1)},
        None,
    ),
    'an interrupted plug is resumed': (
        (2, 5, 0),
        'standard',
        (),
        (PLUGGING_ON_PORT1,),
        ('disk', dict(DISK, bus='port1')),
        ['Drive d0 has been added', 'Device id d0 existed'],
        ['blockdev-add', ('device_add', 'port1')],
        {'d0': ('plugged', None)},
        None,
    ),
    'an unplug the guest does not acknowledge is pending': (
        (2, 5, 0),
        'standard',
        (DISK_ON_PORT1,),
        (),
        ('disk', dict(id='d0', state='absent')),
        [OK, NO_EVENT],
        ['device_del'],
        {'d0': ('unplug-pending', None)},
        'the unplug is pending in the guest',
    ),
    'the 2.5.0 micro NIC unplug defect keeps the tap held': (
        (2, 5, 0),
        'micro',
        (NIC_AT_0,),
        (),
        ('nic', dict(id='net0', state='absent')),
        ['net0: failed to update config.', 'Device net0 not found'],
        ['device_del', 'device_del'],
        {'net0': ('tap-held', 0)},
        None,
    ),
}


def _shape(received):
    shown = []
    for name, arguments in received:
        place = (arguments or {}).get('addr') if name == 'device_add' and 'bus' not in arguments else (arguments or {}).get('bus')
        shown.append((name, place) if name == 'device_add' else name)
    return shown


@pytest.mark.parametrize('case', list(CASES))
def test_the_executor(case, tmp_path):
    release, machine, entries, unfinished, (kind, params), replies, sent, record_after, error = CASES[case]
    state = _state(tmp_path, release, machine, entries, unfinished)
    plan = plan_device(state, spec_from_params(kind, params))
    client = ScriptedClient(replies)
    applier = Applier(client, state, wait_timeout=0.0)
    if error is None:
        applier.apply(plan)
    else:
        with pytest.raises(DeviceApplyError, match=error):
            applier.apply(plan)
    assert _shape(client.received) == sent
    assert client.replies == [], 'every scripted reply was asked for'
    # The commands return value is what the VM was sent, arguments included, even after a retry elsewhere.
    assert [(command['execute'], command['arguments']) for command in applier.sent] == client.received
    saved = DeviceRecord(state.record.path, 1, 1)
    saved.load()
    assert {entry.id: (entry.state, entry.slot) for entry in saved.devices.values()} == record_after
