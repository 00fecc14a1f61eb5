"""Transports: the only place that talks to SSH (and the only package importing paramiko)."""

from mdstools.transport.base import ExecOutput, ShellChannel, Transport

__all__ = ["ExecOutput", "ShellChannel", "Transport"]
