# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The StratoVirt command-line grammar: which options are read, how ``-drive``/``-device``/``-netdev``/``-machine``
values split into properties, and what a command line says of the machine type and the root ports.

Private to the stratovirt.qmp collection: may change in any release.
The argv itself comes from ``/proc`` (``_host.process.command_line``); the devices it cold-plugs are read per
kind by ``_device.cold_plug``. Standard library only.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .dialect import MACHINE_MICRO, MACHINE_STANDARD

# The machine type each -machine name of a StratoVirt command line means.
MACHINE_NAMES = {
    'microvm': MACHINE_MICRO,
    'q35': MACHINE_STANDARD,
    'virt': MACHINE_STANDARD,
    'standard': MACHINE_STANDARD,
}  # the last: the simulator's --machine

# Other options that take a value: it is skipped so that free text (``-append '... -drive x'``) is not parsed.
VALUE_OPTIONS = frozenset(
    (
        '-name',
        '-kernel',
        '-initrd',
        '-append',
        '-smp',
        '-m',
        '-serial',
        '-chardev',
        '-mon',
        '-object',
        '-global',
        '-pidfile',
        '-D',
        '-incoming',
        '-cpu',
        '-numa',
        '-boot',
        '-uuid',
        '-bios',
        '-mem-path',
    )
)
PARSED_OPTIONS = frozenset(('-drive', '-netdev', '-device', '-machine', '-M', '-qmp'))
FLAG_WORDS = {'on': True, 'true': True, 'yes': True, 'off': False, 'false': False, 'no': False}


def parse_props(text: str) -> Tuple[str, Dict[str, str]]:
    """``word,key=value,flag`` -> ``(word or '', {key: value, flag: ''})``, split on every comma as StratoVirt does."""
    word, props = '', {}
    for index, part in enumerate(text.split(',')):
        key, sep, value = part.partition('=')
        if index == 0 and not sep:
            word = key
        elif key:
            props[key] = value
    return word, props


def options_of(argv: List[str]) -> List[Tuple[str, str]]:
    """``(-opt, value)`` pairs of the options read here, spelt ``-opt`` or ``--opt``.

    The whole argv is scanned: the simulator's options follow an interpreter, a script and ``--``.
    """
    pairs = []
    index = 0
    while index < len(argv) - 1:
        option = argv[index][1:] if argv[index].startswith('--') else argv[index]
        if option in PARSED_OPTIONS or option in VALUE_OPTIONS:
            pairs.append((option, argv[index + 1]))
            index += 1
        index += 1
    return pairs


def root_ports(argv: List[str]) -> List[str]:
    """:param argv: a StratoVirt command line.
    :returns: the ids of its ``-device pcie-root-port`` entries, in order: the buses a standard VM hot-plugs into.
    """
    return _ids_of(argv, '-device', 'pcie-root-port')


def _ids_of(argv: List[str], wanted_option: str, wanted_word: str) -> List[str]:
    """The ``id`` of each ``<wanted_option> <wanted_word>,id=...`` of ``argv``, in order."""
    found = []
    for option, value in options_of(argv):
        word, props = parse_props(value)
        if option == wanted_option and word == wanted_word and props.get('id'):
            found.append(props['id'])
    return found


def machine_type(argv: List[str]) -> Optional[str]:
    """:param argv: a StratoVirt command line.
    :returns: the type of the last ``-machine``/``-M`` (``microvm``, ``q35``, ``virt``, or its ``type=``), or None.
    """
    found = None
    for option, value in options_of(argv):
        if option in ('-machine', '-M'):
            word, props = parse_props(value)
            found = word or props.get('type') or found
    return found


def _unix_listener_path(value: str) -> Optional[str]:
    """``unix:PATH,server,nowait`` -> PATH; None for a TCP monitor or a value StratoVirt would refuse (its
    ``server`` and ``nowait`` flags are mandatory)."""
    if not value.startswith('unix:'):
        return None
    parts = value[len('unix:') :].split(',')
    return parts[0] if parts[0] and 'server' in parts[1:] and 'nowait' in parts[1:] else None


