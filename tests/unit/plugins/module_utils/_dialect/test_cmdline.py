# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for plugins/module_utils/_dialect/cmdline.py: StratoVirt command lines as written in the docs and the
transcripts, read as the collection reads them (machine type, root ports, and the cold-plugged devices of each kind).
"""

from __future__ import annotations

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._device.cold_plug import ColdPlugged, cold_plugged_devices
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import KINDS
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.cmdline import machine_type, qmp_sockets, root_ports, vm_name

MICRO = (
    'stratovirt -machine microvm -kernel /path/vmlinux.bin -smp 1 -m 1024 '
    '-append console=ttyS0_pci=off_root=/dev/vda '
    '-drive file=/path/rootfs.ext4,id=rootfs,readonly=off,direct=off '
    '-device virtio-blk-device,drive=rootfs,id=rootfs '
    '-netdev tap,id=n0,ifname=tap0 -device virtio-net-device,netdev=n0,id=n0 '
    '-qmp unix:/path/qmp.sock,server,nowait -serial stdio'
).split()
STANDARD = (
    'stratovirt -machine q35 -kernel /path/bzImage -smp 1 -m 2G '
    '-drive file=/path/OVMF_CODE.fd,if=pflash,unit=0,readonly=true -drive file=/path/OVMF_VARS.fd,if=pflash,unit=1 '
    '-drive file=/path/rootfs,id=rootfs,readonly=off,direct=off '
    '-device virtio-blk-pci,drive=rootfs,id=blk0,bus=pcie.0,addr=0x2 '
    '-device pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3 '
    '-device pcie-root-port,id=pcie.2,port=0x2,bus=pcie.0,addr=0x4 '
    '-netdev tap,id=net0,ifname=tap1,vhost=on -device virtio-net-pci,netdev=net0,id=nic0,bus=pcie.1,addr=0x0,mac=52:54:00:12:34:56 '
    '-qmp unix:/path/qmp.sock,server,nowait -serial stdio'
).split()


def test_micro_vm_command_line():
    assert cold_plugged_devices(MICRO) == [
        ColdPlugged('rootfs', 'disk', 'virtio-blk-device', {'file': '/path/rootfs.ext4', 'readonly': 'off', 'direct': 'off', 'drive': 'rootfs'}),
        ColdPlugged('n0', 'nic', 'virtio-net-device', {'ifname': 'tap0', 'netdev': 'n0'}),
    ]
    assert machine_type(MICRO) == 'microvm'


def test_standard_vm_command_line_skips_pflash_and_root_ports():
    devices = cold_plugged_devices(STANDARD)
    assert [(dev.id, dev.kind, dev.driver, KINDS[dev.kind].cold_options(dev.props)) for dev in devices] == [
        ('blk0', 'disk', 'virtio-blk-pci', {'path': '/path/rootfs', 'read_only': False}),
        ('nic0', 'nic', 'virtio-net-pci', {'ifname': 'tap1', 'vhost': True, 'mac': '52:54:00:12:34:56'}),
    ]
    assert devices[0].props['bus'] == 'pcie.0' and devices[0].props['addr'] == '0x2' and devices[0].props['drive'] == 'rootfs'
    assert devices[1].props == {'ifname': 'tap1', 'vhost': 'on', 'netdev': 'net0', 'bus': 'pcie.1', 'addr': '0x0', 'mac': '52:54:00:12:34:56'}
    assert machine_type(STANDARD) == 'q35'
    assert root_ports(STANDARD) == ['pcie.1', 'pcie.2'] and root_ports(MICRO) == []


def test_transcript_launch_lines():
    micro = (
        "stratovirt -name qa -machine microvm -smp 1 -m 256 -kernel GUEST -initrd INITRD -append console=ttyS0 "
        "-qmp unix:/srv/vm/qa/qmp.sock,server,nowait -serial file,path=/srv/vm/qa/serial.log"
    ).split()
    assert not cold_plugged_devices(micro)
    standard = (
        "stratovirt -name vm1 -machine q35 -smp 1 -m 512 "
        "-drive file=OVMF_CODE.fd,if=pflash,unit=0,readonly=true -drive file=OVMF_VARS.fd,if=pflash,unit=1 "
        "-device pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3 "
        "-device pcie-root-port,id=pcie.2,port=0x2,bus=pcie.0,addr=0x4 "
        "-qmp unix:/srv/vm/vm1/qmp.sock,server,nowait -serial file,path=/srv/vm/vm1/serial.log "
        "-drive file=/srv/vm/disk3.img,id=rootfs,readonly=off,direct=off"
    ).split()
    # A drive no device uses is a backend only: listed with driver '' (its id and image are taken).
    assert cold_plugged_devices(standard) == [ColdPlugged('rootfs', 'disk', '', {'file': '/srv/vm/disk3.img', 'readonly': 'off', 'direct': 'off'})]
    assert machine_type(standard) == 'q35'


@pytest.mark.parametrize('word, expected', [('on', True), ('true', True), ('off', False), ('false', False), ('maybe', None)])
def test_readonly_values(word, expected):
    argv = ['-drive', f'file=/i,id=d,readonly={word}', '-device', 'virtio-blk-device,drive=d,id=d']
    assert KINDS['disk'].cold_options(cold_plugged_devices(argv)[0].props)['read_only'] is expected


def test_option_spellings_and_free_text():
    argv = [
        'x',
        '-append',
        '-drive file=/bad,id=bad',
        '--drive',
        'id=d,file=/good',
        '-device',
        'virtio-blk-device,drive=d,id=v',
        '-device',
        'virtio-net-device,netdev=missing,id=n',
        '-netdev',
        'tap,id=spare,fd=5',
        '-M',
        'type=virt,gic-version=3',
        '-qmp',
        'tcp:127.0.0.1:4444,server',
        '-device',
    ]
    assert cold_plugged_devices(argv) == [
        ColdPlugged('v', 'disk', 'virtio-blk-device', {'file': '/good', 'drive': 'd'}),
        ColdPlugged('n', 'nic', 'virtio-net-device', {'netdev': 'missing'}),
        ColdPlugged('spare', 'nic', '', {'fd': '5'}),
    ]
    assert machine_type(argv) == 'virt'
    assert machine_type([]) is None and not cold_plugged_devices([])


# --- the monitors and the name of a VM (the host listing) ------------------------------------------


def test_the_qmp_socket_of_the_documented_command_lines():
    assert qmp_sockets(MICRO) == qmp_sockets(STANDARD) == ['/path/qmp.sock']
    assert vm_name(MICRO) is None


@pytest.mark.parametrize(
    'argv, expected',
    [
        (['-qmp', 'unix:/a.sock,server,nowait', '-qmp', 'unix:/b.sock,nowait,server'], ['/a.sock', '/b.sock']),
        (['-qmp', 'unix:/a.sock,server,nowait', '--qmp', 'unix:/a.sock,server,nowait'], ['/a.sock']),
        # StratoVirt refuses a -qmp without both flags, and a TCP monitor has no socket file.
        (['-qmp', 'unix:/a.sock,server'], []),
        (['-qmp', 'tcp:127.0.0.1:4444,server,nowait'], []),
        (['-qmp', 'unix:,server,nowait'], []),
        # A second monitor: a control -mon on a socket chardev, declared before or after it.
        (
            ['-mon', 'chardev=m1,id=mon1,mode=control', '-chardev', 'socket,id=m1,path=rel/m1.sock,server,nowait', '-qmp', 'unix:/a.sock,server,nowait'],
            ['/a.sock', 'rel/m1.sock'],
        ),
        (['-chardev', 'socket,id=m1,path=/m1.sock,server,nowait', '-mon', 'chardev=m1,id=mon1,mode=readline'], []),
        (['-chardev', 'socket,id=s1,path=/serial.sock,server,nowait', '-serial', 'chardev:s1'], []),
        # Free text is not read as options.
        (['-append', '-qmp unix:/x.sock,server,nowait'], []),
    ],
)
def test_qmp_sockets(argv, expected):
    assert qmp_sockets(['stratovirt'] + argv) == expected


def test_vm_name_is_the_last_name_and_free_text_is_not_read():
    assert vm_name(['stratovirt', '-name', 'web1', '-append', '-name x']) == 'web1'
    assert vm_name(['python3', 'run_simulator.py', '--socket', '/s', '--', '-name', 'a', '-name', 'b']) == 'b'
