# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The disk kind's hot-plug options on each machine type and release: what is sent, compared, refused, read back."""

from __future__ import annotations

import os
import struct

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._device.model import Device
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.record import DeviceRecord
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.errors import DeviceInputError
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.disk import read_qcow2_header
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import KINDS, spec_from_params, view_of
from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.planner import plan_device
from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.preflight import check_host_inputs
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import MACHINE_MICRO, MACHINE_STANDARD, Dialect
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import ProcessIdentity
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.state import VMState
from tested_releases import MACHINES, PROFILES, release

IMG = '/srv/vm/disk0.img'
MACHINE_OF = {'micro': MACHINE_MICRO, 'standard': MACHINE_STANDARD}


def vm(machine, profile, record_path='/nonexistent/record.json', iothreads=('io1', 'io2')):
    state = VMState(Dialect(release(profile), MACHINE_OF[machine]), ProcessIdentity(1, 1), DeviceRecord(record_path, 1, 1))
    if machine == 'standard':
        state.root_ports = ['pcie.1', 'pcie.2']
    state.iothreads = list(iothreads)
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
    state.devices[spec.id] = plan.entry.as_device()
    return plan


# (option, value, another value, machine, the releases taking it, blockdev-add keys sent, device_add keys sent)
OPTIONS = [
    ('discard', 'unmap', 'ignore', 'standard', ('2.1.0', '2.5.0'), {'discard': 'unmap'}, {}),
    ('format', 'qcow2', 'raw', 'standard', ('2.5.0',), {'driver': 'qcow2'}, {}),
    ('format', 'raw', 'qcow2', 'standard', ('2.5.0',), {'driver': 'raw'}, {}),
    ('detect_zeroes', 'unmap', 'off', 'standard', ('2.5.0',), {'detect-zeroes': 'unmap'}, {}),
    ('iops', 500, 1000, 'standard', ('2.1.0', '2.5.0'), {'throttling.iops-total': 500}, {}),
    ('iothread', 'io1', 'io2', 'standard', ('2.1.0', '2.5.0'), {}, {'iothread': 'io1'}),
    ('iothread', 'io1', 'io2', 'micro', ('2.5.0',), {}, {'iothread': 'io1'}),
    ('num_queues', 4, 2, 'standard', ('2.5.0',), {}, {'num-queues': 4}),
    ('queue_size', 256, 128, 'standard', ('2.5.0',), {}, {'queue-size': 256}),
    ('boot_index', 1, 2, 'standard', ('2.5.0',), {}, {'boot_index': 1}),
    ('boot_index', 1, 2, 'micro', ('2.5.0',), {}, {'boot_index': 1}),
]
PLUGS = [
    (option, value, other, machine, profile, sent_backend, sent_device)
    for option, value, other, machine, profiles, sent_backend, sent_device in OPTIONS
    for profile in profiles
]
PLUG_IDS = ['%s-%s-%s' % (row[0], row[3], row[4]) for row in PLUGS]


@pytest.mark.parametrize('option,value,other,machine,profile,sent_backend,sent_device', PLUGS, ids=PLUG_IDS)
def test_option_is_sent_then_compared(option, value, other, machine, profile, sent_backend, sent_device):
    state = vm(machine, profile)
    plan = plugged(state, want(**{option: value}))
    assert plan.commands == [
        {'execute': 'blockdev-add', 'arguments': backend(profile, **sent_backend)},
        {'execute': 'device_add', 'arguments': device(machine, profile, **sent_device)},
    ]
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
    assert [step['execute'] for step in replaced.commands][:2] == ['device_del', 'blockdev-del' if machine == 'standard' else 'blockdev-add']


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
    again.devices['drive-0'] = entry.as_device()
    assert plan_device(again, want(**{option: value})).commands == []
    assert view_of(again.devices['drive-0'])[option] == value


