# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to the stratovirt.qmp collection: this module may change or disappear in any release.

Tell whether a listening Unix stream socket (StratoVirt's QMP monitor) is in use,
from the kernel's Unix socket table and without connecting to it.

Why not simply connect: StratoVirt serves one QMP client at a time.  A second
client's connect() succeeds (it is queued in the listen backlog) but never gets
a greeting, and if that queued client gives up, the VM process dies.

What "in use" means, as observed on a real StratoVirt 2.1.0:

* a connection waiting in the backlog (not accepted yet) -> busy;
* an accepted connection whose client is still alive -> busy;
* an accepted connection whose client has closed -> free.  StratoVirt keeps its
  server end open until it accepts the next client, so an "established" socket
  stays on the monitor's path although nobody is connected.  Only the peer
  tells the difference: sock_diag reports peer inode 0 for that stale end
  (``ss -x`` shows the same), the client's inode for a live one.

Sources, best first:

1. sock_diag netlink (``NETLINK_SOCK_DIAG``, ``unix_diag``).  Sockets are
   matched to the socket file by its (device, inode) through ``UNIX_DIAG_VFS``:
   accepted server ends inherit the listener's path, hence its vfs inode, and
   this also works when the server bound a relative path.  Queued connections
   have no socket inode yet, so the kernel leaves them out of the dump; they
   are read from the listener's ``UNIX_DIAG_ICONS`` (the client inode of each
   connection waiting to be accepted).
2. ``/proc/net/unix`` (``_qmp.proc_net_unix``) when netlink is not usable (no
   permission, no ``unix_diag`` module, not Linux...).  Matching is by path string; a queued
   connection shows as state ``02`` (busy), but an established entry (``03``)
   does not show its peer, so it is reported as "cannot tell" (``None``).

Both sources only see sockets of the caller's network namespace.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
from typing import Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Set, Tuple

from .proc_net_unix import SOURCE_PROC_NET_UNIX, entries_from_proc, read_proc_net_unix

# UnixDiagError and UnixSocketEntry are part of this module's interface (monitor_usage raises and returns them).
from .unix_socket import (
    CONNECTION_TYPES,
    ROLE_BOUND,
    ROLE_CONNECTED,
    ROLE_LISTENER,
    ROLE_QUEUED,
    UnixDiagError,
    UnixSocketEntry,
    describe_errno,
    describe_os_error,
)

SOURCE_SOCK_DIAG = "sock_diag"

# --- netlink / sock_diag ABI (include/uapi/linux/{netlink,sock_diag,unix_diag}.h) ---
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 0x01
_NLM_F_DUMP = 0x100 | 0x200  # NLM_F_ROOT | NLM_F_MATCH
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLMSG_OVERRUN = 4
_NLA_TYPE_MASK = 0x3FFF  # strips NLA_F_NESTED and NLA_F_NET_BYTEORDER

_UDIAG_SHOW_VFS = 0x02
_UDIAG_SHOW_PEER = 0x04
_UDIAG_SHOW_ICONS = 0x08
_UDIAG_SHOW_RQLEN = 0x10

_UNIX_DIAG_VFS = 1
_UNIX_DIAG_PEER = 2
_UNIX_DIAG_ICONS = 3
_UNIX_DIAG_SHUTDOWN = 6

# sk_state values (include/net/tcp_states.h), used by AF_UNIX too.
_TCP_ESTABLISHED = 1
_TCP_LISTEN = 10
_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = 0xFFFFFFFF  # INET_DIAG_NOCOOKIE: do not filter on the socket cookie

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_NLMSGERR_ERROR = struct.Struct("=i")  # first field of struct nlmsgerr (and of NLMSG_DONE in dumps)
_NLATTR = struct.Struct("=HH")  # len, type
_UNIX_DIAG_REQ = struct.Struct("=BBHIIIII")  # family, protocol, pad, states, ino, show, cookie[2]
_UNIX_DIAG_MSG = struct.Struct("=BBBBIII")  # family, type, state, pad, ino, cookie[2]
_UNIX_DIAG_VFS_STRUCT = struct.Struct("=II")  # vfs inode, vfs dev
_U32 = struct.Struct("=I")

