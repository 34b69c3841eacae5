# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to the stratovirt.qmp collection: this module may change or disappear in any release.

What the host shows of a running StratoVirt process, read from Linux ``/proc``; what its command line
means is the dialect's (``_dialect.cmdline``).

StratoVirt cannot report its devices over QMP (``query-block``, ``qom-list`` ... answer ``[]``), so the
collection cross-checks its records with what the VM process really holds: the process behind the QMP
socket and whether it is still the same one (pid plus start time, as pids are recycled), its command
line, its open images, its taps, and other processes writing to an image it wants.

Paths are as the VM process sees them (a VM in a chroot or another mount namespace shows its own).
"""

from __future__ import annotations

import fcntl
import os
import socket
import stat
import struct
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple

from .._collection_error import CollectionError

# Python defines it on Linux; the literal is the Linux value, for unusual builds.
SO_PEERCRED = getattr(socket, 'SO_PEERCRED', 17)
TUN_DEVICE = '/dev/net/tun'
# Linux fcntl commands (Python defines them on Linux; the literals are the Linux values).
F_SETLEASE = getattr(fcntl, 'F_SETLEASE', 1024)
# Standard streams are terminals, /dev/null or log files: never images StratoVirt opened.
FIRST_NON_STD_FD = 3


class VMProcessError(CollectionError):
    """The process is gone, or what /proc shows of it cannot be read or understood."""


class ProcessIdentity(NamedTuple):
    """One process for its whole life: a pid alone may be reused, a (pid, start time) pair is not."""

    pid: int
    start_time: int


class OpenImage(NamedTuple):
    """A regular file or block device a process holds open."""

    path: str
    writable: bool
    direct: bool


# --- the process ---------------------------------------------------------------------------------
def peer_pid(sock: socket.socket) -> int:
    """The process at the other end of a connected Unix socket: for a client, the one that listened (the VM).

    :param sock: a connected ``AF_UNIX`` socket.
    :returns: the peer's pid.
    :raises VMProcessError: not a Unix socket, not connected, or no peer credentials.
    """
    if sock.family != socket.AF_UNIX:
        raise VMProcessError(f'peer credentials need an AF_UNIX socket, not {sock.family!r}')
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, SO_PEERCRED, struct.calcsize('3i'))
    except OSError as exc:
        raise VMProcessError(f'cannot read the peer credentials of the socket: {exc}') from exc
    pid, dummy_uid, dummy_gid = struct.unpack('3i', raw)
    if pid <= 0:
        raise VMProcessError('the socket has no peer process (not connected?)')
    return pid


def parse_stat(text: str) -> Tuple[str, int]:
    """Read the state (field 3) and start time (field 22) of a ``/proc/<pid>/stat`` line.

    The command name (field 2) is the only free text and may hold spaces and ``)``, so the fields are
    split after the *last* ``)``.

    :param text: the content of ``/proc/<pid>/stat``.
    :returns: ``(state, start_time)``, the start time in clock ticks since boot.
    :raises ValueError: the text does not have that shape.
    """
    head, sep, tail = text.rpartition(')')
    fields = tail.split()
    if not sep or '(' not in head or len(fields) < 20:
        raise ValueError(f'not a /proc/<pid>/stat line: {text[:200]!r}')
    return fields[0], int(fields[19])  # fields[0] is field 3, so field 22 is fields[19]


def _read_stat(pid: int) -> Tuple[str, int]:
    """:returns: ``(state, start_time)`` of ``pid``. :raises VMProcessError: process gone, stat unreadable."""
    try:
        with open(f'/proc/{pid}/stat', encoding='utf-8', errors='surrogateescape') as handle:
            return parse_stat(handle.read())
    except (OSError, ValueError) as exc:
        raise VMProcessError(f'cannot read /proc/{pid}/stat (process gone?): {exc}') from exc


def process_identity(pid: int) -> ProcessIdentity:
    """:param pid: a process id.
    :returns: that process's identity (pid and start time).
    :raises VMProcessError: no such process, or its stat file is unreadable.
    """
    return ProcessIdentity(pid, _read_stat(pid)[1])


def command_line(pid: int) -> List[str]:
    """:param pid: a process id.
    :returns: its argv, from ``/proc/<pid>/cmdline`` (empty for a zombie or a kernel thread).
    :raises VMProcessError: no such process, or the file is unreadable.
    """
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as handle:
            raw = handle.read()
    except OSError as exc:
        raise VMProcessError(f'cannot read /proc/{pid}/cmdline (process gone?): {exc}') from exc
    args = raw.split(b'\0')
    if not args[-1]:
        args.pop()  # the NUL ending the last argument; a process that rewrote its argv may lack it
    return [os.fsdecode(arg) for arg in args]


# --- file descriptors ----------------------------------------------------------------------------
def _fdinfo(pid: int, fd: int) -> Dict[str, str]:
    """The ``key:<tab>value`` lines of an fd's fdinfo; empty if the fd was closed meanwhile."""
    try:
        with open(f'/proc/{pid}/fdinfo/{fd}', encoding='utf-8', errors='surrogateescape') as handle:
            return {key: value.strip() for key, dummy_sep, value in (line.partition(':') for line in handle)}
    except OSError:
        return {}


