# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NIC kind's hot-plug options on each machine type and release: what is sent, compared, refused, read back."""

from __future__ import annotations

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds import nic as _kind_nic
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.model import Device
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.record import DeviceRecord
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.errors import DeviceInputError
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import KINDS, spec_from_params, view_of
from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.planner import plan_device
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import MACHINE_MICRO, MACHINE_STANDARD, Dialect
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import ProcessIdentity
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.state import VMState
from tested_releases import MACHINES, PROFILES, release

MACHINE_OF = {'micro': MACHINE_MICRO, 'standard': MACHINE_STANDARD}


def vm(machine, profile, record_path='/nonexistent/record.json', iothreads=('io1', 'io2')):
    state = VMState(Dialect(release(profile), MACHINE_OF[machine]), ProcessIdentity(1, 1), DeviceRecord(record_path, 1, 1))
    if machine == 'standard':
        state.root_ports = ['pcie.1', 'pcie.2']
    state.iothreads = list(iothreads)
    return state


def want(**params):
    params.setdefault('id', 'net-0')
    params.setdefault('ifname', 'tap0')
    return spec_from_params('nic', params)


def device(machine, profile, **extra):
    if machine == 'standard':
        arguments = {'id': 'net-0', 'driver': 'virtio-net-pci', 'netdev': 'net-0', 'bus': 'pcie.1', 'addr': '0x0'}
    else:
        arguments = {'id': 'net-0', 'driver': 'virtio-net-mmio', 'addr': '0x0'}
        if release(profile) >= (2, 5):
            arguments['chardev'] = 'net-0'
    return dict(arguments, **extra)


# (option, value, another value, machine, profile, netdev_add keys sent, device_add keys sent)
PLUGS = [
    ('queues', 4, 2, 'standard', '2.1.0', {'queues': '4'}, {'mq': 'on'}),
    ('queues', 4, 2, 'standard', '2.5.0', {'queues': 4}, {'mq': 'on'}),
    ('queues', 1, 2, 'standard', '2.5.0', {'queues': 1}, {}),
    ('vhost', True, False, 'standard', '2.1.0', {'vhost': 'on'}, {}),
    ('vhost', True, False, 'standard', '2.5.0', {'vhost': True}, {}),
    ('iothread', 'io1', 'io2', 'micro', '2.5.0', {}, {'iothread': 'io1'}),
]
PLUG_IDS = ['%s-%s-%s-%s' % (row[0], row[1], row[3], row[4]) for row in PLUGS]


@pytest.mark.parametrize('option,value,other,machine,profile,sent_backend,sent_device', PLUGS, ids=PLUG_IDS)
def test_option_is_sent_then_compared(option, value, other, machine, profile, sent_backend, sent_device):
    state = vm(machine, profile)
    plan = plan_device(state, want(**{option: value}))
    assert plan.commands == [
        {'execute': 'netdev_add', 'arguments': dict({'id': 'net-0', 'ifname': 'tap0'}, **sent_backend)},
        {'execute': 'device_add', 'arguments': device(machine, profile, **sent_device)},
    ]
    assert plan.entry.options[option] == value and plan.after[option] == value
    state.devices['net-0'] = plan.entry.as_device()
    assert plan_device(state, want(**{option: value})).commands == []
    assert plan_device(state, want()).commands == []
    with pytest.raises(DeviceInputError) as caught:
        plan_device(state, want(**{option: other}))
    assert '%s: %r -> %r' % (option, value, other) in caught.value.message and 'set on_change=replace' in caught.value.message
    assert plan_device(state, want(on_change='replace', **{option: other})).commands[0] == {'execute': 'device_del', 'arguments': {'id': 'net-0'}}


@pytest.mark.parametrize('option,value,other,machine,profile,sent_backend,sent_device', PLUGS, ids=PLUG_IDS)
def test_option_survives_the_record_file(tmp_path, option, value, other, machine, profile, sent_backend, sent_device):
    path = str(tmp_path / 'vm.sock.devices.json')
    state = vm(machine, profile, record_path=path)
    state.record.put(plan_device(state, want(**{option: value})).entry)
    state.record.save()
    again = vm(machine, profile, record_path=path)
    again.record.load()
    again.devices['net-0'] = again.record.get('net-0').as_device()
    assert plan_device(again, want(**{option: value})).commands == []
    assert view_of(again.devices['net-0'])[option] == value


SINCE = {'queues': {'standard': (2, 1, 0)}, 'vhost': {'standard': (2, 1, 0)}, 'iothread': {'micro': (2, 5, 0)}}
VALUES = {'queues': 2, 'vhost': True, 'iothread': 'io1'}
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
    assert caught.value.message == 'NIC net-0: %s: %s: leave %s unset' % (option, why, option)


def test_every_option_a_release_lacks_is_tested():
    assert {option for option, dummy, dummy in REFUSED} == set(KINDS['nic'].wire_names)