_NETLINK_TIMEOUT = 5.0  # seconds; a dump is answered at once, this only guards against a wedged kernel
_RECV_BUFSIZE = 1 << 16
_DUMP_SEQ = 0x5A51  # any value: the socket is private, the check only skips foreign messages

# Kernel-internal dev_t (include/linux/kdev_t.h): MAJOR = dev >> 20, MINOR = dev & 0xfffff.
_KDEV_MINORBITS = 20
_KDEV_MINORMASK = (1 << _KDEV_MINORBITS) - 1
# udiag_vfs_ino is a __u32 while st_ino may be 64 bits wide.
_VFS_INO_MASK = 0xFFFFFFFF


class MonitorUsage(NamedTuple):
    """Verdict of :func:`monitor_usage`.

    ``in_use``: True busy, False free, None cannot tell.  ``reason``: human-readable explanation.
    ``listening``: a listener was positively matched to the socket file.  ``entries``: the matched sockets.
    ``source``: ``sock_diag`` or ``/proc/net/unix``.
    """

    in_use: Optional[bool]
    reason: str
    listening: bool
    entries: Tuple[UnixSocketEntry, ...]
    source: str = SOURCE_SOCK_DIAG


class _SockDiagUnavailable(Exception):
    """sock_diag could not be used; the caller falls back to /proc/net/unix."""


class _DiagSocket(NamedTuple):
    """One unix_diag_msg with the attributes this module uses."""

    inode: int
    sock_type: int
    state: int
    vfs: Optional[Tuple[int, int]]  # (vfs inode, kernel-internal dev_t)
    peer: Optional[int]
    icons: Tuple[int, ...]
    shutdown: Optional[int]


def monitor_usage(socket_path: str) -> MonitorUsage:
    """Tell whether the Unix stream socket at ``socket_path`` is in use, without connecting to it.

    :param socket_path: path of the monitor's socket file (absolute or relative to the current directory).
    :returns: a :class:`MonitorUsage`.  ``in_use`` is True when a connection is queued or an accepted
        connection has a live client, False when nobody is connected (including a server end left open
        after its client closed) or when nothing listens, None when the fallback source cannot tell.
    :raises UnixDiagError: if the path does not exist, cannot be examined, is not a socket, or neither
        sock_diag nor /proc/net/unix can be read.
    """
    file_stat = _stat_socket_file(socket_path)
    try:
        diag_sockets = _dump_unix_sockets(_vfs_attribute(file_stat))
    except _SockDiagUnavailable as exc:
        proc_match = entries_from_proc(socket_path, file_stat, read_proc_net_unix(str(exc)))
        return _judge(proc_match.entries, SOURCE_PROC_NET_UNIX, str(exc), proc_match.unverifiable)
    return _judge(_entries_from_diag(diag_sockets, file_stat), SOURCE_SOCK_DIAG)


FileKey = Tuple[int, int, int]


def socket_file_key(file_stat: os.stat_result) -> FileKey:
    """(major, minor, inode) of a stat()ed socket file, as a socket bound to it shows them in sock_diag."""
    return os.major(file_stat.st_dev), os.minor(file_stat.st_dev), file_stat.st_ino & _VFS_INO_MASK


def listeners_by_file() -> Optional[Dict[FileKey, FrozenSet[int]]]:
    """The listening Unix stream sockets of this network namespace that are bound to a file, by the file's
    :func:`socket_file_key`, from one sock_diag dump: what a listing of a host's VMs asks of every monitor at once.

    :returns: file key -> the inodes of the sockets listening on it; None when sock_diag is not usable (then
        :func:`monitor_usage` answers per file, from ``/proc/net/unix``).
    """
    try:
        diag_sockets = _dump_unix_sockets()
    except _SockDiagUnavailable:
        return None
    index: Dict[FileKey, Set[int]] = {}
    for diag in diag_sockets:
        if diag.vfs is None or diag.sock_type not in CONNECTION_TYPES or diag.state != _TCP_LISTEN or not diag.inode:
            continue
        vfs_ino, vfs_dev = diag.vfs
        index.setdefault(kernel_dev_to_major_minor(vfs_dev) + (vfs_ino,), set()).add(diag.inode)
    return {key: frozenset(inodes) for key, inodes in index.items()}


