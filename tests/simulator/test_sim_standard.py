# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator's standard (q35) VM on both releases: PCIe hot-plug, guest models, backends, host resources."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

# The oldest and the newest release: the middle ones are checked by the replay of their recordings (tests/replay).
from tested_releases import EDGE_PROFILES as RELEASES, release as version  # pylint: disable=import-error
from test_sim_micro import Raw, blockdev, error, held_taps, open_paths  # pylint: disable=import-error

OK = {'return': {}}
NOT_FOUND = {'2.1.0': 'Failed to remove device: id {id} not found', '2.5.0': 'Can not find parent device from pci bus'}
ADD_FAILED = {
    '2.1.0': 'Failed to add virtio pci blk: Failed to add virtio pci block device',
    '2.5.0': 'Failed to add virtio pci blk: Failed to add virtio pci device',
}


def standard(start_vm, release, guest='ack', delay=0.3):
    return start_vm(release, 'standard', ['--root-ports', '2', '--guest', guest, '--guest-ack-delay', str(delay)])


def disk(node, path):
    """A drive both releases accept (no direct, so no aio rule)."""
    return blockdev(node, path, direct=False)


def blk(device_id, drive, bus='pcie.1', addr='0x0'):
    return {'id': device_id, 'driver': 'virtio-blk-pci', 'drive': drive, 'bus': bus, 'addr': addr}


def nic(device_id, netdev, bus='pcie.2', addr='0x0'):
    return {'id': device_id, 'driver': 'virtio-net-pci', 'netdev': netdev, 'bus': bus, 'addr': addr}


def quiet(qmp, seconds):
    """:returns: the next line if one arrives within ``seconds``, else None."""
    qmp.conn.settimeout(seconds)
    try:
        return qmp.line()
    except socket.timeout:
        return None
    finally:
        qmp.conn.settimeout(3)


def deleted(device_id):
    return {'device': device_id, 'path': '/machine/peripheral/%s' % device_id}


# -- plug and the ack guest ------------------------------------------------


@pytest.mark.parametrize('release', RELEASES)
def test_plug_existed_then_ack_unplug_event_after_reply(start_vm, make_image, release):
    qmp = Raw(standard(start_vm, release, delay=0.3).socket_path)
    assert qmp.reply('blockdev-add', disk('drive-1', make_image())) == OK
    assert qmp.cmd('device_add', blk('blk-1', 'drive-1')) == [OK]
    assert quiet(qmp, 0.2) is None, 'a plug sends no event'
    assert qmp.reply('device_add', blk('blk-1', 'drive-1')) == error('Device id blk-1 existed')
    assert qmp.reply('device_add', blk('blk-1', 'drive-1', bus='pcie.2')) == error('Device id blk-1 existed')
    sent = time.monotonic()
    assert qmp.cmd('device_del', {'id': 'blk-1'}) == [OK]
    assert qmp.reply('device_add', blk('blk-1', 'drive-1')) == error('Device id blk-1 existed'), 'pending unplug'
    line = qmp.line()
    assert time.monotonic() - sent >= 0.25
    assert line.endswith(b'}}\r\n') and line.startswith(b'{"event":"DEVICE_DELETED","data":{"device":"blk-1",')
    assert json.loads(line)['data'] == deleted('blk-1')
    assert qmp.reply('device_del', {'id': 'blk-1'}) == error(NOT_FOUND[release].format(id='blk-1'))
    assert qmp.cmd('device_add', blk('blk-1', 'drive-1')) == [OK], 'the drive outlives its device'


@pytest.mark.parametrize('release', RELEASES)
def test_deaf_guest_never_completes(start_vm, make_image, release):
    qmp = Raw(standard(start_vm, release, guest='deaf').socket_path)
    qmp.reply('blockdev-add', disk('drive-1', make_image()))
    qmp.reply('device_add', blk('blk-1', 'drive-1'))
    assert qmp.cmd('device_del', {'id': 'blk-1'}) == [OK]
    assert qmp.cmd('device_del', {'id': 'blk-1'}) == [OK]
    assert quiet(qmp, 0.6) is None
    assert qmp.reply('device_add', blk('blk-1', 'drive-1')) == error('Device id blk-1 existed')