# Where each option is taken from: machine type -> first release (a machine type not named never takes it).
SINCE = {
    'discard': {'standard': (2, 1, 0)},
    'detect_zeroes': {'standard': (2, 3, 0)},
    'iops': {'standard': (2, 1, 0)},
    'iothread': {'micro': (2, 5, 0), 'standard': (2, 1, 0)},
    'num_queues': {'standard': (2, 2, 0)},
    'queue_size': {'standard': (2, 2, 0)},
    'boot_index': {'micro': (2, 5, 0), 'standard': (2, 2, 0)},
}
VALUES = {'discard': 'unmap', 'detect_zeroes': 'on', 'iops': 100, 'iothread': 'io1', 'num_queues': 2, 'queue_size': 128, 'boot_index': 3}
REFUSED = [
    (option, machine, profile)
    for option in SINCE
    for machine in MACHINES
    for profile in PROFILES
    if machine not in SINCE[option] or release(profile) < SINCE[option][machine]
]


@pytest.mark.parametrize('option,machine,profile', REFUSED, ids=['-'.join(row) for row in REFUSED])
def test_option_refused_where_the_release_or_machine_type_lacks_it(option, machine, profile):
    with pytest.raises(DeviceInputError) as caught:
        plan_device(vm(machine, profile), want(**{option: VALUES[option]}))
    if machine not in SINCE[option]:
        other = 'standard' if machine == 'micro' else 'micro'
        why = 'a %s VM ignores it (StratoVirt honours it on %s VMs only)' % (machine, other)
    else:
        since = '.'.join(map(str, SINCE[option][machine]))
        why = 'a %s VM takes it from StratoVirt %s; this VM runs %s' % (machine, since, profile)
    assert caught.value.message == 'disk drive-0: %s: %s: leave %s unset' % (option, why, option)


def test_every_option_a_release_lacks_is_tested():
    assert {option for option, dummy, dummy in REFUSED} == set(KINDS['disk'].wire_names)


@pytest.mark.parametrize('profile', PROFILES)
def test_qcow2_refused_on_a_micro_vm_and_raw_not_sent(profile):
    with pytest.raises(DeviceInputError) as caught:
        plan_device(vm('micro', profile), want(format='qcow2'))
    assert caught.value.message == (
        'disk drive-0: format=qcow2: a micro VM ignores it (StratoVirt honours it on standard VMs only), and reads every '
        'image raw: the guest would see, and could overwrite, the qcow2 container. Convert the image to raw (qemu-img '
        'convert -O raw) and leave format unset'
    )
    plan = plan_device(vm('micro', profile), want(format='raw'))
    assert plan.commands[0]['arguments'] == backend(profile) and plan.entry.options['format'] == 'raw'


QCOW2_LESS = 'disk drive-0: format=qcow2: a standard VM takes it from StratoVirt 2.3.0; this VM runs %s, and reads every image raw'


@pytest.mark.parametrize('profile', ['2.1.0', '2.2.0'])
def test_qcow2_refused_on_a_standard_vm_of_a_release_without_qcow2(profile):
    # 2.1.0 and 2.2.0 take driver=qcow2 without reading it and open the image raw (measured on the real binaries).
    with pytest.raises(DeviceInputError) as caught:
        plan_device(vm('standard', profile), want(format='qcow2'))
    assert caught.value.message == (
        QCOW2_LESS % profile + ': the guest would see, and could overwrite, the qcow2 container. Convert the image to raw '
        '(qemu-img convert -O raw) and leave format unset'
    )
    assert plan_device(vm('standard', profile), want(format='raw')).commands[0]['arguments']['driver'] == 'raw'


@pytest.mark.parametrize('profile', ['2.3.0', '2.4.0', '2.5.0'])
def test_qcow2_sent_to_a_standard_vm_from_2_3_0(profile):
    plan = plan_device(vm('standard', profile), want(format='qcow2'))
    assert plan.commands[0]['arguments']['driver'] == 'qcow2'


