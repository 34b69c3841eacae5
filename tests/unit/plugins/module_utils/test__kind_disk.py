# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The disk kind's hot-plug options on each machine type and release: what is sent, compared, refused, read back."""

from __future__ import annotations

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._device import CurrentDevice
from ansible_collections.stratovirt.qmp.plugins.module_utils._device_record import DeviceRecord
from ansible_collections.stratovirt.qmp.plugins.module_utils._errors import DeviceInputError
from ansible_collections.stratovirt.qmp.plugins.module_utils._kinds import spec_from_params, view_of
from ansible_collections.stratovirt.qmp.plugins.module_utils._planner import plan_device
from ansible_collections.stratovirt.qmp.plugins.module_utils._stratovirt import MACHINE_MICRO, MACHINE_STANDARD, Dialect
from ansible_collections.stratovirt.qmp.plugins.module_utils._vm_process import ProcessIdentity
from ansible_collections.stratovirt.qmp.plugins.module_utils._vm_state import VMState
from tested_releases import MACHINES, PROFILES, release

IMG = '/srv/vm/disk0.img'
MACHINE_OF = {'micro': MACHINE_MICRO, 'standard': MACHINE_STANDARD}


def vm(machine, profile, record_path='/nonexistent/record.json'):
    state = VMState(Dialect(release(profile), MACHINE_OF[machine]), ProcessIdentity(1, 1), DeviceRecord(record_path, 1, 1))
    if machine == 'standard':
        state.root_ports = ['pcie.1', 'pcie.2']
    return state


def want(**params):
    params.setdefault('id', 'drive-0')
    params.setdefault('path', IMG)
    return spec_from_params('disk', params)


def backend(profile, **extra):
    file_args = {'driver': 'file', 'filename': IMG}
    if release(profile) >= (2, 3):
        file_args['aio'] = 'native'
    return dict({'node-name': 'drive-0', 'file': file_args, 'cache': {'direct': True}, 'read-only': False}, **extra)


def device(machine, profile, **extra):
    if machine == 'standard':
        arguments = {'id': 'drive-0', 'driver': 'virtio-blk-pci', 'drive': 'drive-0', 'bus': 'pcie.1', 'addr': '0x0'}
    else:
        arguments = {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x0'}
        if release(profile) >= (2, 5):
            arguments['drive'] = 'drive-0'
    return dict(arguments, **extra)


def plugged(state, spec):
    """The VM once ``spec``'s plan is applied, as the next run sees it from the record."""
    plan = plan_device(state, spec)
    state.devices[spec.id] = CurrentDevice.from_entry(plan.entry)
    return plan


# (option, value, another value, machine, the releases taking it, blockdev-add keys sent, device_add keys sent)
OPTIONS = [
    ('discard', 'unmap', 'ignore', 'standard', ('2.1.0', '2.5.0'), {'discard': 'unmap'}, {}),
]
PLUGS = [(option, value, other, machine, profile, sent_backend, sent_device)
         for option, value, other, machine, profiles, sent_backend, sent_device in OPTIONS for profile in profiles]
PLUG_IDS = ['%s-%s-%s' % (row[0], row[3], row[4]) for row in PLUGS]


@pytest.mark.parametrize('option,value,other,machine,profile,sent_backend,sent_device', PLUGS, ids=PLUG_IDS)
def test_option_is_sent_then_compared(option, value, other, machine, profile, sent_backend, sent_device):
    state = vm(machine, profile)
    plan = plugged(state, want(**{option: value}))
    assert plan.commands == [{'execute': 'blockdev-add', 'arguments': backend(profile, **sent_backend)},
                             {'execute': 'device_add', 'arguments': device(machine, profile, **sent_device)}]
    assert plan.entry.options[option] == value and plan.after[option] == value
    # Re-run unchanged: nothing to send.
    assert plan_device(state, want(**{option: value})).commands == []
    # Not declared: not compared.
    assert plan_device(state, want()).commands == []
    # Changed: a difference, refused unless on_change=replace.
    with pytest.raises(DeviceInputError) as caught:
        plan_device(state, want(**{option: other}))
    assert '%s: %r -> %r' % (option, value, other) in caught.value.message
    assert 'set on_change=replace' in caught.value.message
    replaced = plan_device(state, want(on_change='replace', **{option: other}))
    assert [step['execute'] for step in replaced.commands][:2] == ['device_del', 'blockdev-del' if machine == 'standard'
                                                                   else 'blockdev-add']


@pytest.mark.parametrize('option,value,other,machine,profile,sent_backend,sent_device', PLUGS, ids=PLUG_IDS)
def test_option_survives_the_record_file(tmp_path, option, value, other, machine, profile, sent_backend, sent_device):
    path = str(tmp_path / 'vm.sock.devices.json')
    state = vm(machine, profile, record_path=path)
    plan = plan_device(state, want(**{option: value}))
    state.record.put(plan.entry)
    state.record.save()
    again = vm(machine, profile, record_path=path)
    again.record.load()
    entry = again.record.get('drive-0')
    again.devices['drive-0'] = CurrentDevice.from_entry(entry)
    assert plan_device(again, want(**{option: value})).commands == []
    assert view_of(again.devices['drive-0'])[option] == value


@pytest.mark.parametrize('profile', PROFILES)
def test_discard_refused_on_micro_vms(profile):
    with pytest.raises(DeviceInputError) as caught:
        plan_device(vm('micro', profile), want(discard='unmap'))
    assert caught.value.message == ('disk drive-0: a micro VM ignores discard (StratoVirt honours it on standard VMs only): '
                                    'leave discard unset')


def test_discard_form():
    with pytest.raises(DeviceInputError, match='discard must be one of unmap, ignore'):
        want(discard='on')


def cold_state(machine, profile, drive):
    state = vm(machine, profile)
    state.images = ['/srv/vm/rootfs.img']
    device_args = 'virtio-blk-pci,drive=rootfs,id=rootfs,bus=pcie.1,addr=0x0' if machine == 'standard' else \
        'virtio-blk-device,drive=rootfs,id=rootfs'
    state.add_cold_plugged(['stratovirt', '-drive', 'file=/srv/vm/rootfs.img,id=rootfs,' + drive, '-device', device_args])
    return state


@pytest.mark.parametrize('machine', MACHINES)
def test_discard_read_back_from_the_command_line(machine):
    state = cold_state(machine, '2.5.0', 'discard=on')
    assert state.devices['rootfs'].options['discard'] == 'unmap'
    spec = want(id='rootfs', path='/srv/vm/rootfs.img', discard='ignore', allow_cold_unplug=True)
    with pytest.raises(DeviceInputError, match="discard: 'unmap' -> 'ignore'"):
        plan_device(state, spec)
    assert 'discard' not in cold_state(machine, '2.5.0', 'readonly=off').devices['rootfs'].options
