# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A device the VM has now, whatever told us (record, command line, host view).

Private to the stratovirt.qmp collection: may change in any release.
What it shows is its kind's business (see ``_kinds.view_of``).
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional

SOURCE_RECORD = 'record'
SOURCE_COLD = 'cold-plugged'
SOURCE_ADOPTED = 'adopted'


class CurrentDevice(NamedTuple):
    id: str
    kind: str
    slot: Optional[int]
    path: Optional[str] = None
    ifname: Optional[str] = None
    options: Dict = {}
    source: str = SOURCE_RECORD
    bus: Optional[str] = None       # standard VM: the pcie-root-port it sits on (always at addr 0x0)
    pending: bool = False           # standard VM: device_del sent, the guest has not let it go yet

    @classmethod
    def from_entry(cls, entry, pending: bool = False) -> 'CurrentDevice':
        """The device a record entry (or a plan's entry once applied) says is plugged."""
        return cls(entry.id, entry.kind, entry.slot, path=entry.path, ifname=entry.ifname, options=dict(entry.options),
                   bus=entry.bus, pending=pending)
