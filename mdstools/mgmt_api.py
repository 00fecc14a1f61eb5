"""The Management API in sessions: reads per domain, HA changes, waits for a task.

On a Multi-Domain Server every ``mgmt_cli -r true <command>`` is a login, the command, a
publish and a logout, and a login costs about a second (``docs/durations.md``). Reads of
many domains go through :func:`read_domains` instead:

* per domain, ONE read-only login (``mgmt_cli login -r true -d DOMAIN read-only true``,
  the session written to a file in a private ``mktemp -d`` directory), every command of
  the domain in that session (``-s FILE``), then ``logout``; a shell ``trap`` on EXIT, HUP
  and TERM logs out every session still open and removes the directory, so a killed
  channel or a failing command leaves no session behind;
* the domains of one server are spread over at most :data:`EXECS_PER_SERVER` concurrent
  execs, each doing its share one domain after another (far below the API's 100
  concurrent sessions);
* an answer that says the API cannot take the call now (:data:`RETRYABLE`: initializing
  after a reboot, rate limited, session limit) is retried with backoff for at most
  :data:`RETRY_BUDGET_S`, with a progress line per wait, then raised as the ApiError it
  is (naming the domains not read): never taken for the domain's answer;
* under a rate limit the rounds adapt (:class:`_Pace`): a round that met "too many" runs
  half as many execs at once in the next (down to one), and in those execs every call
  refused for too many requests is tried again in place, a pause apart that differs from
  exec to exec (:func:`script`'s ``pace_s``), so that the execs do not retry together;
* a login by domain name answered ``err_login_failed`` is retried once with the domain's
  UID (from ``show-domains``), and noted.

A change of a domain (:func:`change`: ``set-ha-state``, ``ha-full-sync``) is one exec with
one read/write session, publish only when asked, the same trap, retries and fallback; a wait
for a task (:func:`wait_task`) is one exec with one read-only session in which the server
polls ``show-task`` in a bounded shell loop.

Every exec is an ordinary command of the session, so the journal records each script
sent; the session id never appears in an output (the login's answer goes to its file).
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mdstools.commands import ha
from mdstools.commands.base import BATCH_MARK, Command, quote
from mdstools.errors import ApiError, MdstoolsError, ParseError
from mdstools.records import MgmtTask
from mdstools.session import Result, Session

EXECS_PER_SERVER = 8
"""At most this many execs (so API sessions) at once per server."""
RETRY_BUDGET_S = 180.0
"""How long a server whose API cannot take calls now is waited for, in total."""
FIRST_WAIT_S = 5.0
MAX_WAIT_S = 30.0
RETRYABLE = {
    "generic_server_initializing": "initializing after a reboot",
    "err_too_many_requests": "too many requests",
    "err_too_many_sessions": "too many open sessions",
}
"""The codes that mean "not now": the call is retried, never read as an answer."""
LOGIN_FAILED = "err_login_failed"
SESSION_DIR = "/tmp/mdstools-api.XXXXXXXX"
LOGIN_KEY = "login "
SESSION_FILE = '"$d/s1"'
"""The session file of an exec with one session (a shell word: the exec's directory)."""
IN_PROGRESS = '"in progress"'
"""The status of a task not ended, as ``show-task`` prints it (quoted: a JSON string)."""

Reads = Callable[[str, str], Sequence[str]]
"""``reads(domain, session_file)``: the command lines of one domain, each in that session."""
Progress = Callable[[str], None]
LOGOUT_FUNCTION = "mdstools_logout"
AGAIN_FUNCTION = "mdstools_again"
"""In a paced exec: ``mdstools_again FILE CMD...`` runs ``CMD > FILE`` again while FILE
says too many requests; its status is the last try's."""
CALL_FUNCTION = "mdstools_call"
"""In a paced exec: ``mdstools_call CMD...`` runs ``CMD``, again while it answers too many
requests, and prints its last answer."""
PACED_TRIES = 10
"""How often a paced exec tries one call refused for too many requests, at most."""
CROWDED = {"err_too_many_requests", "err_too_many_sessions"}
"""The "not now" codes that mean too much at once: the next round runs fewer execs."""
T = TypeVar("T")


@dataclass(kw_only=True)
class _Pending:
    """What is left to read on one server, and how the retries went."""

    server: str
    domains: dict[str, str]  # domain -> the name or UID its login uses
    uids: Mapping[str, str]
    answers: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _domain_script(
    index: int,
    domain: str,
    login_as: str,
    lines: Sequence[str],
    read_only: bool = True,
    paced: bool = False,
) -> str:
    """One domain's part of an exec: log in, its commands, log out (else the login's error).
    ``paced``: a login refused for too many requests is tried again in place."""
    f = f'"$d/s{index}"'
    log_in = f"{ha.login(login_as, read_only)} > {f}"
    if paced:
        log_in += f" || {AGAIN_FUNCTION} {f} {ha.login(login_as, read_only)}"
    mark = f"printf '\\n%s\\n' {quote(BATCH_MARK + _login_key(domain))}"
    items = "; ".join(
        f"printf '\\n%s\\n' {quote(BATCH_MARK + _key(domain, i))}; {line}"
        for i, line in enumerate(lines)
    )
    return f"{mark}; if {log_in}; then {items}; {LOGOUT_FUNCTION} {f}; else cat {f}; fi; rm -f {f}"


def _wire(domain: str) -> str:
    """``domain`` as one marker line carries it whole: backslash, newline and carriage
    return escaped (a plain name is itself), so any name round-trips through :func:`_parse`."""
    return domain.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _key(domain: str, i: int) -> str:
    """The marker of ``domain``'s line ``i`` in an exec's output."""
    return _wire(domain) if i == 0 else f"{_wire(domain)} #{i}"


def _login_key(domain: str) -> str:
    """The marker of ``domain``'s login in an exec's output."""
    return LOGIN_KEY + _wire(domain)


def _logout_function(pause_s: float) -> str:
    """The shell function that logs the session of file ``$1`` out, trying again while the
    API answers ``err_too_many_requests`` (at most 20 times, ``pause_s`` apart): a refused
    logout would leave the session open until it expires."""
    return (
        f"{LOGOUT_FUNCTION}() {{ k=0; until {ha.logout(chr(34) + '$1' + chr(34))} "
        '> "$d/lo" 2>&1; do grep -q err_too_many_requests "$d/lo" || return 1; '
        f'k=$((k+1)); [ "$k" -ge 20 ] && return 1; sleep {_seconds(pause_s)}; done; }}'
    )


def _paced_functions(pause_s: float) -> str:
    """The shell functions of a paced exec (:data:`AGAIN_FUNCTION`, :data:`CALL_FUNCTION`):
    a call refused for too many requests is tried again ``pause_s`` later, at most
    :data:`PACED_TRIES` times."""
    refused = f'grep -q err_too_many_requests "$f" && [ "$k" -lt {PACED_TRIES} ]'
    pause = f"k=$((k+1)); sleep {_seconds(pause_s)}"
    return (
        f'{AGAIN_FUNCTION}() {{ local f="$1" k=0; shift; '
        f'while {refused}; do {pause}; "$@" > "$f" && return 0; done; return 1; }}; '
        f'{CALL_FUNCTION}() {{ local f="$d/o" k=0; "$@" > "$f"; '
        f'while {refused}; do {pause}; "$@" > "$f"; done; cat "$f"; }}'
    )


def paced(line: str) -> str:
    """``line`` (one simple command) as a paced exec runs it: tried again while the API
    answers too many requests (:data:`CALL_FUNCTION`)."""
    return f"{CALL_FUNCTION} {line}"


def script(
    parts: Sequence[tuple[str, str, Sequence[str]]],
    read_only: bool = True,
    pause_s: float = 1.0,
    pace_s: float = 0.0,
) -> str:
    """One exec: a private session directory, a trap that logs out what is left when the
    script ends (a hangup or a TERM ends it), then each ``(domain, login_as, lines)`` one
    after another, each in its own session (read-only unless ``read_only`` is False). A
    logout refused for too many requests is tried again ``pause_s`` (as slept) later.

    ``pace_s`` > 0 makes a paced exec: a login refused for too many requests is tried again
    ``pace_s`` (as slept) later, as often as :data:`PACED_TRIES`, and so are the lines the
    caller wrapped with :func:`paced`; so is the logout, ``pace_s`` apart."""
    cleanup = f'for f in "$d"/s*; do [ -f "$f" ] && {LOGOUT_FUNCTION} "$f"; done; rm -rf "$d"'
    pauses = _logout_function(pace_s if pace_s > 0 else pause_s)
    if pace_s > 0:
        pauses += f"; {_paced_functions(pace_s)}"
    head = (
        f"umask 077; d=$(mktemp -d {SESSION_DIR}) || exit 70; {pauses}; "
        f"trap {quote(cleanup)} EXIT; trap 'exit 129' HUP; trap 'exit 143' TERM"
    )
    body = "; ".join(
        _domain_script(i, d, a, ls, read_only, paced=pace_s > 0)
        for i, (d, a, ls) in enumerate(parts, 1)
    )
    return f"{head}; {body}"


def _parse(text: str) -> dict[str, str]:
    """Each marker's output; the marker as printed (only a carriage return a terminal
    added at its end is cut: blanks are part of a name)."""
    parts = re.split(rf"(?:^|\n){re.escape(BATCH_MARK)}(.*)\n", text)
    return {parts[i].removesuffix("\r"): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _code(text: str) -> str | None:
    """The error code of an answer, None when it is not an error body."""
    try:
        ha.load_json(text)
    except ApiError as exc:
        return exc.code
    except ParseError:
        return None
    return None


def _chunks(domains: Sequence[str], n: int) -> list[list[str]]:
    """``domains`` dealt to ``n`` execs, round robin."""
    return [list(domains[i::n]) for i in range(n)]


def _exec(
    sess: Session,
    parts: Sequence[tuple[str, str, Sequence[str]]],
    pause_s: float = 1.0,
    pace_s: float = 0.0,
) -> dict[str, str]:
    """The outputs of one read exec by marker; raises :class:`ExecFailed` when a domain of
    it has no answer at all (the exec failed as a whole)."""
    n = sum(len(p[2]) + 1 for p in parts)
    cmd = Command(
        script(parts, pause_s=pause_s, pace_s=pace_s),
        _parse,
        name=f"Management API reads ({len(parts)} domains, a session each)",
        timeout_s=30 + (5.0 + PACED_TRIES * pace_s) * n,
        ok_codes=tuple(range(256)),
    )
    result = sess.run(cmd)
    out = result.value()
    unanswered = [d for d, _, lines in parts if not _answered(out, d, len(lines))]
    if unanswered:
        raise ExecFailed(sess.name, result, unanswered)
    return out


def _answers(sess: Session, cmd: Command[dict[str, str]], domain: str) -> dict[str, str]:
    """The outputs of an exec of one ``domain``'s session by marker; raises
    :class:`ExecFailed` when it holds no answer of that domain's first line."""
    result = sess.run(cmd)
    out = result.value()
    if not _answered(out, domain, 1):
        raise ExecFailed(sess.name, result, [domain])
    return out


def _answered(out: Mapping[str, str], domain: str, lines: int) -> bool:
    """Whether the exec's output holds ``domain``'s answer: the login's error body, or
    every line's output after a login that succeeded."""
    if out.get(_login_key(domain), "").strip():
        return True
    return all(_key(domain, i) in out for i in range(lines))


class ExecFailed(MdstoolsError):
    """An exec of Management API calls failed as a whole (its session directory could not
    be made, ``mgmt_cli`` is missing, the shell was killed): its domains have no answer."""

    def __init__(self, server: str, result: Result[Any], domains: Sequence[str]) -> None:
        self.server = server
        self.exit_status = result.exit_status
        first = next((line.strip() for line in result.stderr.splitlines() if line.strip()), "")
        shown = ", ".join(domains[:10]) + (
            f" and {len(domains) - 10} more" if len(domains) > 10 else ""
        )
        super().__init__(
            f"{server}: the Management API exec failed (exit status {result.exit_status}"
            f"{': ' + first if first else ', nothing on stderr'}): no answer for {shown}",
            "check that mgmt_cli is on the PATH of the expert shell and that /tmp is writable "
            "on that server",
        )


def _round(
    sess: Session, p: _Pending, reads: Reads, pace: _Pace, pause_s: float = 1.0
) -> dict[str, str]:
    """One pass over the pending domains; the domains that must be retried, with the code.
    A paced round spreads its execs' pauses from ``pause_s`` to twice that."""
    names = sorted(p.domains)
    groups = [
        [(d, p.domains[d], _reads(reads, d, i, pace.paced)) for i, d in enumerate(c, 1)]
        for c in _chunks(names, max(1, min(pace.execs, len(names))))
    ]
    paces = [pause_s * (1 + i / len(groups)) if pace.paced else 0.0 for i in range(len(groups))]
    if sess.clish_login or len(groups) == 1:
        outs = [_exec(sess, g, pause_s, paces[0]) for g in groups]
    else:
        sess.transport.connect()
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            outs = list(pool.map(lambda g, s: _exec(sess, g, pause_s, s), groups, paces))
    retry: dict[str, str] = {}
    for group, out in zip(groups, outs, strict=True):
        for domain, login_as, lines in group:
            code = _settle(
                p,
                domain,
                login_as,
                [out.get(_key(domain, i), "") for i in range(len(lines))],
                out.get(_login_key(domain), ""),
            )
            if code is not None:
                retry[domain] = code
    return retry


def _reads(reads: Reads, domain: str, index: int, pace: bool) -> list[str]:
    lines = list(reads(domain, f'"$d/s{index}"'))
    return [paced(line) for line in lines] if pace else lines


@dataclass
class _Pace:
    """How one server's next round runs: how many execs at once, and whether paced. A
    round answered "too many" halves the execs (down to one) and paces the next rounds;
    a round without gets one exec more (up to the first number): AIMD."""

    execs: int
    most: int
    paced: bool = False

    def after(self, codes: set[str]) -> None:
        """Adapt to the codes the last round was answered with."""
        if codes & CROWDED:
            self.execs = max(1, self.execs // 2)
            self.paced = True
        else:
            self.execs = min(self.most, self.execs + 1)


def _settle(p: _Pending, domain: str, login_as: str, texts: list[str], login: str) -> str | None:
    """Keep a domain's answers; the code when it must be tried again instead."""
    code = _code(login) if login.strip() else None
    if code == LOGIN_FAILED and login_as == domain and p.uids.get(domain):
        p.domains[domain] = p.uids[domain]
        p.notes.append(f"{p.server}: login to domain {domain} by name failed; retried with its UID")
        return LOGIN_FAILED
    if code is None:
        code = next((c for c in map(_code, texts) if c in RETRYABLE), None)
    if code in RETRYABLE:
        return code
    p.answers[domain] = [login] * len(texts) if login.strip() else texts
    del p.domains[domain]
    return None


def read_domains(
    sess: Session,
    domains: Sequence[str],
    reads: Reads,
    *,
    uids: Mapping[str, str] | None = None,
    execs: int = EXECS_PER_SERVER,
    budget_s: float = RETRY_BUDGET_S,
    time_scale: float = 1.0,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> dict[str, list[str]]:
    """The answers of every domain's reads on one server: ``{domain: [text per line]}``.

    A domain whose login failed gets the login's error body for each of its lines (its
    parser raises the ApiError). Raises ApiError when the API still cannot take calls
    after ``budget_s``; each wait prints a line through ``progress`` (stderr by default).
    The waits and the budget are realistic seconds, times ``time_scale`` when slept (1.0 on
    real servers; the lab's scale against the lab).
    """
    p = _Pending(server=sess.name, domains={d: d for d in dict.fromkeys(domains)}, uids=uids or {})
    backoff = _Backoff(sess.name, budget_s, time_scale, progress or _stderr)
    pace = _Pace(execs=max(1, execs), most=max(1, execs))
    while p.domains:
        retry = _round(sess, p, reads, pace, pause_s=time_scale)
        codes = {c for c in retry.values() if c in RETRYABLE}
        pace.after(codes)
        if codes:
            backoff.wait(sorted(codes)[0], _not_read(retry))
    if notes is not None:
        notes.extend(p.notes)
    return p.answers


def _not_read(retry: Mapping[str, str]) -> str:
    """What a round left unread, for a progress line or the final error."""
    names = sorted(retry)
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"{len(names)} domains not read: {shown}"


@dataclass
class _Backoff:
    """The waits of one server's "not now" answers: 5 s doubling to 30 s, within a budget."""

    server: str
    budget_s: float
    time_scale: float
    say: Progress
    waited: float = 0.0
    wait_s: float = FIRST_WAIT_S

    def wait(self, code: str, left: str) -> None:
        """Sleep before the next try after ``code``; the ApiError when the budget is spent
        (``left`` says what was not done)."""
        if self.waited >= self.budget_s:
            raise ApiError(
                code,
                f"the Management API on {self.server} still answered {code} after "
                f"{self.waited:.0f} s of retries ({left})",
                "login",
            )
        step = min(self.wait_s, max(1.0, self.budget_s - self.waited))
        self.say(
            f"waiting for the Management API on {self.server} ({RETRYABLE[code]}), "
            f"{self.waited:.0f} s so far"
        )
        time.sleep(max(0.01, step * self.time_scale))
        self.waited += step
        self.wait_s = min(self.wait_s * 2, MAX_WAIT_S)


def change_command(
    domain: str,
    build: Callable[[str], Command[Any]],
    *,
    publish: bool = False,
    login_as: str | None = None,
    pace_s: float = 0.0,
) -> Command[dict[str, str]]:
    """The exec of one change of ``domain`` (what :func:`change` sends, and a dry run
    shows): a read/write login (by ``login_as``, the name by default), the command in that
    session, the publish when ``publish``, the logout, the trap; paced when ``pace_s`` > 0
    (:func:`script`)."""
    cmd = build(SESSION_FILE)
    lines = [cmd.line, *([ha.publish(SESSION_FILE)] if publish else [])]
    if pace_s > 0:
        lines = [paced(line) for line in lines]
    return Command(
        script([(domain, login_as or domain, lines)], read_only=False, pace_s=pace_s),
        _parse,
        name=f"Management API change of {domain} in one session: {cmd.name}",
        timeout_s=30 + cmd.timeout_s + PACED_TRIES * pace_s * len(lines),
        mutating=True,
        ok_codes=tuple(range(256)),
    )


def change(
    sess: Session,
    domain: str,
    build: Callable[[str], Command[T]],
    *,
    publish: bool = False,
    uid: str | Callable[[], str | None] | None = None,
    budget_s: float = RETRY_BUDGET_S,
    time_scale: float = 1.0,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> T:
    """A change of ``domain`` in ONE read/write session: the record of its answer.

    One exec logs in (``mgmt_cli login -r true -d DOMAIN``, no ``read-only``), sends
    ``build(session_file)`` in that session, publishes when ``publish`` (the HA commands
    apply themselves: their task is the change), and logs out; the exec's trap logs out
    when it ends early. A logout that fails (``set-ha-state`` to standby expires its
    session) is expected and ignored. "Not now" answers of the login or the command are
    retried with backoff (:data:`RETRYABLE`); a login by name answered
    ``err_login_failed`` is retried once with ``uid`` (or what ``uid()`` gives, asked only
    then: :func:`domain_uid` reads it). Raises the ApiError of the login, the command or
    the publish.
    """
    cmd = build(SESSION_FILE)
    backoff = _Backoff(sess.name, budget_s, time_scale, progress or _stderr)
    login_as = domain
    pace_s = 0.0
    while True:
        exec_cmd = change_command(domain, build, publish=publish, login_as=login_as, pace_s=pace_s)
        out = _answers(sess, exec_cmd, domain)
        login = out.get(_login_key(domain), "")
        code = _code(login) if login.strip() else None
        if code == LOGIN_FAILED and login_as == domain and (by_uid := _uid(uid)):
            login_as = by_uid
            if notes is not None:
                notes.append(
                    f"{sess.name}: login to domain {domain} by name failed; retried with its UID"
                )
            continue
        answer = login if code is not None else out.get(_key(domain, 0), "")
        code = code or _code(answer)
        if code in RETRYABLE:
            pace_s = time_scale if code in CROWDED else pace_s
            backoff.wait(code, f"{cmd.name} on {domain} not sent")
            continue
        value = cmd.parse(answer)
        if publish:
            ha.load_json(out.get(_key(domain, 1), ""), "publish")
        return value


def _uid(uid: str | Callable[[], str | None] | None) -> str | None:
    return uid() if callable(uid) else uid


def domain_uid(sess: Session, domain: str, *, time_scale: float = 1.0) -> str | None:
    """``domain``'s UID as ``show-domains`` on the server of ``sess`` gives it (retried
    while "not now"), None when it cannot tell: what a login falls back to when the login
    by name fails."""
    result = run_retrying(sess, ha.show_domains(), time_scale=time_scale)
    try:
        return ha.parse_domain_uids(result.stdout).get(domain) if result.ok else None
    except MdstoolsError:
        return None


def wait_task(
    sess: Session,
    domain: str | None,
    task_id: str,
    *,
    timeout_s: float,
    interval_s: float,
    budget_s: float = RETRY_BUDGET_S,
    time_scale: float = 1.0,
    progress: Progress | None = None,
) -> MgmtTask:
    """The task ``task_id`` once it ended, or as it was after ``timeout_s``: ONE exec, ONE
    read-only session for the whole wait.

    The server polls ``show-task`` in that session every ``interval_s`` (both in seconds
    as slept on the server: already scaled), in a shell loop bounded by ``timeout_s``,
    prints the last answer, and logs out; the trap logs out when the exec ends early (a
    dropped connection, a kill). ``domain`` None is System Data. "Not now" answers are
    retried with backoff. Raises the ApiError of the login or of ``show-task``.
    """
    where = domain or ha.SYSTEM_DATA
    show = ha.show_task(task_id, domain, session=SESSION_FILE)
    backoff = _Backoff(sess.name, budget_s, time_scale, progress or _stderr)
    pace_s = 0.0
    while True:
        loop = _task_loop(show.line, timeout_s, interval_s, pace_s)
        exec_cmd = Command(
            script([(where, where, [loop])], pace_s=pace_s),
            _parse,
            name=f"Management API task {task_id} waited for in one session",
            timeout_s=60 + timeout_s + interval_s + 2 * PACED_TRIES * pace_s,
            ok_codes=tuple(range(256)),
        )
        out = _answers(sess, exec_cmd, where)
        login = out.get(_login_key(where), "")
        answer = login if login.strip() else out.get(_key(where, 0), "")
        code = _code(answer)
        if code in RETRYABLE:
            pace_s = time_scale if code in CROWDED else pace_s
            backoff.wait(code, f"task {task_id} not read")
            continue
        return show.parse(answer)


def _task_loop(show: str, timeout_s: float, interval_s: float, pace_s: float) -> str:
    """The shell loop that polls ``show`` (``show-task``) every ``interval_s`` until the
    task is not in progress or ``timeout_s`` is over, then prints its last answer; each
    poll paced when ``pace_s`` > 0."""
    polls = max(1, math.ceil(timeout_s / max(interval_s, 0.01)))
    poll = paced(show) if pace_s > 0 else show
    return (
        f'n=0; while :; do {poll} > "$d/t" 2>&1; '
        f'grep -q {quote(IN_PROGRESS)} "$d/t" || break; '
        f'n=$((n+1)); [ "$n" -ge {polls} ] && break; sleep {_seconds(interval_s)}; done; '
        'cat "$d/t"'
    )


def _seconds(value: float) -> str:
    """A ``sleep`` operand: plain decimals (never ``1e-05``), at least 0.01."""
    return f"{max(value, 0.01):.3f}".rstrip("0").rstrip(".")


def not_now(result: Result[Any]) -> str | None:
    """The "not now" code (initializing, too many requests or sessions) that ``result``'s
    call was answered with, else None."""
    exc = result.exception
    return exc.code if isinstance(exc, ApiError) and exc.code in RETRYABLE else None


def run_retrying(
    sess: Session,
    command: Command[T],
    *,
    time_scale: float = 1.0,
    budget_s: float = RETRY_BUDGET_S,
    progress: Progress | None = None,
) -> Result[T]:
    """``command`` (one implicit ``mgmt_cli -r true`` call) run until its answer is not a
    "not now" code, with the backoff of the sessions' calls; the last result when the budget
    is spent (its error says which code)."""
    backoff = _Backoff(sess.name, budget_s, time_scale, progress or _stderr)
    while True:
        result = sess.run(command)
        code = not_now(result)
        if code is None:
            return result
        try:
            backoff.wait(code, command.name)
        except ApiError:
            return result


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
