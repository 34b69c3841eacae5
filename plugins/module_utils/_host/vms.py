# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The StratoVirt VMs a host runs, read from ``/proc`` without touching any monitor.

Private to the stratovirt.qmp collection: may change in any release.

A process is taken for a StratoVirt VM when its command line, read as the device modules read the command line of
the process behind a socket (``_host.process.command_line``, every option anywhere in argv, spelt ``-opt`` or
``--opt``), names a Unix QMP monitor the way StratoVirt requires it (``-qmp unix:PATH,server,nowait``, or a
control ``-mon`` on a ``-chardev socket,...,server,nowait``), and it is the process that listens on that socket.
Its executable's name is not read: a VM may be started through a wrapper or a renamed binary.

Any process can name any path in its command line, so a claim is kept only when the claimant holds the listening
socket bound to that file (``_host.socket_owner``): one socket file (device and inode) is one monitor, attributed to the
process that serves it; the other processes naming it are impostors, and no monitor is ever read on their behalf.
A socket nobody listens on stays with the processes naming it (the read then says nothing serves it). Only the
monitor's greeting and ``query-version`` prove it is StratoVirt, which ``_report.host_vms_info`` reads when it is free.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

from .._dialect.cmdline import MACHINE_NAMES, machine_type, qmp_sockets, vm_name
from .process import VMProcessError, command_line, path_identity
from .._qmp.monitor_usage import listeners_by_file
from .socket_owner import holds_socket, listener_inodes, socket_file_identity, socket_holders


class HostVM(NamedTuple):
    """One VM process as its command line shows it."""

    pid: int
    name: Optional[str]
    sockets: List[str]  # absolute, as this host names them (a relative -qmp path is read from the VM's cwd)
    machine: Optional[str]  # micro, standard, or None when the command line does not tell
    argv: List[str]


def _absolute(pid: int, path: str) -> str:
    if os.path.isabs(path):
        return path
    try:
        return os.path.join(os.readlink('/proc/%d/cwd' % pid), path)
    except OSError:  # not ours to read: keep the path as the VM wrote it
        return path


def host_vm(pid: int, argv: List[str]) -> Optional[HostVM]:
    """:returns: the VM that ``argv`` (the command line of ``pid``) describes, None if it names no QMP monitor."""
    sockets = qmp_sockets(argv)
    if not sockets:
        return None
    written = (machine_type(argv) or '').split(',')[0]
    return HostVM(pid, vm_name(argv), [_absolute(pid, path) for path in sockets], MACHINE_NAMES.get(written), argv)


class Impostor(NamedTuple):
    """A process whose command line names monitors it does not serve."""

    vm: HostVM
    msg: str


def running_vms() -> List[HostVM]:
    """Every process of this host serving a StratoVirt monitor its command line names, by pid (see
    :func:`host_processes`).

    :raises VMProcessError: /proc cannot be listed.
    """
    return host_processes()[0]


def host_processes() -> Tuple[List[HostVM], List[Impostor]]:
    """The processes whose command line names a QMP monitor: those serving it (each with the sockets it serves), and
    the impostors.

    :raises VMProcessError: /proc cannot be listed.
    """
    return attribute(claimants())


def claimants() -> List[HostVM]:
    """Every process of this host whose command line names a QMP monitor, by pid, whether it serves it or not.

    Processes that exit during the scan, kernel threads and zombies are skipped.

    :raises VMProcessError: /proc cannot be listed.
    """
    try:
        pids = sorted(int(name) for name in os.listdir('/proc') if name.isdigit())
    except OSError as exc:
        raise VMProcessError('cannot list /proc: %s' % exc) from exc
    found = []
    own = os.getpid()
    for pid in pids:
        if pid == own:
            continue
        try:
            argv = command_line(pid)
        except VMProcessError:
            continue
        vm = host_vm(pid, argv)
        if vm is not None:
            found.append(vm)
    return found


def attribute(claiming: List[HostVM]) -> Tuple[List[HostVM], List[Impostor]]:
    """Give each monitor socket (by device and inode) to the one process listening on it.

    :returns: the processes that serve at least one socket they name (with those sockets only, and the sockets nobody
        listens on), and the others with why they are impostors.
    """
    by_file: Dict[object, List[Tuple[HostVM, str]]] = {}
    for vm in claiming:
        for path in vm.sockets:
            identity = socket_file_identity(path)
            by_file.setdefault(identity if identity is not None else socket_key(path), []).append((vm, path))
    kept: Set[Tuple[int, str]] = set()
    refused: Dict[int, List[str]] = {}
    # One read of the kernel's socket table for every monitor of the host (a dump per monitor costs N dumps of N).
    listeners = listeners_by_file() if by_file else None
    for named in by_file.values():
        inodes = listener_inodes(named[0][1], listeners)
        if not inodes:  # nothing listens (or no such file): nobody proves or disproves a claim
            kept.update((vm.pid, path) for vm, path in named)
            continue
        holding = [(vm, path) for vm, path in named if holds_socket(vm.pid, inodes)]
        if holding:
            owner, path = holding[0]  # several holders share an inherited descriptor: the first (oldest pid) serves
            kept.add((owner.pid, path))
            why = 'process %d serves it' % owner.pid
        else:
            holders = socket_holders(inodes)
            why = 'process %s serves it' % ', '.join(str(pid) for pid in holders) if holders else 'another process serves it'
        for vm, path in named:
            if not holding or vm.pid != holding[0][0].pid:
                refused.setdefault(vm.pid, []).append('names the monitor %s, but %s' % (path, why))
    vms, impostors = [], []
    for vm in claiming:
        served = [path for path in vm.sockets if (vm.pid, path) in kept]
        if served:
            vms.append(vm._replace(sockets=served))
        else:
            impostors.append(Impostor(vm, 'not a VM: its command line %s' % '; '.join(refused.get(vm.pid, []))))
    return vms, impostors


def socket_key(path: str) -> object:
    """What makes two names of a monitor one monitor: the socket file (device and inode: a hard link or a symlink
    to it is the same monitor), else, for a socket that is not there, its real path."""
    identity = path_identity(path)
    return identity if identity is not None else ('path', os.path.realpath(path))


def compare_declared(declared: Iterable[dict], running: List[HostVM]) -> Dict[str, list]:
    """Declared VMs (``name``, ``socket``) against the running ones.

    :returns: ``not_running``, the names of declared VMs no running VM serves; ``undeclared``, the running VMs none of
        whose monitors is declared (pid, name, sockets).
    """
    by_socket = {socket_key(path): vm for vm in running for path in vm.sockets}
    declared_keys = set()
    not_running = []
    for vm in declared:
        key = socket_key(vm['socket'])
        declared_keys.add(key)
        if key not in by_socket:
            not_running.append(vm['name'])
    undeclared = [
        {'pid': vm.pid, 'name': vm.name, 'sockets': vm.sockets} for vm in running if not any(socket_key(path) in declared_keys for path in vm.sockets)
    ]
    return {'not_running': not_running, 'undeclared': undeclared}
