# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: real ansible-playbook runs of stratovirt_disk / stratovirt_nic against simulated micro VMs.

Every test compares the exact bytes the simulator received (its --record log) with what the module
must send. ``query-version`` opens every run and changes nothing, so it is left out of those lists.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from conftest import mutating_received, received
from tested_releases import EDGE_PROFILES as PROFILES, release

DISK = 'stratovirt.qmp.stratovirt_disk'
NIC = 'stratovirt.qmp.stratovirt_nic'
INFO = 'stratovirt.qmp.stratovirt_info'
ROOTFS_CMDLINE = ['-drive', 'file=%s,id=rootfs,readonly=off,direct=off', '-device', 'virtio-blk-device,drive=rootfs,id=rootfs']


# -- tasks ----------------------------------------------------------------


def disk_task(socket_path, device_id, **options):
    return {'name': 'disk %s' % device_id, DISK: {'socket': socket_path, 'id': device_id, **options}}


def nic_task(socket_path, device_id, **options):
    return {'name': 'NIC %s' % device_id, NIC: {'socket': socket_path, 'id': device_id, **options}}


def may_fail(task):
    """The task is expected to fail: keep the play going and read its result."""
    return dict(task, ignore_errors=True)


def rootfs_cmdline(image):
    return [ROOTFS_CMDLINE[0], ROOTFS_CMDLINE[1] % image] + ROOTFS_CMDLINE[2:]


# -- the exact bytes StratoVirt must receive ---------------------------------


def blockdev_add(profile, node, path, read_only=False):
    # 2.3.0+ refuses direct I/O without file.aio, so the module adds aio=native there (and nothing before).
    aio = ',"aio":"native"' if release(profile) >= (2, 3) else ''
    return '{"execute":"blockdev-add","arguments":{"node-name":"%s","file":{"driver":"file","filename":"%s"%s},"cache":{"direct":true},"read-only":%s}}\n' % (
        node,
        path,
        aio,
        'true' if read_only else 'false',
    )


def disk_device_add(profile, device_id, addr, serial=None):
    # 2.5.0 finds the backend of a micro VM disk through "drive" only.
    drive = ',"drive":"%s"' % device_id if release(profile) >= (2, 5) else ''
    serial_text = ',"serial":"%s"' % serial if serial is not None else ''
    return '{"execute":"device_add","arguments":{"id":"%s","driver":"virtio-blk-mmio","addr":"%s"%s%s}}\n' % (device_id, addr, drive, serial_text)


def netdev_add(device_id, ifname):
    return '{"execute":"netdev_add","arguments":{"id":"%s","ifname":"%s"}}\n' % (device_id, ifname)


def nic_device_add(profile, device_id, addr, mac=None):
    # 2.5.0 reads a micro VM NIC's netdev from "chardev".
    chardev = ',"chardev":"%s"' % device_id if release(profile) >= (2, 5) else ''
    mac_text = ',"mac":"%s"' % mac if mac is not None else ''
    return '{"execute":"device_add","arguments":{"id":"%s","driver":"virtio-net-mmio","addr":"%s"%s%s}}\n' % (device_id, addr, chardev, mac_text)


def device_del(device_id):
    return '{"execute":"device_del","arguments":{"id":"%s"}}\n' % device_id


def commands_of(lines):
    """The ``commands`` a result must return for these sent lines."""
    return [json.loads(line) for line in lines]


def warnings_text(result):
    # ansible-core 2.19 hands warnings to callbacks as structured summaries; their text is all we check.
    return json.dumps(result.get('warnings') or [])


def record_entries(socket_path):
    with open(os.path.realpath(socket_path) + '.devices.json', encoding='utf-8') as record:
        return {entry['id']: entry for entry in json.load(record)['devices']}


# -- 1, 2, 4: the operators' commands, re-run, unplug, unplug again -----------