def _vfs_attribute(file_stat: os.stat_result) -> bytes:
    """The UNIX_DIAG_VFS attribute, as the kernel writes it, of every socket bound to the stat()ed socket file."""
    major, minor, inode = socket_file_key(file_stat)
    return _NLATTR.pack(_NLATTR.size + _UNIX_DIAG_VFS_STRUCT.size, _UNIX_DIAG_VFS) + _UNIX_DIAG_VFS_STRUCT.pack(inode, major << _KDEV_MINORBITS | minor)


def _stat_socket_file(socket_path: str) -> os.stat_result:
    """Stat the path (following symlinks, as connect() does) and make sure it is a socket."""
    path = os.fspath(socket_path)
    try:
        file_stat = os.stat(path)
    except FileNotFoundError as exc:
        raise UnixDiagError(f"socket path {path!r} does not exist") from exc
    except OSError as exc:
        raise UnixDiagError(f"cannot examine socket path {path!r}: {exc.strerror or exc}") from exc
    if not stat.S_ISSOCK(file_stat.st_mode):
        raise UnixDiagError(f"{path!r} is not a Unix socket")
    return file_stat


# --- sock_diag ---------------------------------------------------------------


def _open_sock_diag() -> socket.socket:
    """Open a NETLINK_SOCK_DIAG socket (kept separate so that tests can make it fail)."""
    return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG)


def _dump_unix_sockets(vfs_attribute: Optional[bytes] = None) -> List[_DiagSocket]:
    """Dump every AF_UNIX socket of this network namespace through sock_diag.

    :param vfs_attribute: if given, only the sockets whose message holds these bytes (see :func:`_vfs_attribute`)
        are decoded: on a host of a thousand VMs the dump has thousands of sockets, and decoding each for every VM
        would make a VM's check cost grow with the host. A socket holding them by chance is decoded, then matched by
        its (device, inode) as any other.
    :raises _SockDiagUnavailable: on any failure, so that the caller can fall back.
    """
    try:
        nl_sock = _open_sock_diag()
    except AttributeError as exc:  # no socket.AF_NETLINK: not Linux
        raise _SockDiagUnavailable("netlink is not supported on this platform") from exc
    except OSError as exc:
        raise _SockDiagUnavailable(f"cannot open a sock_diag netlink socket: {describe_os_error(exc)}") from exc
    with nl_sock:
        try:
            nl_sock.settimeout(_NETLINK_TIMEOUT)
            nl_sock.sendto(_build_dump_request(_DUMP_SEQ), (0, 0))
            return _receive_dump(nl_sock, _DUMP_SEQ, vfs_attribute)
        except OSError as exc:
            raise _SockDiagUnavailable(f"sock_diag request failed: {describe_os_error(exc)}") from exc


def _build_dump_request(seq: int) -> bytes:
    """Build nlmsghdr + unix_diag_req asking for all AF_UNIX sockets with their vfs, peer, icons and queue lengths."""
    show = _UDIAG_SHOW_VFS | _UDIAG_SHOW_PEER | _UDIAG_SHOW_ICONS | _UDIAG_SHOW_RQLEN
    request = _UNIX_DIAG_REQ.pack(socket.AF_UNIX, 0, 0, _ALL_STATES, 0, show, _NO_COOKIE, _NO_COOKIE)
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST | _NLM_F_DUMP, seq, 0)
    return header + request


