#!/usr/bin/python
# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: stratovirt_info
short_description: Report a running StratoVirt VM's release, machine type, status, devices and free places
version_added: 0.1.0
description:
  - Reports what is known of one running StratoVirt VM, without changing it (only C(query-version) and
    C(query-status) are sent).
  - Devices come from the VM's command line (cold-plugged) and from the record the device modules keep, checked
    against what the host shows of the VM process. StratoVirt itself cannot report them.
  - Lists any mismatch between that record and the host, and what neither explains.
options:
  wait_timeout:
    description:
      - Not used by this module, which never waits for a guest.
      - Accepted so that one C(module_defaults) entry for C(group/stratovirt.qmp.stratovirt) that sets it for the
        device modules does not break this module in the same play.
    type: float
    default: 30.0
author:
  - stratovirt.qmp contributors (@stratovirt-qmp)
extends_documentation_fragment:
  - stratovirt.qmp.stratovirt
  - stratovirt.qmp.stratovirt.info_attributes
'''

EXAMPLES = r'''
- name: What does the VM have?
  stratovirt.qmp.stratovirt_info:
    socket: /srv/vm/qa/qmp.sock
  register: vm

- name: Show its free disk slots
  ansible.builtin.debug:
    var: vm.free
'''

RETURN = r'''
stratovirt:
  description: Release, machine type and process id of the VM.
  returned: success
  type: dict
  sample: {"release": "2.1.0", "machine": "micro", "pid": 4242}
status:
  description: The answer to C(query-status).
  returned: success
  type: dict
  sample: {"running": true, "singlestep": false, "status": "running"}
devices:
  description:
    - Every device known for the VM, cold-plugged and hot-plugged.
    - C(source) says where the knowledge comes from, V(cold-plugged) (the VM's command line) or V(record) (plugged
      by this collection, confirmed by the host view).
    - The options a device was plugged with (or its command line states) are shown by name, as the device modules
      take them (C(format), C(iothread), C(queues) ...), and C(guest_name) as in the C(device) of
      M(stratovirt.qmp.stratovirt_disk) and M(stratovirt.qmp.stratovirt_nic).
  returned: success
  type: list
  elements: dict
  sample:
    - {"id": "rootfs", "kind": "disk", "addr": "0x0", "path": "/srv/vm/rootfs.img", "read_only": false, "source": "cold-plugged",
       "guest_name": "vda"}
    - {"id": "drive-0", "kind": "disk", "addr": "0x1", "path": "/srv/vm/disk0.img", "read_only": false, "direct": true,
       "aio": null, "source": "record", "guest_name": "vdb"}
free:
  description:
    - Micro VM, free C(disk_slots) and C(nic_slots) (as addr values) and the number of C(backends) that can still be
      registered. Standard VM, free C(root_ports).
  returned: success
  type: dict
  sample: {"disk_slots": ["0x2", "0x3"], "nic_slots": ["0x0", "0x1"], "backends": 4}
resources:
  description:
    - The VM's other resources, read without changing anything, each from the source that tells the truth on every
      release and machine type (see docs/resources.md).
  returned: success
  type: dict
  contains:
    vcpus:
      description:
        - C(present) vCPUs (C(query-cpus)), C(possible) ones (C(query-hotpluggable-cpus) on a micro VM, C(-smp maxcpus)
          on a standard VM, whose query answers nothing), and C(hotplug) - C(supported), or why a vCPU cannot be hot-plugged
          into this VM (StratoVirt lacks it, or it hangs the VM for good).
      type: dict
      sample: {"present": 1, "possible": 4, "hotplug": "StratoVirt 2.5.0 has no vCPU hot-plug on a micro VM"}
    memory:
      description:
        - C(size) in bytes (the command line's C(-m)), C(balloon) - the balloon device's id (its driver when it has no id),
          or C(no balloon device) - and C(balloon_actual), the guest memory the balloon leaves (C(query-balloon)),
          null without a balloon device. Without an active guest balloon driver it stays the full size.
      type: dict
      sample: {"size": 268435456, "balloon": "balloon0", "balloon_actual": 268435456}
    iothreads:
      description: The ids of the VM's iothreads (C(query-iothreads); only the command line creates them).
      type: list
      elements: str
    cold_plugged:
      description:
        - Every C(-device) of the command line but the root ports, of every driver (disks, NICs, balloon, rng, VFIO,
          vhost-user ...), as its properties with C(driver). No StratoVirt query lists devices.
      type: list
      elements: dict
      sample: [{"driver": "virtio-balloon-device", "id": "balloon0", "deflate-on-oom": "true"}]
mismatches:
  description:
    - Disagreements between the device record and the host view of the VM process (entries the host contradicts,
      images or taps the VM holds that no known device explains, interrupted plugs). Empty when all agree.
  returned: success
  type: list
  elements: str
record:
  description: The device record's path, and what was discarded when it belonged to an earlier VM process.
  returned: success
  type: dict
'''

from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.info import run_info_module


def main():
    run_info_module()


if __name__ == '__main__':
    main()
