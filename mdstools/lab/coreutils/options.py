"""GNU ``getopt_long`` as the lab's programs parse their options."""

from __future__ import annotations

from dataclasses import dataclass, field

from mdstools.lab.shell import ProgramUsageError


@dataclass
class Opts:
    """Parsed options: ``flags`` maps a letter to its (last) value, "" for switches."""

    flags: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)

    def __contains__(self, letter: object) -> bool:
        return letter in self.flags

    def get(self, letter: str, default: str = "") -> str:
        return self.flags.get(letter, default)

    def set(self, letter: str, value: str) -> None:
        self.flags[letter] = value
        self.lists.setdefault(letter, []).append(value)


def getopt(argv: list[str], short: str, longs: str = "", rc: int = 1, permute: bool = True) -> Opts:
    """GNU ``getopt_long``. ``short`` is like ``"nrk:"`` (``:``: takes a value); ``longs``
    like ``"lines=:n quiet:q"`` maps each long name (``=``: takes a value) to its letter."""
    long_map = dict(item.split(":", 1) for item in longs.split())
    o = Opts()
    i = 1
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--":
            o.args += argv[i:]
            break
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            hits = [k for k in long_map if k.rstrip("=") == name] or [
                k for k in long_map if k.startswith(name)
            ]
            if len(hits) != 1:
                raise ProgramUsageError(
                    f"option '{a}' is ambiguous" if hits else f"unrecognized option '{a}'", rc
                )
            key = hits[0]
            if key.endswith("="):
                if not eq:
                    if i >= len(argv):
                        raise ProgramUsageError(f"option '--{key[:-1]}' requires an argument", rc)
                    val = argv[i]
                    i += 1
                o.set(long_map[key], val)
            elif eq:
                raise ProgramUsageError(f"option '--{key}' doesn't allow an argument", rc)
            else:
                o.set(long_map[key], "")
            continue
        if a.startswith("-") and len(a) > 1:
            k = 1
            while k < len(a):
                c = a[k]
                pos = short.find(c)
                if pos < 0 or c == ":":
                    raise ProgramUsageError(f"invalid option -- '{c}'", rc)
                if short[pos + 1 : pos + 2] == ":":
                    val = a[k + 1 :]
                    if not val:
                        if i >= len(argv):
                            raise ProgramUsageError(f"option requires an argument -- '{c}'", rc)
                        val = argv[i]
                        i += 1
                    o.set(c, val)
                    break
                o.set(c, "")
                k += 1
            continue
        o.args.append(a)
        if not permute:
            o.args += argv[i:]
            break
    return o
