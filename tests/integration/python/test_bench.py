"""parley-bench against the real server: short runs of the scenarios bench/run uses, checked for
what every run must show (nothing lost, duplicated or reordered; no errors) and for the figures
bench/run reads (server CPU a message, split into user and kernel time).

The load is bounded in time (about a second a run) and in size (tens of connections), and goes
to 127.0.0.1 only. Nothing here asserts a speed: figures are only checked to exist and agree.
"""

import json
import os
import subprocess
import unittest
from pathlib import Path

from parley_server import REPO_ROOT, ParleyServer

RUN_TIMEOUT_S = 90


def bench_path():
    path = os.environ.get("PARLEY_BENCH") or str(REPO_ROOT / "build" / "release" / "parley-bench")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"parley-bench not found or not executable: {path} (or set PARLEY_BENCH)")
    return path


class BenchAgainstParley(unittest.TestCase):
    def setUp(self):
        self.server = ParleyServer("--store", "memory", "--max-frames-per-second", "0",
                                   "--max-bytes-per-second", "0", threads=1)
        self.server.start()
        self.addCleanup(self.server.kill)

    def run_bench(self, *args):
        argv = [bench_path(), *args, "--port", str(self.server.port),
                "--server-pid", str(self.server.proc.pid), "--warmup", "0.3", "--drain", "2"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        self.assertEqual(done.returncode, 0, f"{argv}\n{done.stderr}\n--- server ---\n{self.server.log()}")
        lines = done.stdout.strip().splitlines()
        self.assertTrue(lines, f"no output from {argv}; stderr:\n{done.stderr}")
        return json.loads(lines[-1])

    def assert_clean(self, result):
        self.assertTrue(result["ok"], result)
        for check in ("lost", "duplicated", "reordered", "errors", "error_frames"):
            self.assertEqual(result[check], 0, f"{check}: {result}")
        self.assertGreater(result["sent"], 0, result)
        self.assertEqual(result["received"], result["sent"], result)

    def assert_cpu_split(self, result):
        # Read from the same two samples of /proc/PID/stat: the parts add up to the whole.
        total = result["server_cpu_us_per_msg"]
        parts = result["server_user_us_per_msg"] + result["server_sys_us_per_msg"]
        self.assertGreater(total, 0, result)
        self.assertAlmostEqual(parts, total, delta=0.002 + total * 1e-3, msg=result)

    def test_pairs_closed_loop(self):
        result = self.run_bench("pairs", "-c", "20", "-w", "4", "-d", "1")
        self.assert_clean(result)
        self.assert_cpu_split(result)
        self.assertEqual(result["acks"], result["sent"], "every chat acked")

    def test_rate_open_loop(self):
        result = self.run_bench("rate", "-c", "20", "-r", "2000", "-d", "1")
        self.assert_clean(result)
        self.assert_cpu_split(result)
        for key in ("p50_us", "p99_us", "ack_p99_us"):
            self.assertGreater(result[key], 0, f"{key}: {result}")

    def test_rate_with_ids_in_no_order(self):
        # Client ids that are not increasing (as random ones would be) go through the memory
        # store's idempotency table; every chat is still stored once, acked and delivered.
        result = self.run_bench("rate", "-c", "20", "-r", "2000", "-d", "1", "--scrambled-ids")
        self.assert_clean(result)
        self.assertEqual(result["acks"], result["sent"], result)
        self.assertGreater(result["ack_p99_us"], 0, result)

    def test_durable_pairs_freed_by_acks(self):
        # The default store: the window moves only when the server has committed.
        self.server.kill()
        self.server = ParleyServer("--max-frames-per-second", "0", "--max-bytes-per-second", "0", threads=1)
        self.server.start()
        self.addCleanup(self.server.kill)
        result = self.run_bench("pairs", "-c", "20", "-w", "4", "-d", "1", "--credit", "ack")
        self.assert_clean(result)
        self.assertEqual(result["acks"], result["sent"], result)


if __name__ == "__main__":
    unittest.main()
