# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NIC kind: a virtio-net device over a ``netdev_add`` backend of a host tap.

Private to the stratovirt.qmp collection: may change in any release.
Everything NIC-specific is here, the StratoVirt 2.5.0 tap kept after an unplug included.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Optional

from ..model import SOURCE_ADOPTED, SOURCE_COLD, SOURCE_RECORD, Device
from ..record import DeviceEntry
from ..spec import DeviceSpec
from ..errors import DeviceInputError
from .base import COMPARE_EQUAL, DeviceKind
from ..steps import PURPOSE_BACKEND, PURPOSE_BACKEND_DEL, PURPOSE_DEVICE, PURPOSE_UNPLUG_FOLLOW_UP, Step
from ..._dialect.dialect import MACHINE_MICRO, MICRO_NIC_SLOTS
from ..._dialect.cmdline import FLAG_WORDS

MAC_PATTERN = re.compile(r'[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}')
# Linux interface names: at most 15 bytes, no '/', no white space, not '.' or '..'.
IFNAME_PATTERN = re.compile(r'(?!\.{1,2}\Z)[^/\s:]{1,15}')
SYS_CLASS_NET = '/sys/class/net'
# vhost-net needs this device on the host; a test points it elsewhere (the check reads the module's value at call time).
VHOST_NET = '/dev/vhost-net'
IFF_TAP = 0x0002
IFF_MULTI_QUEUE = 0x0100
TAP_HELD = 'tap-held'


