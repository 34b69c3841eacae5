# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-VM lock that serialises this collection's QMP sessions.

Private to the stratovirt.qmp collection: may change in any release.

StratoVirt serves one QMP client at a time and queues the next one silently;
a queued client that gives up kills the VM. Two of our own runs against the
same VM must therefore wait for each other here, before either connects.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time

from .errors import QMPConnectionError, QMPLockTimeout

LOCK_POLL_INTERVAL = 0.05


def lock_path_for(socket_path: str) -> str:
    """:returns: the lock file that guards the monitor at ``socket_path``."""
    return os.path.realpath(socket_path) + '.lock'


class VMLock:
    """An exclusive ``flock`` on ``<socket>.lock``, held for a whole QMP session.

    Constructing it does nothing; :meth:`acquire` takes the lock.
    """

    def __init__(self, socket_path: str, timeout: float) -> None:
        self.socket_path = socket_path
        self.path = lock_path_for(socket_path)
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds.

        :raises QMPLockTimeout: another holder kept it longer than the timeout.
        :raises QMPConnectionError: the lock file cannot be created.
        """
        fd = self._open_trusted()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            if time.monotonic() >= deadline:
                os.close(fd)
                raise QMPLockTimeout(
                    'another stratovirt.qmp run has held the lock %s for more than %ss; retry when it has finished' % (self.path, self.timeout),
                    self.socket_path,
                )
            time.sleep(LOCK_POLL_INTERVAL)
        self._fd = fd

    def _open_trusted(self) -> int:
        """Open (or create) the lock file, refusing one planted by someone else.

        The socket's directory may be writable by others: a symlink there must not make us create or open its
        target (O_NOFOLLOW), and a hard link to another file, or a file of another user, is not our lock.
        """
        try:
            # O_NONBLOCK: a FIFO planted at the path must not hang us.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise QMPConnectionError(
                    'the lock file %s is a symlink, which is never followed: someone else may have planted it; inspect it, then delete it' % self.path,
                    self.socket_path,
                ) from exc
            raise QMPConnectionError(
                'cannot open the lock file %s (%s): the directory of the QMP socket must be writable '
                'by this user, who must be StratoVirt\'s or root' % (self.path, exc.strerror or exc),
                self.socket_path,
            ) from exc
        info = os.fstat(fd)
        problem = None
        if not stat.S_ISREG(info.st_mode):
            problem = 'is not a regular file'
        elif info.st_uid != os.geteuid():
            problem = 'is owned by uid %d, not by us (uid %d)' % (info.st_uid, os.geteuid())
        elif info.st_nlink != 1:
            problem = 'has %d hard links: it may be a link to another file' % info.st_nlink
        if problem is not None:
            os.close(fd)
            raise QMPConnectionError(
                'the lock file %s %s; someone else may have planted it: inspect it, then delete it' % (self.path, problem), self.socket_path
            )
        return fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> VMLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
