"""The lab's bash: runs parsed command lines against one simulated server.

A :class:`Shell` holds what a bash process holds (variables, positional parameters,
functions, working directory, ``$?``, ``$!``) and runs programs found on ``PATH`` in the
server's virtual filesystem. Programs are Python functions registered with
:func:`program`; they receive the shell, their arguments and an :class:`IO`. Builtins
(``cd``, ``echo``, ``test``, ``kill``, ...) are registered with :func:`builtin`.

Simplifications, each deliberate: a pipeline runs its commands one after the other
through buffers (no streaming); every variable is exported; the only processes are the
jobs started with ``&`` (what ``kill`` and ``wait`` know); ``set -e``, ``pipefail`` and
``noclobber`` work, other options and traps are accepted and ignored; arrays, ``(( ))``
and process substitution are refused as syntax errors that say so.

One module per concern: ``streams`` (sinks, sources, :class:`IO`), ``registry`` (programs
and builtins by name), ``control`` (the exceptions that end a program, a loop, a function
or the shell), ``core`` (:class:`Shell`), ``arith`` (``$(( ))``), ``conditions`` (``[[ ]]``
and ``test``), ``builtin_commands``. Importing the package registers every builtin.
"""

from __future__ import annotations

from mdstools.lab.shell import builtin_commands
from mdstools.lab.shell.builtin_commands import backslash_escapes
from mdstools.lab.shell.control import Killed, ProgramUsageError, ShellExit
from mdstools.lab.shell.core import BASE_PATH, MAX_LOOPS, Shell, glob_escape
from mdstools.lab.shell.registry import BUILTINS, PROGRAMS, Program, builtin, program
from mdstools.lab.shell.streams import IO, BufferSink, FileSink, NullSink, Sink, Source, TextSource

__all__ = [
    "BASE_PATH",
    "BUILTINS",
    "IO",
    "MAX_LOOPS",
    "PROGRAMS",
    "BufferSink",
    "FileSink",
    "Killed",
    "NullSink",
    "Program",
    "ProgramUsageError",
    "Shell",
    "ShellExit",
    "Sink",
    "Source",
    "TextSource",
    "backslash_escapes",
    "builtin",
    "builtin_commands",
    "glob_escape",
    "program",
]
