# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throwaway real StratoVirt VMs: a bare-metal guest built here, a VM started from a given binary, a raw QMP session.

Standard library only, and nothing of the collection: what these VMs answer is measured, not assumed. A micro VM
boots the guest built by :func:`build_guest` (a halt loop: the hypervisor jumps to it in 64-bit mode); a standard
VM boots the UEFI firmware of Debian's ``ovmf`` package, which never hands over to an OS here (so a PCIe unplug is
never acknowledged). Everything a VM uses lives in its own temporary folder, removed when it stops.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Dict, List, Optional

GUEST_ASM = '.code64\n.globl _start\n_start:\n1: hlt\n   jmp 1b\n'
GUEST_SIZE = 65536  # StratoVirt reads a kernel image in whole pages: a 3-byte image fails to load
OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd'
OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd'
MACHINES = ('micro', 'standard')


class RealVMError(Exception):
    """A VM could not be started or its monitor misbehaved."""


def missing_tools(machine: str) -> List[str]:
    """What this host lacks to start a VM of that machine type (empty when it has everything)."""
    lacking = [tool for tool in ('as', 'ld', 'objcopy') if shutil.which(tool) is None and machine == 'micro']
    if machine == 'standard' and not (os.path.exists(OVMF_CODE) and os.path.exists(OVMF_VARS)):
        lacking.append('OVMF firmware (apt-get install ovmf)')
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        lacking.append('/dev/kvm')
    return lacking


def build_guest(folder: str) -> Dict[str, str]:
    """The micro VM guest and an empty initrd (2.1.0 wants one), built in ``folder``; :returns: their paths."""
    source, obj, elf, image = (os.path.join(folder, name) for name in ('guest.S', 'guest.o', 'guest.elf', 'guest.bin'))
    with open(source, 'w', encoding='ascii') as handle:
        handle.write(GUEST_ASM)
    subprocess.run(['as', source, '-o', obj], check=True)
    subprocess.run(['ld', '-Ttext=0x1000000', '-o', elf, obj], check=True)
    subprocess.run(['objcopy', '-O', 'binary', elf, image], check=True)
    with open(image, 'r+b') as handle:
        handle.truncate(GUEST_SIZE)
    initrd = os.path.join(folder, 'initrd.img')
    name = b'TRAILER!!!\0'
    header = b'070701' + b''.join(b'%08X' % value for value in (0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, len(name), 0))
    archive = header + name
    archive += b'\0' * (-len(archive) % 4)
    with open(initrd, 'wb') as handle:
        handle.write(archive + b'\0' * (-len(archive) % 512))
    return {'kernel': image, 'initrd': initrd}