@pytest.mark.parametrize('profile', ['2.1.0', '2.2.0'])
def test_a_qcow2_disk_an_earlier_run_plugged_on_a_release_without_qcow2_is_not_kept(profile):
    state = vm('standard', profile)
    state.devices['drive-0'] = Device('drive-0', 'disk', None, 'pcie.1', {'path': IMG, 'format': 'qcow2'})
    with pytest.raises(DeviceInputError) as caught:
        plan_device(state, want(format='qcow2'))
    assert caught.value.message == (
        'disk drive-0 is plugged with format=qcow2, but a standard VM takes it from StratoVirt 2.3.0; this VM runs %s, '
        'and reads every image raw: the guest sees, and can overwrite, the qcow2 container of %s. Unplug it '
        '(state=absent), then convert the image to raw (qemu-img convert -O raw) and plug it with format unset' % (profile, IMG)
    )
    assert [step['execute'] for step in plan_device(state, want(state='absent')).commands] == ['device_del', 'blockdev-del']


@pytest.mark.parametrize(
    'machine,profile', [(machine, profile) for machine in MACHINES for profile in PROFILES if machine == 'standard' or release(profile) >= (2, 5)]
)
def test_an_iothread_the_vm_lacks_is_refused(machine, profile):
    with pytest.raises(DeviceInputError) as caught:
        plan_device(vm(machine, profile, iothreads=['io1']), want(iothread='io9'))
    assert caught.value.message == (
        "disk drive-0: iothread io9 is not an iothread of this VM (its iothreads: io1); StratoVirt needs it on the VM's command line (-object iothread,id=io9)"
    )


@pytest.mark.parametrize(
    'params,message',
    [
        ({'discard': 'on'}, 'disk drive-0: discard must be one of unmap, ignore'),
        ({'format': 'vmdk'}, 'disk drive-0: format must be one of raw, qcow2'),
        ({'detect_zeroes': 'yes'}, 'disk drive-0: detect_zeroes must be one of on, off, unmap'),
        ({'iops': 0}, 'disk drive-0: iops must be an integer from 1 to 9223372036854775807, not 0'),
        ({'num_queues': 33}, 'disk drive-0: num_queues must be an integer from 1 to 32, not 33'),
        ({'queue_size': 100}, 'disk drive-0: queue_size must be a power of two (2, 4, ... 1024), not 100'),
        ({'queue_size': 2048}, 'disk drive-0: queue_size must be an integer from 2 to 1024, not 2048'),
        ({'boot_index': 256}, 'disk drive-0: boot_index must be an integer from 0 to 255, not 256'),
        ({'iothread': 'io 1'}, "disk drive-0: iothread 'io 1' is not an iothread id"),
    ],
)
def test_option_form(params, message):
    with pytest.raises(DeviceInputError) as caught:
        want(**params)
    assert caught.value.message.startswith(message)


def cold_state(machine, profile, drive, device_props=''):
    state = vm(machine, profile)
    state.images = ['/srv/vm/rootfs.img']
    device_args = 'virtio-blk-pci,drive=rootfs,id=rootfs,bus=pcie.1,addr=0x0' if machine == 'standard' else 'virtio-blk-device,drive=rootfs,id=rootfs'
    state.add_cold_plugged(['stratovirt', '-drive', 'file=/srv/vm/rootfs.img,id=rootfs,' + drive, '-device', device_args + device_props])
    return state


COLD = [
    # (-drive properties, -device properties, option, value read, another value)
    ('discard=on', '', 'discard', 'unmap', 'ignore'),
    ('format=qcow2', '', 'format', 'qcow2', 'raw'),
    ('detect-zeroes=unmap', '', 'detect_zeroes', 'unmap', 'off'),
    ('throttling.iops-total=300', '', 'iops', 300, 200),
    ('', ',iothread=io1', 'iothread', 'io1', 'io2'),
    ('', ',num-queues=2', 'num_queues', 2, 4),
    ('', ',queue-size=128', 'queue_size', 128, 256),
    ('', ',bootindex=0', 'boot_index', 0, 1),
    ('', ',serial=ROOT', 'serial', 'ROOT', 'OTHER'),
]


