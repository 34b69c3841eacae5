# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip script that ansible-test downloads from a host this machine cannot reach.

ansible-test runs it to bootstrap pip in its sanity venvs; ensurepip does the same job offline.
"""

import ensurepip
import os
import subprocess
import sys


def main():
    # ensurepip blanks pip.conf (PIP_CONFIG_FILE=/dev/null) in os.environ; the pip call below needs the real one.
    env = dict(os.environ)
    ensurepip.bootstrap(upgrade=True)
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    return subprocess.call([sys.executable, '-m', 'pip', 'install'] + args, env=env)


if __name__ == '__main__':
    sys.exit(main())
