# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-side checks of a task's input, made before any QMP command.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import os
import stat
from typing import List

from ._device_spec import KIND_DISK, DeviceSpec
from ._errors import DeviceInputError
from ._vm_process import writers_of_any

SYS_CLASS_NET = '/sys/class/net'
IFF_TAP = 0x0002


def check_host_inputs(spec: DeviceSpec) -> None:
    """The image or tap a present device names must be usable on this host.

    :raises DeviceInputError: missing image, a directory or other non-image, a missing tap.
    """
    if spec.state != 'present':
        return
    if spec.kind == KIND_DISK:
        _check_image(spec)
    else:
        _check_tap(spec)


def _check_tap(spec: DeviceSpec) -> None:
    interface = os.path.join(SYS_CLASS_NET, spec.ifname)
    if not os.path.lexists(interface):
        if spec.create_tap:
            return
        raise DeviceInputError('tap %s of NIC %s does not exist on this host: create it first (ip tuntap add dev %s mode '
                               'tap) or set create_tap=true to let StratoVirt create it' % (spec.ifname, spec.id, spec.ifname))
    # A tun/tap interface has tun_flags (IFF_TAP set for a tap); lo, a bridge, a physical NIC have none.
    try:
        with open(os.path.join(interface, 'tun_flags'), encoding='ascii') as handle:
            flags = int(handle.read().strip(), 16)
    except (OSError, ValueError):
        flags = None
    if flags is None or not flags & IFF_TAP:
        what = 'a tun device' if flags is not None else 'loopback, bridge, physical NIC or the like'
        raise DeviceInputError('ifname %s of NIC %s is a host interface that is not a tap (%s); give a tap (ip tuntap '
                               'add dev NAME mode tap), or a name no interface has, with create_tap=true'
                               % (spec.ifname, spec.id, what))


def _check_image(spec: DeviceSpec) -> None:
    try:
        mode = os.stat(spec.path).st_mode
    except FileNotFoundError:
        raise DeviceInputError('image %s of disk %s does not exist' % (spec.path, spec.id)) from None
    except OSError as exc:
        raise DeviceInputError('image %s of disk %s cannot be read: %s' % (spec.path, spec.id, exc.strerror)) from exc
    if stat.S_ISDIR(mode):
        raise DeviceInputError('image %s of disk %s is a directory; give an image file or a block device' % (spec.path, spec.id))
    if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
        raise DeviceInputError('image %s of disk %s is neither a regular file nor a block device' % (spec.path, spec.id))


def check_not_shared(specs: List[DeviceSpec], vm_pid: int) -> None:
    """Refuse an image that another process (another VM, most likely) holds open for writing.

    :param specs: the disks about to be plugged (one scan of /proc for all of them).
    :raises DeviceInputError:
    """
    disks = [spec for spec in specs if spec.state == 'present' and spec.kind == KIND_DISK]
    writers = writers_of_any([spec.path for spec in disks], vm_pid)
    for spec in disks:
        if writers.get(spec.path):
            raise DeviceInputError('image %s of disk %s is held read-write by another process (pid %s), another VM most '
                                   'likely; attaching it to this VM too would corrupt it'
                                   % (spec.path, spec.id, ', '.join(str(pid) for pid in writers[spec.path])))
