# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make galaxy`: build the collection tarball, check it as Galaxy would, install it, run the rollout from there.

Run from the collection's root. Builds with ``ansible-galaxy collection build``, runs Galaxy's own importer
(``galaxy-importer``, with ansible-lint; ansible-test runs in make test already) and fails on any warning or
error it prints, installs the tarball with ``ansible-galaxy collection install`` into a new temporary
directory, checks with ``ansible-builder introspect`` that an execution environment needs nothing for it,
then runs ``ansible-playbook stratovirt.qmp.rollout`` with ANSIBLE_COLLECTIONS_PATH set to that directory
only, against one host (local connection) with one simulated 2.1.0 micro VM, and checks that it plugged
the declared disk and NIC.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from stratovirt_sim.control import SimulatedVM, new_tap_name

ROOT = os.getcwd()
BIN = os.path.dirname(sys.executable)
MAX_TARBALL = 2 * 1024 * 1024
RECAP = re.compile(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.MULTILINE)


def run(argv, **kwargs):
    print('+ ' + ' '.join(argv), flush=True)
    return subprocess.run(argv, check=True, **kwargs)


def name_repository():
    """Galaxy requires ``repository``, which galaxy.yml leaves out until the project is published somewhere.

    This runs in a throwaway copy: it names where this build really comes from (``STRATOVIRT_QMP_REPOSITORY``,
    the checkout's git remote or directory), never an invented address.
    """
    with open(os.path.join(ROOT, 'galaxy.yml'), encoding='utf-8') as handle:
        metadata = handle.read()
    if re.search(r'^repository:', metadata, re.MULTILINE):
        return
    origin = os.environ.get('STRATOVIRT_QMP_REPOSITORY') or ROOT
    if '://' not in origin and not re.match(r'^[\w.-]+@', origin):
        origin = 'file://' + os.path.abspath(origin)
    with open(os.path.join(ROOT, 'galaxy.yml'), 'a', encoding='utf-8') as handle:
        handle.write('repository: %s\n' % origin)
    print('galaxy.yml: repository %s, for this check only' % origin)


def build_and_install(workdir):
    name_repository()
    dist = os.path.join(workdir, 'dist')
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', dist, ROOT], stdout=subprocess.DEVNULL)
    tarball = glob.glob(os.path.join(dist, '*.tar.gz'))[0]
    size = os.path.getsize(tarball)
    print('tarball %s: %d KiB' % (os.path.basename(tarball), size // 1024))
    if size > MAX_TARBALL:
        sys.exit('the tarball is larger than %d KiB: check build_ignore in galaxy.yml' % (MAX_TARBALL // 1024))
    galaxy_import(workdir, tarball)
    installed = os.path.join(workdir, 'installed')
    run(
        [os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '-p', installed, tarball],
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed),
    )
    return installed


IMPORTER_CONFIG = """[galaxy-importer]
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
CHECK_CHANGELOG = True
"""


def galaxy_import(workdir, tarball):
    """Galaxy's importer on the tarball: it must end well and say nothing of concern."""
    config = os.path.join(workdir, 'galaxy-importer.cfg')
    with open(config, 'w', encoding='utf-8') as handle:
        handle.write(IMPORTER_CONFIG)
    print('+ galaxy-importer ' + os.path.basename(tarball), flush=True)
    completed = subprocess.run(
        [sys.executable, '-m', 'galaxy_importer.main', tarball],
        cwd=workdir,
        env=dict(os.environ, GALAXY_IMPORTER_CONFIG=config),
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    concerns = [line for line in output.splitlines() if re.match(r'\s*(WARNING|ERROR)', line)]
    if completed.returncode or concerns or 'Importer processing completed successfully' not in output:
        print(output)
        sys.exit('galaxy-importer: rc %d, %d warnings or errors' % (completed.returncode, len(concerns)))
    print('galaxy-importer: clean')


def introspect(installed):
    """An execution environment needs no Python or system package for this collection."""
    completed = run([os.path.join(BIN, 'ansible-builder'), 'introspect', '--sanitize', installed], capture_output=True, text=True)
    if 'python: []' not in completed.stdout or 'system: []' not in completed.stdout:
        print(completed.stdout)
        sys.exit('ansible-builder introspect lists dependencies: meta/execution-environment.yml')
    print('ansible-builder introspect: no dependency')


def write_inventory(workdir, socket_path, tap):
    image = os.path.join(workdir, 'data0.img')
    with open(image, 'wb') as handle:
        handle.truncate(16 * 1024 * 1024)
    inventory = {
        'hypervisors': {
            'hosts': {
                'hv-smoke': {
                    'ansible_connection': 'local',
                    'ansible_python_interpreter': sys.executable,
                    'vm_devices_vms': [
                        {
                            'name': 'smoke',
                            'socket': socket_path,
                            'disks': [{'id': 'data0', 'path': image}],
                            'nics': [{'id': 'net0', 'ifname': tap, 'create_tap': True}],
                        }
                    ],
                }
            }
        }
    }
    path = os.path.join(workdir, 'inventory.json')
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(inventory, handle)
    return path


def rollout(workdir, installed, inventory):
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=installed,
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-tmp'),
        ANSIBLE_RETRY_FILES_ENABLED='False',
    )
    completed = subprocess.run(
        [os.path.join(BIN, 'ansible-playbook'), 'stratovirt.qmp.rollout', '-i', inventory],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if completed.returncode != 0:
        print(completed.stdout)
        print(completed.stderr)
        sys.exit('the rollout from the installed collection failed (rc %d)' % completed.returncode)
    return dict((host, int(changed)) for host, changed, dummy, dummy2 in RECAP.findall(completed.stdout))


def main():
    workdir = tempfile.mkdtemp(prefix='stratovirt-qmp-galaxy-')
    vm = SimulatedVM(os.path.join(workdir, 'smoke.sock'), '2.1.0', 'microvm')
    try:
        installed = build_and_install(workdir)
        location = os.path.join(installed, 'ansible_collections', 'stratovirt', 'qmp')
        if not os.path.isfile(os.path.join(location, 'playbooks', 'rollout.yml')):
            sys.exit('the installed collection has no playbooks/rollout.yml')
        introspect(installed)
        vm.start()
        inventory = write_inventory(workdir, vm.socket_path, new_tap_name('svg'))
        first = rollout(workdir, installed, inventory)
        second = rollout(workdir, installed, inventory)
        if not first.get('hv-smoke') or second.get('hv-smoke') != 0:
            sys.exit('expected changes on the first rollout and none on the second, got %s then %s' % (first, second))
        print('rollout from the installed collection: changed=%d, then changed=%d' % (first['hv-smoke'], 0))
    finally:
        vm.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
