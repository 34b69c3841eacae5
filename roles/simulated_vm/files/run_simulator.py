# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start the StratoVirt QMP simulator: ``python3 run_simulator.py --help`` (see docs/simulator.md)."""

from __future__ import annotations

import os
import sys

if __name__ == '__main__':
    # The launcher is run as a file (so that the simulator's command line reads like a VM's); its package sits beside it.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from stratovirt_sim.cli import main  # pylint: disable=import-outside-toplevel

    sys.exit(main())
