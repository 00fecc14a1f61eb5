"""Imports every module that registers simulated programs, so that the shell can find them."""

from mdstools.lab import clish, coreutils, cpcmds, mds_restore, mgmt, snapshots, verifier

__all__ = ["clish", "coreutils", "cpcmds", "mds_restore", "mgmt", "snapshots", "verifier"]