@pytest.mark.parametrize('release,again', [('2.1.0', OK), ('2.5.0', error('Guest is still on the fly of another (un)plugging'))])
def test_blinking_guest_keeps_the_device(start_vm, make_image, release, again):
    qmp = Raw(standard(start_vm, release, guest='blink').socket_path)
    qmp.reply('blockdev-add', disk('drive-4', make_image()))
    qmp.reply('device_add', blk('blk-4', 'drive-4'))
    assert qmp.cmd('device_del', {'id': 'blk-4'}) == [OK]
    assert qmp.cmd('device_del', {'id': 'blk-4'}) == [again]
    assert qmp.reply('device_add', blk('blk-4', 'drive-4')) == error('Device id blk-4 existed')
    assert qmp.reply('blockdev-del', {'node-name': 'drive-4'}) == OK
    assert quiet(qmp, 0.5) is None


@pytest.mark.parametrize('release', RELEASES)
def test_event_raised_with_no_client_is_lost_but_the_device_goes(start_vm, make_image, release):
    vm = standard(start_vm, release, delay=0.2)
    qmp = Raw(vm.socket_path)
    qmp.reply('blockdev-add', disk('drive-1', make_image()))
    qmp.reply('device_add', blk('blk-1', 'drive-1'))
    assert qmp.cmd('device_del', {'id': 'blk-1'}) == [OK]
    qmp.close()
    time.sleep(0.5)
    later = Raw(vm.socket_path)
    assert quiet(later, 0.3) is None
    assert later.cmd('device_del', {'id': 'blk-1'}) == [error(NOT_FOUND[release].format(id='blk-1'))]


@pytest.mark.parametrize('release', RELEASES)
def test_paused_guest_powers_off_only_after_cont(start_vm, make_image, release):
    qmp = Raw(standard(start_vm, release, delay=0.1).socket_path)
    qmp.reply('blockdev-add', disk('drive-1', make_image()))
    qmp.reply('device_add', blk('blk-1', 'drive-1'))
    qmp.cmd('stop')
    quiet(qmp, 0.1)  # the STOP event of 2.5.0, after its reply
    qmp.cmd('device_del', {'id': 'blk-1'})
    assert quiet(qmp, 0.4) is None
    qmp.cmd('cont')
    lines = [json.loads(line) for line in iter(lambda: quiet(qmp, 1.0), None)]
    assert [line['data'] for line in lines if line['event'] == 'DEVICE_DELETED'] == [deleted('blk-1')]


# -- device_add errors -----------------------------------------------------


@pytest.mark.parametrize('release', RELEASES)
def test_device_add_errors(start_vm, make_image, host_tap, release):
    qmp = Raw(standard(start_vm, release).socket_path)
    qmp.reply('blockdev-add', disk('drive-1', make_image('d1.img')))
    qmp.reply('blockdev-add', disk('drive-2', make_image('d2.img')))
    qmp.reply('netdev_add', {'id': 'net-1', 'ifname': host_tap()})
    assert qmp.reply('device_add', dict(blk('blk-m', 'drive-1'), driver='virtio-blk-mmio')) == error(
        'Failed to add device: Driver virtio-blk-mmio is not support'
    )
    assert qmp.reply('device_add', blk('', 'drive-1')) == error('Device id is empty')
    assert qmp.reply('device_add', blk('blk-bad', 'drive-1', addr='zz')) == error('Failed to get device num or function num')
    assert qmp.reply('device_add', blk('blk-9', 'drive-1', bus='pcie.9')) == error(ADD_FAILED[release])
    assert qmp.reply('device_add', {'id': 'blk-nb', 'driver': 'virtio-blk-pci', 'drive': 'drive-1'}) == error(ADD_FAILED[release]), (
        'pcie.0 0x0 is the host bridge'
    )
    drive_missing = {'2.1.0': 'Drive not found', '2.5.0': 'No drive configured matched for blk device'}[release]
    assert qmp.reply('device_add', blk('blk-nd', 'nosuchdrive')) == error('Failed to add virtio pci blk: ' + drive_missing)
    assert qmp.reply('device_add', blk('blk-y', 'net-1')) == error('Failed to add virtio pci blk: ' + drive_missing)
    netdev_missing = {'2.1.0': 'Netdev not found', '2.5.0': 'Netdev: "drive-1" not found for net device'}[release]
    assert qmp.reply('device_add', nic('nic-x', 'drive-1')) == error('Failed to add virtio pci net: ' + netdev_missing)
    assert qmp.reply('device_add', blk('blk-1', 'drive-1')) == OK
    assert qmp.reply('device_add', blk('blk-2', 'drive-2')) == error(ADD_FAILED[release]), 'slot taken'
    assert qmp.reply('device_add', blk('pcie.1', 'drive-2', bus='pcie.2')) == error('Device id pcie.1 existed')
    assert qmp.reply('device_del', {'id': 'pcie.2'}) == error('No hot plug controller found for bus pcie.0 when unplug request')
    net_failed = {'2.1.0': 'Failed to add virtio net device', '2.5.0': 'Failed to add virtio pci device'}[release]
    assert qmp.reply('device_add', nic('nic-1', 'net-1', bus='pcie.1')) == error('Failed to add virtio pci net: ' + net_failed)
    assert qmp.reply('device_add', nic('nic-1', 'net-1')) == OK


