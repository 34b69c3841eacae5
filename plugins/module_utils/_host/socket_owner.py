# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which process listens on a Unix socket file, read from the kernel's socket table and ``/proc``, never connecting.

Private to the stratovirt.qmp collection: may change in any release.

Any process may name any socket in its command line; only the process holding the listening socket bound to that
file serves it. The listener is matched to the file by (device, inode) through ``_qmp.monitor_usage`` (by path in the
``/proc/net/unix`` fallback), and its socket inode is looked for among a process's descriptors (``socket:[N]``).
"""

from __future__ import annotations

import os
import stat
from typing import Dict, FrozenSet, List, Optional, Tuple

from .._qmp.monitor_usage import FileKey, UnixDiagError, monitor_usage, socket_file_key
from .._qmp.unix_socket import ROLE_LISTENER


def socket_file_identity(path: str) -> Optional[Tuple[int, int]]:
    """:returns: (device, inode) of the socket file at ``path`` (symlinks followed), None if it is no socket."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino) if (info.st_mode & 0o170000) == 0o140000 else None


def listener_inodes(path: str, index: Optional[Dict[FileKey, FrozenSet[int]]] = None) -> FrozenSet[int]:
    """:param index: the host's listeners (``listeners_by_file()``, read once for many files), or None to ask.
    :returns: the inodes of the listening sockets bound to the file at ``path`` (empty: nothing listens)."""
    if index is not None:
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return frozenset()
        return index.get(socket_file_key(info), frozenset()) if stat.S_ISSOCK(info.st_mode) else frozenset()
    try:
        usage = monitor_usage(path)
    except UnixDiagError:
        return frozenset()
    return frozenset(entry.inode for entry in usage.entries if entry.role == ROLE_LISTENER and entry.inode)


def _socket_links(inodes: FrozenSet[int]) -> FrozenSet[str]:
    return frozenset('socket:[%d]' % inode for inode in inodes)


def holds_socket(pid: int, inodes: FrozenSet[int]) -> Optional[bool]:
    """Whether process ``pid`` has one of the sockets ``inodes`` open; None when its descriptors cannot be read."""
    wanted = _socket_links(inodes)
    try:
        names = os.listdir('/proc/%d/fd' % pid)
    except OSError:
        return None
    for name in names:
        try:
            if os.readlink('/proc/%d/fd/%s' % (pid, name)) in wanted:
                return True
        except OSError:
            continue
    return False


def socket_holders(inodes: FrozenSet[int]) -> List[int]:
    """The pids (of those this user may read) holding one of the sockets ``inodes``, in pid order."""
    try:
        pids = sorted(int(name) for name in os.listdir('/proc') if name.isdigit())
    except OSError:
        return []
    own = os.getpid()
    return [pid for pid in pids if pid != own and holds_socket(pid, inodes)]
