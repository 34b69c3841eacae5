# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one shape of a device, whatever tells of it: the task (declared), the record, the command line, the host view.

Private to the stratovirt.qmp collection: may change in any release.
Which options a kind has, how each is normalised and compared, is the kind's business (``_device.kinds.base``); here a
device is its place and its options, already in their normal form (an image by its real path), so that two devices
compare field by field and are shown as they are.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Optional

SOURCE_DECLARED = 'declared'
SOURCE_RECORD = 'record'
SOURCE_COLD = 'cold-plugged'
SOURCE_ADOPTED = 'adopted'


class Device(NamedTuple):
    id: str
    kind: str
    slot: Optional[int] = None  # micro VM: its virtio-mmio slot; None where unknown or on a standard VM
    bus: Optional[str] = None  # standard VM: the pcie-root-port it sits on (always at addr 0x0)
    options: Mapping[str, Any] = {}  # the kind's options in normal form; an option not known is absent
    source: str = SOURCE_RECORD
    pending: bool = False  # standard VM: device_del sent, the guest has not let it go yet

    def option(self, name: str) -> Any:
        return self.options.get(name)
