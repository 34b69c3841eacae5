# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/: the commands of examples/README.md run as written, in order, from the collection's directory.

Only the examples' own directory and tap prefix are moved (``-e examples_root``, ``-e examples_tap``), so that this
run meets no other on the host. The README's first example is examples/plug.yml, word for word.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml

from conftest import ANSIBLE_PLAYBOOK, collections_root

COLLECTION = os.path.join(collections_root(), 'ansible_collections', 'stratovirt', 'qmp')
RECAP = re.compile(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.MULTILINE)


def commands_of(markdown):
    """The ``ansible-playbook`` lines of the first sh block, comments dropped."""
    block = re.search(r'```sh\n(.*?)```', markdown, re.DOTALL).group(1)
    return [line.split('#')[0].split() for line in block.splitlines() if line.startswith('ansible-playbook')]


def run(argv, extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
    argv = [ANSIBLE_PLAYBOOK] + argv[1:] + [word for key, value in extra.items() for word in ('-e', '%s=%s' % (key, value))]
    completed = subprocess.run(argv, cwd=COLLECTION, env=env, capture_output=True, text=True, timeout=300, check=False)
    changed = {host: int(count) for host, count, unreachable, failed in RECAP.findall(completed.stdout)}
    return completed, changed


def test_the_examples_run_as_written(tmp_path):
    with open(os.path.join(COLLECTION, 'examples', 'README.md'), encoding='utf-8') as handle:
        commands = commands_of(handle.read())
    extra = {'examples_root': str(tmp_path / 'examples'), 'examples_tap': 'sxe%d_' % (os.getpid() % 100000)}
    outputs = {}
    try:
        for number, argv in enumerate(commands):
            completed, changed = run(argv, extra)
            key = ' '.join(argv[3:])
            assert completed.returncode == 0, '%s\n%s\n%s' % (key, completed.stdout, completed.stderr)
            assert 'WARNING' not in completed.stderr + completed.stdout and 'Deprecat' not in completed.stderr, key
            outputs['%d %s' % (number, key)] = (completed.stdout, changed)
    finally:
        run(['ansible-playbook', '-i', 'examples/inventory.yml', 'examples/stop_vms.yml'], extra)
    changes = [changed for stdout, changed in outputs.values()]
    texts = [stdout for stdout, changed in outputs.values()]
    steps = list(outputs)
    assert [step.split(' ', 1)[1] for step in steps[1:5]] == [
        'examples/plug.yml',
        'examples/plug.yml',
        'examples/unplug.yml --check --diff',
        'examples/unplug.yml',
    ]
    assert changes[1:5] == [{'hv1': 2}, {'hv1': 0}, {'hv1': 2}, {'hv1': 2}]
    # Check mode shows the commands it would send at the default verbosity, not only the diff.
    assert 'device_del' in texts[3]
    assert changes[5] == {'hv1': 1, 'hv2': 1}  # host_vms.yml: every declared VM, one call per host
    listing = texts[6]
    assert re.search(r'"web1 +pid \d+ +2\.1\.0 +micro +running +disks data0=vdb@0x1 +nics net0=eth0@0x0 .* declared"', listing), listing
    # The rollout finds everything as declared (host_vms.yml converged it): verified, nothing changed.
    assert changes[7] == {'hv1': 0, 'hv2': 0, 'localhost': 0}, texts[7]
    status = texts[8]
    for host, vm in (('hv1', 'db1'), ('hv2', 'cache1')):
        assert re.search(r'ok: \[%s\] => \{\n +"msg": \[\n(?: +".*",?\n)*? +"%s +pid \d+ +\S+ +standard +running' % (host, vm), status), status
    assert not os.path.exists(extra['examples_root'])


def test_the_readme_first_example_is_examples_plug():
    with open(os.path.join(COLLECTION, 'README.md'), encoding='utf-8') as handle:
        readme = handle.read()
    first = re.search(r'## Use\n.*?```yaml\n(.*?)```', readme, re.DOTALL).group(1)
    with open(os.path.join(COLLECTION, 'examples', 'plug.yml'), encoding='utf-8') as handle:
        assert yaml.safe_load(first) == yaml.safe_load(handle)


def test_make_demo_uses_only_ansible_core():
    with open(os.path.join(COLLECTION, 'requirements-demo.txt'), encoding='utf-8') as handle:
        wanted = [line.split('==')[0] for line in handle if line.strip() and not line.startswith('#')]
    assert wanted == ['ansible-core', 'cryptography']
    assert sys.version_info >= (3, 8)
