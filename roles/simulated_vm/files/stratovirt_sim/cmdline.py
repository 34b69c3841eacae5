# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cold-plugged devices from StratoVirt-style command-line options.

Only ``-drive``, ``-netdev`` and ``-device`` are read; other options (``-kernel``,
``-append``, ``-global`` ...) are accepted and ignored, so that the simulator's
command line, as /proc/<pid>/cmdline shows it, looks like a StratoVirt one.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .host import HostError
from .micro import Backend, MicroVM, driver_kind
from .pcie import ROOT_BUS, parse_devfn


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


def _flag(value: Optional[str], default: bool) -> bool:
    if value is None:
        return default
    return value.lower() in ('on', 'true', 'yes')


def option_pairs(argv: List[str]) -> List[Tuple[str, str]]:
    if len(argv) % 2:
        raise ColdPlugError('option %s has no value' % argv[-1])
    return list(zip(argv[::2], argv[1::2]))


def drive_args(props: Dict[str, str]) -> dict:
    """A ``-drive`` as the ``blockdev-add`` arguments it amounts to."""
    file_args = {'driver': 'file', 'filename': props.get('file', '')}
    if 'aio' in props:
        file_args['aio'] = props['aio']
    return {
        'node-name': props.get('id', ''),
        'file': file_args,
        'cache': {'direct': _flag(props.get('direct'), True)},
        'read-only': _flag(props.get('readonly'), False),
    }


def iothreads_of(argv: List[str]) -> List[str]:
    """The ids of the ``-object iothread,id=...`` entries: what a device's ``iothread`` may name."""
    found = []
    for option, value in option_pairs(argv):
        props = parse_props(value)
        if option == '-object' and props.get('') == 'iothread' and props.get('id'):
            found.append(props['id'])
    return found


def cold_plug(machine: MicroVM, argv: List[str]) -> None:
    """Plug the ``-device`` entries of ``argv`` into ``machine`` in command-line order."""
    drives: Dict[str, dict] = {}
    netdevs: Dict[str, dict] = {}
    options = option_pairs(argv)
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
            args = dict(drive_args(drive), **{'node-name': device_id})
        else:
            netdev = netdevs.get(props.get('netdev', ''))
            if netdev is None:
                raise ColdPlugError('-device %s names no known -netdev' % value)
            args = {'id': device_id, 'ifname': netdev.get('ifname')}
        try:
            machine.cold_plug(Backend(device_id, kind, args), kind)
        except (ValueError, HostError) as exc:
            raise ColdPlugError('cannot cold-plug %s: %s' % (device_id, exc)) from exc


def _devfn_of(props: Dict[str, str], value: str) -> int:
    devfn = parse_devfn(props.get('addr', '0x0'))
    if devfn is None:
        raise ColdPlugError('-device %s: Failed to get device num or function num' % value)
    return devfn


def cold_plug_standard(machine, argv: List[str], root_ports: int = 0) -> None:
    """Build a standard VM from ``argv``: root ports first (then ``root_ports`` more), backends, then devices.

    StratoVirt reads every ``-drive`` / ``-netdev`` into its config before realizing any
    ``-device``; ``-drive ... if=pflash`` is firmware, not a backend.
    """
    options = option_pairs(argv)
    try:
        for option, value in options:
            props = parse_props(value)
            if option == '-device' and props.get('') == 'pcie-root-port':
                if props.get('bus', ROOT_BUS) != ROOT_BUS:
                    raise ColdPlugError('-device %s: root ports sit on %s' % (value, ROOT_BUS))
                machine.cold_root_port(props.get('id', ''), _devfn_of(props, value))
        machine.cold_root_ports(root_ports)
        for option, value in options:
            props = parse_props(value)
            if option == '-drive' and props.get('if', 'none') != 'pflash':
                machine.cold_backend('blk', drive_args(props))
            elif option == '-netdev':
                machine.cold_backend('net', {'id': props.get('id', ''), 'ifname': props.get('ifname')})
        for option, value in options:
            props = parse_props(value)
            kind = {'virtio-blk-pci': 'blk', 'virtio-net-pci': 'net'}.get(props.get('', '')) if option == '-device' else None
            if kind is None:
                continue
            if not props.get('id'):
                raise ColdPlugError('-device %s has no id' % value)
            machine.cold_device(props['id'], kind, props, (props.get('bus', ROOT_BUS), _devfn_of(props, value)))
    except ValueError as exc:
        raise ColdPlugError(str(exc)) from exc
