"""The sandbox: verdict kinds, and hostile programs contained. Every hostile program is written so that
it *passes* only if the attack worked; containment means fail or timeout, a healthy harness after, and
nothing changed outside the program's temporary directory."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from evalkit.sandbox import Limits, Sandbox

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's isolation is Linux-only")
SECRET = "sk-evalkit-canary-0123456789"


@pytest.fixture
def sandbox(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # in the harness's environment while servers start
    monkeypatch.setenv("HF_TOKEN", SECRET)
    with Sandbox(Limits(wall_seconds=3, cpu_seconds=2, memory_mb=512, file_size_mb=4, disk_mb=32), workers=2) as box:
        yield box


def healthy(box: Sandbox) -> bool:
    return box.run("assert sum(range(10)) == 45").passed


def sandbox_processes() -> int:
    child = str(Path(__file__).resolve().parents[1] / "evalkit" / "sandbox" / "_child.py")
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and child.encode() in (entry / "cmdline").read_bytes():
                count += 1
        except OSError:
            continue
    return count


def test_verdict_kinds(sandbox):
    programs = {
        "passed": "def f(x):\n    return x + 1\nassert f(1) == 2\nprint('ok')",
        "assertion": "assert 1 + 1 == 3, 'arithmetic'",
        "exception:ZeroDivisionError": "1 / 0",
        "exception:NameError": "undefined_name",
        "syntax_error": "def f(:\n    pass",
        "memory": "x = bytearray(4 * 2**30)",
        "timeout": "while True:\n    pass",
        "exit": "import sys\nsys.exit(3)",
        "exited_early": "import os\nos._exit(0)",  # a clean exit before the tests ran is not a pass
        "killed:SIGSEGV": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
    }
    verdicts = dict(zip(programs, sandbox.run_many(list(programs.values()))))
    assert verdicts.pop("passed").passed
    assert verdicts["assertion"].message == "arithmetic"
    for expected, verdict in verdicts.items():
        assert not verdict.passed and verdict.kind == expected, (expected, verdict)
    assert verdicts["timeout"].status == "timeout"


def test_output_and_order_in_parallel(sandbox):
    verdicts = sandbox.run_many([f"print({i} * 2)\nassert {i} % 3 != 0" for i in range(12)])
    assert [v.passed for v in verdicts] == [i % 3 != 0 for i in range(12)]
    assert [v.output.strip() for v in verdicts] == [str(i * 2) for i in range(12)]


def test_environment_is_scrubbed_and_cwd_is_private(sandbox):
    program = ("import os\nassert set(os.environ) <= {'PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'PYTHONHASHSEED', "
               "'PYTHONDONTWRITEBYTECODE'}, sorted(os.environ)\n"
               "assert os.environ['HOME'] == os.getcwd() and os.listdir('.') == ['output.txt'], os.listdir('.')\n")
    assert sandbox.run(program).passed


def test_reading_environment_secrets_fails(sandbox):
    program = f"""
import os
found = ' '.join(os.environ.values())
for pid in os.listdir('/proc'):
    try:
        found += open(f'/proc/{{pid}}/environ', 'rb').read().decode('latin-1')
    except OSError:
        pass
assert {SECRET!r} in found, 'no secret found'
"""
    verdict = sandbox.run(program)
    assert not verdict.passed and verdict.kind == "assertion" and verdict.message == "no secret found"
    assert healthy(sandbox)


def test_network_socket_is_refused(sandbox):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        verdict = sandbox.run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).send(b'x')")
        assert not verdict.passed and verdict.kind.startswith("exception:")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    udp = sandbox.run("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('1.1.1.1', 53))")
    isolation = sandbox.isolation()
    assert udp.passed is (not isolation.network)  # UDP too is blocked when a network namespace is available
    assert "network isolation: " in isolation.summary()


def test_deleting_and_writing_outside_the_work_dir_fails(sandbox, tmp_path):
    canary = tmp_path / "keep" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text("precious")
    outside = tmp_path / "new.txt"
    program = f"""
