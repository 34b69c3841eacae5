# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo` until the modules land: a QMP session through the collection's client on a simulated VM.

Starts a simulated StratoVirt 2.1.0 micro VM, hot-plugs a disk by hand with the
client, unplugs it, prints what was exchanged, and stops the simulator.
"""

from __future__ import annotations

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'simulator'))

# pylint: disable=wrong-import-position
from simctl import SimulatedVM  # noqa: E402

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp import qmp_session  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix='stratovirt-demo-') as workdir:
        image = os.path.join(workdir, 'disk0.img')
        with open(image, 'wb') as handle:
            handle.truncate(64 * 1024 * 1024)
        vm = SimulatedVM(os.path.join(workdir, 'qmp.sock'), '2.1.0', 'microvm').start()
        try:
            with qmp_session(vm.socket_path, timeout=5) as client:
                print('greeting: %s' % client.greeting)
                print('release:  %s' % client.execute('query-version')['package'])
                client.execute('blockdev-add', {'node-name': 'drive-0', 'file': {'driver': 'file', 'filename': image},
                                                'cache': {'direct': True}, 'read-only': False})
                client.execute('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1'})
                print('query-block after the plug: %s  (StratoVirt cannot report its devices)' % client.execute('query-block'))
                client.execute('device_del', {'id': 'drive-0'})
                event = client.wait_event('DEVICE_DELETED', 'drive-0')
                print('unplugged: %s' % event['data'])
                for command in client.sent:
                    print('  sent %s' % command)
        finally:
            vm.stop()
    print('demo: client smoke session passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
