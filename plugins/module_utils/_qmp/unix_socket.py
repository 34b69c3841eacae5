# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to the stratovirt.qmp collection: this module may change or disappear in any release.

What both sources of the kernel's Unix socket table (sock_diag in ``_qmp.monitor_usage``, ``/proc/net/unix`` in
``_qmp.proc_net_unix``) say about one socket bound to the monitor's socket file, and the error they share.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import NamedTuple, Optional

# Absolute: with the relative form, the pylint of ansible-test sanity fails to infer UnixDiagError as an exception
# (bad-exception-cause in _qmp/client.py).
from ansible_collections.stratovirt.qmp.plugins.module_utils._collection_error import CollectionError

ROLE_LISTENER = "listener"
ROLE_QUEUED = "queued"
ROLE_CONNECTED = "connected"
# Bound to the path but neither listening nor connected (e.g. bind() without listen(), or a datagram socket).
ROLE_BOUND = "bound"

CONNECTION_TYPES = (socket.SOCK_STREAM, socket.SOCK_SEQPACKET)


class UnixDiagError(CollectionError):
    """The socket path cannot be examined (missing, not a socket, or no source of socket information)."""


class UnixSocketEntry(NamedTuple):
    """One kernel socket bound to the monitor's socket file (or one connection queued on its listener).

    ``inode`` is the socket's inode; 0 for a queued connection, which gets one only when accepted.
    ``role`` is one of ``listener``, ``queued``, ``connected`` (a server end: accepted), ``bound``.
    ``peer_inode`` is the inode of the client for ``queued``/``connected``: 0 when the client has closed,
    ``None`` when unknown (``/proc/net/unix`` fallback) or not applicable (``listener``, ``bound``).
    ``sock_type`` is ``socket.SOCK_STREAM``, ``socket.SOCK_SEQPACKET``...
    ``shutdown`` is the kernel's sk_shutdown mask (1 receive, 2 send), ``None`` when unknown.
    """

    inode: int
    role: str
    peer_inode: Optional[int]
    sock_type: int = socket.SOCK_STREAM
    shutdown: Optional[int] = None

    @property
    def peer_gone(self) -> bool:
        """True when the kernel reports that the client of this connection has closed its socket."""
        return self.peer_inode == 0


def describe_os_error(exc: OSError) -> str:
    """errno name and message, e.g. "EPERM (Operation not permitted)"."""
    if exc.errno:
        return describe_errno(exc.errno)
    return str(exc) or type(exc).__name__


def describe_errno(error: int) -> str:
    """errno name and message for a positive errno."""
    return f"{errno.errorcode.get(error, 'errno ' + str(error))} ({os.strerror(error)})"
