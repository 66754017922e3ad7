"""Start and stop a real `parley serve` process for integration tests.

The binary comes from $PARLEY_BINARY (CTest sets it), else build/release/parley in this repo.
Each server listens on 127.0.0.1 port 0 (a free port the kernel picks) and gets its own fresh
data directory; the port is parsed from the `listening on HOST:PORT` log line. Every wait here is
bounded, so a hung or crashed server fails the test instead of hanging it.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

# tests/integration/python/ -> the repository root
REPO_ROOT = Path(__file__).resolve().parent.parent.parent.parent
LISTENING = re.compile(r"listening on \S+:(\d+)")

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0


def binary_path():
    path = os.environ.get("PARLEY_BINARY") or str(REPO_ROOT / "build" / "release" / "parley")
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"parley binary not found or not executable: {path} "
            "(build it with `cmake --preset release && cmake --build --preset release`, "
            "or set PARLEY_BINARY)"
        )
    return path


class ParleyServer:
    """One `parley serve` process. Use start()/stop(), or as a context manager."""

    def __init__(self, *extra_args, threads=2, listen="127.0.0.1:0", env=None, defaults=True):
        self.extra_args = [str(a) for a in extra_args]
        # False: pass only what the test gives, so the server's own defaults are what is tested.
        self.test_defaults = defaults
        # Extra environment variables (e.g. PARLEY_JWT_SECRET, which must not be on the command
        # line), added to this process's own environment.
        self.env = dict(env) if env else None
        self.threads = threads
        self.listen = listen
        self.proc = None
        self.port = None
        self.data_dir = None
        self._lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._reader = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self):
        binary = binary_path()
        self.data_dir = tempfile.mkdtemp(prefix="parley-it-")
        argv = [
            binary, "serve",
            "--listen", self.listen,
            "--threads", str(self.threads),
            "--data-dir", self.data_dir,
        ]
        # Most tests speak the seed's protocol and send many messages and connections from one
        # user and one address; the tests of auth and limits set these themselves.
        for flag, value in (("--auth", "open"), ("--user-messages-per-second", "0"),
                            ("--user-bytes-per-second", "0"), ("--max-connections-per-ip", "0")):
            if self.test_defaults and flag not in self.extra_args:
                argv += [flag, value]
        argv += list(self.extra_args)
        # The log goes to stderr by contract; read stdout too so the port is found either way.
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env={**os.environ, **self.env} if self.env else None,
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        if not self._listening.wait(START_TIMEOUT_S) or self.port is None:
            self.kill()
            raise RuntimeError(
                f"parley did not log 'listening on HOST:PORT' within {START_TIMEOUT_S}s "
                f"(exit code {self.proc.returncode}); argv={argv}\n--- log ---\n{self.log()}"
            )
        return self

    def _read_log(self):
        for line in self.proc.stdout:
            with self._lock:
                self._lines.append(line)
            if self.port is None:
                m = LISTENING.search(line)
                if m:
                    self.port = int(m.group(1))
                    self._listening.set()
        # EOF: the process exited (or closed its output); wake start() if it is still waiting.
        self._listening.set()

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM, wait (bounded) and return the exit code. Kills it if it does not exit."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise RuntimeError(
                    f"parley did not exit within {timeout}s of SIGTERM; killed it\n--- log ---\n{self.log()}"
                )
        self._finish()
        return self.proc.returncode

    def kill(self):
        """Last resort, for cleanup paths: SIGKILL if still running. Never raises."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
        except Exception:  # noqa: BLE001 - cleanup must not mask the real failure
            pass
        self._finish()

    def _finish(self):
        if self._reader is not None:
            self._reader.join(5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False

    # ---- helpers ------------------------------------------------------------------------------

    def log(self):
        with self._lock:
            return "".join(self._lines)

    def url(self, path="/"):
        return f"ws://127.0.0.1:{self.port}{path}"

    def http_url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"
