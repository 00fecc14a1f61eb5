"""The ``mgmt_cli`` program: parse, log in, run one command (at its cost), print its response."""

from __future__ import annotations

from mdstools.lab.mgmt.errors import ERROR_EXIT_STATUS, ERRORS_ON_STDOUT, body_of
from mdstools.lab.mgmt.login import find_command, open_context
from mdstools.lab.mgmt.metering import Metered
from mdstools.lab.mgmt.options import USAGE, Invocation, parse_words, split_options
from mdstools.lab.mgmt.render import render, response_end
from mdstools.lab.model import LabError
from mdstools.lab.shell import IO, Shell, program


@program("mgmt_cli")
def mgmt_cli(sh: Shell, argv: list[str], io: IO) -> int:
    """``mgmt_cli``: parse, log in, run one Management API command, print its response."""
    args = argv[1:]
    if not args or args[0] in ("-h", "--help", "help"):
        (io.print if args else io.eprint)(USAGE.rstrip("\n"))
        return 0 if args else ERROR_EXIT_STATUS
    fmt = "text"
    try:
        opts, words = split_options(args)
        fmt = opts["format"]
        name, params = parse_words(words)
        inv = Invocation(name, params, opts)
        spec = find_command(sh.server, name, opts.get("version"))
        metered = Metered.of(sh, spec, inv)
        try:
            metered.admit()
            metered.before()
            with sh.dep.lock:
                ctx = open_context(sh, spec, inv)
                metered.logged_in()
                body = spec.handler(ctx)
                metered.answered(body, ctx.session.sid if ctx.session else None)
        finally:
            metered.finish()
    except LabError as exc:
        sh.dep.api.refused(sh.server.name, exc.code)
        out = io.out if ERRORS_ON_STDOUT else io.err
        out.write(render(body_of(exc), fmt) + response_end(fmt))
        return ERROR_EXIT_STATUS
    io.out.write(render(body, fmt) + response_end(fmt))
    return 0
