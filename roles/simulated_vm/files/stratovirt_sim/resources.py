# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vCPUs, memory, the balloon and iothreads of a VM, from its command line, answered as StratoVirt answers them.

Sources: tests/fixtures/transcripts/stratovirt-{2.1.0,2.5.0}-resources.jsonl (query-cpus, query-hotpluggable-cpus,
query-balloon, balloon without a guest driver, query-iothreads). No recording shows a guest whose balloon driver is
active: with ``--guest-balloon active`` the simulator follows StratoVirt's source (virtio/src/device/balloon.rs:
``set_guest_memory_size`` asks the guest for (memory - target) / 4 KiB pages, 0 when the target is at or above the
memory; the guest's answer updates ``actual`` and raises ``BALLOON_CHANGED``), with a guest that gives every page
asked for at once.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .cmdline import iothreads_of, option_pairs, parse_props
from .outcome import Outcome, event, fail, ok

NOT_ACTIVE = 'No balloon device has been activated'
BALLOON_DRIVERS = ('virtio-balloon-device', 'virtio-balloon-pci')
BALLOON_PAGE = 4096
MIB = 1 << 20
GUEST_BALLOON_MODELS = ('absent', 'active')  # the guest's balloon driver: never loaded, or loaded and obliging


def _memory_bytes(text: str) -> int:
    """``-m 256`` (MiB), ``256M``, ``1G``: StratoVirt's memory size grammar."""
    units = {'K': 1 << 10, 'M': MIB, 'G': 1 << 30}
    text = text.strip()
    if text and text[-1].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text) * MIB


# Hard-coded answers of 2.5.0 (unknown commands on 2.1.0, which its schema refuses before they get here).
STUBS: Dict[str, Any] = {'query-block-jobs': [], 'query-mem': {}}


class Resources:
    """What ``-smp``, ``-m``, ``-object iothread`` and a balloon ``-device`` of the command line give the VM."""

    def __init__(self, argv: List[str], micro: bool, thread_id: int, with_die_id: bool, guest_balloon: str = 'absent') -> None:
        self.micro = micro
        self.thread_id = thread_id
        self.with_die_id = with_die_id  # 2.5.0 adds die_id to a vCPU's props
        self.cpus, self.max_cpus, self.memory = 1, 1, 256 * MIB
        self.balloon_id: Optional[str] = None
        self.has_balloon = False
        self.iothreads: List[str] = iothreads_of(argv)
        for option, value in option_pairs(argv):
            props = parse_props(value)
            if option == '-smp':
                self.cpus = int(props.get('cpus') or props.get('') or 1)
                self.max_cpus = int(props.get('maxcpus') or self.cpus)
            elif option == '-m':
                self.memory = _memory_bytes(props.get('') or value)
            elif option == '-device' and props.get('') in BALLOON_DRIVERS:
                self.has_balloon = True
                self.balloon_id = props.get('id')
        self.driver_active = self.has_balloon and guest_balloon == 'active'
        self.actual = self.memory

    def _props_of(self, index: int) -> dict:
        props = {'core-id': index, 'socket-id': 0, 'thread-id': 0}
        if self.with_die_id:
            props['die_id'] = 0
        return dict(sorted(props.items()))

    def query_cpus(self) -> Outcome:
        return ok(
            [
                {
                    'CPU': index,
                    'arch': 'x86',
                    'current': index == 0,
                    'halted': False,
                    'props': self._props_of(index),
                    'qom_path': '/machine/unattached/device[%d]' % index,
                    'thread_id': self.thread_id + index,
                }
                for index in range(self.cpus)
            ]
        )

    def query_hotpluggable_cpus(self) -> Outcome:
        if not self.micro:
            return ok({})  # q35 answers an empty object, on every recorded release
        listed = []
        for index in range(self.max_cpus):
            entry: dict = {'props': self._props_of(index)}
            if index < self.cpus:
                entry['qom-path'] = '/machine/unattached/device[%d]' % index
            entry.update({'type': 'host-x86-cpu', 'vcpus-count': 1})
            listed.append(entry)
        return ok(listed)

    def query_balloon(self) -> Outcome:
        if not self.has_balloon:
            return fail(NOT_ACTIVE, error_class='DeviceNotActive')
        return ok({'actual': self.actual})

    def balloon(self, args: dict) -> Outcome:
        if not self.driver_active:
            return fail(NOT_ACTIVE, error_class='DeviceNotActive')
        target = args.get('value', 0)
        pages = (self.memory - target) // BALLOON_PAGE if target < self.memory else 0
        actual = self.memory - pages * BALLOON_PAGE
        if actual == self.actual:
            return ok()
        self.actual = actual
        return ok(events=[event('BALLOON_CHANGED', {'actual': actual})])

    def query_iothreads(self) -> Outcome:
        return ok([{'id': name, 'poll-grow': 0, 'poll-max-ns': 0, 'poll-shrink': 0, 'thread-id': self.thread_id} for name in self.iothreads])
