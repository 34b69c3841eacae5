# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: the README's examples (examples/), run as written against simulated VMs, then how to go on.

    python run_demo.py VENV COLLECTIONS

Starts the simulated VMs of examples/inventory.yml (two local "hosts"), plugs a disk and a NIC into web1, runs the
same again (nothing changes), asks in check mode what unplugging would send, unplugs, stops the VMs (which removes
their images, taps and directory), and prints the two shell lines that put VENV and COLLECTIONS in the user's shell.
Its VMs live in a temporary directory, and their taps carry this process's id, so it never meets the user's own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECAP = re.compile(r'^\S+\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.MULTILINE)


def run(playbook, extra, *options):
    """ansible-playbook as the README writes it (from the clone), plus the demo's own directory; -> changed count."""
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'examples/inventory.yml', 'examples/' + playbook]
    command += list(options) + [item for key, value in extra.items() for item in ('-e', '%s=%s' % (key, value))]
    print('$ ansible-playbook -i examples/inventory.yml examples/%s %s' % (playbook, ' '.join(options)), flush=True)
    completed = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    print(completed.stdout, flush=True)
    recaps = RECAP.findall(completed.stdout)
    if completed.returncode or not recaps:
        raise SystemExit('demo: ansible-playbook examples/%s failed (rc %d)' % (playbook, completed.returncode))
    return sum(int(recap[1]) for recap in recaps)


def main() -> int:
    venv, collections = sys.argv[1:3]
    workdir = tempfile.mkdtemp(prefix='stratovirt-demo-')  # examples/stop_vms.yml removes it
    extra = {'examples_root': workdir, 'examples_tap': 'svd%d' % (os.getpid() % 100000)}
    try:
        run('start_vms.yml', extra)
        plugged = run('plug.yml', extra)
        again = run('plug.yml', extra)
        checked = run('unplug.yml', extra, '--check')
        unplugged = run('unplug.yml', extra)
    finally:
        run('stop_vms.yml', extra)
        shutil.rmtree(workdir, ignore_errors=True)
    if (plugged, again, checked, unplugged) != (2, 0, 2, 2):
        print('demo: unexpected changes: plug %d, the same again %d, unplug in check mode %d, unplug %d' % (plugged, again, checked, unplugged))
        return 1
    print('demo: plugged a disk and a NIC, the second run changed nothing, check mode said what unplugging would send,')
    print('unplugged them; the simulated VMs are stopped and their files removed.')
    print()
    print('ansible-core is in %s and the collection in %s. In your shell:' % (venv, collections))
    print()
    print('  . %s/bin/activate' % venv)
    print('  export ANSIBLE_COLLECTIONS_PATH=%s' % collections)
    print()
    print('then, from %s, the README goes on: ansible-doc stratovirt.qmp.stratovirt_disk, and the examples of' % ROOT)
    print('examples/README.md (ansible-playbook -i examples/inventory.yml examples/start_vms.yml ...).')
    return 0


if __name__ == '__main__':
    sys.exit(main())
