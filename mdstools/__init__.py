"""mdstools: the Check Point Multi-Domain Server HA upgrade as parameterized Jupyter runbooks.

The runbooks in ``runbooks/`` call this package; the ``mdstools`` command line runs them
headless with papermill, and ``mdstools.lab`` serves an embedded MDS HA lab over real SSH.
"""

__version__ = "0.1.0"
