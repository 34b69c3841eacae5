# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The disk kind: a virtio-blk device over a ``blockdev-add`` backend of an image file or block device.

Private to the stratovirt.qmp collection: may change in any release.
Everything disk-specific is here: options, checks, plan steps, host confirmation, cold-plug parsing, view.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from typing import Any, Dict, List, Optional

from ..model import SOURCE_ADOPTED, SOURCE_COLD, Device
from ..spec import CONTROL_CHARACTERS, DeviceSpec
from ..errors import DeviceInputError
from .base import COMPARE_EQUAL, COMPARE_FILE, COMPARE_HOT_PLUGGED, DeviceKind
from ..steps import PURPOSE_BACKEND, PURPOSE_BACKEND_DEL, PURPOSE_DEVICE, Step
from ..._dialect.dialect import MACHINE_MICRO, MICRO_DISK_SLOTS, where_honoured
from ..._dialect.cmdline import FLAG_WORDS
from ..._host.process import path_identity, same_file

AIO_CHOICES = ('off', 'native', 'threads', 'iouring')
DISCARD_CHOICES = ('unmap', 'ignore')
FORMAT_CHOICES = ('raw', 'qcow2')
DETECT_ZEROES_CHOICES = ('on', 'off', 'unmap')
# The words StratoVirt's -drive takes for discard, as the two behaviours they mean.
DISCARD_WORDS = {'unmap': 'unmap', 'on': 'unmap', 'true': 'unmap', 'yes': 'unmap', 'ignore': 'ignore', 'off': 'ignore', 'false': 'ignore', 'no': 'ignore'}
SERIAL_PATTERN = re.compile(r'[\x21-\x7e]{1,20}')
# What udev keeps of a serial in /dev/disk/by-id/virtio-<serial> unchanged (others it escapes or replaces).
BY_ID_SERIAL = re.compile(r'[0-9A-Za-z#+\-.:=@_]+')
QCOW2_MAGIC = b'QFI\xfb'
QCOW2_OPTION = 'blockdev-add driver=qcow2'
# -drive / -device properties of a cold-plugged disk read back as options (command-line spelling -> option, type).
COLD_PROPERTIES = (
    ('format', 'format', str),
    ('detect-zeroes', 'detect_zeroes', str),
    ('throttling.iops-total', 'iops', int),
    ('iothread', 'iothread', str),
    ('num-queues', 'num_queues', int),
    ('queue-size', 'queue_size', int),
    ('bootindex', 'boot_index', int),
    ('serial', 'serial', str),
)