def _fd_flags(pid: int, fd: int) -> Optional[int]:
    """The open flags of one fd (octal in fdinfo); None if the fd was closed meanwhile."""
    try:
        return int(_fdinfo(pid, fd)['flags'], 8)
    except (KeyError, ValueError):
        return None


def _is_writable(flags: Optional[int]) -> bool:
    return flags is not None and flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)


def _file_fds(pid: int) -> Iterator[Tuple[int, str, os.stat_result]]:
    """``(fd, target, stat)`` of each fd open on a path, by fd number, skipping fds closed meanwhile.

    :raises VMProcessError: the process is gone or its fds are not ours to read.
    """
    try:
        names = os.listdir(f'/proc/{pid}/fd')
    except OSError as exc:
        raise VMProcessError(f'cannot list /proc/{pid}/fd (process gone, or not ours to read?): {exc}') from exc
    for fd in sorted(int(name) for name in names if name.isdigit()):
        link = f'/proc/{pid}/fd/{fd}'
        try:
            target = os.readlink(link)
            # Sockets, pipes and anon inodes read as ``type:[inode]``, never as absolute paths.
            if target.startswith('/'):
                # stat() through the magic link reaches the open file itself, even if renamed or deleted.
                yield fd, target, os.stat(link)
        except OSError:
            continue


FileIdentity = Tuple


def file_identity(info: os.stat_result) -> FileIdentity:
    """What makes two names one file: the device number of a block device (``/dev/mapper/x`` and ``/dev/dm-0``),
    else device and inode (a symlink, a hard link, a bind mount of one file)."""
    if stat.S_ISBLK(info.st_mode):
        return ('blk', info.st_rdev)
    return ('file', info.st_dev, info.st_ino)


def path_identity(path: Optional[str]) -> Optional[FileIdentity]:
    """:returns: the :func:`file_identity` of what ``path`` names (symlinks followed), None if it cannot be read."""
    if not path:
        return None
    try:
        return file_identity(os.stat(path))
    except (OSError, ValueError):
        return None


def same_file(left: Optional[str], right: Optional[str]) -> bool:
    """Whether two paths name one file: by identity (device and inode, or device number), else by real path."""
    if not left or not right:
        return False
    left_id, right_id = path_identity(left), path_identity(right)
    if left_id is not None and right_id is not None:
        return left_id == right_id
    return os.path.realpath(left) == os.path.realpath(right)


def open_images(pid: int, identities: Optional[Dict[FileIdentity, str]] = None) -> List[OpenImage]:
    """The regular files and block devices a process holds open: the candidates for its images.

    Left out: fds 0-2, and files deleted since they were opened (no path names them any more).  A path
    open on several fds is listed once, writable or direct if any of them is.  Other files (a serial
    log, a memory backend) are listed too: callers match by path.

    :param pid: the VM's pid.
    :param identities: if given, filled with the :func:`file_identity` of each image -> its path (first name seen).
    :returns: one entry per real path, in the order of their lowest fd.
    :raises VMProcessError: the process is gone or its fds are not readable.
    """
    merged: Dict[str, OpenImage] = {}
    for fd, target, info in _file_fds(pid):
        flags = _fd_flags(pid, fd) if fd >= FIRST_NON_STD_FD and info.st_nlink else None
        if flags is None or not (stat.S_ISREG(info.st_mode) or stat.S_ISBLK(info.st_mode)):
            continue
        path = os.path.realpath(target)
        if identities is not None:
            identities.setdefault(file_identity(info), path)
        seen = merged.get(path, OpenImage(path, False, False))
        merged[path] = OpenImage(path, seen.writable or _is_writable(flags), seen.direct or bool(flags & os.O_DIRECT))
    return list(merged.values())