def _receive_dump(nl_sock: socket.socket, seq: int, vfs_attribute: Optional[bytes] = None) -> List[_DiagSocket]:
    """Read the multipart reply of a dump until NLMSG_DONE (decoding only the sockets holding ``vfs_attribute``)."""
    diag_sockets: List[_DiagSocket] = []
    while True:
        datagram = nl_sock.recv(_RECV_BUFSIZE)
        if not datagram:
            raise _SockDiagUnavailable("sock_diag reply ended before NLMSG_DONE")
        # A datagram holding none of the wanted sockets is only walked for the end of the dump or an error.
        wanted = vfs_attribute is None or vfs_attribute in datagram
        for msg_type, msg_seq, payload in _split_netlink_messages(datagram) if wanted else _control_messages(datagram):
            if msg_seq != seq:
                continue
            if msg_type == _NLMSG_DONE:
                _check_done_payload(payload)
                return diag_sockets
            if msg_type == _NLMSG_ERROR:
                _raise_netlink_error(payload)
            elif msg_type == _NLMSG_OVERRUN:
                raise _SockDiagUnavailable("sock_diag reply overrun: data lost")
            elif msg_type == _SOCK_DIAG_BY_FAMILY and wanted and (vfs_attribute is None or vfs_attribute in payload):
                diag_sockets.append(_parse_unix_diag_msg(payload))


def _split_netlink_messages(datagram: bytes) -> Iterator[Tuple[int, int, bytes]]:
    """Yield (type, seq, payload) for each netlink message in one datagram.

    :raises _SockDiagUnavailable: if a header or length is malformed.
    """
    offset = 0
    while offset + _NLMSGHDR.size <= len(datagram):
        msg_len, msg_type, dummy_flags, msg_seq, dummy_pid = _NLMSGHDR.unpack_from(datagram, offset)
        if msg_len < _NLMSGHDR.size or offset + msg_len > len(datagram):
            raise _SockDiagUnavailable(f"malformed netlink message (length {msg_len} at offset {offset})")
        yield msg_type, msg_seq, datagram[offset + _NLMSGHDR.size : offset + msg_len]
        offset += _align4(msg_len)


def _control_messages(datagram: bytes) -> Iterator[Tuple[int, int, bytes]]:
    """The messages of one datagram that are not sockets (done, error, overrun), as :func:`_split_netlink_messages`
    yields them and with its checks, in one tight walk of the headers: a dump holds a socket per VM of the host.

    :raises _SockDiagUnavailable: if a header or length is malformed.
    """
    offset, header, end, unpack = 0, _NLMSGHDR.size, len(datagram), _NLMSGHDR.unpack_from
    while offset + header <= end:
        msg_len, msg_type, dummy_flags, msg_seq, dummy_pid = unpack(datagram, offset)
        if msg_len < header or offset + msg_len > end:
            raise _SockDiagUnavailable(f"malformed netlink message (length {msg_len} at offset {offset})")
        if msg_type != _SOCK_DIAG_BY_FAMILY:
            yield msg_type, msg_seq, datagram[offset + header : offset + msg_len]
        offset += (msg_len + 3) & ~3


def _raise_netlink_error(payload: bytes) -> None:
    """Turn an NLMSG_ERROR payload (struct nlmsgerr) into _SockDiagUnavailable; error 0 is a plain ACK."""
    if len(payload) < _NLMSGERR_ERROR.size:
        raise _SockDiagUnavailable("truncated NLMSG_ERROR from sock_diag")
    error = -_NLMSGERR_ERROR.unpack_from(payload)[0]
    if error:
        # ENOENT here typically means the unix_diag module is not available.
        raise _SockDiagUnavailable(f"sock_diag refused the request: {describe_errno(error)}")


def _check_done_payload(payload: bytes) -> None:
    """A dump may end with a negative errno in NLMSG_DONE when the kernel had to abort it."""
    if len(payload) >= _NLMSGERR_ERROR.size:
        error = -_NLMSGERR_ERROR.unpack_from(payload)[0]
        if error > 0:
            raise _SockDiagUnavailable(f"sock_diag dump aborted: {describe_errno(error)}")


