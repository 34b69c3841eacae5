# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for plugins/module_utils/_qmp/monitor_usage.py, on real Unix sockets under tmp_path.

The kernel is never mocked, except that some tests make the sock_diag netlink socket fail to force the
/proc/net/unix fallback (its own cases are in test__unix_proc.py, which shares the helpers here).  Each scenario reproduces what StratoVirt's QMP monitor does.
"""

from __future__ import annotations

import errno
import os
import socket
import struct

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp import monitor_usage as unix_diag

monitor_usage = unix_diag.monitor_usage
UnixDiagError = unix_diag.UnixDiagError


# --- helpers -----------------------------------------------------------------


@pytest.fixture
def sockets():
    """Collects the sockets a test opens and closes them at teardown, so no test leaks into another."""
    opened = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.fixture
def sock_diag():
    """Skip (rather than silently test the fallback) where this kernel or sandbox refuses sock_diag sockets."""
    try:
        probe = unix_diag._open_sock_diag()
    except (AttributeError, OSError) as exc:
        pytest.skip(f"sock_diag netlink unavailable here: {exc}")
    probe.close()


def listen(sockets, path, backlog=4):
    """A listening stream socket bound to path (like StratoVirt's QMP monitor)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sockets.append(listener)
    listener.bind(path)
    listener.listen(backlog)
    return listener


def connect(sockets, path):
    """A client connected to path; it sits in the backlog until the server accepts it."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sockets.append(client)
    client.connect(path)
    return client


def accept(sockets, listener):
    """Accept one queued connection and keep the server end open."""
    server_end, dummy_address = listener.accept()
    sockets.append(server_end)
    return server_end


def inode(sock):
    """The socket's inode, as the kernel reports it in sock_diag and /proc/net/unix."""
    return os.fstat(sock.fileno()).st_ino


def roles(usage):
    """Roles of the matched entries, in a stable order for comparison."""
    return sorted(entry.role for entry in usage.entries)


def only(usage, role):
    """The single entry with that role."""
    matching = [entry for entry in usage.entries if entry.role == role]
    assert len(matching) == 1, usage
    return matching[0]


# --- sock_diag: the scenarios that matter for StratoVirt ---------------------------


@pytest.mark.usefixtures("sock_diag")
def test_listener_without_client_is_free(tmp_path, sockets):
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)

    usage = monitor_usage(path)

    assert usage.in_use is False
    assert usage.listening is True
    assert usage.source == unix_diag.SOURCE_SOCK_DIAG
    assert usage.reason == "listener idle: no client connected"
    assert usage.entries == (unix_diag.UnixSocketEntry(inode(listener), "listener", None, socket.SOCK_STREAM, 0),)


@pytest.mark.usefixtures("sock_diag")
def test_accepted_live_client_is_busy(tmp_path, sockets):
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)
    client = connect(sockets, path)
    server_end = accept(sockets, listener)

    usage = monitor_usage(path)

    assert usage.in_use is True
    assert usage.listening is True
    assert roles(usage) == ["connected", "listener"]
    connected = only(usage, "connected")
    assert connected.inode == inode(server_end)
    assert connected.peer_inode == inode(client)
    assert usage.reason == f"1 client connected (peer inode {inode(client)})"


@pytest.mark.usefixtures("sock_diag")
def test_stale_server_end_after_client_closed_is_free(tmp_path, sockets):
    # StratoVirt 2.1.0 keeps its end of the last connection open until it accepts the next client.
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)
    client = connect(sockets, path)
    server_end = accept(sockets, listener)
    client.close()

    usage = monitor_usage(path)

    assert usage.in_use is False
    assert usage.listening is True
    assert roles(usage) == ["connected", "listener"]
    stale = only(usage, "connected")
    assert stale.inode == inode(server_end)
    assert stale.peer_inode == 0
    assert stale.peer_gone is True
    assert stale.shutdown == 3  # the kernel shut both directions down when the client closed
    assert usage.reason == "listener idle: no client connected (1 server end left open after the client closed)"


@pytest.mark.usefixtures("sock_diag")
def test_second_client_queued_behind_accepted_one_is_busy(tmp_path, sockets):
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path, backlog=1)
    first = connect(sockets, path)
    accept(sockets, listener)
    second = connect(sockets, path)

    usage = monitor_usage(path)

    assert usage.in_use is True
    assert roles(usage) == ["connected", "listener", "queued"]
    queued = only(usage, "queued")
    assert queued.inode == 0  # not accepted yet: no socket inode on the server side
    assert queued.peer_inode == inode(second)
    assert only(usage, "connected").peer_inode == inode(first)
    assert usage.reason == f"1 connection queued; 1 client connected (peer inode {inode(first)})"


