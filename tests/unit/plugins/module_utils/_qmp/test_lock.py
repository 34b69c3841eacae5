# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-VM lock serialises runs, across processes, and gives up after its timeout."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.errors import QMPConnectionError, QMPLockTimeout
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.lock import VMLock, lock_path_for

HOLD_SCRIPT = '''
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
'''


def test_lock_file_sits_next_to_the_socket_and_is_owner_only(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    with VMLock(sock, timeout=1) as lock:
        with pytest.raises(QMPLockTimeout):
            VMLock(sock, timeout=0).acquire()  # held: a second holder is refused
        assert lock.path == lock_path_for(sock) == os.path.realpath(sock) + '.lock'
        assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o600
    with VMLock(sock, timeout=0):  # released on leaving the block
        pass


def test_second_holder_waits_then_times_out(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    holder = subprocess.Popen([sys.executable, '-c', HOLD_SCRIPT, lock_path_for(sock), '5'], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b'held\n'
        started = time.monotonic()
        with pytest.raises(QMPLockTimeout, match='another stratovirt.qmp run has held the lock'):
            VMLock(sock, timeout=0.3).acquire()
        assert 0.3 <= time.monotonic() - started < 2
    finally:
        holder.kill()
        holder.wait()


def test_lock_is_taken_once_the_holder_is_gone(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    holder = subprocess.Popen([sys.executable, '-c', HOLD_SCRIPT, lock_path_for(sock), '0.5'], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b'held\n'
        started = time.monotonic()
        with VMLock(sock, timeout=5):
            assert time.monotonic() - started >= 0.3
    finally:
        holder.wait()


def test_lock_file_that_cannot_be_created_is_a_connection_error(tmp_path):
    with pytest.raises(QMPConnectionError, match='cannot open the lock file .*must be writable'):
        VMLock(str(tmp_path / 'missing-dir' / 'qmp.sock'), timeout=0.1).acquire()


# -- issue 10.5: a lock file planted in a world-writable socket directory -------------------------


def test_a_dangling_symlink_at_the_lock_path_is_refused_and_its_target_not_created(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    target = tmp_path / 'elsewhere' / 'created-by-root'
    target.parent.mkdir()
    os.symlink(str(target), lock_path_for(sock))
    with pytest.raises(QMPConnectionError, match='is a symlink, which is never followed'):
        VMLock(sock, timeout=1).acquire()
    assert not target.exists()


def test_a_hard_link_at_the_lock_path_is_refused(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    precious = tmp_path / 'precious'
    precious.write_text('keep me\n')
    os.link(str(precious), lock_path_for(sock))
    with pytest.raises(QMPConnectionError, match='has 2 hard links'):
        VMLock(sock, timeout=1).acquire()
    assert precious.read_text() == 'keep me\n'


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give the file away')
def test_a_lock_file_of_another_user_is_refused(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    with open(lock_path_for(sock), 'w', encoding='utf-8'):
        pass
    os.chown(lock_path_for(sock), 65534, 65534)
    with pytest.raises(QMPConnectionError, match='is owned by uid 65534'):
        VMLock(sock, timeout=1).acquire()


def test_a_fifo_at_the_lock_path_is_refused_without_hanging(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    os.mkfifo(lock_path_for(sock))
    with pytest.raises(QMPConnectionError, match='is not a regular file'):
        VMLock(sock, timeout=1).acquire()
