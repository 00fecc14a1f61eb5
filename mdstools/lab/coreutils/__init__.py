"""GNU coreutils and the other programs in a Gaia box's ``/bin`` that scripts use.

Each program takes the options scripts commonly pass and prints GNU's output and error
messages (``cat: /x: No such file or directory``, exit status 1). Options outside that set
are refused with GNU's ``invalid option`` message, and programs that the lab only partly
implements (``awk``, ``sed``, ``tar``) say so plainly instead of guessing.

One module per concern: ``options`` (``getopt_long``), ``inputs`` (files or stdin),
``formats`` (sizes, modes, times), ``regex`` (POSIX to Python), and the programs by
subject: ``files``, ``disks``, ``checksums``, ``tar``, ``grep``, ``text``, ``awk``,
``sed``, ``processes``, ``host``, ``paths``. Importing the package registers every program.
"""

from __future__ import annotations

from mdstools.lab.coreutils import (
    awk,
    checksums,
    disks,
    files,
    grep,
    host,
    paths,
    processes,
    sed,
    tar,
    text,
)
from mdstools.lab.coreutils.formats import human
from mdstools.lab.coreutils.options import Opts, getopt
from mdstools.lab.coreutils.regex import posix_regex

__all__ = [
    "Opts",
    "awk",
    "checksums",
    "disks",
    "files",
    "getopt",
    "grep",
    "host",
    "human",
    "paths",
    "posix_regex",
    "processes",
    "sed",
    "tar",
    "text",
]