import os, shutil
errors = []
for attempt in (lambda: os.remove({str(canary)!r}), lambda: shutil.rmtree({str(canary.parent)!r}),
                lambda: open({str(canary)!r}, 'w').write('gone'), lambda: open({str(outside)!r}, 'w').write('x'),
                lambda: os.rename({str(canary)!r}, {str(canary)!r} + '.moved'),
                lambda: os.chmod({str(canary)!r}, 0)):
    try:
        attempt()
    except OSError as exc:
        errors.append(exc)
assert not errors, errors
"""
    verdict = sandbox.run(program)
    assert not verdict.passed and verdict.kind == "assertion"
    assert canary.read_text() == "precious" and sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
    assert oct(canary.stat().st_mode & 0o777) != "0o0"
    assert healthy(sandbox)


def test_filling_the_disk_is_capped(sandbox):
    before = os.statvfs("/tmp")
    program = "import os\nblock = b'x' * 2**20\nfor i in range(100000):\n    with open(f'f{i}', 'wb') as f:\n        for _ in range(3):\n            f.write(block)\n"
    verdict = sandbox.run(program)
    assert not verdict.passed and verdict.kind in ("disk_full", "file_size", "timeout"), verdict
    after = os.statvfs("/tmp")
    assert (before.f_bavail - after.f_bavail) * after.f_frsize < 256 * 2**20  # no lasting use of the real disk
    assert healthy(sandbox)


def test_memory_bomb(sandbox):
    verdict = sandbox.run("chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 2**20))")
    assert not verdict.passed and verdict.kind in ("memory", "timeout"), verdict
    assert healthy(sandbox)


def test_fork_bomb_is_contained_and_cleaned_up(sandbox):
    verdict = sandbox.run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    assert not verdict.passed and verdict.kind in ("timeout", "exited_early") or verdict.kind.startswith("killed")
    # how long containment takes is measured in bench/sandbox_limits.py, not asserted here
    assert healthy(sandbox)
    sandbox.close()
    deadline = time.monotonic() + 10
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sandbox_processes() == 0  # every forked copy is gone with its PID namespace
    cgroups = Path("/sys/fs/cgroup/pids")
    assert not [p for p in (cgroups.iterdir() if cgroups.is_dir() else ()) if p.name.startswith("evalkit-sandbox-")]


def test_fork_bomb_stops_at_the_process_limit():
    with Sandbox(Limits(wall_seconds=20, cpu_seconds=10, max_processes=16)) as box:
        if os.geteuid() == 0 and not box.isolation().details.get("pids_cgroup"):
            pytest.skip("root without a writable pids cgroup: only the wall-clock limit stops a fork bomb")
        verdict = box.run("import os\nwhile True:\n    os.fork()")
        assert verdict.kind == "exception:BlockingIOError", verdict  # refused by the limit, not timed out


def test_killing_the_parent_fails(sandbox):
    server_pids = " ".join(str(s.proc.pid) for s in sandbox._servers) or "0"
    program = f"""
import os, signal
for pid in [os.getppid(), {os.getpid()}, *[int(p) for p in {server_pids!r}.split()]]:
    if pid > 0:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
try:
    os.killpg(os.getpgid({os.getpid()}), signal.SIGKILL)
except OSError:
    pass
"""
    verdict = sandbox.run(program)
    # it may kill its own launcher (PID 0 in its namespace is its own group), never the harness or the server
    assert verdict.passed or verdict.kind.startswith("killed") or verdict.kind == "exited_early", verdict
    assert all(s.alive for s in sandbox._servers)
    assert healthy(sandbox)  # and this process, the harness, is still here to check


def test_isolation_probe_reports_what_it_found():
    isolation = Sandbox().isolation()
    summary = isolation.summary()
    assert summary.startswith("network isolation: yes" if isolation.network else "network isolation: no")
    assert set(isolation.as_dict()) >= {"network_isolation", "filesystem_isolation", "processes", "summary"}