@pytest.mark.parametrize('release', RELEASES)
def test_root_bus_plug_zombie_on_21_rollback_on_25(start_vm, make_image, release):
    qmp = Raw(standard(start_vm, release).socket_path)
    qmp.reply('blockdev-add', disk('drive-2', make_image()))
    plug_error = error('Failed to plug device: No hot plug controller found for bus pcie.0 when plug')
    assert qmp.reply('device_add', blk('blk-p0', 'drive-2', bus='pcie.0', addr='0x5')) == plug_error
    again = qmp.reply('device_add', blk('blk-p0', 'drive-2', bus='pcie.0', addr='0x5'))
    unplug = qmp.reply('device_del', {'id': 'blk-p0'})
    if version(release) < (2, 5):
        assert again == error('Device id blk-p0 existed')
        assert unplug == error('No hot plug controller found for bus pcie.0 when unplug request')
    else:
        assert again == plug_error
        assert unplug == error('Can not find parent device from pci bus')
        assert qmp.reply('device_add', blk('blk-p0', 'drive-2')) == OK


def test_21_zombie_keeps_its_image_open(start_vm, make_image):
    vm = standard(start_vm, '2.1.0')
    qmp = Raw(vm.socket_path)
    image = make_image()
    qmp.reply('blockdev-add', disk('drive-2', image))
    qmp.reply('device_add', blk('blk-p0', 'drive-2', bus='pcie.0', addr='0x5'))
    qmp.reply('blockdev-del', {'node-name': 'drive-2'})
    assert image in open_paths(vm.pid)


def test_21_devfn_8_plugs_then_its_unplug_deadlocks_the_monitor(start_vm, make_image):
    vm = standard(start_vm, '2.1.0')
    qmp = Raw(vm.socket_path)
    qmp.reply('blockdev-add', blockdev('drive-2', make_image(), direct=True))
    assert qmp.reply('device_add', blk('blk-a1', 'drive-2', addr='0x1')) == OK
    assert qmp.reply('device_add', blk('blk-a1', 'drive-2', addr='0x1')) == error('Device id blk-a1 existed')
    qmp.send('device_del', {'id': 'blk-a1'})
    assert quiet(qmp, 0.5) is None
    qmp.send('query-status')
    assert quiet(qmp, 0.5) is None
    qmp.close()
    later = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    later.connect(vm.socket_path)
    later.settimeout(0.5)
    with pytest.raises(socket.timeout):
        later.recv(4096)
    later.close()
    assert vm.alive()
    vm.stop()
    assert not os.path.exists(vm.socket_path)


def test_25_devfn_8_hot_plug_is_refused(start_vm, make_image):
    qmp = Raw(standard(start_vm, '2.5.0').socket_path)
    qmp.reply('blockdev-add', disk('drive-2', make_image()))
    assert qmp.reply('device_add', blk('blk-a1', 'drive-2', addr='0x1')) == error('Failed to plug device: HotPlug is not supported for device with devfn 8')
    assert qmp.reply('device_del', {'id': 'blk-a1'}) == error('Can not find parent device from pci bus')
    assert qmp.reply('device_add', blk('blk-f1', 'drive-2', addr='0x0.0x1')) == error('Failed to plug device: HotPlug is not supported for device with devfn 1')
    assert qmp.reply('query-status')['return']['status'] == 'running'


# -- backends --------------------------------------------------------------


@pytest.mark.parametrize('release', RELEASES)
def test_backends_outlive_devices_and_go_while_attached(start_vm, make_image, host_tap, release):
    qmp = Raw(standard(start_vm, release, guest='deaf').socket_path)
    assert qmp.reply('blockdev-del', {'node-name': 'nosuchnode'}) == error('Drive nosuchnode not found')
    assert qmp.reply('netdev_del', {'id': 'nosuchnet'}) == error('Netdev nosuchnet not found')
    assert qmp.reply('blockdev-add', disk('drive-1', make_image('d1.img'))) == OK
    assert qmp.reply('blockdev-add', disk('drive-1', make_image('d2.img'))) == error('Drive drive-1 has been added')
    assert qmp.reply('netdev_add', {'id': 'net-1', 'ifname': host_tap()}) == OK
    assert qmp.reply('netdev_add', {'id': 'net-1', 'ifname': 'other'}) == error('Netdev "net-1" has been added')
    qmp.reply('device_add', blk('blk-1', 'drive-1'))
    qmp.reply('device_add', nic('nic-1', 'net-1'))
    assert qmp.reply('blockdev-del', {'node-name': 'drive-1'}) == OK
    assert qmp.reply('blockdev-del', {'node-name': 'drive-1'}) == error('Drive drive-1 not found')
    assert qmp.reply('netdev_del', {'id': 'net-1'}) == OK
    assert qmp.reply('netdev_del', {'id': 'net-1'}) == error('Netdev net-1 not found')
    assert qmp.reply('device_add', blk('blk-1', 'drive-1')) == error('Device id blk-1 existed')
    assert qmp.reply('query-block') == {'return': []}


