# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cold-plugged devices from StratoVirt-style command-line options.

Only ``-drive``, ``-netdev`` and ``-device`` are read; other options (``-kernel``,
``-append`` ...) are accepted and ignored, so that the simulator's command line,
as /proc/<pid>/cmdline shows it, looks like a StratoVirt one.
"""

from __future__ import annotations

from typing import Dict, List

from sim_host import HostError
from sim_micro import Backend, MicroVM, driver_kind


class ColdPlugError(Exception):
    pass


def parse_props(text: str) -> Dict[str, str]:
    """``a,b=c,d=e`` -> {'': 'a', 'b': 'c', 'd': 'e'} (a leading bare word is the type or driver)."""
    props: Dict[str, str] = {}
    for index, part in enumerate(text.split(',')):
        key, sep, value = part.partition('=')
        if not sep and index == 0:
            props[''] = key
        else:
            props[key] = value
    return props


def _flag(value: str, default: bool) -> bool:
    if value is None:
        return default
    return value.lower() in ('on', 'true', 'yes')


def cold_plug(machine: MicroVM, argv: List[str]) -> None:
    """Plug the ``-device`` entries of ``argv`` into ``machine`` in command-line order."""
    drives: Dict[str, dict] = {}
    netdevs: Dict[str, dict] = {}
    options = list(zip(argv[::2], argv[1::2]))
    if len(argv) % 2:
        raise ColdPlugError('option %s has no value' % argv[-1])
    for option, value in options:
        props = parse_props(value)
        if option == '-drive':
            drives[props.get('id', '')] = props
        elif option == '-netdev':
            netdevs[props.get('id', '')] = props
    for option, value in options:
        if option != '-device':
            continue
        props = parse_props(value)
        kind = driver_kind(props.get('', ''))
        if kind is None:
            continue
        device_id = props.get('id')
        if not device_id:
            raise ColdPlugError('-device %s has no id' % value)
        if kind == 'blk':
            drive = drives.get(props.get('drive', ''))
            if drive is None:
                raise ColdPlugError('-device %s names no known -drive' % value)
            args = {'node-name': device_id, 'file': {'driver': 'file', 'filename': drive.get('file', '')},
                    'cache': {'direct': _flag(drive.get('direct'), True)},
                    'read-only': _flag(drive.get('readonly'), False)}
        else:
            netdev = netdevs.get(props.get('netdev', ''))
            if netdev is None:
                raise ColdPlugError('-device %s names no known -netdev' % value)
            args = {'id': device_id, 'ifname': netdev.get('ifname')}
        try:
            machine.cold_plug(Backend(device_id, kind, args), kind)
        except (ValueError, HostError) as exc:
            raise ColdPlugError('cannot cold-plug %s: %s' % (device_id, exc)) from exc
