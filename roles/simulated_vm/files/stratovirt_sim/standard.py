# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standard (q35) VM: PCIe hot-plug on root ports, a guest that decides unplugs, backends apart.

Mirrors docs/stratovirt-qmp.md sections 4, 11 and 13 and the two standard-VM
recordings: ``device_add`` answers at once; ``device_del`` presses the slot's
attention button and the guest model decides what follows (``ack``: the slot is
powered off after a delay, then the device goes and ``DEVICE_DELETED`` is sent;
``deaf``: nothing; ``blink``: the power indicator blinks for ever). Drives and
netdevs are configs of their own that outlive the devices using them.
"""

from __future__ import annotations

import json
import os
import time
from typing import Dict, List, Optional, Tuple

from .host import HostError, open_tap, path_kind
from .micro import Backend, aio_rule_error, open_image_of, register_image
from .outcome import Outcome, event, fail, ok
from .pcie import ROOT_BUS, PciBus, PciDevice, Topology, parse_devfn
from .profiles import STANDARD_TRAITS, Profile

GUEST_MODELS = ('ack', 'deaf', 'blink')
DRIVERS = {'virtio-blk-pci': 'blk', 'virtio-net-pci': 'net'}
# Drivers StratoVirt has but the simulator does not model: refused plainly rather than faked.
UNMODELLED_DRIVERS = (
    'vhost-user-blk-pci',
    'virtio-scsi-pci',
    'vfio-pci',
    'nec-usb-xhci',
    'usb-kbd',
    'usb-tablet',
    'usb-camera',
    'usb-host',
    'usb-storage',
    'generic-x86-cpu',
    'virtio-balloon-pci',
    'virtio-rng-pci',
)
ERROR_PREFIX = {'blk': 'Failed to add virtio pci blk: ', 'net': 'Failed to add virtio pci net: '}


def _queue_pairs(value) -> int:
    """``queues`` as the release parsed it (a string up to 2.1.0, a u16 after); unparsable: 0, refused as out of range."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class StandardVM:
    # query-hotpluggable-cpus of StdMachine is an empty response (recorded on 2.1.0).
    static_overrides: Dict[str, object] = {'query-hotpluggable-cpus': {}}

    def __init__(self, profile: Profile, guest: str = 'ack', ack_delay: float = 0.2) -> None:
        if guest not in GUEST_MODELS:
            raise ValueError('unknown guest model %s' % guest)
        self.profile = profile
        self.traits = STANDARD_TRAITS[profile.release]
        self.guest = guest
        self.ack_delay = ack_delay
        self.topology = Topology()
        self.drives: Dict[str, Backend] = {}
        self.netdevs: Dict[str, Backend] = {}
        self.unplugs: Dict[str, float] = {}  # device id -> when the ack guest powers its slot off
        self.leaked_tap_fds: List[int] = []  # taps 2.5.0 keeps after the NIC is gone
        self.iothreads: List[str] = []  # -object iothread ids of the command line
        self.running = True

    # -- block backends ---------------------------------------------------

    def blockdev_add(self, args: dict) -> Outcome:
        node = args['node-name']
        path = args['file']['filename']
        read_only = bool(args.get('read-only', False))
        direct = (args.get('cache') or {}).get('direct', True)
        error = aio_rule_error(self.profile, args) or self._path_error(path)
        if error:
            return fail(error)
        if args.get('driver', 'raw') not in ('raw', 'qcow2'):
            return fail('Unknown format type')
        drive = Backend(node, 'blk', args)
        if self.profile.opens_image_at_blockdev_add:
            # 2.2.0+ registers the file before looking at the node name: a duplicate of an open image fails on it.
            drive.image, error = register_image([other.image for other in self.drives.values()], path, read_only, direct)
            if error:
                return fail(error)
        if node in self.drives:
            drive.release()
            return fail('Drive %s has been added' % node)
        self.drives[node] = drive
        return ok()

    def _path_error(self, path: str) -> Optional[str]:
        text = {'missing': self.traits.missing_image, 'other': self.traits.not_regular_image}.get(path_kind(path))
        return text.format(path=path) if text else None

    def blockdev_del(self, args: dict) -> Outcome:
        # Only the config goes (and, 2.2.0+, its file): a device still using it is not touched.
        drive = self.drives.pop(args['node-name'], None)
        if drive is None:
            return fail('Drive %s not found' % args['node-name'])
        drive.release()
        return ok()

    # -- net backends -----------------------------------------------------

    def netdev_add(self, args: dict) -> Outcome:
        # No tap probe here, unlike the 2.5.0 micro VM: the tap is opened by device_add (recorded on 2.5.0).
        if 'queues' in args and not 1 <= _queue_pairs(args['queues']) <= 16:
            return fail('number queues of net device must >= 1 and <= 16.')
        if args['id'] in self.netdevs:
            return fail('Netdev %s has been added' % json.dumps(args['id'], ensure_ascii=False))
        self.netdevs[args['id']] = Backend(args['id'], 'net', args)
        return ok()

    def netdev_del(self, args: dict) -> Outcome:
        if self.netdevs.pop(args['id'], None) is None:
            return fail('Netdev %s not found' % args['id'])
        return ok()

    # -- devices ----------------------------------------------------------

    def device_add(self, args: dict) -> Outcome:
        device_id = args['id']
        if device_id == '':
            return fail('Device id is empty')
        if self.topology.find(device_id) is not None:
            return fail('Device id %s existed' % device_id)
        devfn = parse_devfn(args.get('addr', '0x0'))
        if devfn is None:
            return fail('Failed to get device num or function num')
        driver = args['driver']
        kind = DRIVERS.get(driver)
        if kind is None:
            if driver in UNMODELLED_DRIVERS:
                return fail('simulator: driver %s is not simulated' % driver)
            return fail('Failed to add device: Driver %s is not support' % driver)
        error = self._realize(device_id, kind, args, (args.get('bus', ROOT_BUS), devfn))
        if error:
            return fail(ERROR_PREFIX[kind] + error)
        found = self.topology.find(device_id)
        assert found is not None, 'realized just now'
        return self._plug(*found)

    def _realize(self, device_id: str, kind: str, args: dict, place: Tuple[str, int]) -> Optional[str]:
        """Create the device at ``place`` (bus name, devfn) with its host resources; :returns: why it could not be."""
        bus_name, devfn = place
        backend = self._backend_of(kind, args)
        if isinstance(backend, str):
            return backend
        failed = self.traits.blk_add_failed if kind == 'blk' else self.traits.net_add_failed
        bus = self.topology.buses.get(bus_name)
        if bus is None or devfn in bus.devices:
            return failed
        if 'iothread' in args and args['iothread'] not in self.iothreads:
            return failed  # the reason text is not recorded (docs/simulator.md)
        device = PciDevice(device_id, kind, devfn)
        try:
            self._take_host_resources(device, backend)
        except HostError:
            return failed
        bus.devices[devfn] = device
        return None

    def _backend_of(self, kind: str, args: dict):
        """:returns: the drive or netdev ``args`` names, or the error reason as a string."""
        if kind == 'blk':
            if 'drive' not in args:
                return 'Drive not set'
            return self.drives.get(args['drive']) or self.traits.drive_missing
        if 'netdev' not in args:
            return 'Netdev not set'
        return self.netdevs.get(args['netdev']) or self.traits.netdev_missing.format(id=args['netdev'])

    def _take_host_resources(self, device: PciDevice, backend: Backend) -> None:
        """2.1.0 opens the image here (2.2.0+ did at blockdev-add); every release attaches the tap here."""
        args = backend.args
        if device.kind == 'blk' and not self.profile.opens_image_at_blockdev_add:
            device.image = open_image_of(args)
        elif device.kind == 'net' and backend.ifname:
            try:
                device.tap_fd = open_tap(backend.ifname)
            except OSError as exc:
                raise HostError('cannot open tap', exc) from exc

    def _plug(self, bus: PciBus, device: PciDevice) -> Outcome:
        """The hot-plug controller's part: presence detect and an interrupt; no event, the guest enumerates later."""
        if not bus.hotplug:
            error = 'No hot plug controller found for bus %s when plug' % bus.name
        elif device.devfn != 0 and self.traits.checks_devfn_on_plug:
            error = 'HotPlug is not supported for device with devfn %d' % device.devfn
        else:
            return ok()
        if not self.traits.keeps_failed_plug:
            self._remove(bus, device)
        return fail('Failed to plug device: %s' % error)

    def device_del(self, args: dict) -> Outcome:
        device_id = args['id']
        found = self.topology.find(device_id)
        if found is None:
            return fail(self.traits.unknown_device_del.format(id=device_id))
        bus, device = found
        if not bus.hotplug:
            return fail('No hot plug controller found for bus %s when unplug request' % bus.name)
        if bus.blinking and self.traits.checks_blinking_indicator:
            return fail('Guest is still on the fly of another (un)plugging')
        if device.devfn != 0:
            if self.traits.deadlocks_on_devfn_unplug:
                # 2.1.0 unplugs it at once while holding the bus lock it needs again: the main thread never returns.
                return Outcome(hang=True)
            self._remove(bus, device)
            return ok()
        # The attention button is pressed; what happens next is the guest's business.
        if self.guest == 'ack':
            self.unplugs.setdefault(device_id, time.monotonic() + self.ack_delay)
        elif self.guest == 'blink':
            bus.blinking = True
        return ok()

    def _remove(self, bus: PciBus, device: PciDevice) -> None:
        del bus.devices[device.devfn]
        self.unplugs.pop(device.id, None)
        leaked = device.take_tap() if self.profile.nic_unplug_keeps_tap else None
        if leaked is not None:
            self.leaked_tap_fds.append(leaked)
        device.release()

    # -- the guest's timers (run by the server loop) ----------------------

    def next_deadline(self) -> Optional[float]:
        # A paused VM runs no guest code: a pending power-off waits for cont.
        if not self.running or not self.unplugs:
            return None
        return min(self.unplugs.values())

    def fire(self, now: float) -> List[dict]:
        """The ack guest powers slots off; StratoVirt removes the device and reports it from the vCPU thread."""
        events = []
        for device_id, deadline in sorted(self.unplugs.items(), key=lambda item: item[1]):
            if deadline > now or not self.running:
                continue
            found = self.topology.find(device_id)
            self.unplugs.pop(device_id)
            if found is not None:
                self._remove(*found)
                events.append(event('DEVICE_DELETED', {'device': device_id, 'path': '/machine/peripheral/%s' % device_id}))
        return events

    # -- cold plug --------------------------------------------------------

    def cold_root_port(self, port_id: str, devfn: int) -> None:
        self.topology.add_root_port(port_id, devfn)

    def cold_root_ports(self, count: int) -> None:
        """``--root-ports N``: pcie.1 .. pcie.N, each at the next free slot of pcie.0 from 0x3 (as recorded)."""
        for number in range(1, count + 1):
            port_id = 'pcie.%d' % number
            if port_id not in self.topology.buses:
                self.topology.add_root_port(port_id, self.topology.free_root_slot(2 + number))

    def cold_backend(self, kind: str, args: dict) -> None:
        """A ``-drive`` or ``-netdev``: registered as blockdev-add / netdev_add would.

        :raises ValueError: with StratoVirt's reason, when StratoVirt would refuse to start.
        """
        outcome = self.blockdev_add(args) if kind == 'blk' else self.netdev_add(args)
        if outcome.error:
            raise ValueError(outcome.error)

    def cold_device(self, device_id: str, kind: str, args: dict, place: Tuple[str, int]) -> None:
        """A ``-device`` at ``place`` (bus name, devfn), no hot-plug controller involved (pcie.0, any devfn)."""
        if self.topology.find(device_id) is not None:
            raise ValueError('device id %s is used twice' % device_id)
        error = self._realize(device_id, kind, args, place)
        if error:
            raise ValueError(error)

    # -- run state --------------------------------------------------------

    def query_status(self) -> dict:
        if self.running:
            return {'running': True, 'singlestep': False, 'status': 'running'}
        return {'running': self.profile.status_running_when_paused, 'singlestep': False, 'status': 'paused'}

    def close(self) -> None:
        for dummy, device in list(self.topology.devices()):
            device.release()
        for backend in list(self.drives.values()) + list(self.netdevs.values()):
            backend.release()
        for fd in self.leaked_tap_fds:
            os.close(fd)
        self.leaked_tap_fds = []