class Disk(DeviceKind):
    name = 'disk'
    label = 'disk'
    list_option = 'disks'
    module = 'stratovirt_disk'
    options = dict(
        path=dict(type='path'),
        read_only=dict(type='bool', default=False),
        direct=dict(type='bool', default=True),
        aio=dict(type='str', choices=list(AIO_CHOICES)),
        serial=dict(type='str'),
        discard=dict(type='str', choices=list(DISCARD_CHOICES)),
        format=dict(type='str', choices=list(FORMAT_CHOICES)),
        detect_zeroes=dict(type='str', choices=list(DETECT_ZEROES_CHOICES)),
        iops=dict(type='int'),
        iothread=dict(type='str'),
        num_queues=dict(type='int'),
        queue_size=dict(type='int'),
        boot_index=dict(type='int'),
    )
    compared = dict(
        path=COMPARE_FILE,
        read_only=COMPARE_EQUAL,
        direct=COMPARE_HOT_PLUGGED,
        aio=COMPARE_HOT_PLUGGED,
        serial=COMPARE_EQUAL,
        discard=COMPARE_EQUAL,
        format=COMPARE_EQUAL,
        detect_zeroes=COMPARE_EQUAL,
        iops=COMPARE_EQUAL,
        iothread=COMPARE_EQUAL,
        num_queues=COMPARE_EQUAL,
        queue_size=COMPARE_EQUAL,
        boot_index=COMPARE_EQUAL,
    )
    wire_names = dict(
        discard='blockdev-add discard',
        detect_zeroes='blockdev-add detect-zeroes',
        iops='blockdev-add throttling.iops-total',
        iothread='virtio-blk iothread',
        num_queues='virtio-blk num-queues',
        queue_size='virtio-blk queue-size',
        boot_index='virtio-blk boot_index',
    )
    # iops: throttling.iops-total is a u64, 0 is no limit (leave it unset); num-queues: virtio-blk's most (32);
    # queue-size: a power of two, checked in check_form; boot_index: a u8.
    ranges = dict(iops=(1, 2**63 - 1), num_queues=(1, 32), queue_size=(2, 1024), boot_index=(0, 255))
    normalisers = dict(path=os.path.realpath)
    recorded_unset = ('aio',)  # None: a release before 2.3.0, sent no aio
    micro_slots = MICRO_DISK_SLOTS
    free_key = 'disk_slots'
    held_noun = 'image'
    cold_backend_option = '-drive'
    cold_drivers = frozenset(('virtio-blk-device', 'virtio-blk-pci'))
    cold_link = 'drive'

    # -- the task's options -------------------------------------------

    def check_form(self, spec: DeviceSpec) -> None:
        path, serial = spec.options['path'], spec.options['serial']
        if spec.state == 'present' and not path:
            raise DeviceInputError('disk %s: path is required with state=present' % spec.id)
        if path and not os.path.isabs(path):
            raise DeviceInputError(
                'disk %s: path %r must be absolute (a relative path would be read from the module\'s '
                'temporary directory, not from the playbook\'s)' % (spec.id, path)
            )
        queue_size = spec.options['queue_size']
        if queue_size is not None and queue_size & (queue_size - 1):
            raise DeviceInputError('disk %s: queue_size must be a power of two (2, 4, ... 1024), not %d' % (spec.id, queue_size))
        self.check_iothread_form(spec)
        if serial is not None and not SERIAL_PATTERN.fullmatch(serial):
            raise DeviceInputError('disk %s: serial must be 1-20 printable ASCII characters without spaces (virtio-blk keeps 20)' % spec.id)

    def check_host(self, spec: DeviceSpec) -> Optional[str]:
        path = spec.options['path']
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise DeviceInputError('image %s of disk %s does not exist' % (path, spec.id)) from None
        except OSError as exc:
            raise DeviceInputError('image %s of disk %s cannot be read: %s' % (path, spec.id, exc.strerror)) from exc
        if stat.S_ISDIR(mode):
            raise DeviceInputError('image %s of disk %s is a directory; give an image file or a block device' % (path, spec.id))
        if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
            raise DeviceInputError('image %s of disk %s is neither a regular file nor a block device' % (path, spec.id))
        return self._check_format(spec, path)

    @staticmethod
    def _check_format(spec: DeviceSpec, path: str) -> Optional[str]:
        """The image's header against the declared format; :returns: a note naming a qcow2 image's backing file."""
        declared = spec.options['format'] or 'raw'
        header = read_qcow2_header(path)
        if header is None:
            if declared == 'qcow2':
                raise DeviceInputError(
                    'image %s of disk %s is declared format=qcow2 but its header is not qcow2 (it does '
                    'not start with QFI\\xfb): leave format unset or set format=raw for a raw image' % (path, spec.id)
                )
            return None
        if declared != 'qcow2':
            raise DeviceInputError(
                'image %s of disk %s is a qcow2 image (its header says so), but the disk is declared '
                'raw%s: plugged raw, the guest would see, and could overwrite, the qcow2 container. '
                'Set format=qcow2 (%s), or convert the image to raw (qemu-img convert -O raw)'
                % (path, spec.id, '' if spec.options['format'] else ' (format unset means raw)', where_honoured(QCOW2_OPTION))
            )
        backing = header.get('backing_file')
        if backing:
            return 'disk %s: qcow2 image %s has the backing file %s; StratoVirt must be able to read it, and it must not change while the disk is plugged' % (
                spec.id,
                path,
                backing,
            )
        return None

    def exclusive_file(self, spec: DeviceSpec) -> Optional[str]:
        return spec.options['path']

    # -- planning -----------------------------------------------------

    def check_kept(self, dialect, device: Device) -> None:
        refusal = dialect.option_refusal(QCOW2_OPTION)
        if device.option('format') == 'qcow2' and device.source != SOURCE_COLD and refusal:
            # Plugged by a release of this collection that still sent driver=qcow2 where StratoVirt reads it raw.
            raise DeviceInputError(
                'disk %s is plugged with format=qcow2, but %s, and reads every image raw: the guest sees, and can '
                'overwrite, the qcow2 container of %s. Unplug it (state=absent), then convert the image to raw '
                '(qemu-img convert -O raw) and plug it with format unset' % (device.id, refusal, device.option('path'))
            )

    def check_plug(self, state, spec: DeviceSpec, others: Dict[str, Device]) -> None:
        dialect = state.dialect
        path, direct, aio, serial = (spec.options[name] for name in ('path', 'direct', 'aio', 'serial'))
        refusal = dialect.option_refusal(QCOW2_OPTION)
        if spec.options['format'] == 'qcow2' and refusal:
            raise DeviceInputError(
                'disk %s: format=qcow2: %s, and reads every image raw: the guest would see, and could '
                'overwrite, the qcow2 container. Convert the image to raw (qemu-img convert -O raw) and '
                'leave format unset' % (spec.id, refusal)
            )
        self.check_taken(dialect, spec)
        self.check_iothread_exists(state, spec)
        for device in others.values():
            # By file identity: a hard link or symlink to an attached image (the rootfs above all) is that image.
            if same_file(device.option('path'), path):
                what = 'the VM\'s own cold-plugged disk' if device.source == SOURCE_COLD else 'already plugged as'
                raise DeviceInputError(
                    'image %s of %s is %s %s; an image must not be attached twice (and never the '
                    'VM\'s boot/rootfs image)' % (path, self.describe(spec.id), what, device.id)
                )
        if aio is not None and not dialect.knows_aio:
            raise DeviceInputError('disk %s: aio needs StratoVirt 2.3.0 or later; this VM runs %s: leave aio unset' % (spec.id, dialect.release_text))
        if dialect.requires_aio_with_direct and aio == 'off' and direct:
            raise DeviceInputError(
                'disk %s: StratoVirt %s refuses aio=off with direct=true; use aio=native (default) or direct=false' % (spec.id, dialect.release_text)
            )
        if aio == 'native' and not direct:
            raise DeviceInputError('disk %s: aio=native needs direct=true' % spec.id)
        if serial is not None and dialect.machine == MACHINE_MICRO and not dialect.micro_uses_serial_and_mac:
            raise DeviceInputError(
                'disk %s: a micro VM honours serial from StratoVirt 2.5.0; this VM runs %s and would '
                'ignore it: leave serial unset' % (spec.id, dialect.release_text)
            )

    def plug(self, dialect, spec: DeviceSpec, slot: Optional[int], bus: Optional[str]):
        normal = dict(spec.normal)
        if normal['aio'] is None:
            normal['aio'] = dialect.default_aio(normal['direct'])
        path, serial = normal['path'], normal['serial']
        if bus is None:
            device = dialect.micro_disk_device(spec.id, slot, serial, iothread=normal['iothread'], boot_index=normal['boot_index'])
        else:
            device = dialect.pci_disk_device(
                spec.id,
                bus,
                serial,
                iothread=normal['iothread'],
                num_queues=normal['num_queues'],
                queue_size=normal['queue_size'],
                boot_index=normal['boot_index'],
            )
        backend = dialect.disk_backend(
            spec.id,
            path,
            normal['read_only'],
            normal['direct'],
            normal['aio'],
            discard=normal['discard'],
            image_format=normal['format'],
            detect_zeroes=normal['detect_zeroes'],
            iops=normal['iops'],
        )
        steps = [Step('blockdev-add', backend, PURPOSE_BACKEND, spec.id), Step('device_add', device, PURPOSE_DEVICE, spec.id)]
        return steps, Device(spec.id, self.name, slot, bus, self.recorded_options(normal))

    def backend_del_step(self, device_id: str) -> Step:
        return Step('blockdev-del', {'node-name': device_id}, PURPOSE_BACKEND_DEL, device_id)

    # -- the host view --------------------------------------------------

    def host_holds(self, state, device: Device) -> bool:
        return state.holds_image(device.option('path'))

    def attached_at_device_add(self, state, device: Device) -> bool:
        # Up to 2.1 the image is opened at device_add; later releases open it at blockdev-add already.
        return not state.dialect.opens_image_at_blockdev_add

    def adopt(self, state, spec: DeviceSpec) -> Optional[Device]:
        path = spec.normal['path']
        if path and state.holds_image(path) and not any(same_file(device.option('path'), path) for device in state.devices.values()):
            return Device(spec.id, self.name, options={'path': path}, source=SOURCE_ADOPTED)
        return None

    def cold_backend_wanted(self, props: Dict[str, str]) -> bool:
        return props.get('if', 'none') != 'pflash'  # firmware, not a disk

    def cold_options(self, props: Dict[str, str]) -> Dict[str, Any]:
        # An unknown word gives None (not compared): StratoVirt would have refused to start with it.
        options: Dict[str, Any] = {'path': props.get('file'), 'read_only': FLAG_WORDS.get(props.get('readonly', 'off').lower())}
        # An unstated property is not shown, and not compared; an unreadable one (StratoVirt would not have started) too.
        if 'discard' in props:
            options['discard'] = DISCARD_WORDS.get(props['discard'].lower())
        for prop, name, convert in COLD_PROPERTIES:
            if prop in props:
                try:
                    options[name] = convert(props[prop])
                except ValueError:
                    options[name] = None
        return options

    def cold_device(self, state, cold, slot: Optional[int], bus: Optional[str]) -> Optional[Device]:
        options = self.cold_options(cold.props)
        options['path'] = state.cold_image_path(options['path'])
        if options['path'] is None:
            return None
        return Device(cold.id, self.name, slot, bus, options, SOURCE_COLD)

    def unexplained(self, state, argv: List[str]) -> List[str]:
        found = []
        known_paths = {device.option('path') for device in state.devices.values() if device.option('path')}
        known_paths.update(entry.path for entry in state.unfinished_plugs.values() if entry.path)
        command_line = ' '.join(argv)
        for path in state.images:
            # Files named on the command line (serial log, firmware ...) are the VM's own, not devices.
            if path not in known_paths and path not in command_line:
                found.append('the VM holds %s open, but no known device uses it (plugged by hand, or by a run whose record was lost)' % path)
        names: Dict[Any, List[str]] = {}
        for path in state.images:
            names.setdefault(path_identity(path) or path, []).append(path)
        for paths in names.values():
            if len(paths) > 1:
                found.append('the VM holds one file open under several names (%s): one image is attached twice' % ', '.join(paths))
        return found

    # -- what the user sees ---------------------------------------------

    def guest_name(self, device: Device) -> Optional[str]:
        # Micro VM: the four virtio-blk transports exist from boot and probe in slot order (vda is slot 0x0).
        # Standard VM: PCI enumeration order is the guest's; only the serial names the disk stably, through udev.
        if device.bus is None:
            return None if device.slot is None else 'vd' + chr(ord('a') + device.slot)
        serial = device.option('serial')
        return '/dev/disk/by-id/virtio-%s' % serial if serial and BY_ID_SERIAL.fullmatch(serial) else None


def read_qcow2_header(path: str) -> Optional[Dict[str, Any]]:
    """The qcow2 header fields of the image at ``path`` that matter here, or None if it is not qcow2 (or unreadable).

    qcow2: magic ``QFI\\xfb``, version (u32), backing file offset (u64) and size (u32), all big-endian. The backing
    file's name is the image's to say: control characters in it are shown escaped, never passed on.
    """
    try:
        # Non-blocking, and checked once open: a FIFO swapped in after the host check must not hang the run.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
            return None
        header = os.pread(fd, 20, 0)
        if len(header) < 20 or header[:4] != QCOW2_MAGIC:
            return None
        offset, size = struct.unpack('>QI', header[8:20])
        backing = None
        if offset and 0 < size <= 1023:
            backing = CONTROL_CHARACTERS.sub(lambda found: '\\x%02x' % ord(found.group()), os.pread(fd, size, offset).decode('utf-8', 'replace'))
    except OSError:
        return None
    finally:
        os.close(fd)
    return {'version': struct.unpack('>I', header[4:8])[0], 'backing_file': backing}


KIND = Disk()
