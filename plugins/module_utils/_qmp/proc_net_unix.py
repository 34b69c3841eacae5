# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to the stratovirt.qmp collection: this module may change or disappear in any release.

The fallback of ``_qmp.monitor_usage`` when sock_diag netlink is not usable: the sockets bound to the monitor's
socket file, read from ``/proc/net/unix``.  Matching is by path string; a queued connection shows as state
``02``, but an established entry (``03``) does not show its peer (its ``peer_inode`` is ``None``).
"""

from __future__ import annotations

import os
from typing import FrozenSet, List, NamedTuple, Optional, Tuple

from .unix_socket import CONNECTION_TYPES, ROLE_BOUND, ROLE_CONNECTED, ROLE_LISTENER, ROLE_QUEUED, UnixDiagError, UnixSocketEntry, describe_os_error

SOURCE_PROC_NET_UNIX = "/proc/net/unix"
PROC_NET_UNIX = "/proc/net/unix"

# /proc/net/unix columns
_SO_ACCEPTCON = 0x00010000  # "Flags" bit of a listening socket
_SS_CONNECTING = 2  # "St" of a connection that waits in a listener's backlog
_SS_CONNECTED = 3


class ProcMatch(NamedTuple):
    """Entries matched in /proc/net/unix, and how many same-named relative-path sockets could not be verified."""

    entries: Tuple[UnixSocketEntry, ...]
    unverifiable: int


def read_proc_net_unix(why_no_diag: str) -> List[str]:
    """Lines of /proc/net/unix, header excluded.

    :param why_no_diag: why sock_diag could not be used, for the error message.
    :raises UnixDiagError: the table cannot be read either.
    """
    try:
        with open(PROC_NET_UNIX, encoding="utf-8", errors="surrogateescape") as proc_file:
            return proc_file.read().splitlines()[1:]
    except OSError as exc:
        raise UnixDiagError(f"cannot read the Unix socket table: {why_no_diag}; and {PROC_NET_UNIX}: {describe_os_error(exc)}") from exc


def parse_proc_net_unix_line(line: str) -> Optional[Tuple[int, int, int, int, str]]:
    """Decode one line of /proc/net/unix.

    :param line: a data line (not the header).
    :returns: ``(flags, sock_type, st, inode, path)`` or None for a socket without a path or a malformed line.
        ``st`` is the socket_state (1 unconnected, 2 connecting i.e. queued, 3 connected).
    """
    # Num RefCount Protocol Flags Type St Inode Path; the path is last, and may contain spaces.
    fields = line.rstrip("\n").split(None, 7)
    if len(fields) < 8:
        return None
    try:
        flags, sock_type, state = int(fields[3], 16), int(fields[4], 16), int(fields[5], 16)
        inode = int(fields[6])
    except ValueError:
        return None
    return flags, sock_type, state, inode, fields[7]


def entries_from_proc(socket_path: str, file_stat: os.stat_result, lines: List[str]) -> ProcMatch:
    """Match /proc/net/unix lines to the socket file by path, and count same-named sockets that cannot be verified."""
    names = _path_spellings(socket_path)
    basename = os.path.basename(os.path.realpath(socket_path))
    entries: List[UnixSocketEntry] = []
    unverifiable = 0
    for line in lines:
        parsed = parse_proc_net_unix_line(line)
        if parsed is None:
            continue
        flags, sock_type, state, inode, path = parsed
        if path in names or _absolute_path_is_file(path, basename, file_stat):
            entries.append(_proc_to_entry(flags, sock_type, state, inode))
        elif not path.startswith(("/", "@")) and os.path.basename(path) == basename:
            # Bound by a relative path from a working directory we do not know: may be our socket.
            unverifiable += 1
    return ProcMatch(tuple(entries), unverifiable)


def _path_spellings(socket_path: str) -> FrozenSet[str]:
    """The ways the server may have spelled the path at bind(): as given, absolute, and symlink-free."""
    path = os.fspath(socket_path)
    return frozenset((path, os.path.abspath(path), os.path.realpath(path)))


def _absolute_path_is_file(path: str, basename: str, file_stat: os.stat_result) -> bool:
    """Whether an absolute path with the same file name leads to our socket file (e.g. through a symlinked directory)."""
    if not path.startswith("/") or os.path.basename(path) != basename:
        return False
    try:
        other = os.stat(path)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (file_stat.st_dev, file_stat.st_ino)


def _proc_to_entry(flags: int, sock_type: int, state: int, inode: int) -> UnixSocketEntry:
    """Role of a /proc/net/unix line; its peer is never known there."""
    if sock_type not in CONNECTION_TYPES:
        role = ROLE_BOUND
    elif flags & _SO_ACCEPTCON:
        role = ROLE_LISTENER
    elif state == _SS_CONNECTING:
        role = ROLE_QUEUED
    elif state == _SS_CONNECTED:
        role = ROLE_CONNECTED
    else:
        role = ROLE_BOUND
    return UnixSocketEntry(inode, role, None, sock_type, None)
