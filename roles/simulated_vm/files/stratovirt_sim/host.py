# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host resources a StratoVirt process holds: image files and taps.

The simulator really opens them, so that host-side checks of the VM process
(/proc/<pid>/fd, fdinfo ``iff:``, /proc/locks) see what they would see with
StratoVirt.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000


class HostError(Exception):
    """A host resource could not be taken; ``oserror`` keeps the cause."""

    def __init__(self, message: str, oserror: OSError | None = None) -> None:
        super().__init__(message)
        self.oserror = oserror


def os_error_text(exc: OSError) -> str:
    """Format an OSError the way Rust's io::Error displays it."""
    return '%s (os error %d)' % (os.strerror(exc.errno or 0), exc.errno or 0)


def path_kind(path: str) -> str:
    """:returns: ``missing``, ``regular``, ``block`` or ``other`` for ``path``."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return 'missing'
    if stat.S_ISREG(mode):
        return 'regular'
    if stat.S_ISBLK(mode):
        return 'block'
    return 'other'


class ImageHandle:
    """An image file opened as StratoVirt opens it, with its fcntl lock."""

    def __init__(self, path: str, read_only: bool, direct: bool) -> None:
        self.path = path
        self.read_only = read_only
        self.direct = direct
        self.fd: int | None = None

    def open(self) -> None:
        flags = os.O_RDONLY if self.read_only else os.O_RDWR
        if self.direct:
            flags |= os.O_DIRECT
        self.fd = os.open(self.path, flags | os.O_CLOEXEC)

    def lock(self) -> None:
        """Take StratoVirt's fcntl lock: shared when read-only, exclusive otherwise."""
        if self.fd is None:
            return
        lock_type = fcntl.LOCK_SH if self.read_only else fcntl.LOCK_EX
        fcntl.lockf(self.fd, lock_type | fcntl.LOCK_NB)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def open_tap(ifname: str) -> int:
    """Attach to tap ``ifname`` (creating it when absent), as StratoVirt does; :returns: the fd.

    :raises OSError: EBUSY when another process holds the tap.
    """
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_CLOEXEC)
    request = struct.pack('16sH22s', ifname.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, b'')
    try:
        fcntl.ioctl(fd, TUNSETIFF, request)
    except OSError:
        os.close(fd)
        raise
    return fd


def tap_busy(ifname: str) -> bool:
    """Probe a tap the way StratoVirt 2.5 ``netdev_add`` does: open it and close it at once."""
    try:
        os.close(open_tap(ifname))
    except OSError as exc:
        return exc.errno == errno.EBUSY
    return False