@pytest.mark.parametrize('machine', MACHINES)
@pytest.mark.parametrize('drive,device_props,option,value,other', COLD, ids=[row[2] for row in COLD])
def test_option_read_back_from_the_command_line(machine, drive, device_props, option, value, other):
    state = cold_state(machine, '2.5.0', drive or 'readonly=off', device_props)
    assert state.devices['rootfs'].options[option] == value
    spec = want(id='rootfs', path='/srv/vm/rootfs.img', allow_cold_unplug=True, **{option: other})
    with pytest.raises(DeviceInputError, match='%s: %r -> %r' % (option, value, other)):
        plan_device(state, spec)
    assert option not in cold_state(machine, '2.5.0', 'readonly=off').devices['rootfs'].options


def write_qcow2(path, backing=b''):
    header = b'QFI\xfb' + struct.pack('>I', 3) + struct.pack('>QI', 72 if backing else 0, len(backing))
    path.write_bytes(header.ljust(72, b'\0') + backing)
    return str(path)


def test_a_qcow2_image_declared_raw_is_refused(tmp_path):
    image = write_qcow2(tmp_path / 'd.qcow2')
    for params, declared in (({}, 'raw (format unset means raw)'), ({'format': 'raw'}, 'raw')):
        with pytest.raises(DeviceInputError) as caught:
            check_host_inputs(want(path=image, **params))
        assert caught.value.message == (
            'image %s of disk drive-0 is a qcow2 image (its header says so), but the disk is declared %s: plugged raw, the '
            'guest would see, and could overwrite, the qcow2 container. Set format=qcow2 (standard VMs of StratoVirt 2.3.0 '
            'or later), or convert the image to raw (qemu-img convert -O raw)' % (image, declared)
        )
    assert check_host_inputs(want(path=image, format='qcow2')) is None


def test_a_raw_image_declared_qcow2_is_refused_and_raw_passes(tmp_path):
    image = tmp_path / 'd.img'
    image.write_bytes(b'\0' * 4096)
    with pytest.raises(DeviceInputError, match='is declared format=qcow2 but its header is not qcow2'):
        check_host_inputs(want(path=str(image), format='qcow2'))
    assert check_host_inputs(want(path=str(image))) is None


def test_a_qcow2_backing_file_is_named(tmp_path):
    image = write_qcow2(tmp_path / 'overlay.qcow2', backing=b'/srv/vm/base.qcow2')
    assert check_host_inputs(want(path=image, format='qcow2')) == (
        'disk drive-0: qcow2 image %s has the backing file /srv/vm/base.qcow2; StratoVirt must be able to read it, and it '
        'must not change while the disk is plugged' % image
    )


def test_a_backing_file_name_is_shown_with_its_control_characters_escaped(tmp_path):
    image = write_qcow2(tmp_path / 'overlay.qcow2', backing=b'/srv/base\n\x1b[31m.qcow2')
    assert read_qcow2_header(image)['backing_file'] == '/srv/base\\x0a\\x1b[31m.qcow2'


def test_a_fifo_is_not_read_as_an_image(tmp_path):
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    assert read_qcow2_header(fifo) is None  # returns at once: opened non-blocking, refused by its type


@pytest.mark.parametrize('profile', PROFILES)
def test_guest_name_on_a_micro_vm_is_the_slot(profile):
    for slot, name in enumerate(('vda', 'vdb', 'vdc', 'vdd')):
        plan = plan_device(vm('micro', profile), want(addr=str(slot)))
        assert plan.after['guest_name'] == name
    assert view_of(Device('d', 'disk', options={'path': IMG}, source='adopted'))['guest_name'] is None


@pytest.mark.parametrize('profile', PROFILES)
def test_guest_name_on_a_standard_vm_is_the_serial_path(profile):
    assert plan_device(vm('standard', profile), want(serial='data-1')).after['guest_name'] == '/dev/disk/by-id/virtio-data-1'
    assert plan_device(vm('standard', profile), want()).after['guest_name'] is None
    assert plan_device(vm('standard', profile), want(serial='a/b')).after['guest_name'] is None  # udev rewrites "/"
