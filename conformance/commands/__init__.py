"""Sub-commands of ``lcm-conformance``; see :mod:`conformance.cli` for the interface."""