def _parse_unix_diag_msg(payload: bytes) -> _DiagSocket:
    """Decode one unix_diag_msg and the attributes this module asked for."""
    if len(payload) < _UNIX_DIAG_MSG.size:
        raise _SockDiagUnavailable("truncated unix_diag_msg")
    dummy_family, sock_type, state, dummy_pad, inode, dummy_cookie0, dummy_cookie1 = _UNIX_DIAG_MSG.unpack_from(payload)
    attrs = _parse_attributes(payload, _UNIX_DIAG_MSG.size)
    vfs = _UNIX_DIAG_VFS_STRUCT.unpack(attrs[_UNIX_DIAG_VFS][: _UNIX_DIAG_VFS_STRUCT.size]) if _has_room(attrs, _UNIX_DIAG_VFS, 8) else None
    peer = _U32.unpack(attrs[_UNIX_DIAG_PEER][:4])[0] if _has_room(attrs, _UNIX_DIAG_PEER, 4) else None
    icons_raw = attrs.get(_UNIX_DIAG_ICONS, b"")
    icons = tuple(value for (value,) in _U32.iter_unpack(icons_raw[: len(icons_raw) - len(icons_raw) % 4]))
    shutdown = attrs[_UNIX_DIAG_SHUTDOWN][0] if _has_room(attrs, _UNIX_DIAG_SHUTDOWN, 1) else None
    return _DiagSocket(inode, sock_type, state, vfs, peer, icons, shutdown)


def _parse_attributes(payload: bytes, offset: int) -> Dict[int, bytes]:
    """Return {attribute type: data} for the netlink attributes that follow a fixed header."""
    attrs: Dict[int, bytes] = {}
    while offset + _NLATTR.size <= len(payload):
        attr_len, attr_type = _NLATTR.unpack_from(payload, offset)
        if attr_len < _NLATTR.size or offset + attr_len > len(payload):
            raise _SockDiagUnavailable(f"malformed netlink attribute (length {attr_len})")
        attrs[attr_type & _NLA_TYPE_MASK] = payload[offset + _NLATTR.size : offset + attr_len]
        offset += _align4(attr_len)
    return attrs


def _has_room(attrs: Dict[int, bytes], attr_type: int, size: int) -> bool:
    """Whether the attribute is present and long enough to decode."""
    return len(attrs.get(attr_type, b"")) >= size


def _align4(length: int) -> int:
    """NLMSG_ALIGN / NLA_ALIGN."""
    return (length + 3) & ~3


def kernel_dev_to_major_minor(kernel_dev: int) -> Tuple[int, int]:
    """Split the device number found in ``unix_diag_vfs.udiag_vfs_dev``.

    The kernel copies ``d_sb->s_dev`` there as is: the kernel-internal dev_t (major << 20 | minor), not the
    "new_encode_dev" form that stat() returns (os.stat's st_dev, which os.major()/os.minor() decode).  The
    two only agree for major 0 and minor < 256, so the raw numbers must never be compared directly.

    :param kernel_dev: the ``udiag_vfs_dev`` value.
    :returns: ``(major, minor)``, comparable with ``(os.major(st.st_dev), os.minor(st.st_dev))``.
    """
    return kernel_dev >> _KDEV_MINORBITS, kernel_dev & _KDEV_MINORMASK


def _same_file(vfs: Optional[Tuple[int, int]], file_stat: os.stat_result) -> bool:
    """Whether a socket's UNIX_DIAG_VFS designates the stat()ed socket file."""
    if vfs is None:
        return False
    vfs_ino, vfs_dev = vfs
    if vfs_ino != file_stat.st_ino & _VFS_INO_MASK:
        return False
    return kernel_dev_to_major_minor(vfs_dev) == (os.major(file_stat.st_dev), os.minor(file_stat.st_dev))


def _entries_from_diag(diag_sockets: List[_DiagSocket], file_stat: os.stat_result) -> Tuple[UnixSocketEntry, ...]:
    """Keep the sockets bound to the socket file and give each a role; queued ones come from listeners' icons."""
    entries: List[UnixSocketEntry] = []
    for diag in diag_sockets:
        if _same_file(diag.vfs, file_stat):
            entries.extend(_diag_to_entries(diag))
    return tuple(entries)