@pytest.mark.parametrize(
    'release,missing',
    [('2.1.0', 'Drive File is not a regular File.'), ('2.5.0', 'Failed to get metadata of file {path}: No such file or directory (os error 2).')],
)
def test_missing_image(start_vm, tmp_path, release, missing):
    qmp = Raw(standard(start_vm, release).socket_path)
    path = str(tmp_path / 'nosuch.img')
    assert qmp.reply('blockdev-add', disk('drive-x', path)) == error(missing.format(path=path))


def test_25_image_registered_first_and_aio_rule(start_vm, make_image):
    vm = standard(start_vm, '2.5.0')
    qmp = Raw(vm.socket_path)
    image = make_image()
    assert qmp.reply('blockdev-add', disk('drive-1', image)) == OK
    assert qmp.reply('blockdev-add', disk('drive-1', image)) == error(
        'Failed to add drive %s, file can only be shared with read_only. Is it used more than once or another process using the same file?' % image
    )
    assert qmp.reply('blockdev-add', blockdev('drive-2', make_image('d2.img'), direct=True)) == error(
        'Invalid parameter \'aio\' for \'low performance expected when use sync io with "direct" on\''
    )
    assert qmp.reply('blockdev-add', blockdev('drive-2', make_image('d2.img'), direct=True, aio='native')) == OK


# -- host resources --------------------------------------------------------


def test_21_image_open_from_plug_to_removal(start_vm, make_image):
    vm = standard(start_vm, '2.1.0', delay=0.1)
    qmp = Raw(vm.socket_path)
    image = make_image()
    qmp.reply('blockdev-add', disk('drive-1', image))
    assert image not in open_paths(vm.pid)
    qmp.reply('device_add', blk('blk-1', 'drive-1'))
    assert image in open_paths(vm.pid)
    qmp.reply('blockdev-del', {'node-name': 'drive-1'})
    assert image in open_paths(vm.pid), 'the device holds it, not the drive config'
    qmp.cmd('device_del', {'id': 'blk-1'})
    qmp.line()
    assert image not in open_paths(vm.pid)


def test_25_image_open_from_blockdev_add_to_blockdev_del(start_vm, make_image):
    vm = standard(start_vm, '2.5.0', guest='deaf')
    qmp = Raw(vm.socket_path)
    image = make_image()
    qmp.reply('blockdev-add', disk('drive-1', image))
    assert image in open_paths(vm.pid)
    qmp.reply('device_add', blk('blk-1', 'drive-1'))
    qmp.reply('blockdev-del', {'node-name': 'drive-1'})
    assert image not in open_paths(vm.pid)


@pytest.mark.parametrize('release', RELEASES)
def test_tap_attached_at_plug_and_released_on_21_only(start_vm, host_tap, release):
    vm = standard(start_vm, release, delay=0.1)
    qmp = Raw(vm.socket_path)
    tap = host_tap()
    qmp.reply('netdev_add', {'id': 'net-2', 'ifname': tap})
    assert held_taps(vm.pid) == []
    assert qmp.reply('device_add', dict(nic('nic-2', 'net-2'), mac='52:54:00:12:34:57')) == OK
    assert held_taps(vm.pid) == [tap]
    qmp.cmd('device_del', {'id': 'nic-2'})
    assert json.loads(qmp.line())['data'] == deleted('nic-2')
    qmp.reply('netdev_del', {'id': 'net-2'})
    assert qmp.reply('netdev_add', {'id': 'net-3', 'ifname': tap}) == OK
    replug = qmp.reply('device_add', nic('nic-3', 'net-3'))
    if version(release) < (2, 5):
        assert replug == OK
    else:
        assert held_taps(vm.pid) == [tap]
        assert replug == error('Failed to add virtio pci net: Failed to add virtio pci device')
        assert qmp.reply('device_del', {'id': 'nic-3'}) == error('Can not find parent device from pci bus')


