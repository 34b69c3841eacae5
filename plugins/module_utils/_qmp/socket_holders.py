# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which processes hold given sockets (by inode), read from ``/proc/<pid>/fd`` and ``/proc/<pid>/comm``.

Private to the stratovirt.qmp collection: may change in any release. Standard library only.
Used to name the client holding a VM's monitor (a manager such as iSulad, kata or libvirt) in a busy report.
"""

from __future__ import annotations

import os
from typing import Iterable, List, Tuple

# Why connecting to a VM's second monitor (-mon) is no way around a held one: measured on 2.1.0 and 2.5.0.
SECOND_MONITOR_NOTE = (
    'a second monitor (-mon) would not make sharing safe: StratoVirt sends every event to the client that connected '
    'last, on either socket, and drops events once it leaves, so a second client would take the holder\'s events away'
)


def socket_holders(inodes: Iterable[int]) -> List[Tuple[int, str]]:
    """:returns: (pid, command name) of each process with one of the sockets ``inodes`` open, by pid; processes
    whose descriptors cannot be read (another user's, without privileges) are left out."""
    wanted = {'socket:[%d]' % inode for inode in inodes if inode}
    found: List[Tuple[int, str]] = []
    if not wanted:
        return found
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        if _holds(int(name), wanted):
            found.append((int(name), _command_name(int(name))))
    return sorted(found)


def _holds(pid: int, wanted: set) -> bool:
    folder = '/proc/%d/fd' % pid
    try:
        fds = os.listdir(folder)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(os.path.join(folder, fd)) in wanted:
                return True
        except OSError:
            continue
    return False


def _command_name(pid: int) -> str:
    try:
        with open('/proc/%d/comm' % pid, encoding='utf-8', errors='replace') as handle:
            return handle.read().strip()
    except OSError:
        return '?'


def describe_holders(holders: List[Tuple[int, str]]) -> str:
    """E.g. ``held by isulad (pid 812)``; ``''`` when no holder could be named."""
    return 'held by %s' % ', '.join('%s (pid %d)' % (name, pid) for pid, name in holders) if holders else ''
