# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The micro VM device model: fixed virtio-mmio slots and one registry of backends.

Mirrors docs/stratovirt-qmp.md section 3: 4 disk + 2 NIC slots, at most 6
registered backends (disks and NICs together), ``device_add`` finds its backend
by the device id, ``device_del`` removes front end and backend at once.
"""

from __future__ import annotations

import errno
import os
import re
from typing import Dict, List, Optional, Tuple

from .host import HostError, ImageHandle, open_tap, os_error_text, path_kind, tap_busy
from .outcome import Outcome, event, fail, ok
from .profiles import Profile

BLK_SLOTS = 4
NET_SLOTS = 2
MAX_BACKENDS = 6
HEX_U64 = re.compile(r'^\+?[0-9a-fA-F]+$')
DEC_U64 = re.compile(r'^\+?[0-9]+$')


class Backend:
    """One registered ``blockdev-add`` / ``netdev_add`` config (or a cold-plugged device's)."""

    def __init__(self, backend_id: str, kind: str, args: dict) -> None:
        self.id = backend_id
        self.kind = kind  # 'blk' or 'net'
        self.args = args
        self.image: Optional[ImageHandle] = None
        self.tap_fd: Optional[int] = None

    @property
    def ifname(self) -> Optional[str]:
        return self.args.get('ifname')

    def release(self) -> None:
        if self.image is not None:
            self.image.close()
            self.image = None
        if self.tap_fd is not None:
            os.close(self.tap_fd)
            self.tap_fd = None


def driver_kind(driver: str) -> Optional[str]:
    """StratoVirt only looks for the substrings "net" (first) and "blk" in a micro VM driver name."""
    if 'net' in driver:
        return 'net'
    if 'blk' in driver:
        return 'blk'
    return None


def aio_rule_error(profile: Profile, args: dict) -> Optional[str]:
    """The 2.3.0+ ``DriveConfig::check`` rule tying ``file.aio`` to ``cache.direct`` (both machine types)."""
    if not profile.has_aio_rule:
        return None
    direct = (args.get('cache') or {}).get('direct', True)
    aio = (args['file'].get('aio') or 'off').lower()
    if aio == 'off' and direct:
        return 'Invalid parameter \'aio\' for \'low performance expected when use sync io with "direct" on\''
    if aio == 'native' and not direct:
        return 'Invalid parameter \'aio\' for \'native aio type should be used with "direct" on\''
    return None


def register_image(open_images, path: str, read_only: bool, direct: bool) -> Tuple[Optional[ImageHandle], Optional[str]]:
    """Open and lock ``path`` as 2.2.0+ ``register_drive_file`` does; :returns: (image, None) or (None, error text).

    ``open_images`` are the images this VM already registered (None entries allowed): sharing one is
    refused unless both are read-only.
    """
    for other in open_images:
        if other is not None and os.path.realpath(other.path) == os.path.realpath(path) and not (read_only and other.read_only):
            return None, (
                'Failed to add drive %s, file can only be shared with read_only. Is it used more than once or another process using the same file?' % path
            )
    image = ImageHandle(path, read_only, direct)
    try:
        image.open()
    except OSError as exc:
        return None, 'failed to open the file for block %s. Error: %s' % (path, os_error_text(exc))
    try:
        image.lock()
    except OSError as exc:
        image.close()
        return None, (
            'Failed to get %s on file: %s. Is it used more than once or another process using the same file? '
            'Error: %s' % ('read lock' if read_only else 'write lock', path, os_error_text(exc))
        )
    return image, None


def open_image_of(args: dict) -> ImageHandle:
    """Open (without a lock) the image of ``blockdev-add`` arguments, as 2.1.0 does when a device is realized.

    :raises HostError: the image cannot be opened.
    """
    image = ImageHandle(args['file']['filename'], bool(args.get('read-only', False)), (args.get('cache') or {}).get('direct', True))
    try:
        image.open()
    except OSError as exc:
        raise HostError('cannot open image', exc) from exc
    return image


class MicroVM:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.backends: List[Backend] = []
        self.slots: Dict[str, List[Optional[str]]] = {'blk': [None] * BLK_SLOTS, 'net': [None] * NET_SLOTS}
        self.leaked_tap_fds: List[int] = []  # taps StratoVirt 2.5 keeps after a failed NIC unplug
        self.iothreads: List[str] = []  # -object iothread ids of the command line
        self.running = True

    # -- helpers ----------------------------------------------------------

    def find(self, backend_id: str) -> Optional[Backend]:
        for backend in self.backends:
            if backend.id == backend_id:
                return backend
        return None

    def _register(self, backend: Backend) -> Optional[str]:
        if len(self.backends) >= MAX_BACKENDS:
            return self.profile.max_configs
        if self.find(backend.id) is not None:
            return '%s is already registered.' % backend.id
        self.backends.append(backend)
        return None

    def _parse_slot(self, args: dict) -> Optional[int]:
        """The slot of a ``device_add``; None when ``addr`` does not parse on a strict release."""
        addr = args.get('addr')
        if addr is None:
            lun = args.get('lun')
            return 0 if lun is None else lun + 1
        text = addr.strip()
        hex_digits = text[2:] if text[:2] in ('0x', '0X') else None
        if not self.profile.addr_parse_strict:
            # 2.1.0 parses hex, with or without 0x, and silently falls back to slot 0 on any error.
            digits = text if hex_digits is None else hex_digits
            if not HEX_U64.match(digits):
                return 0
            value = int(digits, 16)
            return value if value < 2**64 else 0
        if hex_digits is not None:
            return int(hex_digits, 16) if HEX_U64.match(hex_digits) and int(hex_digits, 16) < 2**64 else None
        return int(text) if DEC_U64.match(text) and int(text) < 2**64 else None

    def _deleted(self, backend_id: str) -> dict:
        return event('DEVICE_DELETED', {'device': backend_id, 'path': backend_id})

    # -- block backends ---------------------------------------------------

    def blockdev_add(self, args: dict) -> Outcome:
        node = args['node-name']
        path = args['file']['filename']
        direct = (args.get('cache') or {}).get('direct', True)
        read_only = bool(args.get('read-only', False))
        error = aio_rule_error(self.profile, args)
        if error:
            return fail(error)
        kind = path_kind(path)
        if kind == 'missing':
            return fail(self.profile.missing_file.format(path=path))
        if kind == 'other':
            return fail(self.profile.not_regular_file.format(path=path))
        backend = Backend(node, 'blk', args)
        if self.profile.opens_image_at_blockdev_add:
            error = self._open_image(backend, path, read_only, direct)
            if error:
                return fail(error)
        error = self._register(backend)
        if error:
            backend.release()
            return fail(error)
        return ok()

    def _open_image(self, backend: Backend, path: str, read_only: bool, direct: bool) -> Optional[str]:
        backend.image, error = register_image([other.image for other in self.backends], path, read_only, direct)
        return error

    def blockdev_del(self, args: dict) -> Outcome:
        return fail('blockdev_del not support yet')

    # -- net backends -----------------------------------------------------

    def netdev_add(self, args: dict) -> Outcome:
        ifname = args.get('ifname')
        if ifname and self.profile.netdev_add_probes_tap and tap_busy(ifname):
            return fail('Tap device already in use')
        error = self._register(Backend(args['id'], 'net', args))
        return fail(error) if error else ok()

    def netdev_del(self, args: dict) -> Outcome:
        return fail('netdev_del not support yet')

    # -- devices ----------------------------------------------------------

    def device_add(self, args: dict) -> Outcome:
        device_id = args['id']
        kind = driver_kind(args['driver'])
        if kind is None:
            return fail('Unsupported replaceable device type.')
        backend = self.find(device_id)
        if backend is None:
            return fail('Failed to find device configuration.')
        slot = self._parse_slot(args)
        if slot is None:
            return fail('Invalid addr for device %s' % device_id)
        slots = self.slots[kind]
        if slot >= len(slots):
            return fail(self.profile.max_blk if kind == 'blk' else self.profile.max_net)
        if backend.kind != kind and not self.profile.type_mismatch_panics:
            return fail('The device type is %s, but the target config is not for this type.' % kind)
        if self.profile.needs_drive_chardev:
            if kind == 'blk' and 'drive' not in args:
                return fail('No drive set')
            if kind == 'net' and 'chardev' not in args:
                return fail('No chardev set')
        if slots[slot] is not None:
            return fail('The slot %d is occupied already.' % slot)
        if backend.kind != kind:
            where = 'virtio/src/net.rs:733:36' if kind == 'net' else 'virtio/src/block.rs:1084:28'
            return Outcome(panic="thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', %s" % where)
        slots[slot] = device_id
        # 2.5.0 realizes the backend on the device's iothread; before, a micro VM reads no iothread. Either failure
        # leaves the slot marked used by the id (docs/stratovirt-qmp.md 3.3).
        if self.profile.needs_drive_chardev and 'iothread' in args and args['iothread'] not in self.iothreads:
            return fail('%s: failed to update config.' % device_id)
        try:
            self._realize(backend)
        except HostError:
            return fail('%s: failed to update config.' % device_id)
        return ok()

    def _realize(self, backend: Backend) -> None:
        """Give the slot its backend: open the image (2.1.0) or attach the tap."""
        if backend.kind == 'blk' and backend.image is None:
            backend.image = open_image_of(backend.args)
        elif backend.kind == 'net' and backend.ifname and backend.tap_fd is None:
            try:
                backend.tap_fd = open_tap(backend.ifname)
            except OSError as exc:
                raise HostError('cannot open tap', exc) from exc

    def device_del(self, args: dict) -> Outcome:
        device_id = args['id']
        backend = self.find(device_id)
        if backend is None:
            return fail('Device %s not found' % device_id)
        self.backends.remove(backend)
        plugged = False
        for slots in self.slots.values():
            for index, holder in enumerate(slots):
                if holder == device_id:
                    slots[index] = None
                    plugged = True
        if backend.kind == 'net' and plugged and backend.tap_fd is not None and self.profile.nic_unplug_keeps_tap:
            # 2.5.0 re-realizes the NIC with its old tap while still holding it: EBUSY, no event, tap kept.
            self.leaked_tap_fds.append(backend.tap_fd)
            backend.tap_fd = None
            backend.release()
            return fail('%s: failed to update config.' % device_id)
        backend.release()
        return ok(events=[self._deleted(device_id)])

    # -- cold plug --------------------------------------------------------

    def cold_plug(self, backend: Backend, slot_kind: str) -> None:
        """A ``-device`` from the command line: takes a backend entry and the next free slot."""
        self.backends.append(backend)
        slots = self.slots[slot_kind]
        slots[slots.index(None)] = backend.id
        self._realize(backend)

    # -- run state --------------------------------------------------------

    def query_status(self) -> dict:
        if self.running:
            return {'running': True, 'singlestep': False, 'status': 'running'}
        return {'running': self.profile.status_running_when_paused, 'singlestep': False, 'status': 'paused'}

    def close(self) -> None:
        for backend in self.backends:
            backend.release()
        for fd in self.leaked_tap_fds:
            try:
                os.close(fd)
            except OSError as exc:
                if exc.errno != errno.EBADF:
                    raise
        self.leaked_tap_fds = []
