# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The devices a StratoVirt command line cold-plugs, read with each kind's drivers and backend option.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Tuple

from .kinds.registry import all_kinds
from .._dialect.cmdline import options_of, parse_props


class ColdPlugged(NamedTuple):
    """A device of a StratoVirt command line as written (see :func:`cold_plugged_devices`); its kind reads it into
    the one device shape (``DeviceKind.cold_device``)."""

    id: str
    kind: str
    driver: str
    props: Dict[str, str]


def _without_id(props: Dict[str, str]) -> Dict[str, str]:
    return {key: value for key, value in props.items() if key != 'id'}


def cold_plugged_devices(argv: List[str]) -> List[ColdPlugged]:
    """The devices of a StratoVirt command line, of every kind the registry knows.

    Each ``-device`` with a driver of a kind (``virtio-blk-device`` ... ``virtio-net-pci``) gives one entry,
    joined with the backend (``-drive``, ``-netdev``) it names.  A backend no device names is listed too, with
    driver ``''``: not a device, but its id is taken (adding it again fails) and its image is in use.
    Backends a kind does not want (firmware drives, ``if=pflash``) and other devices are ignored.  Paths are as
    written: a relative one is relative to the VM's working directory.  ``options`` holds the backend's
    properties (``file``, ``direct``, ``ifname`` ...) overlaid with the device's (``drive``, ``bus``, ``addr``,
    ``mac``, ``serial`` ...), without ids and leading type words: ``props``.

    :param argv: the VM's command line.
    :returns: the devices in command-line order, then the unused backends.
    """
    kinds = all_kinds()
    backends: Dict[Tuple[str, str], Dict[str, str]] = {}
    devices = []
    for option, value in options_of(argv):
        word, props = parse_props(value)
        for kind in kinds:
            if option == kind.cold_backend_option and kind.cold_backend_wanted(props):
                backends[(kind.name, props.get('id', ''))] = props
            elif option == '-device' and word in kind.cold_drivers:
                devices.append((kind, word, props))
    found = []
    used = set()
    for kind, driver, props in devices:
        key = (kind.name, props.get(kind.cold_link, ''))
        used.add(key)
        backend = backends.get(key, {})
        found.append(ColdPlugged(props.get('id', ''), kind.name, driver, dict(_without_id(backend), **_without_id(props))))
    for (name, backend_id), props in backends.items():
        if (name, backend_id) not in used:
            found.append(ColdPlugged(backend_id, name, '', _without_id(props)))
    return found
