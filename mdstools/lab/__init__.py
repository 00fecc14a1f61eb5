"""The embedded lab: a simulated Multi-Domain Server HA deployment served over real SSH.

It imports nothing from the client side of mdstools, so the client is never tested
against its own assumptions. See ``scenarios.py`` for the named fault scenarios.
"""