class RealVM:
    """One StratoVirt process and one QMP session to it; ``start()`` and ``stop()`` do the I/O."""

    def __init__(self, binary: str, machine: str, guest: Dict[str, str], extra_args=(), name: str = 'probe', smp: str = '1'):
        self.binary, self.machine, self.guest, self.extra_args, self.name = binary, machine, guest, list(extra_args), name
        self.smp = smp
        self.folder = ''
        self.pid: Optional[int] = None
        self.sock: Optional[socket.socket] = None
        self.buffer = b''
        self.events: List[dict] = []
        self.greeting: Optional[dict] = None

    @property
    def socket_path(self) -> str:
        return os.path.join(self.folder, 'qmp.sock')

    def command_line(self) -> List[str]:
        qmp = ['-qmp', 'unix:%s,server,nowait' % self.socket_path, '-serial', 'file,path=%s' % os.path.join(self.folder, 'serial.log')]
        daemon = ['-daemonize', '-pidfile', os.path.join(self.folder, 'pid')]
        if self.machine == 'micro':
            base = [
                '-machine',
                'microvm',
                '-smp',
                self.smp,
                '-m',
                '256',
                '-kernel',
                self.guest['kernel'],
                '-initrd',
                self.guest['initrd'],
                '-append',
                'console=ttyS0',
            ]
        else:
            vars_copy = os.path.join(self.folder, 'OVMF_VARS.fd')
            shutil.copyfile(OVMF_VARS, vars_copy)
            rootfs = os.path.join(self.folder, 'rootfs.img')
            with open(rootfs, 'wb') as handle:
                handle.truncate(16 << 20)
            base = [
                '-machine', 'q35', '-smp', self.smp, '-m', '512',
                '-drive', 'file=%s,if=pflash,unit=0,readonly=true' % OVMF_CODE,
                '-drive', 'file=%s,if=pflash,unit=1' % vars_copy,
                '-device', 'pcie-root-port,port=0x1,addr=0x3,bus=pcie.0,id=pcie.1',
                '-device', 'pcie-root-port,port=0x2,addr=0x4,bus=pcie.0,id=pcie.2',
                '-drive', 'file=%s,id=rootfs,readonly=off,direct=off' % rootfs,
            ]  # fmt: skip
        return [self.binary, '-name', self.name] + base + self.extra_args + qmp + daemon

    def start(self, timeout: float = 10.0, handshake: bool = True) -> 'RealVM':
        """Launch and connect; ``handshake`` also reads the greeting and negotiates (else the caller does)."""
        self.folder = tempfile.mkdtemp(prefix='stratovirt-real-')
        run = subprocess.run(self.command_line(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout, check=False)
        if run.returncode != 0:
            text = run.stderr.decode('utf-8', 'replace').strip().splitlines()
            self._remove_folder()
            raise RealVMError('%s did not start: %s' % (os.path.basename(self.binary), text[0] if text else 'exit %d' % run.returncode))
        # The daemon writes its pid file and binds its socket after the launcher has returned.
        pid_file = os.path.join(self.folder, 'pid')
        deadline = time.monotonic() + timeout
        while not (os.path.exists(self.socket_path) and os.path.getsize(pid_file) if os.path.exists(pid_file) else False):
            if time.monotonic() > deadline:
                self._remove_folder()
                raise RealVMError('%s started but wrote no pid file or socket within %s s' % (os.path.basename(self.binary), timeout))
            time.sleep(0.02)
        with open(pid_file, encoding='ascii') as handle:
            self.pid = int(handle.read().strip())
        try:
            self._connect(deadline, timeout)
            if handshake:
                self.greeting = self._read()
                self.execute('qmp_capabilities')
        except BaseException:
            self.stop()
            raise
        return self

    def _connect(self, deadline: float, timeout: float) -> None:
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(self.socket_path)
                return
            except ConnectionRefusedError:  # bound, not listening yet
                self.sock.close()
                self.sock = None
                if time.monotonic() > deadline:
                    raise RealVMError('the monitor of %s did not listen within %s s' % (os.path.basename(self.binary), timeout)) from None
                time.sleep(0.02)

    def _read(self) -> dict:
        assert self.sock is not None
        while b'\n' not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RealVMError('the monitor closed the connection')
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b'\n', 1)
        return json.loads(line)

    def execute(self, command: str, arguments: Optional[dict] = None) -> dict:
        """Send one command; :returns: its reply (``return`` or ``error``), events kept in ``events``."""
        assert self.sock is not None
        message: Dict[str, object] = {'execute': command}
        if arguments is not None:
            message['arguments'] = arguments
        self.sock.sendall(json.dumps(message, separators=(',', ':')).encode() + b'\n')
        while True:
            reply = self._read()
            if 'event' in reply:
                self.events.append(reply)
                continue
            time.sleep(0.02)  # StratoVirt throttles a client past 100 reads a second
            return reply

    def release_monitor(self) -> None:
        """Hang up (after the greeting and qmp_capabilities): StratoVirt serves one client, the collection is next."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            self.buffer = b''

    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        with open('/proc/%d/stat' % self.pid, encoding='ascii', errors='replace') as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'

    def stop(self) -> None:
        if self.sock is None and self.alive() and os.path.exists(self.socket_path):
            try:  # the monitor was released: quit through a new session, so the VM ends as asked, not killed
                self._connect(time.monotonic() + 2, 2.0)
                self._read()
                self.execute('qmp_capabilities')
            except (OSError, RealVMError, ValueError):
                self.sock = None
        if self.sock is not None:
            try:
                self.execute('quit')
            except (OSError, RealVMError, ValueError):
                pass
            self.sock.close()
            self.sock = None
        deadline = time.monotonic() + 5
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive():
            assert self.pid is not None
            os.kill(self.pid, signal.SIGKILL)
        self._remove_folder()

    def _remove_folder(self) -> None:
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> 'RealVM':
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
