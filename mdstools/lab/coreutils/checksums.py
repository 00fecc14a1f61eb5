"""``sha256sum``, ``md5sum`` and ``base64``: programs that digest or encode bytes."""

from __future__ import annotations

import binascii
import hashlib
import re

from mdstools.lab.coreutils.inputs import Inputs, lines_of, why
from mdstools.lab.coreutils.options import getopt
from mdstools.lab.shell import IO, ProgramUsageError, Shell, program


def _checksum(algo: str, sh: Shell, argv: list[str], io: IO) -> int:
    prog = f"{algo}sum"
    o = getopt(argv, "cbtw", "check:c binary:b text:t quiet:q status:s warn:w")

    def digest(data: bytes) -> str:
        return hashlib.new(algo, data).hexdigest()

    ins = Inputs(sh, io, prog, o.args)
    if "c" not in o:
        for name, data, _ in ins.files():
            io.print(f"{digest(data)}  {name}")
        return ins.rc
    bad = unread = 0
    rc = 0
    for listing, text in ins.texts():
        entries = [
            m for ln in lines_of(text) if (m := re.fullmatch(r"([0-9a-fA-F]+) [ *](.+)", ln))
        ]
        if not entries:
            io.eprint(
                f"{prog}: {listing}: no properly formatted {algo.upper()} checksum lines found"
            )
            rc = 1
            continue
        for m in entries:
            want, name = m.group(1).lower(), m.group(2)
            f = sh.vfs.get(sh.path(name))
            if f is None:
                io.eprint(f"{prog}: {name}: {why(sh, name)}")
                io.print(f"{name}: FAILED open or read")
                unread += 1
                continue
            ok = digest(bytes(f.content)) == want
            bad += not ok
            if "s" not in o and (not ok or "q" not in o):
                io.print(f"{name}: {'OK' if ok else 'FAILED'}")
    if unread:
        io.eprint(
            f"{prog}: WARNING: {unread} listed file{'s' if unread > 1 else ''} could not be read"
        )
    if bad:
        io.eprint(f"{prog}: WARNING: {bad} computed checksum{'s' if bad > 1 else ''} did NOT match")
    return 1 if bad or unread or rc else ins.rc


@program("sha256sum")
def sha256sum(sh: Shell, argv: list[str], io: IO) -> int:
    """``sha256sum [-c] [FILE]...``: ``HASH  NAME`` of the files' content."""
    return _checksum("sha256", sh, argv, io)


@program("md5sum")
def md5sum(sh: Shell, argv: list[str], io: IO) -> int:
    """``md5sum [-c] [FILE]...``: ``HASH  NAME`` of the files' content."""
    return _checksum("md5", sh, argv, io)


@program("base64")
def base64_(sh: Shell, argv: list[str], io: IO) -> int:
    """``base64 [-d] [-i] [-w COLS] [FILE]``: encode (wrapped at 76 columns) or decode."""
    o = getopt(argv, "diw:", "decode:d ignore-garbage:i wrap=:w")
    if len(o.args) > 1:
        raise ProgramUsageError(f"extra operand '{o.args[1]}'")
    ins = Inputs(sh, io, "base64", o.args)
    for _, data, _ in ins.files():
        if "d" in o:
            text = re.sub(rb"\s+", b"", data)
            if "i" in o:
                text = re.sub(rb"[^A-Za-z0-9+/=]", b"", text)
            try:
                decoded = binascii.a2b_base64(text, strict_mode=True)
            except binascii.Error:
                io.eprint("base64: invalid input")
                return 1
            io.out.write(decoded.decode("utf-8", errors="replace"))
            continue
        encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
        cols = o.get("w", "76")
        if not cols.isdigit():
            raise ProgramUsageError(f"invalid wrap size: '{cols}'")
        width = int(cols)
        if width and encoded:
            encoded = "\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
        io.out.write(encoded + "\n" if encoded else "")
    return ins.rc