def qmp_sockets(argv: List[str]) -> List[str]:
    """:param argv: a StratoVirt command line.
    :returns: the Unix socket paths of its QMP monitors, as written (relative ones are the VM's): each
        ``-qmp unix:PATH,server,nowait``, then each ``-mon chardev=ID,mode=control`` on a
        ``-chardev socket,id=ID,path=PATH,server,nowait``, in command-line order, each path once.
    """
    found: List[str] = []
    chardevs: Dict[str, str] = {}
    monitors: List[str] = []
    for option, value in options_of(argv):
        if option == '-qmp':
            path = _unix_listener_path(value)
            if path and path not in found:
                found.append(path)
        elif option == '-chardev':
            word, props = parse_props(value)
            if word == 'socket' and props.get('id') and props.get('path') and 'server' in props and 'nowait' in props:
                chardevs[props['id']] = props['path']
        elif option == '-mon':
            dummy_word, props = parse_props(value)
            if props.get('mode') == 'control' and props.get('chardev'):
                monitors.append(props['chardev'])
    for chardev in monitors:
        path = chardevs.get(chardev)
        if path and path not in found:
            found.append(path)
    return found


def vm_name(argv: List[str]) -> Optional[str]:
    """:param argv: a StratoVirt command line. :returns: the value of its last ``-name``, or None."""
    found = None
    for option, value in options_of(argv):
        if option == '-name':
            found = value
    return found


def iothreads(argv: List[str]) -> List[str]:
    """:param argv: a StratoVirt command line.
    :returns: the ids of its ``-object iothread,id=...`` entries, in order: what a device's ``iothread`` may name.
    """
    return _ids_of(argv, '-object', 'iothread')


# StratoVirt's defaults when -smp or -m is absent (machine_manager's config: 1 vCPU, 256 MiB).
DEFAULT_VCPUS = 1
DEFAULT_MEMORY = 256 << 20
MEMORY_UNITS = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}
# Command-line devices that are parts of the machine, not devices a user plugged.
MACHINE_PARTS = frozenset(('pcie-root-port',))


def vcpus(argv: List[str]) -> Tuple[int, int]:
    """:param argv: a StratoVirt command line. :returns: (vCPUs at boot, possible vCPUs) of its last ``-smp``."""
    cpus, possible = DEFAULT_VCPUS, None
    for option, value in options_of(argv):
        if option == '-smp':
            word, props = parse_props(value)
            cpus = _int(props.get('cpus') or word, DEFAULT_VCPUS)
            possible = _int(props.get('maxcpus'), cpus)
    return cpus, possible if possible is not None else cpus


def memory_size(argv: List[str]) -> int:
    """:param argv: a StratoVirt command line. :returns: the guest memory of its last ``-m``, in bytes (MiB unless a
    ``K``/``M``/``G``/``T`` suffix says otherwise; ``size=`` as well)."""
    size = DEFAULT_MEMORY
    for option, value in options_of(argv):
        if option == '-m':
            word, props = parse_props(value)
            size = parse_size(props.get('size') or word, 1 << 20) or size
    return size


def parse_size(text: Optional[str], default_unit: int) -> Optional[int]:
    """``512`` (in ``default_unit``), ``512M``, ``1G``, ``1024K``, ``2T`` -> bytes; None if it does not parse."""
    text = (text or '').strip()
    unit = default_unit
    if text[-1:].upper() in MEMORY_UNITS:
        unit = MEMORY_UNITS[text[-1].upper()]
        text = text[:-1]
    return int(text) * unit if text.isdigit() else None


def _int(text: Optional[str], default: int) -> int:
    return int(text) if text and text.isdigit() else default


def devices(argv: List[str]) -> List[Dict[str, str]]:
    """:param argv: a StratoVirt command line. :returns: each ``-device`` but the machine's own parts (root ports), in
    order, as its properties with ``driver``: the cold-plugged devices of every driver."""
    found = []
    for option, value in options_of(argv):
        if option == '-device':
            word, props = parse_props(value)
            if word and word not in MACHINE_PARTS:
                found.append(dict(props, driver=word))
    return found
