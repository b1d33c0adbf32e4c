"""The real `make run` / `make demo` / `make reset` scripts as subprocesses, the way a user
starts them: in a process group of their own (a terminal's Ctrl-C reaches the whole group),
with their output kept to wait on and to show on failure."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import ClassVar

from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> set[int]:
    """The live processes whose parent is `pid`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Launch:
    """One run of a script: `await launch.until("text")`, `launch.interrupt()`, `await launch.done()`.
    `await Launch.tidy()` ends what a failed test left running."""

    started: ClassVar[list[Launch]] = []

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc, self.out, self.err = proc, [], []
        Launch.started.append(self)
        self._pumps = [asyncio.create_task(self._pump(proc.stdout, self.out)),
                       asyncio.create_task(self._pump(proc.stderr, self.err))]

    @classmethod
    async def start(cls, env: dict[str, str], *args: str, stdin: bytes | None = None) -> Launch:
        proc = await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, env=env, start_new_session=True,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        if stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        return cls(proc)

    @classmethod
    async def script(cls, env: dict[str, str], module: str, *args: str, **kw) -> Launch:
        return await cls.start(env, sys.executable, "-m", module, *args, **kw)

    @staticmethod
    async def _pump(stream, lines: list[str]) -> None:
        async for raw in stream:
            lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def stdout(self) -> str:
        return "\n".join(self.out)

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)

    def __str__(self) -> str:
        return f"stdout:\n{self.stdout[-6000:]}\nstderr:\n{self.stderr[-6000:]}"

    async def until(self, text: str, timeout: float = 90.0) -> None:
        async def seen() -> bool:
            if self.proc.returncode is not None:
                raise AssertionError(f"exited with {self.proc.returncode} before printing {text!r}\n{self}")
            return text in self.stdout or text in self.stderr
        await eventually(seen, timeout=timeout, interval=0.05)

    def interrupt(self) -> None:
        """Ctrl-C in the terminal: SIGINT to the whole foreground group."""
        os.killpg(self.proc.pid, signal.SIGINT)

    async def done(self, timeout: float = 240.0) -> int:
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.kill()
            raise AssertionError(f"still running after {timeout}s\n{self}") from None
        await asyncio.gather(*self._pumps)
        return self.proc.returncode

    def kill(self) -> None:
        for pid in children(self.proc.pid):  # services run in sessions of their own
            os.kill(pid, signal.SIGKILL)
        os.killpg(self.proc.pid, signal.SIGKILL)

    @classmethod
    async def tidy(cls) -> None:
        for launch in cls.started:
            if launch.proc.returncode is None:
                launch.interrupt()
                try:
                    await launch.done(60)
                except AssertionError:
                    pass
        cls.started.clear()