@pytest.mark.usefixtures("sock_diag")
def test_queued_client_behind_stale_end_is_busy(tmp_path, sockets):
    # The dangerous case: the previous client left, StratoVirt has not accepted the next one yet.
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)
    first = connect(sockets, path)
    accept(sockets, listener)
    first.close()
    second = connect(sockets, path)

    usage = monitor_usage(path)

    assert usage.in_use is True
    assert only(usage, "queued").peer_inode == inode(second)
    assert only(usage, "connected").peer_inode == 0
    assert usage.reason == "1 connection queued"


@pytest.mark.usefixtures("sock_diag")
def test_queued_client_that_gave_up_still_counts_as_queued(tmp_path, sockets):
    # The connection stays in the backlog after its client closed; the next accept() would get it.
    path = str(tmp_path / "qmp.sock")
    listen(sockets, path)
    client = connect(sockets, path)
    client.close()

    usage = monitor_usage(path)

    assert usage.in_use is True
    assert roles(usage) == ["listener", "queued"]
    assert only(usage, "queued").peer_inode == 0
    assert usage.reason == "1 connection queued (1 whose client already closed)"


@pytest.mark.usefixtures("sock_diag")
def test_socket_file_without_listener_is_free(tmp_path, sockets):
    path = str(tmp_path / "gone.sock")
    listen(sockets, path).close()  # the server went away and left its socket file behind

    usage = monitor_usage(path)

    assert usage.in_use is False
    assert usage.listening is False
    assert usage.entries == ()
    assert usage.reason == "no listener: nothing serves this socket"


@pytest.mark.usefixtures("sock_diag")
def test_relative_bind_is_matched_by_inode(tmp_path, sockets, monkeypatch):
    # StratoVirt may be started with "-qmp unix:qmp.sock,server,nowait" from its own working directory.
    monkeypatch.chdir(tmp_path)
    listener = listen(sockets, "qmp.sock")
    client = connect(sockets, "qmp.sock")
    accept(sockets, listener)
    monkeypatch.chdir("/")  # we look from elsewhere, with the absolute path

    usage = monitor_usage(str(tmp_path / "qmp.sock"))

    assert usage.in_use is True
    assert usage.listening is True
    assert only(usage, "connected").peer_inode == inode(client)


@pytest.mark.usefixtures("sock_diag")
def test_relative_query_path_is_accepted(tmp_path, sockets, monkeypatch):
    listen(sockets, str(tmp_path / "qmp.sock"))
    monkeypatch.chdir(tmp_path)

    usage = monitor_usage("qmp.sock")

    assert (usage.in_use, usage.listening, roles(usage)) == (False, True, ["listener"])


@pytest.mark.usefixtures("sock_diag")
def test_symlink_to_socket_is_followed(tmp_path, sockets):
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)
    connect(sockets, path)
    os.symlink(path, str(tmp_path / "link.sock"))

    usage = monitor_usage(str(tmp_path / "link.sock"))

    assert usage.in_use is True
    assert only(usage, "listener").inode == inode(listener)


@pytest.mark.usefixtures("sock_diag")
def test_old_listener_on_replaced_file_is_not_confused_with_new_one(tmp_path, sockets):
    # A busy listener whose file was unlinked, and a new idle one bound at the same path: same path
    # string, different files.  Matching by (dev, inode) judges only the socket the path leads to now.
    path = str(tmp_path / "qmp.sock")
    old_listener = listen(sockets, path)
    connect(sockets, path)
    accept(sockets, old_listener)
    os.unlink(path)
    new_listener = listen(sockets, path)

    usage = monitor_usage(path)

    assert usage.in_use is False
    assert usage.entries == (unix_diag.UnixSocketEntry(inode(new_listener), "listener", None, socket.SOCK_STREAM, 0),)


# --- device number encoding in unix_diag_vfs ----------------------------------------