# -- cold plug and the rest ------------------------------------------------


@pytest.mark.parametrize('release', RELEASES)
def test_cold_plugged_devices(start_vm, make_image, host_tap, release):
    tap = host_tap()
    images = [make_image(name) for name in ('d1.img', 'd0.img', 'd8.img')]
    cmdline = [
        '-machine',
        'q35',
        '-drive',
        'file=/nonexistent/OVMF_CODE.fd,if=pflash,unit=0,readonly=true',
        '-device',
        'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3',
        '-device',
        'pcie-root-port,id=pcie.2,port=0x2,bus=pcie.0,addr=0x4',
        '-drive',
        'file=%s,id=cold-drv-1,direct=off' % images[0],
        '-device',
        'virtio-blk-pci,drive=cold-drv-1,id=cold-blk-1,bus=pcie.1,addr=0x0',
        '-drive',
        'file=%s,id=cold-drv-0,direct=off' % images[1],
        '-device',
        'virtio-blk-pci,drive=cold-drv-0,id=cold-blk-0,bus=pcie.0,addr=0x5',
        '-drive',
        'file=%s,id=cold-drv-a1,direct=off' % images[2],
        '-device',
        'virtio-blk-pci,drive=cold-drv-a1,id=cold-blk-a1,bus=pcie.2,addr=0x1',
        '-netdev',
        'tap,id=cold-net,ifname=%s' % tap,
        '-device',
        'virtio-net-pci,netdev=cold-net,id=cold-nic,bus=pcie.2,addr=0x0,mac=52:54:00:12:34:56',
    ]
    vm = start_vm(release, 'q35', ['--guest', 'deaf'], cmdline)
    qmp = Raw(vm.socket_path)
    assert held_taps(vm.pid) == [tap]
    assert set(open_paths(vm.pid)) >= set(images)
    assert qmp.reply('device_add', blk('cold-blk-1', 'cold-drv-1', bus='pcie.2')) == error('Device id cold-blk-1 existed')
    assert qmp.reply('blockdev-add', disk('cold-drv-1', make_image('d9.img'))) == error('Drive cold-drv-1 has been added')
    assert qmp.reply('device_del', {'id': 'cold-blk-0'}) == error('No hot plug controller found for bus pcie.0 when unplug request')
    assert qmp.cmd('device_del', {'id': 'cold-blk-1'}) == [OK]
    if version(release) >= (2, 5):
        # A device at devfn != 0 of a root port is removed at once, with no event.
        assert qmp.cmd('device_del', {'id': 'cold-blk-a1'}) == [OK]
        assert quiet(qmp, 0.3) is None
        assert qmp.reply('device_del', {'id': 'cold-blk-a1'}) == error('Can not find parent device from pci bus')


@pytest.mark.parametrize(
    'cmdline',
    [
        ['-drive', 'file={image},id=d', '-device', 'pcie-root-port,id=pcie.1,bus=pcie.0,addr=0x3'],  # aio rule of 2.5.0
        ['-drive', 'file={image},id=d,direct=off', '-device', 'virtio-blk-pci,drive=d,id=b,bus=pcie.1,addr=0x0'],  # no pcie.1
        ['-drive', 'file={image},id=d,direct=off', '-device', 'virtio-blk-pci,drive=d,id=b,bus=pcie.0,addr=0x0'],  # host bridge
    ],
)
def test_cold_plug_refuses_to_start_where_stratovirt_would(start_vm, make_image, cmdline):
    image = make_image()
    with pytest.raises(RuntimeError):
        start_vm('2.5.0', 'standard', [], [arg.format(image=image) for arg in cmdline])


@pytest.mark.parametrize('release,cpus', [('2.1.0', {}), ('2.5.0', {})])
def test_status_lifecycle_and_static_replies(start_vm, release, cpus):
    qmp = Raw(standard(start_vm, release).socket_path)
    assert qmp.reply('query-hotpluggable-cpus') == {'return': cpus}
    lines = qmp.cmd('stop')
    if version(release) >= (2, 5):
        lines.append(json.loads(qmp.line()))  # 2.5.0 sends events after the reply
    assert [line.get('event') for line in lines] == (['STOP', None] if version(release) < (2, 5) else [None, 'STOP'])
    paused = qmp.reply('query-status')['return']
    assert paused == {'running': version(release) < (2, 5), 'singlestep': False, 'status': 'paused'}
    qmp.cmd('cont')
    assert qmp.reply('qom-list') == {'return': []}