class Nic(DeviceKind):
    name = 'nic'
    label = 'NIC'
    list_option = 'nics'
    module = 'stratovirt_nic'
    options = dict(
        ifname=dict(type='str'),
        mac=dict(type='str'),
        create_tap=dict(type='bool', default=False),
        queues=dict(type='int'),
        vhost=dict(type='bool'),
        iothread=dict(type='str'),
    )
    compared = dict(ifname=COMPARE_EQUAL, mac=COMPARE_EQUAL, queues=COMPARE_EQUAL, vhost=COMPARE_EQUAL, iothread=COMPARE_EQUAL)
    wire_names = dict(queues='netdev_add queues', vhost='netdev_add vhost', iothread='virtio-net iothread')
    ranges = dict(queues=(1, 16))  # queue pairs; StratoVirt: "number queues of net device must >= 1 and <= 16."
    micro_slots = MICRO_NIC_SLOTS
    free_key = 'nic_slots'
    held_noun = 'tap'
    cold_backend_option = '-netdev'
    cold_drivers = frozenset(('virtio-net-device', 'virtio-net-pci'))
    cold_link = 'netdev'

    # -- the task's options -------------------------------------------

    def check_form(self, spec: DeviceSpec) -> None:
        ifname, mac = spec.options['ifname'], spec.options['mac']
        if spec.state == 'present' and not ifname:
            raise DeviceInputError('NIC %s: ifname (the host tap) is required with state=present' % spec.id)
        if ifname is not None and not IFNAME_PATTERN.fullmatch(ifname):
            raise DeviceInputError('NIC %s: ifname %r is not a valid interface name (at most 15 characters, no "/", ":" or spaces)' % (spec.id, ifname))
        if mac is not None and not MAC_PATTERN.fullmatch(mac):
            raise DeviceInputError('NIC %s: mac %r must be six hexadecimal pairs separated by ":", like 52:54:00:12:34:56' % (spec.id, mac))
        self.check_iothread_form(spec)

    def check_host(self, spec: DeviceSpec) -> Optional[str]:
        self.check_vhost_net(spec, VHOST_NET)
        ifname = spec.options['ifname']
        interface = os.path.join(SYS_CLASS_NET, ifname)
        if not os.path.lexists(interface):
            if spec.options['create_tap']:
                return None
            raise DeviceInputError(
                'tap %s of NIC %s does not exist on this host: create it first (ip tuntap add dev %s '
                'mode tap) or set create_tap=true to let StratoVirt create it' % (ifname, spec.id, ifname)
            )
        # A tun/tap interface has tun_flags (IFF_TAP set for a tap); lo, a bridge, a physical NIC have none.
        try:
            with open(os.path.join(interface, 'tun_flags'), encoding='ascii') as handle:
                flags = int(handle.read().strip(), 16)
        except (OSError, ValueError):
            flags = None
        if flags is None or not flags & IFF_TAP:
            what = 'a tun device' if flags is not None else 'loopback, bridge, physical NIC or the like'
            raise DeviceInputError(
                'ifname %s of NIC %s is a host interface that is not a tap (%s); give a tap (ip tuntap '
                'add dev NAME mode tap), or a name no interface has, with create_tap=true' % (ifname, spec.id, what)
            )
        if (spec.options['queues'] or 1) > 1 and not flags & IFF_MULTI_QUEUE:
            raise DeviceInputError(
                'tap %s of NIC %s is a single-queue tap, but queues=%d opens it once per queue pair: '
                'create it with multi_queue (ip tuntap add dev %s mode tap multi_queue), or leave queues '
                'unset' % (ifname, spec.id, spec.options['queues'], ifname)
            )
        return None

    @staticmethod
    def check_vhost_net(spec: DeviceSpec, device_path: str) -> None:
        """vhost-net (``vhost``) needs the host's ``device_path`` (/dev/vhost-net, module vhost_net).

        :raises DeviceInputError:
        """
        if spec.options['vhost'] and not os.path.exists(device_path):
            raise DeviceInputError(
                'NIC %s: vhost=true needs vhost-net on this host, but %s does not exist: load the '
                'vhost_net kernel module (modprobe vhost_net), or leave vhost unset' % (spec.id, device_path)
            )

    # -- planning -----------------------------------------------------

    def check_plug(self, state, spec: DeviceSpec, others: Dict[str, Device]) -> None:
        dialect = state.dialect
        ifname, mac = spec.options['ifname'], spec.options['mac']
        for device in others.values():
            if device.option('ifname') == ifname:
                raise DeviceInputError('tap %s of %s is already used by NIC %s of this VM' % (ifname, self.describe(spec.id), device.id))
        if ifname in state.retained_by_unplugged:
            raise DeviceInputError(
                'tap %s is still held by this VM after NIC %s was unplugged (a StratoVirt %s defect): it '
                'cannot be plugged again until the VM restarts; use another tap' % (ifname, state.retained_by_unplugged[ifname], dialect.release_text)
            )
        if mac is not None and dialect.machine == MACHINE_MICRO and not dialect.micro_uses_serial_and_mac:
            raise DeviceInputError(
                'NIC %s: a micro VM honours mac from StratoVirt 2.5.0; this VM runs %s and would ignore it: leave mac unset' % (spec.id, dialect.release_text)
            )
        self.check_taken(dialect, spec)
        self.check_iothread_exists(state, spec)

    def plug(self, dialect, spec: DeviceSpec, slot: Optional[int], bus: Optional[str]):
        ifname, mac, queues = spec.normal['ifname'], spec.normal['mac'], spec.normal['queues']
        device = (
            dialect.micro_nic_device(spec.id, slot, mac, iothread=spec.normal['iothread'])
            if bus is None
            else dialect.pci_nic_device(spec.id, bus, mac, queues=queues)
        )
        backend = dialect.nic_backend(spec.id, ifname, queues=queues, vhost=spec.normal['vhost'])
        steps = [Step('netdev_add', backend, PURPOSE_BACKEND, spec.id), Step('device_add', device, PURPOSE_DEVICE, spec.id)]
        return steps, Device(spec.id, self.name, slot, bus, self.recorded_options(spec.normal))

    def micro_unplug_follow_ups(self, dialect, device_id: str) -> List[Step]:
        if not dialect.has_nic_unplug_defect:
            return []
        return [
            Step(
                'device_del',
                {'id': device_id},
                PURPOSE_UNPLUG_FOLLOW_UP,
                device_id,
                when='the first device_del answers the StratoVirt %s NIC unplug defect (slot and config freed, tap kept)' % dialect.release_text,
            )
        ]

    def backend_del_step(self, device_id: str) -> Step:
        return Step('netdev_del', {'id': device_id}, PURPOSE_BACKEND_DEL, device_id)

    # -- the host view --------------------------------------------------

    def host_holds(self, state, device: Device) -> bool:
        return device.option('ifname') in state.taps

    def attached_at_device_add(self, state, device: Device) -> bool:
        # Every release attaches the tap at device_add, unless the tap is one an earlier unplug left held.
        return not any(other.state == TAP_HELD and other.ifname == device.option('ifname') for other in state.record.devices.values())

    def adopt(self, state, spec: DeviceSpec) -> Optional[Device]:
        ifname = spec.normal['ifname']
        if ifname not in state.taps or any(device.option('ifname') == ifname for device in state.devices.values()) or ifname in state.retained_by_unplugged:
            return None
        if state.dialect.nic_unplug_keeps_tap and spec.state == 'present':
            # 2.5.0 keeps the tap of an unplugged NIC: a held tap no record explains does not prove a NIC.
            raise DeviceInputError(
                'tap %s of NIC %s is held by the VM, but the device record does not say by which device; StratoVirt '
                '%s keeps the tap of an unplugged NIC until the VM exits, so that does not tell whether NIC %s is '
                'attached. Unplug it first (state=absent with ifname %s; the tap then stays held until the VM '
                'restarts), or use another tap' % (ifname, spec.id, state.dialect.release_text, spec.id, ifname)
            )
        return Device(spec.id, self.name, options={'ifname': ifname}, source=SOURCE_ADOPTED)

    def cold_options(self, props: Dict[str, str]) -> Dict[str, Any]:
        options: Dict[str, Any] = {'ifname': props.get('ifname')}
        # An unstated property is not shown, and not compared; an unreadable one (StratoVirt would not have started) too.
        if 'queues' in props:
            options['queues'] = int(props['queues']) if props['queues'].isdigit() else None
        if 'vhost' in props:
            options['vhost'] = FLAG_WORDS.get(props['vhost'].lower())
        for name in ('mac', 'iothread'):
            if name in props:
                options[name] = props[name]
        return options

    def cold_device(self, state, cold, slot: Optional[int], bus: Optional[str]) -> Optional[Device]:
        options = self.cold_options(cold.props)
        if options['ifname'] not in state.taps:
            return None
        return Device(cold.id, self.name, slot, bus, options, SOURCE_COLD)

    def keep_after_unplug(self, state, device: Device) -> Optional[str]:
        # 2.5.0 keeps the tap of an unplugged NIC open until the VM exits: no other NIC may take it meanwhile.
        ifname = device.option('ifname')
        if not ifname or not state.dialect.nic_unplug_keeps_tap:
            return None
        state.record.put(DeviceEntry(device.id, self.name, state=TAP_HELD, slot=device.slot, bus=device.bus, ifname=ifname))
        state.retained_by_unplugged[ifname] = device.id
        return 'NIC %s is unplugged but StratoVirt %s keeps its tap %s open until the VM exits; that tap cannot be plugged again in this VM' % (
            device.id,
            state.dialect.release_text,
            ifname,
        )

    def recall_retained(self, state, device: Device) -> None:
        if device.option('ifname') in state.taps:
            state.retained_by_unplugged[device.option('ifname')] = device.id
        else:
            state.record.remove(device.id)

    def unexplained(self, state, argv: List[str]) -> List[str]:
        known_taps = {device.option('ifname') for device in state.devices.values() if device.option('ifname')}
        known_taps.update(state.retained_by_unplugged)
        return ['the VM holds tap %s, but no known NIC uses it' % tap for tap in state.taps if tap not in known_taps]

    # -- what the user sees ---------------------------------------------

    def guest_name(self, device: Device) -> Optional[str]:
        # Micro VM: both virtio-net transports exist from boot and probe in slot order (eth0 is slot 0x0), as long
        # as the guest keeps the kernel's names. Standard VM: the name follows the guest's PCI naming; find it by mac.
        if device.bus is None and device.slot is not None:
            return 'eth%d' % device.slot
        return None

    def retained_views(self, state) -> List[dict]:
        return [
            {'id': device_id, 'kind': self.name, 'ifname': ifname, 'source': SOURCE_RECORD, 'unplugged_tap_held': True}
            for ifname, device_id in state.retained_by_unplugged.items()
        ]


KIND = Nic()