@pytest.mark.parametrize('profile', PROFILES)
def test_plug_rerun_unplug(profile, recorded_vm, make_image, host_tap, playbook):
    vm = recorded_vm(profile)
    sock = vm.socket_path
    image = make_image('disk0.img')
    tap = host_tap()
    present = [disk_task(sock, 'drive-0', path=image, addr='0x1'), nic_task(sock, 'net-0', ifname=tap, addr='0x0')]
    plug_lines = [
        blockdev_add(profile, 'drive-0', image),
        disk_device_add(profile, 'drive-0', '0x1'),
        netdev_add('net-0', tap),
        nic_device_add(profile, 'net-0', '0x0'),
    ]

    run = playbook(present)
    assert run.rc == 0, run.stdout
    disk, nic = run.results
    assert disk['changed'] and nic['changed']
    assert disk['commands'] == commands_of(plug_lines[:2])
    assert nic['commands'] == commands_of(plug_lines[2:])
    assert disk['device'] == {
        'id': 'drive-0',
        'kind': 'disk',
        'addr': '0x1',
        'path': image,
        'read_only': False,
        'direct': True,
        'aio': 'native' if release(profile) >= (2, 3) else None,
        'source': 'record',
        'guest_name': 'vdb',
    }
    assert nic['device'] == {'id': 'net-0', 'kind': 'nic', 'addr': '0x0', 'ifname': tap, 'source': 'record', 'guest_name': 'eth0'}
    assert disk['stratovirt']['release'] == profile and disk['stratovirt']['machine'] == 'micro'
    assert mutating_received(sock) == plug_lines

    # Re-run: both tasks find their device and send nothing but the read-only query-version.
    seen_before = len(received(sock))
    rerun = playbook(present)
    assert rerun.rc == 0, rerun.stdout
    for result, plugged in zip(rerun.results, run.results):
        assert not result['changed']
        assert result['commands'] == []
        assert result['device'] == plugged['device']
    assert received(sock)[seen_before:] == ['{"execute":"query-version"}\n'] * 2

    absent = [disk_task(sock, 'drive-0', state='absent'), nic_task(sock, 'net-0', state='absent')]
    # 2.5.0 answers a micro VM NIC unplug with an error although the NIC is gone; the module asks again to tell.
    nic_unplug_lines = [device_del('net-0')] * (2 if release(profile) >= (2, 5) else 1)
    tasks = absent + absent
    if release(profile) >= (2, 5):
        tasks.append(may_fail(nic_task(sock, 'net-0', ifname=tap, addr='0x0')))
    unplug = playbook(tasks)
    assert unplug.rc == 0, unplug.stdout
    disk_gone, nic_gone, disk_again, nic_again = unplug.results[:4]
    assert disk_gone['changed'] and disk_gone['device'] is None
    assert disk_gone['commands'] == commands_of([device_del('drive-0')])
    assert disk_gone['diff'] == {'before': disk['device'], 'after': {}}
    assert nic_gone['changed'] and nic_gone['device'] is None and not nic_gone.get('failed')
    assert nic_gone['commands'] == commands_of(nic_unplug_lines)
    if release(profile) >= (2, 5):
        assert 'keeps its tap %s open' % tap in warnings_text(nic_gone)
    # Absent devices: nothing to do, nothing sent.
    for result in (disk_again, nic_again):
        assert not result['changed'] and result['commands'] == [] and result['device'] is None
    assert mutating_received(sock) == plug_lines + [device_del('drive-0')] + nic_unplug_lines
    if release(profile) >= (2, 5):
        replug = unplug.results[4]
        assert replug['failed'] and not replug['changed'] and replug['commands'] == []
        assert 'tap %s is still held by this VM after NIC net-0 was unplugged' % tap in replug['msg']


# -- 3: check mode -------------------------------------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_check_mode_sends_nothing(profile, recorded_vm, make_image, host_tap, playbook):
    vm = recorded_vm(profile)
    sock = vm.socket_path
    image = make_image('disk0.img')
    tap = host_tap()
    run = playbook([disk_task(sock, 'drive-0', path=image, addr='0x1'), nic_task(sock, 'net-0', ifname=tap)], check=True, diff=True)
    assert run.rc == 0, run.stdout
    disk, nic = run.results
    assert disk['changed'] and nic['changed']
    assert disk['commands'] == commands_of([blockdev_add(profile, 'drive-0', image), disk_device_add(profile, 'drive-0', '0x1')])
    # No addr: the lowest free NIC slot is chosen.
    assert nic['commands'] == commands_of([netdev_add('net-0', tap), nic_device_add(profile, 'net-0', '0x0')])
    assert disk['diff'] == {'before': {}, 'after': disk['device']}
    assert disk['device']['path'] == image and disk['device']['addr'] == '0x1'
    assert nic['diff'] == {'before': {}, 'after': {'id': 'net-0', 'kind': 'nic', 'addr': '0x0', 'ifname': tap, 'source': 'record', 'guest_name': 'eth0'}}
    assert mutating_received(sock) == []


