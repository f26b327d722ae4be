"""Entry point of an evaluator child: a process that runs designer code for the service, one
evaluation at a time, under hard limits that also stop work done inside C builtins.

Started by :mod:`service.engine.evaluator_pool` as ``python -I -c ... main()`` with pipes on fd 0/1.
For every evaluation it:

* arms a CPU timer (``ITIMER_PROF``, default action of SIGPROF: the kernel terminates the process)
  at the evaluation's CPU limit plus ``GRACE_SECONDS``, and the ``RLIMIT_CPU`` soft limit at the whole
  seconds used so far plus that (SIGXCPU, the same end if the timer were ever disarmed);
* sets ``RLIMIT_AS`` to the address space in use now plus the memory limit plus ``HEADROOM``: an
  allocation beyond that fails (MemoryError) instead of growing the process;
* runs the same RestrictedPython code and guards as before (``sandbox_eval``), which give precise
  zh-CN errors with the line for loops and single huge operations;
* encodes the reply under the same limits (a result can be expensive to serialise), then disarms.

After a MemoryError the child answers with the limit error and exits (its heap may be in any state);
the pool replaces it. It exits too when its address space has grown by more than ``RETIRE_GROWTH``
since start, and at end of file on its input: when the service process dies, every write end of the
pipe closes and the child leaves."""
from __future__ import annotations

import importlib
import math
import os
import resource
import signal
import sys
from collections.abc import Callable
from typing import Any

from service.engine.evaluator_wire import pack, read_message, write_all
from service.engine.sandbox_errors import (
    FILENAME,
    ScriptLimitError,
    ScriptSecurityError,
    builtin_exception,
    describe_error,
    rebuild_error,
)
from service.engine.sandbox_eval import Evaluator
from service.engine.sandbox_guards import Limits, MiB, jsonable

# CPU seconds allowed beyond the profile's limit before the kernel stops the child. The inner guards
# stop loops at the limit itself (with the line); the timer is for what they cannot see.
GRACE_SECONDS = 0.1
# Address space for the interpreter's own needs during an evaluation (arenas, the reply's encoding).
HEADROOM = 16 * MiB
RETIRE_GROWTH = 256 * MiB
_MAX_REQUEST = 1 << 30  # from the service: trusted
_PAGE = os.sysconf("SC_PAGE_SIZE")
_SCALARS = (str, int, float, bool, type(None))


def _address_space() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * _PAGE


def _traceback_line(err: BaseException) -> int | None:
    line = None
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class _Child:
    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self.evaluators: dict[str, Evaluator] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.baseline = _address_space()
        self.cpu_hard_max = resource.getrlimit(resource.RLIMIT_CPU)[1]
        self.as_hard_max = resource.getrlimit(resource.RLIMIT_AS)[1]
        # Freed on MemoryError so that the error reply can still be built.
        self.reserve: bytearray | None = bytearray(MiB)

    # -- helpers ---------------------------------------------------------------------------------
    def _remote(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            for value in (*args, *kwargs.values()):
                if type(value) not in _SCALARS:
                    raise ScriptSecurityError(f"辅助函数 {name} 的参数只能是数字、字符串或布尔值")
            write_all(self.wfd, pack({"call": name, "args": list(args), "kwargs": kwargs}))
            reply = read_message(self.rfd, _MAX_REQUEST)
            if reply is None:
                os._exit(0)
            if "ok" in reply:
                return reply["ok"]
            error = reply.get("err") or {}
            if error.get("kind") == "exception":
                raise builtin_exception(str(error.get("type")), list(error.get("args") or []))
            raise rebuild_error(error)

        call.__name__ = name
        return call

    @staticmethod
    def _local(module: str, qualname: str) -> Callable[..., Any]:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj  # type: ignore[no-any-return]

    def _evaluator(self, message: dict[str, Any]) -> tuple[Evaluator, dict[str, Any]]:
        pid = message["p"]
        if pid not in self.evaluators:
            prof = message["prof"]
            helpers: dict[str, Callable[..., Any]] = {}
            for name, (module, qualname) in prof["local"].items():
                helpers[name] = self._local(module, qualname)
            for name in prof["remote"]:
                helpers[name] = self._remote(name)
            limits = Limits(float(prof["cpu"]), int(prof["mem"]), int(prof["iters"]))
            self.evaluators[pid] = Evaluator(helpers, limits)
            self.profiles[pid] = prof
        return self.evaluators[pid], self.profiles[pid]

    # -- limits ----------------------------------------------------------------------------------
    def _arm(self, prof: dict[str, Any]) -> None:
        hard_cpu = float(prof["cpu"]) + GRACE_SECONDS
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_soft = math.ceil(usage.ru_utime + usage.ru_stime + hard_cpu) + 1
        if self.cpu_hard_max != resource.RLIM_INFINITY:
            cpu_soft = min(cpu_soft, self.cpu_hard_max)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_soft, self.cpu_hard_max))
        as_soft = _address_space() + int(prof["mem"]) + HEADROOM
        if self.as_hard_max != resource.RLIM_INFINITY:
            as_soft = min(as_soft, self.as_hard_max)
        resource.setrlimit(resource.RLIMIT_AS, (as_soft, self.as_hard_max))
        signal.setitimer(signal.ITIMER_PROF, hard_cpu)

    def _disarm(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0)
        resource.setrlimit(resource.RLIMIT_AS, (self.as_hard_max, self.as_hard_max))

    # -- one evaluation --------------------------------------------------------------------------
    def handle(self, message: dict[str, Any]) -> bool:
        """Answer one request; False when the child must exit afterwards."""
        evaluator, prof = self._evaluator(message)
        op, src = message["op"], message["src"]
        ctx, ext = message.get("ctx") or {}, message.get("ext")
        reply: bytes | None = None
        value: Any = None
        error: BaseException | None = None
        keep = True
        self._arm(prof)
        try:
            if op == "eval":
                value = jsonable("（表达式结果）", evaluator.evaluate(src, ctx, ext), set())
            else:
                value = evaluator.execute(src, ctx, ext)
            # Encoded under the limits: serialising a result can be the expensive part.
            reply = pack({"ok": value})
            if len(reply) - 4 > int(prof["result"]):
                reply = None
                error = ScriptLimitError(f"脚本结果过大（限 {int(prof['result']) / MiB:g} MB）")
        except MemoryError:
            self.reserve = None
            reply, keep = None, False
            error = ScriptLimitError(f"脚本内存超限（限 {int(prof['mem']) // MiB} MB）")
        except BaseException as exc:  # noqa: BLE001 - every failure of designer code goes back as data
            reply, error = None, exc
        finally:
            self._disarm()
        if keep and _address_space() - self.baseline > RETIRE_GROWTH:
            keep = False
        if reply is None:
            assert error is not None
            reply = pack({"err": describe_error(error, _traceback_line(error)), "retire": not keep})
        elif not keep:
            reply = pack({"ok": value, "retire": True})  # within the result limit: checked above
        write_all(self.wfd, reply)
        return keep

    def serve(self) -> None:
        write_all(self.wfd, pack({"ready": True}))
        while True:
            message = read_message(self.rfd, _MAX_REQUEST)
            if message is None:
                return
            if not self.handle(message):
                return


def main() -> None:
    # The protocol gets its own descriptor; fd 1 then points at stderr, so that nothing a library
    # prints can corrupt the stream.
    wfd = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C is for the server
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.setrecursionlimit(1000)
    _Child(0, wfd).serve()
