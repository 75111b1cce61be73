"""The real runner with real child processes: probes, stdin secrets, expected output, failures, and the shell lines."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pangeoctl.runner import Command, MissingTool, RealRunner, RunError, Stdin

PY = sys.executable


def _run(cmd: Command) -> tuple[str, list[str]]:
    said: list[str] = []
    out = RealRunner(echo=said.append).run(cmd).stdout
    return out, said


@pytest.mark.parametrize(
    ("probe", "found", "skipped"),
    [
        ((PY, "-c", "pass"), False, True),  # exits 0: done
        ((PY, "-c", "raise SystemExit(1)"), False, False),  # exits 1: not done
        ((PY, "-c", "print('billingAccounts/0X/budgets/1')"), True, True),  # a listing with a match
        ((PY, "-c", "pass"), True, False),  # an empty listing exits 0 but is not a match
        ((PY, "-c", "print('x'); raise SystemExit(2)"), True, False),  # a failing listing is not a match
    ],
)
def test_probe_decides_whether_the_step_runs(probe, found, skipped):
    cmd = Command((PY, "-c", "print('ran')"), why="the step", unless=probe, unless_found=found)
    out, said = _run(cmd)
    assert (out == "") is skipped
    assert said == (["already done: the step"] if skipped else [f"$ {cmd.shell()}"])


def test_the_shell_line_does_what_the_runner_does():
    """The dry-run line, run by a real shell, skips and runs exactly as the runner decides."""
    for listing, runs in (("print('budgets/1')", False), ("pass", True)):
        cmd = Command((PY, "-c", "print('ran')"), unless=(PY, "-c", listing), unless_found=True)
        out = subprocess.run(["sh", "-c", cmd.shell()], capture_output=True, text=True, check=True).stdout
        assert ("ran" in out) is runs


def test_secrets_go_on_stdin_and_never_in_the_shown_line():
    cmd = Command((PY, "-c", "import sys; print(len(sys.stdin.read()))"), stdin=Stdin("GITHUB_CLIENT_SECRET", lambda: "s3cr3t"))
    out, said = _run(cmd)
    assert out.strip() == "6"
    assert "s3cr3t" not in said[0] and "# stdin: GITHUB_CLIENT_SECRET" in said[0]


def test_failures_and_unexpected_output_stop_with_the_command_and_its_stderr():
    with pytest.raises(RunError) as info:
        RealRunner().run(Command((PY, "-c", "import sys; sys.exit('quota exceeded for CPUS')")))
    assert "exited 1" in str(info.value) and "quota exceeded for CPUS" in str(info.value)
    with pytest.raises(RunError, match="expected 'geo-lab-123', got 'other-project'"):
        RealRunner().run(Command((PY, "-c", "print('other-project')"), expect="geo-lab-123"))
    with pytest.raises(MissingTool):
        RealRunner().run(Command(("pangeoctl-no-such-tool", "--version")))


class _Waits(RealRunner):
    def __init__(self) -> None:
        super().__init__()
        self.waited: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waited.append(seconds)


def test_a_command_with_retries_is_tried_again_until_it_succeeds(tmp_path):
    """A binding that names a service account IAM does not know yet fails at first: it is tried again after
    each wait, and the run goes on once it succeeds."""
    tries = tmp_path / "tries"
    script = f"echo x >> {tries}; [ $(wc -l < {tries}) -ge 3 ] || {{ echo 'PERMISSION_DENIED' >&2; exit 1; }}"
    r = _Waits()
    assert r.run(Command(("sh", "-c", script), retry=(5, 10, 15, 30))).returncode == 0
    assert tries.read_text().count("x") == 3 and r.waited == [5, 10]


def test_retries_run_out_with_the_last_error(tmp_path):
    r = _Waits()
    with pytest.raises(RunError) as e:
        r.run(Command(("sh", "-c", "echo 'PERMISSION_DENIED' >&2; exit 1"), retry=(5, 10)))
    assert r.waited == [5, 10] and "PERMISSION_DENIED" in str(e.value)
    r = _Waits()
    with pytest.raises(RunError):
        r.run(Command(("sh", "-c", "exit 1")))  # no retries: one try, no wait
    assert r.waited == []
