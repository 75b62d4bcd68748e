#!/usr/bin/env python3
"""Throwaway mail servers on loopback for the test suite: the commands of the ``mailharness`` package
next to this file (``start``, ``stop``, ``run``, ``status``, ``deliver``, ``forget-pop-logins``; ``--help``).

A script rather than ``python -m``, so the Makefile, run_tests.sh, run_demo.sh and the benchmarks call
it by path from any directory and with any interpreter (``stop`` needs only the standard library).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mailharness.cli import main  # the package above, found through the path just set

if __name__ == "__main__":
    sys.exit(main())