def test_vfs_dev_is_the_kernel_internal_dev_t():
    # udiag_vfs_dev carries d_sb->s_dev (major << 20 | minor); stat() returns the new_encode_dev() form.
    assert unix_diag.kernel_dev_to_major_minor((254 << 20) | 0) == (254, 0)
    assert unix_diag.kernel_dev_to_major_minor((8 << 20) | 0x12345) == (8, 0x12345)
    assert unix_diag.kernel_dev_to_major_minor(0x2A) == (0, 0x2A)
    # Comparing the raw numbers would be wrong for any device other than major 0, minor < 256.
    assert os.makedev(254, 0) != (254 << 20)
    assert os.makedev(0, 0x2A) == 0x2A


@pytest.mark.usefixtures("sock_diag")
def test_vfs_dev_reported_by_this_kernel_decodes_to_st_dev(tmp_path, sockets):
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)
    file_stat = os.stat(path)

    mine = [diag for diag in unix_diag._dump_unix_sockets() if diag.inode == inode(listener)]

    assert len(mine) == 1
    vfs_ino, vfs_dev = mine[0].vfs
    assert vfs_ino == file_stat.st_ino & 0xFFFFFFFF
    assert unix_diag.kernel_dev_to_major_minor(vfs_dev) == (os.major(file_stat.st_dev), os.minor(file_stat.st_dev))


# --- errors on the path itself --------------------------------------------------------


def test_missing_path_raises(tmp_path):
    with pytest.raises(UnixDiagError, match="does not exist"):
        monitor_usage(str(tmp_path / "absent.sock"))


@pytest.mark.parametrize(
    "make",
    [
        lambda path: path.write_text("not a socket"),
        lambda path: path.mkdir(),
    ],
    ids=["regular-file", "directory"],
)
def test_path_that_is_not_a_socket_raises(tmp_path, make):
    path = tmp_path / "qmp.sock"
    make(path)

    with pytest.raises(UnixDiagError, match="is not a Unix socket"):
        monitor_usage(str(path))


# --- netlink reply parsing (crafted replies through a socketpair) --------------------


def _nlmsg(msg_type, seq, payload):
    """One netlink message, padded to 4 bytes."""
    header = struct.pack("=IHHII", 16 + len(payload), msg_type, 0x2, seq, 0)
    padding = b"\0" * ((4 - len(payload) % 4) % 4)
    return header + payload + padding


def _unix_diag_msg(ino, state, vfs=None, peer=None, icons=()):
    """A unix_diag_msg with optional VFS, PEER and ICONS attributes."""
    body = struct.pack("=BBBBIII", socket.AF_UNIX, socket.SOCK_STREAM, state, 0, ino, 0, 0)
    if vfs is not None:
        body += struct.pack("=HHII", 12, 1, *vfs)
    if peer is not None:
        body += struct.pack("=HHI", 8, 2, peer)
    if icons:
        body += struct.pack("=HH", 4 + 4 * len(icons), 3) + b"".join(struct.pack("=I", icon) for icon in icons)
    return body


def _replay(datagrams, seq=unix_diag._DUMP_SEQ, vfs_attribute=None):
    """Feed crafted datagrams to the reply reader, as if the kernel had sent them."""
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with reader, writer:
        reader.settimeout(2)  # a reader that misses the end of the reply fails instead of hanging
        for datagram in datagrams:
            writer.send(datagram)
        return unix_diag._receive_dump(reader, seq, vfs_attribute)


def test_multipart_reply_is_read_until_done_and_foreign_messages_skipped():
    seq = unix_diag._DUMP_SEQ
    first = _nlmsg(20, seq, _unix_diag_msg(10, 10, vfs=(77, 254 << 20), icons=(31, 0)))
    foreign = _nlmsg(20, seq + 1, _unix_diag_msg(99, 1))
    second = _nlmsg(20, seq, _unix_diag_msg(11, 1, vfs=(77, 254 << 20), peer=30))
    done = _nlmsg(3, seq, struct.pack("=i", 0))

    parsed = _replay([first + foreign, second, done])

    assert [(diag.inode, diag.state, diag.vfs, diag.peer, diag.icons) for diag in parsed] == [
        (10, 10, (77, 254 << 20), None, (31, 0)),
        (11, 1, (77, 254 << 20), 30, ()),
    ]


def test_nlmsg_error_makes_sock_diag_unavailable():
    # ENOENT is what sock_diag answers when the unix_diag module cannot be loaded.
    error = _nlmsg(2, unix_diag._DUMP_SEQ, struct.pack("=i", -errno.ENOENT) + b"\0" * 16)

    with pytest.raises(unix_diag._SockDiagUnavailable, match="ENOENT"):
        _replay([error])