# -- 5: a present device that differs ---------------------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_changed_device_fails_or_is_replaced(profile, recorded_vm, make_image, playbook):
    vm = recorded_vm(profile)
    sock = vm.socket_path
    first, second = make_image('first.img'), make_image('second.img')
    run = playbook(
        [
            disk_task(sock, 'drive-0', path=first, addr='0x1'),
            may_fail(disk_task(sock, 'drive-0', path=second, addr='0x1')),
            disk_task(sock, 'drive-0', path=second, addr='0x1', on_change='replace'),
        ]
    )
    assert run.rc == 0, run.stdout
    plugged, refused, replaced = run.results
    assert plugged['changed']
    assert refused['failed'] and not refused['changed'] and refused['commands'] == []
    assert "path: '%s' -> '%s'" % (first, second) in refused['msg']
    assert 'on_change=replace' in refused['msg']
    assert replaced['changed']
    replace_lines = [device_del('drive-0'), blockdev_add(profile, 'drive-0', second), disk_device_add(profile, 'drive-0', '0x1')]
    assert replaced['commands'] == commands_of(replace_lines)
    assert replaced['device']['path'] == second
    assert mutating_received(sock) == [blockdev_add(profile, 'drive-0', first), disk_device_add(profile, 'drive-0', '0x1')] + replace_lines


# -- 6: rollback of a half plug ------------------------------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_failed_device_add_is_rolled_back(profile, recorded_vm, make_image, playbook):
    faulty = recorded_vm(profile, options=['--fault-fail', 'device_add'])
    image = make_image('disk0.img')
    run = playbook([may_fail(disk_task(faulty.socket_path, 'drive-0', path=image, addr='0x1'))])
    result = run.results[0]
    assert result['failed'] and result['changed']
    assert "StratoVirt said 'injected failure'" in result['msg'] and 'rolled back' in result['msg']
    sent_lines = [blockdev_add(profile, 'drive-0', image), disk_device_add(profile, 'drive-0', '0x1'), device_del('drive-0')]
    assert result['commands'] == commands_of(sent_lines)
    assert mutating_received(faulty.socket_path) == sent_lines
    assert 'drive-0' not in record_entries(faulty.socket_path)

    # The faulty VM let go of the image: another VM (no fault) may take it read-write.
    healthy = recorded_vm(profile)
    again = playbook([disk_task(healthy.socket_path, 'drive-0', path=image, addr='0x1')])
    assert again.rc == 0, again.stdout
    assert again.results[0]['changed']
    assert mutating_received(healthy.socket_path) == sent_lines[:2]
    assert faulty.alive()


def test_rolled_back_plug_returns_no_device(recorded_vm, make_image, playbook):
    faulty = recorded_vm('2.1.0', options=['--fault-fail', 'device_add'])
    result = playbook([may_fail(disk_task(faulty.socket_path, 'drive-0', path=make_image('disk0.img')))]).results[0]
    assert result['failed'] and 'nothing of drive-0 is plugged' in result['msg']
    assert result['device'] is None and result['diff']['after'] == {}


