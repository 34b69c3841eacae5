# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A StratoVirt QMP simulator (2.1.0 and 2.5.0, micro and standard VMs) for tests and CI: see docs/simulator.md."""