def test_truncated_message_makes_sock_diag_unavailable():
    bogus = struct.pack("=IHHII", 200, 20, 0, unix_diag._DUMP_SEQ, 0)

    with pytest.raises(unix_diag._SockDiagUnavailable, match="malformed"):
        _replay([bogus])


@pytest.mark.usefixtures("sock_diag")
def test_kernel_error_reply_falls_back_to_proc(tmp_path, sockets, monkeypatch):
    # A real NLMSG_ERROR from this kernel (family 255 does not exist) must lead to the fallback, not a crash.
    def bad_request(seq):
        request = struct.pack("=BBHIIIII", 255, 0, 0, 0xFFFFFFFF, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF)
        return struct.pack("=IHHII", 16 + len(request), 20, 0x301, seq, 0) + request

    monkeypatch.setattr(unix_diag, "_build_dump_request", bad_request)
    path = str(tmp_path / "qmp.sock")
    listen(sockets, path)

    usage = monitor_usage(path)

    assert usage.source == unix_diag.SOURCE_PROC_NET_UNIX
    assert (usage.in_use, usage.listening) == (False, True)


# --- density: a host of many monitors -------------------------------------------


@pytest.mark.usefixtures("sock_diag")
def test_a_check_decodes_only_the_sockets_of_its_own_file(tmp_path, sockets, monkeypatch):
    """On a host of a thousand VMs, one monitor's check must not decode the thousands of others' sockets."""
    others = [listen(sockets, str(tmp_path / ("other%d.sock" % number))) for number in range(50)]
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)
    client = connect(sockets, path)
    decoded = []
    real_parse = unix_diag._parse_unix_diag_msg
    monkeypatch.setattr(unix_diag, "_parse_unix_diag_msg", lambda payload: decoded.append(1) or real_parse(payload))

    usage = monitor_usage(path)

    assert usage.in_use is True
    assert only(usage, "listener").inode == inode(listener)
    assert only(usage, "queued").peer_inode == inode(client)
    assert len(decoded) < len(others)


@pytest.mark.usefixtures("sock_diag")
def test_listeners_by_file_is_the_listener_of_each_file_in_one_dump(tmp_path, sockets, monkeypatch):
    paths = [str(tmp_path / ("vm%d.sock" % number)) for number in range(3)]
    listeners = [listen(sockets, path) for path in paths]
    connect(sockets, paths[0])
    accept(sockets, listeners[0])  # an accepted server end is bound to the file too, but is no listener
    dumps = []
    real_dump = unix_diag._dump_unix_sockets
    monkeypatch.setattr(unix_diag, "_dump_unix_sockets", lambda *args: dumps.append(args) or real_dump(*args))

    index = unix_diag.listeners_by_file()

    assert len(dumps) == 1
    for path, listener in zip(paths, listeners):
        assert index[unix_diag.socket_file_key(os.stat(path))] == frozenset([inode(listener)])


def test_listeners_by_file_is_none_without_sock_diag(monkeypatch):
    def refuse(*args):
        raise unix_diag._SockDiagUnavailable("no netlink here")

    monkeypatch.setattr(unix_diag, "_dump_unix_sockets", refuse)
    assert unix_diag.listeners_by_file() is None


def test_a_filtered_dump_keeps_the_file_s_sockets_and_still_sees_the_end_and_errors():
    seq = unix_diag._DUMP_SEQ
    wanted = struct.pack("=HHII", 12, 1, 77, 254 << 20)
    others = b"".join(_nlmsg(20, seq, _unix_diag_msg(100 + number, 10, vfs=(500 + number, 254 << 20))) for number in range(20))
    mine = _nlmsg(20, seq, _unix_diag_msg(10, 10, vfs=(77, 254 << 20), icons=(31,)))
    done = _nlmsg(3, seq, struct.pack("=i", 0))

    parsed = _replay([others, others + mine, others + done], vfs_attribute=wanted)

    assert [(diag.inode, diag.icons) for diag in parsed] == [(10, (31,))]
    error = _nlmsg(2, seq, struct.pack("=i", -errno.ENOENT) + b"\0" * 16)
    with pytest.raises(unix_diag._SockDiagUnavailable, match="ENOENT"):
        _replay([others + error], vfs_attribute=wanted)
    with pytest.raises(unix_diag._SockDiagUnavailable, match="malformed"):
        _replay([others + struct.pack("=IHHII", 200, 20, 0, seq, 0)], vfs_attribute=wanted)