# -- 7, 10: inputs refused before anything is sent -------------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_bad_inputs_fail_before_sending(profile, recorded_vm, start_vm, make_image, host_tap, free_tap_name, playbook, tmp_path):
    rootfs = make_image('rootfs.img')
    vm = recorded_vm(profile, cmdline=rootfs_cmdline(rootfs))
    sock = vm.socket_path
    shared = make_image('shared.img')
    other_vm = start_vm(
        profile, cmdline=['-name', 'db-other', '-drive', 'file=%s,id=data,readonly=off,direct=off' % shared, '-device', 'virtio-blk-device,drive=data,id=data']
    )
    image = make_image('disk0.img')
    tap = host_tap()
    created_tap = free_tap_name()
    directory = tmp_path / 'not-an-image'
    directory.mkdir()
    missing = str(tmp_path / 'missing.img')
    refused = {
        'missing image': (disk_task(sock, 'drive-1', path=missing), 'image %s of disk drive-1 does not exist' % missing),
        'directory': (disk_task(sock, 'drive-1', path=str(directory)), 'is a directory'),
        'rootfs': (disk_task(sock, 'drive-1', path=rootfs), "is the VM's own cold-plugged disk rootfs"),
        # The VM holding it is named by its -name.
        'shared': (disk_task(sock, 'drive-1', path=shared), 'is held read-write by VM db-other (pid %d)' % other_vm.pid),
        'disk addr': (disk_task(sock, 'drive-1', path=image, addr='0x4'), 'beyond the 4 disk slots'),
        'NIC addr': (nic_task(sock, 'net-1', ifname=tap, addr='0x2'), 'beyond the 2 NIC slots'),
        'missing tap': (nic_task(sock, 'net-1', ifname=created_tap), 'tap %s of NIC net-1 does not exist' % created_tap),
        'bad mac': (nic_task(sock, 'net-1', ifname=tap, mac='52:54:00:12:34'), 'must be six hexadecimal pairs'),
        'bad id': (disk_task(sock, 'a b', path=image), "id 'a b' is not usable"),
    }
    tasks = [may_fail(task_and_message[0]) for task_and_message in refused.values()]
    # Plug a NIC so that its id can be offered to a disk; then a tap StratoVirt creates itself.
    tasks += [
        nic_task(sock, 'net-0', ifname=tap, addr='0x0'),
        may_fail(disk_task(sock, 'net-0', path=image)),
        nic_task(sock, 'net-1', ifname=created_tap, create_tap=True),
        may_fail(disk_task(sock, 'rootfs', state='absent')),
        disk_task(sock, 'rootfs', state='absent', allow_cold_unplug=True),
    ]
    run = playbook(tasks)
    assert run.rc == 0, run.stdout
    for name, result in zip(refused, run.results):
        message = refused[name][1]
        assert result.get('failed'), name
        assert message in result['msg'], (name, result['msg'])
        assert not result['changed'] and result.get('commands', []) == [], name
    nic_plug, id_clash, created, cold_refused, cold_unplugged = run.results[len(refused) :]
    assert nic_plug['changed']
    assert id_clash['failed'] and 'id net-0 is already used by NIC net-0' in id_clash['msg']
    assert created['changed'] and created['device']['addr'] == '0x1'
    assert cold_refused['failed'] and 'disk rootfs is cold-plugged' in cold_refused['msg']
    assert 'allow_cold_unplug=true' in cold_refused['msg']
    assert cold_unplugged['changed'] and cold_unplugged['diff']['before']['source'] == 'cold-plugged'
    assert mutating_received(sock) == [
        netdev_add('net-0', tap),
        nic_device_add(profile, 'net-0', '0x0'),
        netdev_add('net-1', created_tap),
        nic_device_add(profile, 'net-1', '0x1'),
        device_del('rootfs'),
    ]
    assert other_vm.alive() and vm.alive()


@pytest.mark.parametrize('profile', PROFILES)
def test_no_free_disk_slot(profile, recorded_vm, make_image, playbook):
    vm = recorded_vm(profile)
    sock = vm.socket_path
    images = [make_image('disk%d.img' % number) for number in range(5)]
    run = playbook([disk_task(sock, 'drive-%d' % number, path=images[number]) for number in range(4)] + [may_fail(disk_task(sock, 'drive-4', path=images[4]))])
    assert [result['device']['addr'] for result in run.results[:4]] == ['0x0', '0x1', '0x2', '0x3']
    fifth = run.results[4]
    assert fifth['failed'] and fifth['commands'] == []
    assert 'no free disk slot for disk drive-4: all 4 are taken (drive-0, drive-1, drive-2, drive-3)' in fifth['msg']
    expected = []
    for number in range(4):
        expected += [blockdev_add(profile, 'drive-%d' % number, images[number]), disk_device_add(profile, 'drive-%d' % number, '0x%d' % number)]
    assert mutating_received(sock) == expected


