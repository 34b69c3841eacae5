# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device a task declares, checked for form before anything is sent.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, NamedTuple, Optional

from .model import SOURCE_DECLARED, Device
from .errors import DeviceInputError

# StratoVirt takes ids up to 255 characters; the record, error texts and command lines want plain words.
# Patterns are matched with fullmatch: a '$' would also match before a final newline, which would then be sent.
ID_PATTERN = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}')
ADDR_PATTERN = re.compile(r'0[xX][0-9a-fA-F]{1,4}|[0-9]{1,4}')
CONTROL_CHARACTERS = re.compile(r'[\x00-\x1f\x7f]')
# The string options every kind has, checked for control characters before anything else (then the kind's own).
COMMON_STRING_OPTIONS = ('id', 'state', 'addr', 'bus', 'on_change')


class DeviceSpec(NamedTuple):
    """One task for one device: what it declares (see :meth:`declared`), and what to do about a difference.

    ``_device.kinds.registry`` builds it; the kind (see ``_device.kinds.base.DeviceKind``) declares, reads, normalises and compares
    ``options``, so a new kind option never changes this class.
    """

    kind: str
    id: str
    state: str = 'present'
    slot: Optional[int] = None
    bus: Optional[str] = None
    on_change: str = 'fail'
    allow_cold_unplug: bool = False
    # As the task gives them, defaults filled in: what messages quote back to the user.
    options: Mapping[str, Any] = {}
    # The same values normalised once by the kind (an image by its real path): what is compared, sent and recorded.
    normal: Mapping[str, Any] = {}

    def declared(self) -> Device:
        """The device the task declares, in the shape current devices have: compared with them field by field."""
        return Device(self.id, self.kind, self.slot, self.bus, self.normal, SOURCE_DECLARED)


def parse_addr(addr: Optional[str], device_id: str) -> Optional[int]:
    """``"0x1"`` (hex) or ``"1"`` (decimal) -> 1.

    StratoVirt 2.1.0 silently reads anything it cannot parse as slot 0, so the
    collection parses ``addr`` itself and always sends ``0x<hex>``.

    :raises DeviceInputError: not a slot number.
    """
    if addr is None:
        return None
    text = str(addr)
    if not ADDR_PATTERN.fullmatch(text):
        raise DeviceInputError('addr %r of device %s is not a slot number: write it as "0x1" (or "1")' % (addr, device_id))
    return int(text, 16) if text[:2] in ('0x', '0X') else int(text)


def check_no_control_characters(params: Dict[str, Any], names, what: str, names_vm: bool = False) -> None:
    """Refuse a string option holding a control character (a newline above all): StratoVirt would be sent it.

    :raises DeviceInputError: naming the option.
    """
    for name in names:
        value = params.get(name)
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise DeviceInputError(
                '%s: option %s is %r, which holds a control character (newline, tab, ...): remove it' % (what, name, value), names_vm=names_vm
            )
