# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: what an adversarial or careless task must not get through, refused before any mutating command.

Each refusal is checked three ways: the task failed with a message naming the option or the thing at fault,
its ``commands`` are empty, and the simulator received nothing but the read-only ``query-version``.
"""

from __future__ import annotations

import os

import pytest

from conftest import mutating_received
from test_micro_modules import PROFILES, blockdev_add, disk_device_add, disk_task, may_fail, nic_task, rootfs_cmdline
from test_standard_modules import ROOT_PORTS

INFO = 'stratovirt.qmp.stratovirt_info'


def assert_refused(result, *texts):
    assert result.get('failed'), result
    for text in texts:
        assert text in result['msg'], (text, result['msg'])
    assert 'Traceback' not in result.get('module_stderr', '') and 'MODULE FAILURE' not in result['msg']
    assert not result['changed'] and result.get('commands', []) == []


# -- issue 10.1: file identity, not real paths ---------------------------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_hard_links_to_the_rootfs_or_a_plugged_image_are_refused(profile, recorded_vm, make_image, tmp_path, playbook):
    rootfs = make_image('rootfs.img')
    vm = recorded_vm(profile, cmdline=rootfs_cmdline(rootfs))
    sock = vm.socket_path
    image = make_image('disk0.img')
    rootfs_link = str(tmp_path / 'rootfs-link.img')
    image_link = str(tmp_path / 'disk0-link.img')
    os.link(rootfs, rootfs_link)
    os.link(image, image_link)
    run = playbook(
        [
            disk_task(sock, 'drive-0', path=image, addr='0x1'),
            may_fail(disk_task(sock, 'drive-1', path=rootfs_link)),
            may_fail(disk_task(sock, 'drive-2', path=image_link)),
            # The same image under another name is the same device: no difference, nothing sent.
            disk_task(sock, 'drive-0', path=image_link, addr='0x1'),
        ]
    )
    plugged, on_rootfs, twice, same = run.results
    assert plugged['changed']
    assert_refused(on_rootfs, 'image %s of disk drive-1' % rootfs_link, "the VM's own cold-plugged disk rootfs")
    assert_refused(twice, 'image %s of disk drive-2' % image_link, 'already plugged as drive-0')
    assert not same['changed'] and same['commands'] == []
    assert mutating_received(sock) == [blockdev_add(profile, 'drive-0', image), disk_device_add(profile, 'drive-0', '0x1')]


# -- issue 10.4: control characters --------------------------------------------------------------


@pytest.mark.parametrize('profile', ['2.5.0'])
def test_control_characters_are_refused_in_every_string_option(profile, recorded_vm, make_image, host_tap, playbook):
    vm = recorded_vm(profile)
    sock = vm.socket_path
    image = make_image('disk0.img')
    tap = host_tap()
    refused = {
        'id': (disk_task(sock, 'dnl\n', path=image), 'option id is'),
        'serial': (disk_task(sock, 'drive-0', path=image, serial='SN-1\n'), 'option serial is'),
        'path': (disk_task(sock, 'drive-0', path=image + '\n'), 'option path is'),
        'addr': (disk_task(sock, 'drive-0', path=image, addr='0x1\n'), 'option addr is'),
        'mac': (nic_task(sock, 'net-0', ifname=tap, mac='52:54:00:12:34:56\n'), 'option mac is'),
        'ifname': (nic_task(sock, 'net-0', ifname=tap + '\n'), 'option ifname is'),
        'bus': (nic_task(sock, 'net-0', ifname=tap, bus='pcie.1\t'), 'option bus is'),
        'socket': ({'name': 'socket', 'stratovirt.qmp.stratovirt_disk': {'socket': sock + '\n', 'id': 'drive-0', 'path': image}}, 'option socket is'),
    }
    run = playbook([may_fail(task) for task, dummy in refused.values()])
    for name, result in zip(refused, run.results):
        assert_refused(result, refused[name][1], 'control character')
    assert mutating_received(sock) == []


# -- issue 10.6: numbers out of range ------------------------------------------------------------


def test_out_of_range_timeouts_are_refused_naming_the_option(recorded_vm, make_image, playbook):
    vm = recorded_vm('2.5.0', options=['--machine', 'standard'], cmdline=ROOT_PORTS)
    sock = vm.socket_path
    image = make_image('disk0.img')
    plugged = playbook([disk_task(sock, 'drive-0', path=image)]).results[0]
    assert plugged['changed']
    sent = mutating_received(sock)
    run = playbook(
        [
            may_fail(disk_task(sock, 'drive-0', path=image, timeout=-1)),
            may_fail(disk_task(sock, 'drive-0', state='absent', wait_timeout=-5)),
            may_fail(disk_task(sock, 'drive-0', state='absent', wait_timeout='nan')),
            may_fail(disk_task(sock, 'drive-0', state='absent', timeout=1e300)),
            may_fail({'name': 'info', INFO: {'socket': sock, 'timeout': 0}}),
        ]
    )
    timeout, wait_timeout, nan, huge, info = run.results
    assert_refused(timeout, 'timeout is -1.0')
    assert_refused(wait_timeout, 'wait_timeout is -5.0')
    assert_refused(nan, 'wait_timeout is nan')
    assert_refused(huge, 'timeout is 1e+300')
    assert info['failed'] and 'timeout is 0.0' in info['msg']
    assert mutating_received(sock) == sent


# -- issue 10.7: a forced machine type that contradicts the VM -----------------------------------


@pytest.mark.parametrize('profile', PROFILES)
def test_machine_option_contradicting_the_vm_is_refused(profile, recorded_vm, make_image, host_tap, playbook):
    standard = recorded_vm(profile, options=['--machine', 'q35'], cmdline=ROOT_PORTS)
    micro = recorded_vm(profile)
    image = make_image('disk0.img')
    tap = host_tap()
    run = playbook(
        [
            may_fail(disk_task(standard.socket_path, 'mmic', path=image, machine='micro')),
            may_fail(nic_task(micro.socket_path, 'net-0', ifname=tap, machine='standard')),
            may_fail({'name': 'info', INFO: {'socket': micro.socket_path, 'machine': 'standard'}}),
        ]
    )
    on_standard, on_micro, info = run.results
    assert_refused(on_standard, 'machine=micro contradicts the VM', '-machine q35')
    assert_refused(on_micro, 'machine=standard contradicts the VM', '-machine microvm')
    assert info['failed'] and 'machine=standard contradicts the VM' in info['msg']
    assert mutating_received(standard.socket_path) == [] and mutating_received(micro.socket_path) == []


# -- issue 10.8: a host interface that is no tap, a relative path, a socket that is no socket ----


def test_host_inputs_are_refused_naming_them(recorded_vm, make_image, tmp_path, playbook):
    vm = recorded_vm('2.5.0')
    sock = vm.socket_path
    make_image('disk0.img')
    regular = tmp_path / 'regular.sock'
    regular.write_text('not a socket\n')
    directory = tmp_path / 'directory.sock'
    directory.mkdir()
    run = playbook(
        [
            may_fail(nic_task(sock, 'net-0', ifname='lo')),
            may_fail(nic_task(sock, 'net-0', ifname='lo', create_tap=True)),
            may_fail(disk_task(sock, 'drive-0', path='disk0.img')),
            may_fail(disk_task(str(regular), 'drive-0', path=str(tmp_path / 'disk0.img'))),
            may_fail(disk_task(str(directory), 'drive-0', path=str(tmp_path / 'disk0.img'))),
            may_fail(disk_task('vm.sock', 'drive-0', path=str(tmp_path / 'disk0.img'))),
        ]
    )
    lo_tap, lo_create, relative, on_file, on_directory, relative_socket = run.results
    assert_refused(lo_tap, 'ifname lo of NIC net-0 is a host interface that is not a tap')
    assert_refused(lo_create, 'ifname lo of NIC net-0 is a host interface that is not a tap')
    assert_refused(relative, "path 'disk0.img' must be absolute")
    assert_refused(on_file, '%s is not a Unix socket' % regular)
    assert_refused(on_directory, '%s is not a Unix socket' % directory)
    assert_refused(relative_socket, "socket 'vm.sock' must be an absolute path")
    assert mutating_received(sock) == []
    assert not os.path.lexists(str(regular) + '.lock') and not os.path.lexists(str(directory) + '.lock')