@pytest.mark.parametrize('profile', PROFILES)
def test_serial_and_mac_need_2_5_0(profile, recorded_vm, make_image, host_tap, playbook):
    vm = recorded_vm(profile)
    sock = vm.socket_path
    image = make_image('disk0.img')
    tap = host_tap()
    mac = '52:54:00:12:34:56'
    run = playbook([may_fail(disk_task(sock, 'drive-0', path=image, serial='SN0001')), may_fail(nic_task(sock, 'net-0', ifname=tap, mac=mac))])
    disk, nic = run.results
    if release(profile) < (2, 5):
        assert disk['failed'] and 'a micro VM honours serial from StratoVirt 2.5.0; this VM runs 2.1.0' in disk['msg']
        assert nic['failed'] and 'a micro VM honours mac from StratoVirt 2.5.0; this VM runs 2.1.0' in nic['msg']
        assert mutating_received(sock) == []
        return
    assert disk['changed'] and nic['changed'] and not disk.get('failed') and not nic.get('failed')
    assert disk['device']['serial'] == 'SN0001' and nic['device']['mac'] == mac
    assert mutating_received(sock) == [
        blockdev_add(profile, 'drive-0', image),
        disk_device_add(profile, 'drive-0', '0x0', serial='SN0001'),
        netdev_add('net-0', tap),
        nic_device_add(profile, 'net-0', '0x0', mac=mac),
    ]


class QemuLikeMonitor:
    """A QMP peer that is not StratoVirt: QEMU's greeting, and QEMU's answer to query-version."""

    GREETING = b'{"QMP":{"version":{"qemu":{"micro":22,"minor":2,"major":7},"package":"Debian"},"capabilities":["oob"]}}\r\n'
    VERSION = b'{"return":{"package":"Debian","qemu":{"major":7,"micro":22,"minor":2}}}\r\n'

    def __init__(self, path):
        self.path = path
        self.received = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection = self.server.accept()[0]
            except OSError:
                return
            with connection:
                connection.sendall(self.GREETING)
                while True:
                    data = connection.recv(65536)
                    if not data:
                        break
                    self.received.append(data)
                    if b'query-version' in data:
                        connection.sendall(self.VERSION)
                    else:
                        connection.sendall(b'{"error":{"class":"CommandNotFound","desc":"not served here"}}\r\n')

    def close(self):
        self.server.close()


@pytest.mark.parametrize('profile', PROFILES)
def test_unusable_monitors_fail_fast(profile, recorded_vm, make_image, playbook, tmp_path):
    vm = recorded_vm(profile)
    image = make_image('disk0.img')
    regular_file = str(tmp_path / 'regular.sock')
    with open(regular_file, 'w', encoding='utf-8') as handle:
        handle.write('not a socket\n')
    qemu = QemuLikeMonitor(str(tmp_path / 'qemu.sock'))
    # A client that has read the greeting holds the monitor: StratoVirt serves one client at a time.
    holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    holder.connect(vm.socket_path)
    greeting = b''
    while not greeting.endswith(b'\r\n'):
        greeting += holder.recv(4096)
    timeout = 20  # far above a playbook of three refusals, even on a loaded machine; a wait for a greeting would take it all
    started = time.monotonic()
    try:
        run = playbook([may_fail(disk_task(path, 'drive-0', path=image, timeout=timeout)) for path in (regular_file, qemu.path, vm.socket_path)])
    finally:
        elapsed = time.monotonic() - started
        holder.close()
        qemu.close()
    not_socket, not_stratovirt, busy = run.results
    assert not_socket['failed'] and '%s is not a Unix socket' % regular_file in not_socket['msg']
    assert not_stratovirt['failed'] and "is not StratoVirt's (QEMU or another QMP server?)" in not_stratovirt['msg']
    assert qemu.received == [], 'told from its greeting: nothing is sent to it'
    assert busy['failed'] and 'in use by another client' in busy['msg']
    assert all(result['commands'] == [] and not result['changed'] for result in run.results)
    # Refused without waiting for a greeting: the whole run takes less than one task's timeout.
    assert elapsed < timeout
    # The busy check does not connect, so the VM never greets a client that has gone (which kills StratoVirt).
    time.sleep(0.3)
    assert vm.alive()
    assert received(vm.socket_path) == []


