# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for plugins/module_utils/_qmp/proc_net_unix.py: the /proc/net/unix fallback of monitor_usage, on real Unix sockets.

The sock_diag netlink socket is made to fail so that the fallback runs; the kernel's table is read as it is.
"""

from __future__ import annotations

import errno
import os
import socket

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp import monitor_usage as unix_diag
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp import proc_net_unix as unix_proc
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.monitor_usage import UnixDiagError, UnixSocketEntry, monitor_usage

# sockets: the fixture of test__unix_diag, which closes what a test opened.
from test_monitor_usage import accept, connect, inode, listen, only, roles, sockets  # noqa: F401  pylint: disable=unused-import


@pytest.fixture
def no_sock_diag(monkeypatch):
    """Make opening the netlink socket fail as it does without permission, so the /proc fallback runs."""

    def refuse():
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(unix_diag, "_open_sock_diag", refuse)


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.EPERM, os.strerror(errno.EPERM)),
        OSError(errno.EPROTONOSUPPORT, os.strerror(errno.EPROTONOSUPPORT)),
        AttributeError("module 'socket' has no attribute 'AF_NETLINK'"),
    ],
    ids=["EPERM", "EPROTONOSUPPORT", "no-AF_NETLINK"],
)
def test_fallback_queued_is_busy(tmp_path, sockets, monkeypatch, failure):
    def refuse():
        raise failure

    monkeypatch.setattr(unix_diag, "_open_sock_diag", refuse)
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path, backlog=1)
    connect(sockets, path)
    accept(sockets, listener)
    connect(sockets, path)

    usage = monitor_usage(path)

    assert usage.source == unix_proc.SOURCE_PROC_NET_UNIX
    assert usage.in_use is True
    assert usage.listening is True
    assert roles(usage) == ["connected", "listener", "queued"]
    assert all(entry.peer_inode is None for entry in usage.entries)
    assert usage.reason == "1 connection queued"


@pytest.mark.usefixtures("no_sock_diag")
def test_fallback_connected_is_unknown(tmp_path, sockets):
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)
    connect(sockets, path)
    server_end = accept(sockets, listener)

    usage = monitor_usage(path)

    assert usage.in_use is None
    assert usage.listening is True
    assert only(usage, "connected").inode == inode(server_end)
    assert only(usage, "connected").peer_inode is None
    assert "EPERM" in usage.reason


@pytest.mark.usefixtures("no_sock_diag")
def test_fallback_stale_end_is_unknown_too(tmp_path, sockets):
    # /proc/net/unix shows the stale end exactly like a live one: no guess either way.
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)
    connect(sockets, path).close()
    accept(sockets, listener)

    assert monitor_usage(path).in_use is None


@pytest.mark.usefixtures("no_sock_diag")
def test_fallback_idle_listener_is_free(tmp_path, sockets):
    path = str(tmp_path / "qmp.sock")
    listener = listen(sockets, path)

    usage = monitor_usage(path)

    assert (usage.in_use, usage.listening, usage.source) == (False, True, unix_proc.SOURCE_PROC_NET_UNIX)
    assert usage.entries == (UnixSocketEntry(inode(listener), "listener", None, socket.SOCK_STREAM, None),)


@pytest.mark.usefixtures("no_sock_diag")
def test_fallback_without_listener_is_free(tmp_path, sockets):
    path = str(tmp_path / "gone.sock")
    listen(sockets, path).close()

    usage = monitor_usage(path)

    assert (usage.in_use, usage.listening, usage.entries) == (False, False, ())


@pytest.mark.usefixtures("no_sock_diag")
def test_fallback_relative_bind_matched_when_queried_as_bound(tmp_path, sockets, monkeypatch):
    monkeypatch.chdir(tmp_path)
    listener = listen(sockets, "qmp.sock")
    connect(sockets, "qmp.sock")

    usage = monitor_usage("qmp.sock")

    assert usage.in_use is True
    assert only(usage, "listener").inode == inode(listener)
    assert only(usage, "queued").inode == 0


@pytest.mark.usefixtures("no_sock_diag")
def test_fallback_relative_bind_queried_by_absolute_path_is_unknown(tmp_path, sockets, monkeypatch):
    # The table holds "qmp.sock", which cannot be tied to our absolute path: do not claim "no listener".
    monkeypatch.chdir(tmp_path)
    listen(sockets, "qmp.sock")
    monkeypatch.chdir("/")

    usage = monitor_usage(str(tmp_path / "qmp.sock"))

    assert usage.in_use is None
    assert usage.listening is False
    assert "relative path" in usage.reason


@pytest.mark.usefixtures("no_sock_diag")
def test_fallback_matches_through_symlinked_directory(tmp_path, sockets):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    os.symlink(str(real_dir), str(tmp_path / "link"))
    listener = listen(sockets, str(tmp_path / "link" / "qmp.sock"))  # bound through the symlink

    usage = monitor_usage(str(real_dir / "qmp.sock"))

    assert (usage.in_use, usage.listening) == (False, True)
    assert only(usage, "listener").inode == inode(listener)


@pytest.mark.usefixtures("no_sock_diag")
def test_fallback_unreadable_proc_raises(tmp_path, sockets, monkeypatch):
    path = str(tmp_path / "qmp.sock")
    listen(sockets, path)
    monkeypatch.setattr(unix_proc, "PROC_NET_UNIX", str(tmp_path / "missing"))

    with pytest.raises(UnixDiagError, match=r"EPERM.*ENOENT"):
        monitor_usage(path)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("0000000000000000: 00000002 00000000 00010000 0001 01  5389 /run/vm/qmp.sock", (0x10000, 1, 1, 5389, "/run/vm/qmp.sock")),
        ("0000000000000000: 00000003 00000000 00000000 0001 02     0 /tmp/with space.sock", (0, 1, 2, 0, "/tmp/with space.sock")),
        ("0000000000000000: 00000003 00000000 00000000 0001 03  5391 qmp.sock", (0, 1, 3, 5391, "qmp.sock")),
        ("0000000000000000: 00000002 00000000 00000000 0001 03  5390", None),
        ("garbage", None),
    ],
    ids=["listener", "queued-with-space", "relative", "unbound", "garbage"],
)
def test_parse_proc_net_unix_line(line, expected):
    assert unix_proc.parse_proc_net_unix_line(line) == expected
