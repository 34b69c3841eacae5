# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry of device kinds: the one place that knows which kinds exist, and in which order.

Private to the stratovirt.qmp collection: may change in any release.
Callers look a kind up by name and call its strategy (see ``_device.kinds.base.DeviceKind``); an unknown kind is an
error, never a fall-through to another kind.
"""

from __future__ import annotations

from typing import Any, Dict, List

from . import disk as _kind_disk

from . import nic as _kind_nic
from ..model import Device
from ..spec import COMMON_STRING_OPTIONS, ID_PATTERN, DeviceSpec, check_no_control_characters, parse_addr
from ..._collection_error import CollectionError
from ..errors import DeviceInputError
from .base import DeviceKind

# Order matters: stratovirt_devices plans disks before NICs, and stratovirt_info lists free places in this order.
KINDS: Dict[str, DeviceKind] = {kind.name: kind for kind in (_kind_disk.KIND, _kind_nic.KIND)}


class UnknownKindError(CollectionError):
    """A device kind no kind module provides (a record or a caller naming one): a bug, or a newer record."""


def kind_named(name: str) -> DeviceKind:
    """:raises UnknownKindError: no such kind."""
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKindError('unknown device kind %r (this collection knows %s)' % (name, ', '.join(KINDS))) from None


def all_kinds() -> List[DeviceKind]:
    return list(KINDS.values())


def view_of(device: Device) -> dict:
    """The device as ``before``/``after``/``device``/``devices[]``/``stratovirt_info`` show it."""
    addr = '0x0' if device.bus is not None else None if device.slot is None else '0x%x' % device.slot
    shown: Dict[str, Any] = {'id': device.id, 'kind': device.kind, 'addr': addr, 'source': device.source}
    if device.bus is not None:
        shown['bus'] = device.bus
    if device.pending:
        shown['unplug_pending'] = True
    kind = kind_named(device.kind)  # an unknown kind is refused, never shown
    shown.update(device.options)
    shown['guest_name'] = kind.guest_name(device)
    return shown


def spec_from_params(kind: str, params: Dict[str, Any]) -> DeviceSpec:
    """Build and check the declared device from module parameters (a task's, or one item of its list).

    :raises DeviceInputError: a value of the wrong form, or a missing value that ``state=present`` needs.
    """
    strategy = kind_named(kind)
    check_no_control_characters(params, COMMON_STRING_OPTIONS + strategy.string_options, 'device %r' % params.get('id'))
    device_id = params['id']
    if not ID_PATTERN.fullmatch(device_id or ''):
        raise DeviceInputError(
            'id %r is not usable: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or '
            'digit (it becomes the StratoVirt device id and backend name)' % device_id
        )
    spec = DeviceSpec(
        kind=kind,
        id=device_id,
        state=params.get('state') or 'present',
        slot=parse_addr(params.get('addr'), device_id),
        bus=params.get('bus'),
        on_change=params.get('on_change') or 'fail',
        allow_cold_unplug=bool(params.get('allow_cold_unplug')),
    )
    return strategy.read(spec, params)
