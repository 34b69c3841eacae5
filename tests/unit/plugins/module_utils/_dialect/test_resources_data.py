# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the command line says of vCPUs, memory and devices, and the release facts of vCPU and passthrough hot-plug."""

from __future__ import annotations

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect import cmdline
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import Dialect
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.releases import hotplug_refusals, vcpu_hotplug_refusal


@pytest.mark.parametrize(
    'smp, expected',
    [(None, (1, 1)), ('1', (1, 1)), ('4', (4, 4)), ('cpus=1,maxcpus=4', (1, 4)), ('cpus=2,sockets=1,cores=2', (2, 2))],
)
def test_vcpus_of_the_last_smp(smp, expected):
    argv = ['stratovirt', '-name', 'a'] + (['-smp', smp] if smp else [])
    assert cmdline.vcpus(argv) == expected


@pytest.mark.parametrize('value, expected', [(None, 256 << 20), ('512', 512 << 20), ('1G', 1 << 30), ('2048M', 2 << 30), ('size=128M', 128 << 20)])
def test_memory_size_in_mib_unless_suffixed(value, expected):
    assert cmdline.memory_size(['stratovirt'] + (['-m', value] if value else [])) == expected


def test_parse_size_refuses_what_is_no_size():
    assert cmdline.parse_size('1G', 1) == 1 << 30 and cmdline.parse_size('512', 1) == 512
    assert cmdline.parse_size('', 1) is None and cmdline.parse_size('-1G', 1) is None and cmdline.parse_size('1.5G', 1) is None


def test_devices_of_every_driver_but_the_root_ports_and_not_in_append():
    argv = [
        'stratovirt', '-append', 'console=ttyS0 -device fake,id=x',
        '-device', 'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3',
        '-device', 'vhost-user-blk-pci,id=vub0,chardev=chr0,bus=pcie.1,addr=0x0',
        '-device', 'virtio-rng-device,rng=rng0',
    ]  # fmt: skip
    assert cmdline.devices(argv) == [
        {'driver': 'vhost-user-blk-pci', 'id': 'vub0', 'chardev': 'chr0', 'bus': 'pcie.1', 'addr': '0x0'},
        {'driver': 'virtio-rng-device', 'rng': 'rng0'},
    ]


@pytest.mark.parametrize(
    'machine, release, says',
    [
        ('micro', (2, 1, 0), 'StratoVirt 2.1.0 has no vCPU hot-plug on a micro VM'),
        ('micro', (2, 5, 0), 'StratoVirt 2.5.0 has no vCPU hot-plug on a micro VM'),
        ('standard', (2, 1, 0), 'StratoVirt 2.1.0 has no vCPU hot-plug on a standard VM'),
        ('standard', (2, 3, 0), 'StratoVirt 2.3.0 has no vCPU hot-plug on a standard VM'),
        ('standard', (2, 4, 0), 'vCPU hot-plug hangs a StratoVirt 2.4.0 standard VM for good'),
        ('standard', (2, 5, 0), 'vCPU hot-plug hangs a StratoVirt 2.5.0 standard VM for good'),
        ('standard', (2, 6, 0), 'vCPU hot-plug hangs a StratoVirt 2.6.0 standard VM for good'),
    ],
)
def test_vcpu_hotplug_is_refused_where_missing_or_hanging(machine, release, says):
    assert vcpu_hotplug_refusal(machine, release).startswith(says)
    assert Dialect(release, machine).vcpu_hotplug_refusal.startswith(says)


def test_passthrough_and_vhost_user_refusals_name_the_reason():
    assert set(hotplug_refusals('standard', (2, 5, 0))) == {'vfio-pci', 'vhost-user-blk-pci', 'vhost-user-net'}
    assert 'Unsupported Vhostuser_net' in Dialect((2, 5, 0), 'standard').hotplug_refusal('vhost-user-net')
    assert 'no chardev-add' in Dialect((2, 1, 0), 'standard').hotplug_refusal('vhost-user-blk-pci')
    assert 'virtio-mmio' in Dialect((2, 5, 0), 'micro').hotplug_refusal('vfio-pci')
    assert Dialect((2, 5, 0), 'standard').hotplug_refusal('virtio-blk-pci') is None