@pytest.mark.parametrize('profile', PROFILES)
def test_vhost_off_is_not_sent_and_passes_everywhere(profile):
    for machine in MACHINES:
        assert plan_device(vm(machine, profile), want(vhost=False)).commands[0]['arguments'] == {'id': 'net-0', 'ifname': 'tap0'}


def test_an_iothread_the_vm_lacks_is_refused():
    with pytest.raises(DeviceInputError) as caught:
        plan_device(vm('micro', '2.5.0', iothreads=()), want(iothread='io1'))
    assert caught.value.message == (
        "NIC net-0: iothread io1 is not an iothread of this VM (its iothreads: none); StratoVirt needs it on the VM's command line (-object iothread,id=io1)"
    )


@pytest.mark.parametrize('queues', [0, 17])
def test_queues_form(queues):
    with pytest.raises(DeviceInputError) as caught:
        want(queues=queues)
    assert caught.value.message == 'NIC net-0: queues must be an integer from 1 to 16, not %d' % queues


def test_vhost_needs_vhost_net_on_the_host(tmp_path, monkeypatch):
    missing = str(tmp_path / 'vhost-net')
    monkeypatch.setattr(_kind_nic, 'VHOST_NET', missing)
    spec = want(ifname='nosuchtap0', create_tap=True, vhost=True)
    with pytest.raises(DeviceInputError) as caught:
        KINDS['nic'].check_host(spec)
    assert caught.value.message == (
        'NIC net-0: vhost=true needs vhost-net on this host, but %s does not exist: load the '
        'vhost_net kernel module (modprobe vhost_net), or leave vhost unset' % missing
    )
    (tmp_path / 'vhost-net').write_text('')
    assert KINDS['nic'].check_host(spec) is None
    KINDS['nic'].check_vhost_net(want(), missing + '.absent')  # vhost unset: the host is not asked


def fake_tap(tmp_path, monkeypatch, flags):
    (tmp_path / 'tap7').mkdir()
    (tmp_path / 'tap7' / 'tun_flags').write_text(flags + '\n')
    monkeypatch.setattr(_kind_nic, 'SYS_CLASS_NET', str(tmp_path))


def test_multi_queue_needs_a_multi_queue_tap(tmp_path, monkeypatch):
    fake_tap(tmp_path, monkeypatch, '0x1002')
    with pytest.raises(DeviceInputError) as caught:
        KINDS['nic'].check_host(want(ifname='tap7', queues=4))
    assert caught.value.message == (
        'tap tap7 of NIC net-0 is a single-queue tap, but queues=4 opens it once per queue '
        'pair: create it with multi_queue (ip tuntap add dev tap7 mode tap multi_queue), or '
        'leave queues unset'
    )
    assert KINDS['nic'].check_host(want(ifname='tap7', queues=1)) is None


def test_a_multi_queue_tap_passes(tmp_path, monkeypatch):
    fake_tap(tmp_path, monkeypatch, '0x1102')
    assert KINDS['nic'].check_host(want(ifname='tap7', queues=4)) is None


def cold_state(machine, netdev_props='', device_props=''):
    state = vm(machine, '2.5.0')
    state.taps = ['tap0']
    device_args = 'virtio-net-pci,netdev=n0,id=n0,bus=pcie.1,addr=0x0' if machine == 'standard' else 'virtio-net-device,netdev=n0,id=n0'
    state.add_cold_plugged(['stratovirt', '-netdev', 'tap,id=n0,ifname=tap0' + netdev_props, '-device', device_args + device_props])
    return state


@pytest.mark.parametrize('machine', MACHINES)
@pytest.mark.parametrize(
    'netdev_props,device_props,option,value,other',
    [
        (',queues=4', ',mq=on', 'queues', 4, 2),
        (',vhost=on', '', 'vhost', True, False),
        ('', ',iothread=io1', 'iothread', 'io1', 'io2'),
        ('', ',mac=52:54:00:00:00:09', 'mac', '52:54:00:00:00:09', '52:54:00:00:00:01'),
    ],
    ids=['queues', 'vhost', 'iothread', 'mac'],
)
def test_option_read_back_from_the_command_line(machine, netdev_props, device_props, option, value, other):
    state = cold_state(machine, netdev_props, device_props)
    assert state.devices['n0'].options[option] == value
    with pytest.raises(DeviceInputError, match='%s: %r -> %r' % (option, value, other)):
        plan_device(state, want(id='n0', allow_cold_unplug=True, **{option: other}))
    assert option not in cold_state(machine).devices['n0'].options


@pytest.mark.parametrize('profile', PROFILES)
def test_guest_name(profile):
    assert [plan_device(vm('micro', profile), want(addr=str(slot))).after['guest_name'] for slot in (0, 1)] == ['eth0', 'eth1']
    assert plan_device(vm('standard', profile), want()).after['guest_name'] is None
    assert view_of(Device('n', 'nic', options={'ifname': 'tap0'}, source='adopted'))['guest_name'] is None