def held_taps(pid: int) -> List[str]:
    """The taps a process is attached to: the ``iff:`` lines of the fdinfo of its ``/dev/net/tun`` fds.

    A tun fd not attached yet has no such line; a multiqueue tap (several fds) is listed once.

    :param pid: the VM's pid.
    :returns: tap names, in fd order.
    :raises VMProcessError: the process is gone or its fds are not readable.
    """
    taps: List[str] = []
    for fd, target, dummy_info in _file_fds(pid):
        name = _fdinfo(pid, fd).get('iff') if target == TUN_DEVICE else None
        if name and name not in taps:
            taps.append(name)
    return taps


def _writable_fds(pid: int, wanted: Dict[FileIdentity, List[int]]) -> List[int]:
    """Indexes (the values of ``wanted``, by file identity) of the files process ``pid`` holds open for writing."""
    found: List[int] = []
    try:
        names = os.listdir('/proc/%d/fd' % pid)
    except OSError:  # not ours to read, or gone meanwhile
        return found
    for name in names:
        link = '/proc/%d/fd/%s' % (pid, name)
        try:
            # stat() through the magic link reaches the open file; one call per fd, readlink not needed.
            info = os.stat(link)
        except OSError:
            continue
        indexes = [index for index in wanted.get(file_identity(info), ()) if index not in found]
        if indexes and name.isdigit() and _is_writable(_fd_flags(pid, int(name))):
            found.extend(indexes)
    return found


def nobody_writes(path: str) -> bool:
    """Whether the kernel says, at this instant, that no process holds the regular file ``path`` open for writing.

    A read lease (``F_SETLEASE``, ``F_RDLCK``) is granted only when no open file of the inode is writable, whoever
    opened it, by whatever name (a symlink, a hard link, a bind mount), in whatever pid or mount namespace, and even
    when that process's descriptors are not ours to read: the very fact the ``/proc`` scan looks for, in one call.
    The lease is dropped at once (the file is closed), so a process opening the file meanwhile is not held up.

    :returns: True: nobody writes. False: someone may (the VM itself included), or the kernel cannot tell (not a
        regular file, no lease on this file system or for this user, leases disabled): the caller scans ``/proc``.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False  # a block device takes no lease; opening it is not free of side effects either
        # O_NONBLOCK: an open that would wait on a write lease fails instead (and then the answer is "scan").
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError):
        return False
    try:
        fcntl.fcntl(fd, F_SETLEASE, fcntl.F_RDLCK)
    except OSError:  # EAGAIN: open for writing somewhere; EACCES, EINVAL: no lease here
        return False
    finally:
        os.close(fd)  # releases the lease, if one was granted
    return True


def writers_of_any(paths: List[str], exclude_pid: int) -> Dict[str, List[int]]:
    """For each of ``paths``, the other processes holding it open for writing.

    First the kernel is asked (:func:`nobody_writes`): a file nobody holds open for writing has no writers, and needs
    no scan. The others (held for writing by someone, perhaps the managed VM; or block devices, or files without
    leases) are looked for in one scan of ``/proc``, comparing files by identity (device and inode; device number for
    block devices), which sees through symlinks, hard links and bind mounts. Processes whose fds cannot be read (run
    as root to read all) or which exit during the scan are skipped silently there.

    :param paths: image files or block devices; a path that does not exist has no writers.
    :param exclude_pid: a pid not to report (the managed VM).
    :returns: path -> sorted pids (only paths with writers).
    :raises VMProcessError: /proc cannot be listed.
    """
    wanted: Dict[FileIdentity, List[int]] = {}
    for index, path in enumerate(paths):
        try:
            identity = file_identity(os.stat(path))
        except OSError:
            continue
        if not nobody_writes(path):
            wanted.setdefault(identity, []).append(index)
    if not wanted:
        return {}
    try:
        pids = sorted(int(name) for name in os.listdir('/proc') if name.isdigit() and int(name) != exclude_pid)
    except OSError as exc:
        raise VMProcessError(f'cannot list /proc: {exc}') from exc
    writers: Dict[str, List[int]] = {}
    for pid in pids:
        for index in _writable_fds(pid, wanted):
            writers.setdefault(paths[index], []).append(pid)
    return writers
