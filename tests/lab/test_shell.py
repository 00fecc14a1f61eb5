"""The lab's bash: every construct the runbooks and the client send, with its bash meaning.

Commands run as an SSH exec channel runs them (``run_exec``), without the Check Point
profile unless a test sources it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from mdstools.lab import syntax
from mdstools.lab.model import Deployment
from tests.lab.conftest import Ran, run_on

Bash = Callable[..., Ran]


@pytest.fixture
def sh(lab: Deployment) -> Bash:
    """``sh("cmd")`` runs an exec on mds1 with no profile; ``server=`` picks another."""

    def _run(command: str, stdin: str = "", server: str = "mds1") -> Ran:
        return run_on(lab, server, command, stdin=stdin, profile=False)

    return _run


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return False


# -- lists and exit status ---------------------------------------------------------


def test_semicolon_runs_both_and_the_last_status_wins(sh: Bash) -> None:
    r = sh("echo one; false")
    assert (r.rc, r.out) == (1, "one\n")


def test_and_runs_the_right_side_only_after_success(sh: Bash) -> None:
    assert sh("true && echo yes").out == "yes\n"
    r = sh("false && echo no")
    assert (r.rc, r.out) == (1, "")


def test_or_runs_the_right_side_only_after_failure(sh: Bash) -> None:
    assert sh("false || echo fallback").out == "fallback\n"
    assert sh("true || echo no").out == ""


def test_and_or_chain_left_to_right(sh: Bash) -> None:
    assert sh("false && echo a || echo b && echo c").out == "b\nc\n"


def test_dollar_question_is_the_last_status(sh: Bash) -> None:
    assert sh("false; echo $?; true; echo $?").out == "1\n0\n"
    assert sh("ls /nope 2>/dev/null; echo $?").out == "2\n"


def test_negation_inverts_the_status(sh: Bash) -> None:
    assert sh("! false && echo inverted").out == "inverted\n"


def test_exit_sets_the_status_of_the_exec_and_stops(sh: Bash) -> None:
    r = sh("echo before; exit 7; echo after")
    assert (r.rc, r.out) == (7, "before\n")
    assert sh("false; exit").rc == 1
    r = sh("exit abc")
    assert r.rc == 2 and "exit: abc: numeric argument required" in r.err


def test_exit_in_a_subshell_only_leaves_the_subshell(sh: Bash) -> None:
    r = sh("(exit 3); echo status $?")
    assert (r.rc, r.out) == (0, "status 3\n")


def test_set_e_stops_at_an_untested_failure(sh: Bash) -> None:
    r = sh(
        "set -e; false || echo recovered; if false; then :; fi; ! true; false && echo no;"
        " echo alive; false; echo never"
    )
    assert (r.rc, r.out) == (1, "recovered\nalive\n")
    r = sh("bash -e -c 'echo a; false; echo b'; echo rc=$?")
    assert r.out == "a\nrc=1\n"
    assert sh("set -e; set +e; false; echo off").out == "off\n"


def test_pipefail_and_pipe_ampersand(sh: Bash) -> None:
    assert sh("set -o pipefail; false | true; echo $?").out == "1\n"
    assert sh("ls /nope |& wc -l").out == "1\n"


def test_noclobber_creates_only_a_new_file(sh: Bash) -> None:
    """``set -o noclobber``: ``>`` refuses an existing file (the atomic create of a lock
    file), ``>|`` and ``>>`` still write, a subshell keeps the option to itself."""
    r = sh("set -o noclobber; echo one > /tmp/f; echo two > /tmp/f; echo rc=$?; cat /tmp/f")
    assert r.out == "rc=1\none\n"
    assert "/tmp/f: cannot overwrite existing file" in r.err
    r = sh("set -C; echo one > /tmp/g; echo two >| /tmp/g; echo three >> /tmp/g; cat /tmp/g")
    assert r.out == "two\nthree\n"
    r = sh(
        "echo a > /tmp/h; (set -o noclobber; echo b > /tmp/h) 2>/dev/null || echo held; "
        "echo c > /tmp/h; cat /tmp/h"
    )
    assert r.out == "held\nc\n"


# -- variables -----------------------------------------------------------------------


def test_assignment_and_expansion_forms(sh: Bash) -> None:
    r = sh('V=abc; echo $V ${V} "${V}x" ${UNSET:-dflt} ${V:-dflt} "[${UNSET}]"')
    assert r.out == "abc abc abcx dflt abc []\n"


def test_default_value_expands_its_word(sh: Bash) -> None:
    assert sh("echo ${UNSET:-$HOME/x}; X=; echo ${X:-empty}.${X-unset}.${U-unset}").out == (
        "/home/admin/x\nempty..unset\n"
    )


def test_assign_default_alternate_and_error_forms(sh: Bash) -> None:
    assert sh("echo ${A:=one} $A ${A:+alt} ${B:+alt}.").out == "one one alt .\n"
    r = sh("echo ${NOPE:?must be set}; echo unreachable")
    assert (r.rc, r.out, r.err) == (127, "", "bash: NOPE: must be set\n")


def test_prefix_assignment_is_temporary(sh: Bash) -> None:
    r = sh('V=outer; V=inner bash -c \'echo "$V"\'; echo "$V"')
    assert r.out == "inner\nouter\n"
    r = sh("TMPV=1 env | grep ^TMPV=; echo [$TMPV]")
    assert r.out == "TMPV=1\n[]\n"


def test_dollar_dollar_is_the_shell_pid_and_stays_in_subshells(sh: Bash) -> None:
    r = sh("echo $$; (echo $$); echo $(echo $$)")
    pids = r.out.split()
    assert len(pids) == 3 and pids[0].isdigit() and len(set(pids)) == 1


def test_each_exec_is_a_new_process(sh: Bash) -> None:
    assert sh("echo $$").out != sh("echo $$").out


def test_parameter_pattern_operators(sh: Bash) -> None:
    r = sh(
        "f=/var/log/backup.tgz; echo ${f##*/} ${f%.tgz} ${f#/var/} ${f%%/*}x ${#f} "
        "${f/log/LOG} ${f//a/A} ${f:5:3}"
    )
    assert (
        r.out == "backup.tgz /var/log/backup log/backup.tgz x 19 /var/LOG/backup.tgz "
        "/vAr/log/bAckup.tgz log\n"
    )


def test_bad_substitution(sh: Bash) -> None:
    r = sh("echo ${x!}")
    assert (r.rc, r.err) == (1, "bash: ${x!}: bad substitution\n")


def test_arithmetic_expansion(sh: Bash) -> None:
    assert sh("i=4; echo $((i * 2 + 1)) $(( (i - 1) / 2 )) $((7 % 3)) $((i > 3))").out == (
        "9 1 1 1\n"
    )
    assert sh("n=1; n=$((n + 1)); : $((n += 5)); echo $n").out == "7\n"
    r = sh("echo $((1 / 0))")
    assert r.rc == 1 and "division by 0" in r.err


def test_arithmetic_command_and_let(sh: Bash) -> None:
    r = sh("(( x = 1 + 2 )); echo $x; (( x > 5 )) || echo small; ((x++)); let y=x*2; echo $x $y")
    assert r.out == "3\nsmall\n4 8\n"
    assert sh("((echo nested); echo subshell)").out == "nested\nsubshell\n"


def test_append_assignment(sh: Bash) -> None:
    assert sh("P=a; P+=b; echo $P").out == "ab\n"


# -- quoting and word splitting ------------------------------------------------------


def test_single_quotes_are_literal(sh: Bash) -> None:
    assert sh("V=x; echo '$V \"q\" \\n'").out == '$V "q" \\n\n'


def test_double_quotes_expand_but_keep_spaces(sh: Bash) -> None:
    assert sh('V="a  b"; echo "[$V]" "\\$V" "\\"q\\""').out == '[a  b] $V "q"\n'


def test_backslash_escapes_outside_quotes(sh: Bash) -> None:
    assert sh("echo a\\ \\ b \\$HOME \\'").out == "a  b $HOME '\n"


def test_empty_string_is_an_argument(sh: Bash) -> None:
    assert sh('bash -c \'echo $#\' x "" "" ""').out == "3\n"
    assert sh("E=; bash -c 'echo $#' x $E $E").out == "0\n"


def test_unquoted_expansions_are_split_into_fields(sh: Bash) -> None:
    r = sh('X="1  2   3"; for w in $X; do echo "<$w>"; done')
    assert r.out == "<1>\n<2>\n<3>\n"


def test_double_quoted_expansions_are_not_split(sh: Bash) -> None:
    r = sh('X="1  2   3"; for w in "$X"; do echo "<$w>"; done')
    assert r.out == "<1  2   3>\n"


def test_command_substitution_is_split_unless_quoted(sh: Bash) -> None:
    r = sh("printf 'a b\\nc\\n' > /tmp/w; for w in $(cat /tmp/w); do echo \"<$w>\"; done")
    assert r.out == "<a>\n<b>\n<c>\n"
    assert sh('echo "$(cat /tmp/w)"').out == "a b\nc\n"


def test_positional_parameters_in_bash_c(sh: Bash) -> None:
    r = sh("bash -c 'echo $0/$1/$2/$#; for a in \"$@\"; do echo \"[$a]\"; done' me 'x y' z")
    assert r.out == "me/x y/z/2\n[x y]\n[z]\n"


def test_comments_are_ignored(sh: Bash) -> None:
    assert sh("echo a # not this\n# whole line\necho b#c").out == "a\nb#c\n"


def test_tilde_expands_to_home(sh: Bash) -> None:
    assert sh("echo ~ ~/x '~'").out == "/home/admin /home/admin/x ~\n"


# -- redirection ---------------------------------------------------------------------


def test_redirect_stdout_to_a_file_truncates(sh: Bash) -> None:
    r = sh("echo one > /tmp/f; echo two > /tmp/f; cat /tmp/f")
    assert (r.rc, r.out) == (0, "two\n")


def test_append_redirect(sh: Bash) -> None:
    assert sh("echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f").out == "one\ntwo\n"


def test_stderr_to_stdout_after_file_redirect_goes_to_the_file(sh: Bash) -> None:
    r = sh("ls /nope > /tmp/both 2>&1; echo rc=$?")
    assert (r.out, r.err) == ("rc=2\n", "")
    assert sh("cat /tmp/both").out == "ls: cannot access '/nope': No such file or directory\n"


def test_stderr_dup_before_file_redirect_goes_to_the_old_stdout(sh: Bash) -> None:
    r = sh("ls /nope 2>&1 > /tmp/only_out")
    assert r.out == "ls: cannot access '/nope': No such file or directory\n" and r.err == ""
    assert sh("cat /tmp/only_out").out == ""


def test_stderr_to_dev_null(sh: Bash) -> None:
    r = sh("cat /nope 2>/dev/null; echo $?")
    assert (r.out, r.err) == ("1\n", "")


def test_ampersand_redirect_sends_both_streams(sh: Bash) -> None:
    r = sh("{ echo out; echo err >&2; } &> /tmp/all; cat /tmp/all")
    assert (r.out, r.err) == ("out\nerr\n", "")


def test_stdout_to_stderr(sh: Bash) -> None:
    r = sh("echo warn >&2; echo also 1>&2")
    assert (r.out, r.err) == ("", "warn\nalso\n")


def test_redirect_into_a_missing_directory_fails_like_bash(sh: Bash) -> None:
    r = sh("echo x > /nodir/f; echo rc=$?")
    assert r.out == "rc=1\n"
    assert r.err == "bash: /nodir/f: No such file or directory\n"


def test_input_redirect_and_here_string(sh: Bash) -> None:
    r = sh("printf 'l1\\nl2\\n' > /tmp/in; wc -l < /tmp/in; cat <<< 'here string'")
    assert r.out == "2\nhere string\n"
    r = sh("cat < /tmp/missing")
    assert (r.rc, r.err) == (1, "bash: /tmp/missing: No such file or directory\n")


def test_here_document_expands_unless_quoted(sh: Bash) -> None:
    r = sh("V=val\ncat <<EOF\nv=$V\nEOF\ncat <<'EOF'\nv=$V\nEOF\necho end")
    assert r.out == "v=val\nv=$V\nend\n"


def test_here_document_writes_a_script(sh: Bash) -> None:
    r = sh("cat > /tmp/s.sh <<'EOF'\necho \"arg=$1\"\nEOF\nbash /tmp/s.sh 42")
    assert r.out == "arg=42\n"


def test_redirection_of_a_compound_command(sh: Bash) -> None:
    r = sh("for i in 1 2; do echo $i; done > /tmp/loop; cat /tmp/loop")
    assert r.out == "1\n2\n"


# -- pipes and substitution ----------------------------------------------------------


def test_pipes_pass_stdout_along(sh: Bash) -> None:
    r = sh("printf 'b\\na\\nb\\n' | sort | uniq -c | sort -rn | head -1")
    assert r.out == "      2 b\n"


def test_pipe_status_is_the_last_command(sh: Bash) -> None:
    assert sh("false | true; echo $?").out == "0\n"
    assert sh("true | false; echo $?").out == "1\n"


def test_pipe_stderr_is_not_piped(sh: Bash) -> None:
    r = sh("cat /nope | wc -l")
    assert (r.out, r.err) == ("0\n", "cat: /nope: No such file or directory\n")


def test_pipeline_commands_run_in_subshells(sh: Bash) -> None:
    assert sh("X=1; echo 2 | read X; echo $X").out == "1\n"


def test_stdin_of_the_exec_reaches_the_command(sh: Bash) -> None:
    assert sh("cat | tr a-z A-Z", stdin="hello\n").out == "HELLO\n"


def test_command_substitution_forms(sh: Bash) -> None:
    r = sh('echo $(echo a) `echo b` "$(echo c; echo d)" $(echo $(echo nested))')
    assert r.out == "a b c\nd nested\n"


def test_command_substitution_strips_trailing_newlines_and_sets_status(sh: Bash) -> None:
    assert sh("X=$(printf 'v\\n\\n\\n'); echo \"[$X]\"").out == "[v]\n"
    assert sh("X=$(false); echo $?").out == "1\n"


def test_command_substitution_stderr_is_not_captured(sh: Bash) -> None:
    r = sh('X=$(cat /nope); echo "[$X]"')
    assert (r.out, r.err) == ("[]\n", "cat: /nope: No such file or directory\n")


# -- background jobs -------------------------------------------------------------------


def test_nohup_background_job_pid_and_kill_0(lab: Deployment, sh: Bash) -> None:
    r = sh("nohup sleep 0.4 > /tmp/job.log 2>&1 &\necho $!")
    pid = r.out.strip()
    assert r.rc == 0 and pid.isdigit() and r.err == ""
    running = sh(f"kill -0 {pid}")
    assert (running.rc, running.out, running.err) == (0, "", "")
    assert wait_for(lambda: sh(f"kill -0 {pid}").rc == 1)
    ended = sh(f"kill -0 {pid}")
    assert (ended.rc, ended.err) == (1, f"bash: kill: ({pid}) - No such process\n")


def test_kill_stops_a_background_job(sh: Bash) -> None:
    pid = sh("nohup sleep 30 > /tmp/long.log 2>&1 & echo $!").out.strip()
    assert sh(f"kill -0 {pid}").rc == 0
    r = sh(f"kill {pid}")
    assert (r.rc, r.err) == (0, "")
    assert wait_for(lambda: sh(f"kill -0 {pid}").rc == 1, timeout=2.0)


def test_detached_job_writes_its_log_and_rc_file(sh: Bash) -> None:
    r = sh(
        "(nohup bash -c 'echo started; sleep 0.1; echo done; exit 3' > /tmp/j.log 2>&1;"
        " echo $? > /tmp/j.rc) &\necho launched"
    )
    assert r.out == "launched\n"
    assert wait_for(lambda: sh("cat /tmp/j.rc").out == "3\n")
    assert sh("cat /tmp/j.log").out == "started\ndone\n"


def test_wait_returns_the_job_status(sh: Bash) -> None:
    r = sh("bash -c 'sleep 0.05; exit 5' & wait $!; echo $?")
    assert r.out == "5\n"


def test_kill_with_a_bad_argument(sh: Bash) -> None:
    r = sh("kill abc")
    assert (r.rc, r.err) == (1, "bash: kill: abc: arguments must be process or job IDs\n")


# -- builtins ------------------------------------------------------------------------


def test_echo_options(sh: Bash) -> None:
    assert sh("echo -n a; echo b").out == "ab\n"
    assert sh("echo -e 'x\\ty\\n'").out == "x\ty\n\n"
    assert sh("echo 'x\\ty'").out == "x\\ty\n"
    assert sh("echo -e 'stop\\cnever'; echo").out == "stop\n"


def test_printf_formats(sh: Bash) -> None:
    assert sh("printf '%s=%d|%5s|%-3s|%03d\\n' a 7 r l 9").out == "a=7|    r|l  |009\n"
    assert sh("printf '%s\\n' one two").out == "one\ntwo\n"


def test_test_and_brackets(sh: Bash) -> None:
    r = sh(
        "test -f /etc/cp-release && echo f; [ -f /etc ] || echo notfile; [ -d /etc ] && echo d;"
        " test -z '' && echo z; [ -n x ] && echo n; [ 3 -gt 2 ] && echo gt;"
        " [ a = a ] && echo eq; [ ! -e /nope ] && echo missing; [ -s /etc/cp-release ] && echo s"
    )
    assert r.out == "f\nnotfile\nd\nz\nn\ngt\neq\nmissing\ns\n"


def test_test_errors(sh: Bash) -> None:
    r = sh("[ 1 -eq ]")
    assert r.rc == 2 and "bash: [:" in r.err
    r = sh("[ abc -lt 3 ]")
    assert (r.rc, r.err) == (2, "bash: [: abc: integer expression expected\n")
    assert sh("[ -f /etc/cp-release").err == "bash: [: missing `]'\n"


def test_double_brackets(sh: Bash) -> None:
    r = sh(
        'f=R81.20; [[ $f == R81* && -d /etc ]] && echo glob; [[ "$f" =~ ^R([0-9]+) ]] && echo re;'
        ' [[ $f == "R81*" ]] || echo quoted-literal; [[ -z $UNSET ]] && echo nosplit'
    )
    assert r.out == "glob\nre\nquoted-literal\nnosplit\n"


def test_cd_and_pwd(sh: Bash) -> None:
    r = sh("pwd; cd /var/log && pwd; cd nope; echo $?; cd; pwd")
    assert r.out == "/home/admin\n/var/log\n1\n/home/admin\n"
    assert r.err == "bash: cd: nope: No such file or directory\n"


def test_relative_paths_follow_cd(sh: Bash) -> None:
    assert sh("cd /tmp && echo x > rel.txt && cat /tmp/rel.txt").out == "x\n"


def test_read_splits_a_line(sh: Bash) -> None:
    r = sh("read a b <<< 'one two three'; echo \"$a|$b\"")
    assert r.out == "one|two three\n"
    r = sh('while read line; do echo "<$line>"; done', stdin="l1\nl2\n")
    assert r.out == "<l1>\n<l2>\n"


def test_type_and_command_v(sh: Bash) -> None:
    assert sh("command -v ls; type cd").out == "/bin/ls\ncd is a shell builtin\n"
    r = sh("command -v mdsstat; echo $?")
    assert r.out == "1\n"


def test_eval_and_shift_and_set(sh: Bash) -> None:
    r = sh("CMD='echo evaluated'; eval $CMD; set -- a b c; shift; echo $# $1")
    assert r.out == "evaluated\n2 b\n"


def test_export_is_visible_to_children(sh: Bash) -> None:
    assert sh("export E1=v; bash -c 'echo $E1'").out == "v\n"


# -- compound commands ---------------------------------------------------------------


def test_if_elif_else(sh: Bash) -> None:
    script = (
        "for v in 1 2 3; do if [ $v = 1 ]; then echo one; elif [ $v = 2 ]; then echo two;"
        " else echo other; fi; done"
    )
    assert sh(script).out == "one\ntwo\nother\n"


def test_if_on_multiple_lines(sh: Bash) -> None:
    r = sh("if grep -q Gaia /etc/cp-release\nthen\n  echo gaia\nfi")
    assert r.out == "gaia\n"


def test_for_over_a_glob(sh: Bash) -> None:
    r = sh("for d in /opt/CPmds-R*; do echo $d; done")
    assert r.out == "/opt/CPmds-R81.10\n"


def test_while_and_until(sh: Bash) -> None:
    r = sh(
        "i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done; until [ $i -eq 0 ]; do "
        "i=$((i-1)); done; echo end $i"
    )
    assert r.out == "0\n1\n2\nend 0\n"


def test_break_and_continue(sh: Bash) -> None:
    r = sh("for i in 1 2 3 4 5; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done")
    assert r.out == "1\n3\n"
    r = sh("for a in x y; do for b in 1 2; do [ $b = 2 ] && continue 2; echo $a$b; done; done")
    assert r.out == "x1\ny1\n"


def test_case(sh: Bash) -> None:
    r = sh(
        "for v in R81.10 R82 other; do case $v in R81.*|R80.*) echo old;; R82) echo new;;"
        " *) echo '?';; esac; done"
    )
    assert r.out == "old\nnew\n?\n"


def test_functions_with_arguments_local_and_return(sh: Bash) -> None:
    r = sh('X=global; f() { local X=inner; echo "$1-$# $X"; return 4; }\nf a b; echo "rc=$? X=$X"')
    assert r.out == "a-2 inner\nrc=4 X=global\n"


def test_brace_group_and_subshell(sh: Bash) -> None:
    assert sh("{ echo a; echo b; } | wc -l").out == "2\n"
    assert sh("V=1; (V=2; cd /tmp); echo $V; pwd").out == "1\n/home/admin\n"


def test_globs_expand_sorted_and_unmatched_stay_literal(sh: Bash) -> None:
    r = sh(
        "mkdir -p /tmp/g; touch /tmp/g/b.log /tmp/g/a.log /tmp/g/.hidden; echo /tmp/g/*;"
        " echo /tmp/g/*.txt; echo '/tmp/g/*'"
    )
    assert r.out == "/tmp/g/a.log /tmp/g/b.log\n/tmp/g/*.txt\n/tmp/g/*\n"


def test_relative_glob(sh: Bash) -> None:
    assert sh("cd /opt && echo CPmds-*").out == "CPmds-R81.10\n"


# -- scripts -------------------------------------------------------------------------


def test_source_and_dot_run_in_the_current_shell(sh: Bash) -> None:
    sh("printf 'SRC=loaded\\ncd /tmp\\n' > /tmp/vars.sh")
    r = sh("source /tmp/vars.sh; echo $SRC; pwd; SRC=; . /tmp/vars.sh; echo $SRC")
    assert r.out == "loaded\n/tmp\nloaded\n"


def test_source_missing_file(sh: Bash) -> None:
    r = sh("source /nope.sh; echo $?")
    assert (r.out, r.err) == ("1\n", "bash: /nope.sh: No such file or directory\n")


def test_script_runs_in_a_child_with_arguments(sh: Bash) -> None:
    sh("printf 'echo \"$0 $1 $#\"\\nV=changed\\nexit 3\\n' > /tmp/s.sh")
    r = sh('V=orig; bash /tmp/s.sh a b; echo "rc=$? V=$V"')
    assert r.out == "/tmp/s.sh a 2\nrc=3 V=orig\n"


def test_script_errors_name_the_script_and_line(sh: Bash) -> None:
    sh("printf 'echo ok\\nnosuchcmd\\n' > /tmp/e.sh")
    r = sh("bash /tmp/e.sh")
    assert r.out == "ok\n"
    assert r.err == "/tmp/e.sh: line 2: nosuchcmd: command not found\n"


def test_bash_login_loads_the_check_point_profile(sh: Bash) -> None:
    assert sh("bash -l -c 'echo $MDSDIR'").out == "/opt/CPmds-R81.10\n"
    assert sh("bash -c 'echo [$MDSDIR]'").out == "[]\n"


# -- errors --------------------------------------------------------------------------


def test_command_not_found(sh: Bash) -> None:
    r = sh("nosuchcmd arg; echo $?")
    assert (r.out, r.err) == ("127\n", "bash: nosuchcmd: command not found\n")
    r = sh("/opt/nosuch")
    assert (r.rc, r.err) == (127, "bash: /opt/nosuch: No such file or directory\n")


@pytest.mark.parametrize(
    ("command", "err"),
    [
        (
            "echo )",
            "bash: -c: line 1: syntax error near unexpected token `)'\n"
            "bash: -c: line 1: `echo )'\n",
        ),
        ("if true; then echo", "bash: -c: line 2: syntax error: unexpected end of file\n"),
        ("echo 'abc", "bash: -c: line 1: unexpected EOF while looking for matching `''\n"),
        ('echo "abc', "bash: -c: line 1: unexpected EOF while looking for matching `\"'\n"),
        (
            "echo ok\nfi",
            "bash: -c: line 2: syntax error near unexpected token `fi'\nbash: -c: line 2: `fi'\n",
        ),
        (
            "for x in a; echo; done",
            "bash: -c: line 1: syntax error near unexpected token "
            "`echo'\nbash: -c: line 1: `for x in a; echo; done'\n",
        ),
        ("echo a |", "bash: -c: line 2: syntax error: unexpected end of file\n"),
        (
            "cat >",
            "bash: -c: line 1: syntax error near unexpected token `newline'\n"
            "bash: -c: line 1: `cat >'\n",
        ),
    ],
)
def test_syntax_errors_are_reported_like_bash(sh: Bash, command: str, err: str) -> None:
    r = sh(command)
    assert (r.rc, r.out, r.err) == (2, "", err)


def test_syntax_error_nodes_carry_lines() -> None:
    with pytest.raises(syntax.ShellSyntaxError) as exc:
        syntax.parse("echo a\necho b\n)")
    assert exc.value.line == 3
    tree = syntax.parse("echo a\n\necho b")
    second = tree.items[1][0].first.cmds[0]
    assert isinstance(second, syntax.Simple) and second.line == 3


@pytest.mark.parametrize(
    ("command", "what"),
    [
        ("diff <(echo a) <(echo b)", "process substitution"),
        ("a=(1 2)", "arrays"),
        ("for ((i=0; i<3; i++)); do echo $i; done", "for (( ... )) loops"),
    ],
)
def test_unsupported_syntax_says_so(sh: Bash, command: str, what: str) -> None:
    r = sh(command)
    assert (r.rc, r.out) == (2, "")
    assert (
        r.err == f"bash: -c: line 1: {what} {'are' if what[-1] == 's' else 'is'} not "
        "supported by the lab shell\n"
    )


# -- the server behind the shell ------------------------------------------------------


def test_files_persist_across_execs_on_the_same_server_only(sh: Bash) -> None:
    assert sh("echo kept > /var/log/note.txt").rc == 0
    assert sh("cat /var/log/note.txt").out == "kept\n"
    r = sh("cat /var/log/note.txt", server="mds2")
    assert (r.rc, r.err) == (1, "cat: /var/log/note.txt: No such file or directory\n")


def test_reboot_empties_tmp_but_keeps_var_log(lab: Deployment, sh: Bash) -> None:
    sh("echo t > /tmp/volatile; echo l > /var/log/durable")
    server = lab.server("mds1")
    lab.reboot(server)
    assert not server.online
    assert wait_for(lambda: server.online)
    assert sh("cat /var/log/durable").out == "l\n"
    r = sh("ls /tmp; cat /tmp/volatile")
    assert (r.out, r.err) == ("", "cat: /tmp/volatile: No such file or directory\n")


def test_reboot_ends_background_jobs(lab: Deployment, sh: Bash) -> None:
    pid = sh("nohup sleep 30 > /var/log/j.log 2>&1 & echo $!").out.strip()
    server = lab.server("mds1")
    lab.reboot(server)
    assert wait_for(lambda: server.online)
    assert sh(f"kill -0 {pid}").rc == 1


def test_reboot_command_takes_the_server_down(lab: Deployment, sh: Bash) -> None:
    server = lab.server("mds1")
    boots = server.boot_count
    assert sh("reboot").rc == 0
    assert wait_for(lambda: server.boot_count == boots + 1)
    assert wait_for(lambda: server.online)


# -- the Check Point environment pitfall ---------------------------------------------


def test_exec_without_profile_has_no_check_point_commands(sh: Bash) -> None:
    r = sh("mdsstat")
    assert (r.rc, r.err) == (127, "bash: mdsstat: command not found\n")
    assert sh('echo "[$MDSDIR]"').out == "[]\n"


def test_sourcing_cp_sh_sets_the_environment(sh: Bash) -> None:
    r = sh("source /etc/profile.d/CP.sh; echo $MDSDIR; command -v mdsstat")
    assert r.out == "/opt/CPmds-R81.10\n/opt/CPmds-R81.10/bin/mdsstat\n"


def test_mdsprofile_found_by_glob(sh: Bash) -> None:
    r = sh(
        "MDSDIR=$(ls -d /opt/CPmds-R* | head -1); . $MDSDIR/scripts/MDSprofile.sh; "
        "echo $MDSDIR; echo $CPDIR"
    )
    assert r.out == "/opt/CPmds-R81.10\n/opt/CPshrd-R81.10\n"
    r = sh("MDSDIR=$(echo /opt/CPmds-R*); . $MDSDIR/scripts/MDSprofile.sh && echo $MDSDIR")
    assert r.out == "/opt/CPmds-R81.10\n"


def test_environment_does_not_leak_between_execs(sh: Bash) -> None:
    sh("source /etc/profile.d/CP.sh; export KEEP=1")
    assert sh('echo "[$MDSDIR][$KEEP]"').out == "[][]\n"