# -- 8, 9: the device record out of step with the VM ------------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_restarted_vm_discards_record(profile, recorded_vm, make_image, playbook):
    vm = recorded_vm(profile, name='vm.sock')
    sock = vm.socket_path
    image = make_image('disk0.img')
    task = disk_task(sock, 'drive-0', path=image, addr='0x1')
    plug_lines = [blockdev_add(profile, 'drive-0', image), disk_device_add(profile, 'drive-0', '0x1')]
    first = playbook([task])
    assert first.results[0]['changed']
    old_pid = first.results[0]['stratovirt']['pid']
    vm.stop()
    restarted = recorded_vm(profile, name='vm.sock')
    assert restarted.socket_path == sock
    second = playbook([task])
    result = second.results[0]
    assert result['changed'] and result['commands'] == commands_of(plug_lines)
    assert result['stratovirt']['pid'] == restarted.pid != old_pid
    assert 'the device record belonged to an earlier VM process (pid %d); it was discarded' % old_pid in warnings_text(result)
    # Both VMs log to the same file: the old one got the plug once, the new one again.
    assert mutating_received(sock) == plug_lines + plug_lines
    assert record_entries(sock)['drive-0']['slot'] == 1


def plug_then_delete_record(recorded_vm, make_image, playbook, profile):
    """A disk plugged by a first run whose device record is then deleted -> (socket, image, the disk task)."""
    vm = recorded_vm(profile)
    sock = vm.socket_path
    image = make_image('disk0.img')
    task = disk_task(sock, 'drive-0', path=image, addr='0x1')
    assert playbook([task]).results[0]['changed']
    os.unlink(os.path.realpath(sock) + '.devices.json')
    return sock, image, task


@pytest.mark.parametrize('profile', PROFILES)
def test_deleted_record_takes_device_as_present(profile, recorded_vm, make_image, playbook):
    sock, image, task = plug_then_delete_record(recorded_vm, make_image, playbook, profile)
    run = playbook([task])
    assert run.rc == 0, run.stdout
    adopted = run.results[0]
    assert not adopted['changed'] and adopted['commands'] == []
    assert adopted['device']['source'] == 'adopted' and adopted['device']['addr'] is None
    assert 'disk drive-0 was found attached to the VM but not in the device record; it is taken as present' in warnings_text(adopted)
    assert mutating_received(sock) == [blockdev_add(profile, 'drive-0', image), disk_device_add(profile, 'drive-0', '0x1')]


@pytest.mark.parametrize('profile', PROFILES)
def test_deleted_record_then_absent_unplugs(profile, recorded_vm, make_image, playbook):
    sock, image, task = plug_then_delete_record(recorded_vm, make_image, playbook, profile)
    run = playbook([task, disk_task(sock, 'drive-0', state='absent')])
    unplugged = run.results[1]
    assert unplugged['changed'] and unplugged['commands'] == commands_of([device_del('drive-0')])
    assert mutating_received(sock) == [blockdev_add(profile, 'drive-0', image), disk_device_add(profile, 'drive-0', '0x1'), device_del('drive-0')]


# -- 11: module_defaults with the action group --------------------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_module_defaults_set_socket_once(profile, recorded_vm, make_image, host_tap, playbook):
    vm = recorded_vm(profile)
    image = make_image('disk0.img')
    tap = host_tap()
    run = playbook(
        [
            {
                'name': 'devices of one VM',
                'module_defaults': {'group/stratovirt.qmp.stratovirt': {'socket': vm.socket_path}},
                'block': [{DISK: {'id': 'drive-0', 'path': image}}, {NIC: {'id': 'net-0', 'ifname': tap}}],
            }
        ]
    )
    assert run.rc == 0, run.stdout
    assert [result['changed'] for result in run.results] == [True, True]
    assert mutating_received(vm.socket_path) == [
        blockdev_add(profile, 'drive-0', image),
        disk_device_add(profile, 'drive-0', '0x0'),
        netdev_add('net-0', tap),
        nic_device_add(profile, 'net-0', '0x0'),
    ]


def test_a_missing_socket_says_how_to_set_it_once_for_a_play(playbook):
    tasks = [may_fail({'name': module, module: {'id': 'data0', 'path': '/nonexistent.img'} if module == DISK else {}}) for module in (DISK, INFO)]
    run = playbook(tasks)
    for result in run.results:
        assert result['failed'] and 'module_defaults' in result['msg'] and 'group/stratovirt.qmp.stratovirt' in result['msg'], result['msg']
