# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-side checks of a task's input, made before any QMP command.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from .._device.spec import DeviceSpec
from .._device.errors import DeviceInputError
from .._device.kinds.registry import kind_named
from .._dialect.cmdline import vm_name
from .._host.process import VMProcessError, command_line, writers_of_any


def check_host_inputs(spec: DeviceSpec) -> Optional[str]:
    """What a present device names (its image, its tap) must be usable on this host.

    :returns: what the user should know of it once it is plugged (a qcow2 image's backing file), or None.
    :raises DeviceInputError: missing image, a directory or other non-image, a missing tap.
    """
    if spec.state == 'present':
        return kind_named(spec.kind).check_host(spec)
    return None


def check_not_shared(specs: List[DeviceSpec], vm_pid: int) -> None:
    """Refuse an image that another process (another VM, most likely) holds open for writing.

    :param specs: the disks about to be plugged (one scan of /proc for all of them).
    :raises DeviceInputError:
    """
    wanted = {spec.id: kind_named(spec.kind).exclusive_file(spec) for spec in specs if spec.state == 'present'}
    files: Dict[str, str] = {device_id: path for device_id, path in wanted.items() if path}
    writers = writers_of_any(list(files.values()), vm_pid)
    for device_id, path in files.items():
        if writers.get(path):
            raise DeviceInputError(
                'image %s of disk %s is held read-write by %s; attaching it to this VM too would corrupt it'
                % (path, device_id, ', '.join(_holder(pid) for pid in writers[path]))
            )


def _holder(pid: int) -> str:
    """``VM web1 (pid 4242)`` for a process whose command line carries ``-name``, else ``another process (pid 4242)``."""
    try:
        name = vm_name(command_line(pid))
    except VMProcessError:  # gone, or not ours to read
        name = None
    return 'VM %s (pid %d)' % (name, pid) if name else 'another process (pid %d), another VM most likely' % pid