def _diag_to_entries(diag: _DiagSocket) -> List[UnixSocketEntry]:
    """The entry for one matched socket, followed, for a listener, by one entry per queued connection."""
    if diag.sock_type not in CONNECTION_TYPES:
        return [UnixSocketEntry(diag.inode, ROLE_BOUND, None, diag.sock_type, diag.shutdown)]
    if diag.state == _TCP_LISTEN:
        listener = UnixSocketEntry(diag.inode, ROLE_LISTENER, None, diag.sock_type, diag.shutdown)
        # Queued connections have no inode until accepted, so the dump omits them; the listener's
        # icons carry the inode of each waiting client (0 once that client has closed).
        queued = [UnixSocketEntry(0, ROLE_QUEUED, client, diag.sock_type, None) for client in diag.icons]
        return [listener] + queued
    if diag.state == _TCP_ESTABLISHED:
        # A path-bound established socket is a server end (the client side of a connection has no
        # address unless it bound one itself).  A missing UNIX_DIAG_PEER means there is no peer at all.
        peer = diag.peer if diag.peer is not None else 0
        return [UnixSocketEntry(diag.inode, ROLE_CONNECTED, peer, diag.sock_type, diag.shutdown)]
    return [UnixSocketEntry(diag.inode, ROLE_BOUND, None, diag.sock_type, diag.shutdown)]


# --- /proc/net/unix fallback -------------------------------------------------


# --- verdict -----------------------------------------------------------------


def _judge(entries: Tuple[UnixSocketEntry, ...], source: str, fallback_why: str = "", unverifiable: int = 0) -> MonitorUsage:
    """Decide busy / free / unknown from the matched entries."""
    listening = any(entry.role == ROLE_LISTENER for entry in entries)
    queued = [entry for entry in entries if entry.role == ROLE_QUEUED]
    connected = [entry for entry in entries if entry.role == ROLE_CONNECTED]
    live = [entry for entry in connected if entry.peer_inode]
    unknown = [entry for entry in connected if entry.peer_inode is None]
    stale = [entry for entry in connected if entry.peer_gone]

    if queued or live:
        reason = "; ".join(part for part in (_describe_queued(queued), _describe_live(live)) if part)
        return MonitorUsage(True, reason, listening, entries, source)
    if unknown:
        reason = (
            f"{_plural(len(unknown), 'established connection')} on the socket; {source} does not show whether its client "
            f"is still alive (sock_diag unavailable: {fallback_why})"
        )
        return MonitorUsage(None, reason, listening, entries, source)
    if not entries and unverifiable:
        reason = (
            f"no socket matched by path in {source}, but {_plural(unverifiable, 'socket')} bound to a relative path with "
            f"the same name may be this one (sock_diag unavailable: {fallback_why})"
        )
        return MonitorUsage(None, reason, listening, entries, source)
    if not listening:
        return MonitorUsage(False, "no listener: nothing serves this socket", listening, entries, source)
    reason = "listener idle: no client connected"
    if stale:
        reason += f" ({_plural(len(stale), 'server end')} left open after the client closed)"
    return MonitorUsage(False, reason, listening, entries, source)


def _describe_queued(queued: List[UnixSocketEntry]) -> str:
    """E.g. "1 connection queued" or "2 connections queued (1 whose client already closed)"."""
    if not queued:
        return ""
    text = f"{_plural(len(queued), 'connection')} queued"
    gone = sum(1 for entry in queued if entry.peer_gone)
    if gone:
        text += f" ({gone} whose client already closed)"
    return text


def _describe_live(live: List[UnixSocketEntry]) -> str:
    """E.g. "1 client connected (peer inode 1234)"."""
    if not live:
        return ""
    label = "peer inode" if len(live) == 1 else "peer inodes"
    inodes = ", ".join(str(entry.peer_inode) for entry in live)
    return f"{_plural(len(live), 'client')} connected ({label} {inodes})"


def _plural(count: int, noun: str) -> str:
    """ "1 client", "2 clients"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
