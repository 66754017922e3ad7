"""Integration tests of Parley's limits and origin checks: the real `parley` binary, driven by
Python's websockets and raw sockets.

Run with Debian's interpreter, which has python3-websockets (10.4):
    cd tests/integration/python && PARLEY_BINARY=../../../build/release/parley \
        /usr/bin/python3 -m unittest -v test_limits

What is covered, and where the server decides it:
- per-user chat limits over all of a user's devices (chat/router.cpp, chat/directory.cpp);
- the per-connection frame byte limit (net/connection.cpp, admit_frame);
- connections per address and in total, refused with 503 at accept (net/shard.cpp,
  net/connection_limiter.cpp);
- the Origin allow-list on WebSocket upgrades and /api/* (net/origin_policy.cpp);
- the handshake timeout against slow and silent clients (Connection::tick);
- failed-login throttling per account name and per address (auth/authenticator.cpp,
  auth/login_throttle.cpp);
- malformed input to the HTTP API.

Timing: token buckets refill while a test runs, so no test asserts an exact count unless the
client's own clock proves the exchange was fast enough for the count to be exact (an upper bound
on the server-side elapsed time, see `window_holds`); every wait is bounded, generously, so a
loaded machine slows the tests down instead of failing them.
"""

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import websockets
from websockets.exceptions import ConnectionClosed

try:  # websockets 10.x
    from websockets.exceptions import InvalidStatusCode
except ImportError:  # pragma: no cover - newer websockets
    InvalidStatusCode = None
try:  # websockets >= 11
    from websockets.exceptions import InvalidStatus
except ImportError:
    InvalidStatus = None

from parley_server import binary_path
from test_python_client import RECV_TIMEOUT_S, ParleyTestCase, frame

PASSWORD = "correct horse battery"
STARTUP_FAILURE_TIMEOUT_S = 20.0


# ---- helpers -------------------------------------------------------------------------------------


def window_holds(started, window_s):
    """True when less than `window_s` has passed on our clock since `started`.

    Our clock brackets the server's: an event the server timed at T happened after we sent the
    request that caused it and before we saw its answer. So if (now - time we sent the first
    request) < window, the server's own elapsed time between the two events is below it as well,
    and a rate or backoff window counted by the server must still be in force.
    """
    return time.monotonic() - started < window_s


def refusal_status(exc):
    """The HTTP status of a refused WebSocket upgrade, for websockets 10 and later versions."""
    if InvalidStatusCode is not None and isinstance(exc, InvalidStatusCode):
        return exc.status_code
    if InvalidStatus is not None and isinstance(exc, InvalidStatus):
        return exc.response.status_code
    return None


class HttpReply:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise AssertionError(f"not an HTTP response: {raw[:200]!r}")
        self.status = int(parts[1])
        self.headers = []  # (lower-case name, value), in order, repeats kept
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    def header_values(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def header(self, name):
        values = self.header_values(name)
        return values[0] if values else None

    def cache_directives(self):
        """Every Cache-Control directive, over all Cache-Control fields (RFC 9111 §5.2 lists)."""
        return {d.strip().lower() for v in self.header_values("cache-control") for d in v.split(",")}

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"HttpReply({self.raw[:400]!r})"


def http_exchange(port, request, timeout=RECV_TIMEOUT_S):
    """Sends raw request bytes to 127.0.0.1:port and reads until the server closes.

    Returns everything received. Tolerates a reset after the answer (the server may close with
    part of an oversized request unread) and a failed send (it may answer before reading it all).
    """
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the server did not close the connection within {timeout}s; got {got[:300]!r}")
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return got
            except socket.timeout:
                raise AssertionError(f"the server did not close the connection within {timeout}s; got {got[:300]!r}")
            if not chunk:
                return got
            got += chunk


def http_request(port, method, path, body=None, headers=(), content_type="application/json"):
    """One HTTP/1.1 request with Connection: close; returns an HttpReply."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    if body is not None:
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in headers]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    return HttpReply(http_exchange(port, raw))


def run_expecting_startup_failure(*args):
    """Runs `parley serve ARGS` and returns (exit code, output); the server must not start."""
    data_dir = tempfile.mkdtemp(prefix="parley-it-")
    try:
        argv = [binary_path(), "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                "--auth", "open", *args]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  errors="replace", timeout=STARTUP_FAILURE_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:  # run() has killed it
            raise AssertionError(f"parley started (did not exit) with {args}: {e.stderr!r}") from None
        return done.returncode, done.stdout + done.stderr
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


class LimitsTestCase(ParleyTestCase):
    """ParleyTestCase plus helpers for replies that arrive among other devices' traffic."""

    async def reply_to(self, ws, client_id, timeout=RECV_TIMEOUT_S):
        """Reads until the ack of `client_id` or an error whose ref is `client_id`.

        Frames read on the way (the `outgoing` copies of another device's chats) are kept in
        ws.others, so tests can still account for them.
        """
        deadline = time.monotonic() + timeout
        if not hasattr(ws, "others"):
            ws.others = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"no ack or error for {client_id!r} within {timeout}s")
            msg = await self.recv_json(ws, timeout=left)
            if msg.get("type") == "ack" and msg.get("id") == client_id:
                return msg
            if msg.get("type") == "error" and msg.get("ref") == client_id:
                return msg
            self.assertIn(msg.get("type"), ("chat",), f"unexpected frame while waiting for {client_id!r}: {msg}")
            ws.others.append(msg)

    async def read_until_quiet(self, ws, quiet_s=1.5, limit_s=20.0):
        """Everything that arrives on `ws` until nothing has come for `quiet_s` (at most `limit_s`)."""
        got = []
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), min(quiet_s, max(0.05, deadline - time.monotonic())))
            except asyncio.TimeoutError:
                return got
            except ConnectionClosed as e:
                self.fail(f"connection closed unexpectedly: code={e.code} reason={e.reason!r}")
            got.append(json.loads(raw))
        self.fail(f"{ws!r} never fell quiet within {limit_s}s ({len(got)} frames)")

    async def recv_chats(self, ws, count):
        """Exactly `count` chats arrive on `ws`, and nothing more for a moment; returns them."""
        chats = [await self.recv_json(ws) for _ in range(count)]
        for msg in chats:
            self.assertEqual(msg.get("type"), "chat", msg)
        await self.assert_quiet(ws, within=0.5)
        return chats

    def assert_rate_limited(self, msg, ref):
        self.assertEqual(msg.get("type"), "error", msg)
        self.assertEqual(msg.get("code"), "rate_limited", msg)
        self.assertTrue(msg.get("message"), msg)
        self.assertEqual(msg.get("ref"), ref, f"the refused chat must be named by its id: {msg}")

    async def upgrade_status(self, origin=None):
        """101 if a WebSocket upgrade (with this Origin, or none) is accepted, else the HTTP status."""
        try:
            ws = await asyncio.wait_for(
                websockets.connect(self.server.url(), origin=origin, compression=None, ping_interval=None,
                                   close_timeout=2, open_timeout=RECV_TIMEOUT_S),
                RECV_TIMEOUT_S + 1,
            )
        except Exception as e:  # noqa: BLE001 - the refusal is what is being measured
            status = refusal_status(e)
            if status is None:
                raise
            return status
        await asyncio.wait_for(ws.close(), RECV_TIMEOUT_S)
        return 101

    async def http(self, method, path, body=None, headers=(), content_type="application/json"):
        return await asyncio.to_thread(http_request, self.server.port, method, path, body, headers, content_type)

    async def register(self, user, password=PASSWORD):
        reply = await self.http("POST", "/api/register", {"user_id": user, "password": password})
        self.assertEqual(reply.status, 201, reply)
        return reply.json()

    async def password_login(self, user, password):
        """A WebSocket login with a password on a new connection; returns the first answer."""
        ws = await self.connect()
        return await self.request(ws, frame(type="login", user_id=user, password=password)), ws


# ---- 1, 2: per-user chat limits ------------------------------------------------------------------


class UserLimitTest(LimitsTestCase):
    async def test_user_message_limit_spans_devices(self):
        # Tries: 2 chats/s with a burst of 5 for each user, and two connections (devices) of alice
        # sending 10 chats to bob, alternately, each waiting for its answer.
        # Must hold: the first 5 are acked, then each refused chat gets `rate_limited` whose ref is
        # that chat's id (the budget is the user's, not the connection's); bob receives exactly the
        # acked chats; carol, sending at the same time, is not limited by alice's budget; after a
        # pause of over a second alice may send again.
        await self.start_server("--user-messages-per-second", "2", "--user-messages-burst", "5",
                                "--store", "memory")
        alice1 = await self.login("alice")
        alice2 = await self.login("alice")
        bob = await self.login("bob")
        carol = await self.login("carol")

        replies = []
        started = time.monotonic()
        for i in range(10):
            ws = alice1 if i % 2 == 0 else alice2
            await ws.send(frame(type="chat", to_user_id="bob", message=f"m{i}", id=f"m{i}"))
            replies.append(await self.reply_to(ws, f"m{i}"))
            if i == 5:
                sixth_fast = window_holds(started, 0.5)  # a 6th token needs 0.5 s at 2/s
        fast = window_holds(started, 0.5)

        acked = [r for r in replies if r["type"] == "ack"]
        for i in range(5):
            self.assert_ack(replies[i], f"m{i}")
        if fast:
            self.assertEqual(len(acked), 5, f"burst 5, no time to refill, yet: {replies}")
        else:  # a very slow run: a token or two may have come back meanwhile
            self.assertLessEqual(len(acked), 5 + int(2 * (time.monotonic() - started)) + 1, replies)
        refused = [(i, r) for i, r in enumerate(replies) if r["type"] != "ack"]
        self.assertGreaterEqual(len(refused), 1, replies)
        for i, r in refused:
            self.assert_rate_limited(r, f"m{i}")
        if sixth_fast:
            self.assertEqual(replies[5]["type"], "error", "the 6th chat must be refused: the burst is 5")

        # Another user has a budget of their own.
        await carol.send(frame(type="chat", to_user_id="bob", message="from carol", id="c0"))
        self.assert_ack(await self.reply_to(carol, "c0"), "c0")

        # bob got exactly the acked chats (refused ones were not stored), then carol's.
        chats = await self.recv_chats(bob, len(acked) + 1)
        self.assertEqual([c["msg_id"] for c in chats[:-1]], [a["msg_id"] for a in acked])
        self.assertEqual([c["message"] for c in chats[:-1]], [f"m{i}" for i, r in enumerate(replies) if r["type"] == "ack"])
        self.assert_chat(chats[-1], "carol", "bob", "from carol")

        # After a pause (2 tokens a second) alice's chats are accepted again, from either device.
        await asyncio.sleep(1.2)
        await alice2.send(frame(type="chat", to_user_id="bob", message="later", id="late"))
        late = await self.reply_to(alice2, "late")
        self.assert_ack(late, "late")
        got = await self.recv_json(bob)
        self.assert_chat(got, "alice", "bob", "later")
        self.assertEqual(got["msg_id"], late["msg_id"])

    async def test_user_byte_limit(self):
        # Tries: 1 KiB/s of chat text per user with a 2 KiB burst (messages up to 1 KiB), and
        # chats of 1000 bytes.
        # Must hold: two fit the burst, the third is refused (`rate_limited`, ref = its id) while a
        # 2-byte chat still fits (bytes are counted, not chats); bob receives only the accepted
        # ones; after a pause the longest allowed chat (1 KiB) goes through.
        await self.start_server("--user-bytes-per-second", "1KiB", "--user-bytes-burst", "2KiB",
                                "--max-message-bytes", "1KiB", "--store", "memory")
        alice = await self.login("alice")
        bob = await self.login("bob")
        text = "x" * 1000

        started = time.monotonic()
        for i in range(2):
            await alice.send(frame(type="chat", to_user_id="bob", message=text, id=f"b{i}"))
            self.assert_ack(await self.reply_to(alice, f"b{i}"), f"b{i}")
        await alice.send(frame(type="chat", to_user_id="bob", message=text, id="b2"))
        third = await self.reply_to(alice, "b2")
        if window_holds(started, 0.9):  # 952 bytes short: 0.93 s of refill at 1 KiB/s
            self.assert_rate_limited(third, "b2")
        await alice.send(frame(type="chat", to_user_id="bob", message="hi", id="small"))
        self.assert_ack(await self.reply_to(alice, "small"), "small")

        chats = await self.recv_chats(bob, 3 if third["type"] == "error" else 4)
        self.assertEqual([len(c["message"]) for c in chats], [1000, 1000, 2] if third["type"] == "error" else [1000, 1000, 1000, 2])

        await asyncio.sleep(1.2)
        longest = "y" * 1024
        await alice.send(frame(type="chat", to_user_id="bob", message=longest, id="max"))
        self.assert_ack(await self.reply_to(alice, "max"), "max")
        self.assert_chat(await self.recv_json(bob), "alice", "bob", longest)

    async def test_user_bytes_burst_below_max_message_bytes_is_refused(self):
        # Tries: a per-user byte burst smaller than the longest allowed chat.
        # Must hold: `parley serve` does not start: exit code 1 and a message naming the settings.
        # (Equal is fine: test_user_byte_limit starts with a burst of twice max-message-bytes.)
        rc, out = await asyncio.to_thread(
            run_expecting_startup_failure, "--user-bytes-per-second", "1KiB", "--user-bytes-burst", "512",
            "--max-message-bytes", "1KiB")
        self.assertEqual(rc, 1, out)
        self.assertIn("user_bytes_burst must be at least max_message_bytes", out)

    async def test_user_who_keeps_sending_over_the_limit_is_closed_1008(self):
        # Tries: 1 chat/s with a burst of 1, and a client that sends 150 chats without waiting.
        # Must hold: a chat or two is acked, the rest are refused one by one (ref = id); after
        # 100 refusals in a row the server closes the session with 1008.
        await self.start_server("--user-messages-per-second", "1", "--user-messages-burst", "1",
                                "--store", "memory")
        alice = await self.login("alice")
        started = time.monotonic()
        try:
            for i in range(150):
                await alice.send(frame(type="chat", to_user_id="bob", message=f"flood {i}", id=i))
        except ConnectionClosed:
            pass  # closed while still sending: fine
        replies = []
        deadline = time.monotonic() + 15
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"the flooding session was not closed; {len(replies)} replies")
            try:
                replies.append(json.loads(await asyncio.wait_for(alice.recv(), left)))
            except asyncio.TimeoutError:
                continue
            except ConnectionClosed:
                break
        await asyncio.wait_for(alice.wait_closed(), RECV_TIMEOUT_S)
        self.assertEqual(alice.close_code, 1008, f"reason {alice.close_reason!r}")
        self.assertIn("rate limit", alice.close_reason)
        acks = [r for r in replies if r.get("type") == "ack"]
        errors = [r for r in replies if r.get("type") == "error"]
        self.assertEqual(len(acks) + len(errors), len(replies), replies[:5])
        self.assertGreaterEqual(len(acks), 1)
        self.assertLessEqual(len(acks), 2 + int(time.monotonic() - started), "1 chat/s, burst 1")
        self.assertGreaterEqual(len(errors), 100, "closed before 100 refusals in a row")
        self.assertLess(len(errors), 150)
        for e in errors:
            self.assertEqual(e.get("code"), "rate_limited", e)
        self.assertEqual(len({e["ref"] for e in errors}), len(errors), "each refusal names its own chat")


# ---- 3: per-connection bytes -------------------------------------------------------------------------


class ConnectionByteLimitTest(LimitsTestCase):
    async def test_connection_byte_limit_drops_frames_then_recovers(self):
        # Tries: 64 KiB/s of frame payload per connection, burst 256 KiB, and a client that sends
        # 20 chats of 60 000 bytes at once (1.2 MB).
        # Must hold: the first 4 (240 000 bytes) fit the burst and are acked; not all 20 are;
        # the dropped run is announced by a `rate_limited` error (no ref: the frame is dropped
        # unread); bob receives exactly the acked chats; the connection stays open, and after a
        # pause it is usable again (a ping and another 60 000-byte chat).
        await self.start_server("--max-bytes-per-second", "64KiB", "--max-bytes-burst", "256KiB",
                                "--max-frame-bytes", "256KiB", "--store", "memory")
        alice = await self.login("alice")
        bob = await self.login("bob")
        text = "z" * 60000
        for i in range(20):
            await alice.send(frame(type="chat", to_user_id="bob", message=text, id=f"k{i}"))
        replies = await self.read_until_quiet(alice)
        acks = [r for r in replies if r.get("type") == "ack"]
        errors = [r for r in replies if r.get("type") == "error"]
        self.assertEqual(len(acks) + len(errors), len(replies), replies)
        acked_ids = [a["id"] for a in acks]
        self.assertEqual(acked_ids[:4], ["k0", "k1", "k2", "k3"], "the burst holds 4 frames of 60 000 bytes")
        self.assertLess(len(acks), 20, "64 KiB/s cannot admit 1.2 MB at once")
        self.assertGreaterEqual(len(errors), 1, "dropped frames must be announced")
        for e in errors:
            self.assertEqual(e.get("code"), "rate_limited", e)
            self.assertNotIn("ref", e, "frames over the connection's limit are dropped unparsed")
        self.assertLessEqual(len(errors), len(acks), "one error per run of dropped frames")

        chats = await self.recv_chats(bob, len(acks))
        self.assertEqual([c["msg_id"] for c in chats], [a["msg_id"] for a in acks])

        await asyncio.sleep(2.0)  # refills 128 KiB
        await self.assert_usable(alice, "after the pause")
        await alice.send(frame(type="chat", to_user_id="bob", message=text, id="again"))
        self.assert_ack(await self.reply_to(alice, "again"), "again")
        self.assertEqual(len((await self.recv_json(bob))["message"]), 60000)

    async def test_max_bytes_burst_below_max_frame_bytes_is_refused(self):
        # Tries: a per-connection byte burst smaller than the largest allowed frame.
        # Must hold: exit code 1 and a message naming the settings; the server does not start.
        rc, out = await asyncio.to_thread(
            run_expecting_startup_failure, "--max-bytes-per-second", "64KiB", "--max-bytes-burst", "128KiB",
            "--max-frame-bytes", "256KiB")
        self.assertEqual(rc, 1, out)
        self.assertIn("max_bytes_burst must be at least max_frame_bytes", out)


# ---- 4: connection counts ------------------------------------------------------------------------


class ConnectionCountTest(LimitsTestCase):
    async def refused_at_accept(self, reason):
        """A new TCP connection (sending nothing) gets 503 with `reason` and is closed."""
        reply = HttpReply(await asyncio.to_thread(http_exchange, self.server.port, b""))
        self.assertEqual(reply.status, 503, reply)
        self.assertIn("text/plain", reply.header("content-type") or "", reply)
        self.assertEqual(reply.body.decode().strip(), reason, reply)
        self.assertEqual(int(reply.header("content-length")), len(reply.body), reply)
        self.assertIsNotNone(reply.header("retry-after"), reply)

    async def connect_when_admitted(self, timeout=10.0):
        """Connects a WebSocket, retrying while the server has not yet released a closed slot."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return await self.connect()
            except Exception as e:  # noqa: BLE001
                if refusal_status(e) != 503 or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)

    async def check_limit(self, limit, reason):
        sessions = [await self.connect() for _ in range(limit)]
        for ws in sessions:
            await self.assert_usable(ws)
        await self.refused_at_accept(reason)
        # A WebSocket client sees the same refusal as a failed upgrade.
        with self.assertRaises(Exception) as refused:
            await self.connect()
        self.assertEqual(refusal_status(refused.exception), 503, repr(refused.exception))
        # The refused ones took no slot, and the held ones are untouched.
        for ws in sessions:
            await self.assert_usable(ws)
        # Closing one frees its slot for a newcomer.
        await asyncio.wait_for(sessions[0].close(), RECV_TIMEOUT_S)
        newcomer = await self.connect_when_admitted()
        await self.assert_usable(newcomer)
        await self.refused_at_accept(reason)

    async def test_connections_per_ip(self):
        # Tries: --max-connections-per-ip 3 and 3 WebSockets from 127.0.0.1, then a 4th connection.
        # Must hold: the 4th TCP connection gets "HTTP/1.1 503" with a readable text body, then
        # EOF; the 3 sessions keep working; after one of them closes, a new one is admitted.
        await self.start_server("--max-connections-per-ip", "3")
        await self.check_limit(3, "too many connections from your address")

    async def test_connections_in_total(self):
        # Tries: --max-connections 2 (no per-address limit) and a 3rd connection.
        # Must hold: as for the per-address limit, with the body "the server is full".
        await self.start_server("--max-connections", "2")
        await self.check_limit(2, "the server is full")


# ---- 5: origins ------------------------------------------------------------------------------------


class OriginTest(LimitsTestCase):
    def own_origin(self):
        return f"http://127.0.0.1:{self.server.port}"

    async def test_websocket_origins_in_password_mode(self):
        # Tries: WebSocket upgrades with various Origin headers in --auth password.
        # Must hold: a foreign origin gets 403; the server's own origin (http:// + the Host
        # header, compared without regard to case) gets 101; no Origin (not a browser) gets 101;
        # "null" (a page opened from disk) gets 403; a different port or no port is foreign.
        await self.start_server("--auth", "password")
        port = self.server.port
        cases = [
            ("http://evil.example", 403),
            (self.own_origin(), 101),
            (None, 101),
            (f"HTTP://127.0.0.1:{port}", 101),
            ("null", 403),
            ("http://127.0.0.1", 403),
            (f"https://127.0.0.1:{port}", 403),  # not TLS: the own origin is http://
            (f"http://127.0.0.1:{port}.evil.example", 403),
        ]
        for origin, expected in cases:
            self.assertEqual(await self.upgrade_status(origin), expected, f"Origin: {origin!r}")
        self.assertIn("origin 'http://evil.example' is not allowed", self.server.log())

    async def test_null_origin_is_accepted_in_open_mode(self):
        # Tries: Origin "null" (the seed tutorial's page opened from disk) in --auth open.
        # Must hold: 101, and the session works; a foreign origin is still refused.
        await self.start_server("--auth", "open")
        self.assertEqual(await self.upgrade_status("null"), 101)
        ws = await asyncio.wait_for(
            websockets.connect(self.server.url(), origin="null", compression=None, ping_interval=None,
                               close_timeout=2, open_timeout=RECV_TIMEOUT_S), RECV_TIMEOUT_S + 1)
        self.clients.append(ws)
        await self.assert_usable(ws)
        self.assertEqual(await self.upgrade_status("http://evil.example"), 403)

    async def test_allowed_origins_list(self):
        # Tries: --allowed-origins https://chat.example.com in --auth password.
        # Must hold: that origin is accepted (upgrade 101; the API answers it: 401 for a bad
        # login, not 403, with CORS naming it), its look-alikes are refused, and the server's own
        # origin still works.
        await self.start_server("--auth", "password", "--allowed-origins", "https://chat.example.com")
        cases = [
            ("https://chat.example.com", 101),
            ("https://CHAT.example.com", 101),
            ("http://chat.example.com", 403),
            ("https://chat.example.com:8443", 403),
            ("https://chat.example.com.evil.example", 403),
            ("https://evil.example", 403),
            (self.own_origin(), 101),
            ("null", 403),
        ]
        for origin, expected in cases:
            self.assertEqual(await self.upgrade_status(origin), expected, f"Origin: {origin!r}")
        reply = await self.http("POST", "/api/login", {"user_id": "nobody", "password": "wrong password"},
                                headers=[("Origin", "https://chat.example.com")])
        self.assertEqual(reply.status, 401, reply)
        # A listed origin may read the API's answers from its scripts (CORS names it exactly).
        self.assertEqual(reply.header_values("access-control-allow-origin"), ["https://chat.example.com"], reply)
        reply = await self.http("POST", "/api/login", {"user_id": "nobody", "password": "wrong password"},
                                headers=[("Origin", "https://evil.example")])
        self.assertEqual(reply.status, 403, reply)

    async def test_api_origin_check_and_no_cors(self):
        # Tries: the HTTP API with foreign and own origins, a CORS preflight, and its cache headers.
        # Must hold: POST /api/login from a foreign origin is 403 (JSON error origin_not_allowed)
        # with no Access-Control-Allow-Origin; an OPTIONS preflight gets no Access-Control-Allow-*
        # header whatever its status (so a browser never lets another site's script read the
        # API); every /api/* reply carries Cache-Control: no-store.
        await self.start_server("--auth", "password")
        await self.register("alice")
        login = {"user_id": "alice", "password": PASSWORD}

        foreign = await self.http("POST", "/api/login", login, headers=[("Origin", "http://evil.example")])
        self.assertEqual(foreign.status, 403, foreign)
        self.assertEqual(foreign.json().get("error"), "origin_not_allowed", foreign)
        self.assertIn("application/json", foreign.header("content-type"), foreign)

        own = await self.http("POST", "/api/login", login, headers=[("Origin", self.own_origin())])
        self.assertEqual(own.status, 200, own)
        self.assertTrue(own.json().get("token", "").startswith("pt_"), own)

        preflights = [
            await self.http("OPTIONS", "/api/login", headers=[
                ("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type")]),
            await self.http("OPTIONS", "/api/login", headers=[
                ("Origin", self.own_origin()), ("Access-Control-Request-Method", "POST")]),
            await self.http("OPTIONS", "/api/login"),
        ]
        self.assertEqual(preflights[0].status, 403, preflights[0])
        self.assertEqual(preflights[2].status, 405, preflights[2])
        for reply in [foreign, own, *preflights]:
            cors = [(n, v) for n, v in reply.headers if n.startswith("access-control-allow-")]
            self.assertEqual(cors, [], reply)

        bad = await self.http("POST", "/api/login", {"user_id": "alice", "password": "wrong password"})
        self.assertEqual(bad.status, 401, bad)
        for reply in [foreign, own, *preflights, bad]:
            self.assertIn("no-store", reply.cache_directives(), reply)


    async def test_listed_origins_get_cors_and_others_do_not(self):
        # Tries: a page of another origin the operator listed (--allowed-origins) calls the API:
        # its preflight and its POST; then an unlisted origin does the same.
        # Must hold: the listed origin's preflight is 204 naming exactly that origin, POST and the
        # two headers a JSON call with a token needs; its POST succeeds and carries the same
        # Access-Control-Allow-Origin (so the browser lets the script read it); the unlisted
        # origin gets 403 and no Access-Control-* header at all.
        app = "https://app.example.com"
        await self.start_server("--auth", "password", "--allowed-origins", app)
        await self.register("alice")
        preflight = await self.http("OPTIONS", "/api/login", headers=[
            ("Origin", app), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type")])
        self.assertEqual(preflight.status, 204, preflight)
        self.assertEqual(preflight.header("access-control-allow-origin"), app, preflight)
        self.assertEqual(preflight.header("access-control-allow-methods"), "POST", preflight)
        self.assertIn("Content-Type", preflight.header("access-control-allow-headers"), preflight)
        self.assertIn("Authorization", preflight.header("access-control-allow-headers"), preflight)

        login = await self.http("POST", "/api/login", {"user_id": "alice", "password": PASSWORD},
                                headers=[("Origin", app)])
        self.assertEqual(login.status, 200, login)
        self.assertEqual(login.header("access-control-allow-origin"), app, login)

        for method in ("OPTIONS", "POST"):
            other = await self.http(method, "/api/login", {"user_id": "alice", "password": PASSWORD},
                                    headers=[("Origin", "https://evil.example")])
            self.assertEqual(other.status, 403, other)
            self.assertEqual([n for n, _ in other.headers if n.startswith("access-control-")], [], other)


# ---- 6: slow handshakes ------------------------------------------------------------------------------


class HandshakeTimeoutTest(LimitsTestCase):
    async def slowloris(self):
        """Sends a valid upgrade request one byte every 100 ms; returns (bytes sent, request size,
        seconds until the server dropped the connection, what it sent back)."""
        request = (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.server.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.server.port), RECV_TIMEOUT_S)
        started = time.monotonic()
        eof = asyncio.create_task(reader.read())
        sent = 0
        try:
            for i in range(len(request)):  # bounded: ~16 s at most, if never dropped
                if eof.done():
                    break
                try:
                    writer.write(request[i:i + 1])
                    await writer.drain()
                except (ConnectionResetError, BrokenPipeError):
                    break
                sent += 1
                await asyncio.wait({eof}, timeout=0.1)
            try:
                got = await asyncio.wait_for(eof, RECV_TIMEOUT_S)
            except ConnectionResetError:
                got = b""
            except asyncio.TimeoutError:
                self.fail(f"slowloris not dropped after sending the whole request ({sent} bytes)")
            return sent, len(request), time.monotonic() - started, got
        finally:
            eof.cancel()
            writer.close()

    async def silent(self):
        """Connects and sends nothing; returns (seconds until dropped, what the server sent)."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.server.port), RECV_TIMEOUT_S)
        started = time.monotonic()
        try:
            try:
                got = await asyncio.wait_for(reader.read(), RECV_TIMEOUT_S * 2)
            except ConnectionResetError:
                got = b""
            except asyncio.TimeoutError:
                self.fail("a connection that sent nothing was not dropped")
            return time.monotonic() - started, got
        finally:
            writer.close()

    async def honest_chat(self):
        """Two users chat a few times while the slow clients are being dropped."""
        alice = await self.login("alice")
        bob = await self.login("bob")
        for i in range(6):
            await alice.send(frame(type="chat", to_user_id="bob", message=f"hello {i}", id=i))
            self.assert_chat(await self.recv_json(bob), "alice", "bob", f"hello {i}")
            self.assert_ack(await self.recv_json(alice), i)
            await asyncio.sleep(0.2)  # spread over ~1.2 s: past the handshake timeout
        await self.assert_usable(alice)

    async def test_slow_and_silent_handshakes_are_dropped_while_others_chat(self):
        # Tries: --handshake-timeout 500ms; a slowloris client trickling a valid upgrade request
        # (one byte per 100 ms: ~15 s for the whole request), a client that connects and sends
        # nothing, and at the same time two normal clients that log in and chat.
        # Must hold: both slow clients are dropped (EOF, no 101) long before the request could
        # have finished: within a few seconds; the normal clients' sessions, which completed their
        # handshakes, are unaffected by the timeout even when they outlive it.
        await self.start_server("--handshake-timeout", "500ms", "--store", "memory")
        (sent, size, slow_s, slow_got), (silent_s, silent_got), _ = await asyncio.gather(
            self.slowloris(), self.silent(), self.honest_chat())
        self.assertLess(sent, size, "the slowloris client finished its request")
        self.assertLess(slow_s, 5.0, f"slowloris held the connection {slow_s:.1f}s")
        self.assertNotIn(b"101", slow_got[:12], slow_got)
        self.assertLess(silent_s, 5.0, f"a silent client held the connection {silent_s:.1f}s")
        self.assertEqual(silent_got, b"", silent_got)


# ---- 7: login floods ------------------------------------------------------------------------------


class LoginThrottleTest(LimitsTestCase):
    """Failed password logins, as auth/authenticator.cpp and auth/login_throttle.cpp count them.

    Every failure (unknown name, wrong password, disabled account) is recorded under two keys: the
    address ("ip:127.0.0.1") and the name as normalized ("user:alice"). A login (WebSocket or
    POST /api/login) is refused without checking the password while either key must wait: after n
    failures of a key, n >= --login-free-failures (here 3), it waits 1 s * 2^(n - 3) from its
    last failure, at most --login-max-backoff. A throttled refusal records nothing. A success
    clears the name's count only, never the address's; a key is forgotten after an hour (or twice
    the maximum backoff) without failures. Over WebSocket the refusal is `auth_failed` ending
    "try again in N s"; the API answers 429 `rate_limited` with Retry-After: N.
    """

    async def expect_refused(self, user, password, throttled, mark=None):
        """A WebSocket password login is refused with auth_failed, saying "try again in" or not.

        `throttled` is True, False, or (sent, seconds): a backoff of `seconds` began with the
        failure of a request we sent at `sent`; then the refusal must say "try again in" if our
        clock proves, once the answer is in, that the backoff was still running when the server
        checked (see window_holds), and may say either otherwise. Returns the message."""
        reply, ws = await self.password_login(user, password)
        if isinstance(throttled, tuple):
            throttled = True if window_holds(*throttled) else None
        self.assertEqual(reply.get("type"), "error", reply)
        self.assertEqual(reply.get("code"), "auth_failed", reply)
        says_wait = "try again in" in reply.get("message", "")
        if throttled is not None:
            self.assertEqual(says_wait, throttled, f"{user}/{password!r} ({mark}): {reply}")
        await asyncio.wait_for(ws.close(), RECV_TIMEOUT_S)
        return reply["message"]

    async def test_failed_logins_of_one_account_are_throttled(self):
        # Tries: --login-free-failures 3; wrong-password logins for a registered account over
        # WebSocket, one connection after another; then, during a backoff, the right password
        # over WebSocket and over the API.
        # Must hold: failures 1-3 are plain auth_failed; the next attempt (right away) says "try
        # again in 1 s"; after that wait a 4th real failure starts a 2 s wait, during which the
        # wrong and even the right password are refused with "try again in", and POST /api/login
        # answers 429 rate_limited with a Retry-After header; once the wait is over the right
        # password logs in.
        await self.start_server("--auth", "password", "--login-free-failures", "3", "--store", "memory")
        await self.register("alice")
        for i in range(3):
            sent = time.monotonic()
            await self.expect_refused("alice", "wrong password", throttled=False, mark=f"failure {i + 1}")
        message = await self.expect_refused("alice", "wrong password", throttled=(sent, 1.0), mark="4th")
        if "try again in" in message:
            self.assertTrue(message.endswith("try again in 1 s"), message)

        await asyncio.sleep(1.2)  # the 1 s wait is over: the next failure is checked and counted
        sent = time.monotonic()
        await self.expect_refused("alice", "wrong password", throttled=False, mark="failure 4")
        await self.expect_refused("alice", "still wrong", throttled=(sent, 2.0), mark="wrong, throttled")
        await self.expect_refused("alice", PASSWORD, throttled=(sent, 2.0), mark="right, throttled")
        api = await self.http("POST", "/api/login", {"user_id": "alice", "password": PASSWORD})
        if window_holds(sent, 2.0):
            self.assertEqual(api.status, 429, api)
            self.assertEqual(api.json().get("error"), "rate_limited", api)
            self.assertIn(api.header("retry-after"), ("1", "2"), api)
            self.assertIn("no-store", api.cache_directives(), api)

        await asyncio.sleep(2.2)
        reply, ws = await self.password_login("ALICE", PASSWORD)  # names are case-folded
        self.assertEqual(reply.get("type"), "login_ok", reply)
        self.assertEqual(reply.get("user_id"), "alice", reply)
        await self.finish_sync(ws)

    async def test_failures_under_many_names_throttle_the_address(self):
        # Tries: --login-free-failures 3; from 127.0.0.1, one failed login each for three names
        # that have no account, then the right password of a registered account, bob, that never
        # failed; then the API.
        # Must hold: the three failures are plain (each name has 1 failure); bob is refused with
        # "try again in" because the address has 3 failures (the per-address key); the API login
        # of bob gets 429 too; after the wait bob logs in (his own name was never throttled).
        await self.start_server("--auth", "password", "--login-free-failures", "3", "--store", "memory")
        await self.register("bob")
        for i in range(3):
            sent = time.monotonic()
            await self.expect_refused(f"ghost{i}", "no such account", throttled=False, mark=f"name {i}")
        await self.expect_refused("bob", PASSWORD, throttled=(sent, 1.0), mark="another name, same address")
        api = await self.http("POST", "/api/login", {"user_id": "bob", "password": PASSWORD})
        if window_holds(sent, 1.0):
            self.assertEqual(api.status, 429, api)
            self.assertIsNotNone(api.header("retry-after"), api)

        await asyncio.sleep(1.2)
        reply, ws = await self.password_login("bob", PASSWORD)
        self.assertEqual(reply.get("type"), "login_ok", reply)
        await self.finish_sync(ws)
        self.assertIn("throttled", self.server.log())


# ---- 8: malformed API input -------------------------------------------------------------------------


class ApiInputTest(LimitsTestCase):
    async def test_malformed_register_requests(self):
        # Tries: POST /api/register with bodies that are not JSON, not an object, with trailing
        # bytes, with fields of the wrong type or missing, with the wrong Content-Type, and with a
        # body and headers over the HTTP limits (64 KiB / 16 KiB).
        # Must hold: 400 / 415 with a JSON {"error","message"} body for each API-level problem;
        # 413 / 431 for the HTTP limits (the HTTP layer answers before the API sees the request:
        # plain text), each closing its connection; and the server keeps serving throughout:
        # /healthz answers and a valid registration succeeds at the end.
        await self.start_server("--auth", "password", "--store", "memory")
        port = self.server.port
        cases = [
            ("not json", "application/json", 400, "bad_request"),
            ("[1,2,3]", "application/json", 400, "bad_request"),
            ('"alice"', "application/json", 400, "bad_request"),
            ('{"user_id":"alice","password":"' + PASSWORD + '"} trailing', "application/json", 400, "bad_request"),
            ('{"user_id":5,"password":"' + PASSWORD + '"}', "application/json", 400, "bad_request"),
            ('{"user_id":"alice","password":["x"]}', "application/json", 400, "bad_request"),
            ('{"user_id":"alice","password":null}', "application/json", 400, "bad_request"),
            ('{"user_id":"alice"}', "application/json", 400, "missing_field"),
            ("{}", "application/json", 400, "missing_field"),
            ('{"user_id":"alice","password":"' + PASSWORD + '"}', "text/plain", 415, "unsupported_media_type"),
            ("user_id=alice&password=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
            ('{"user_id":"alice","password":"short"}', "application/json", 400, "weak_password"),
            ('{"user_id":"","password":"' + PASSWORD + '"}', "application/json", 400, "bad_user_id"),
        ]
        for body, ctype, status, code in cases:
            reply = await self.http("POST", "/api/register", body, content_type=ctype)
            self.assertEqual(reply.status, status, f"{body!r} ({ctype}): {reply}")
            self.assertIn("application/json", reply.header("content-type"), reply)
            doc = reply.json()
            self.assertEqual(doc.get("error"), code, f"{body!r}: {doc}")
            self.assertIsInstance(doc.get("message"), str, doc)
            self.assertTrue(doc["message"], doc)

        # Over the body limit: 413 from the HTTP layer, then the connection closes.
        huge = json.dumps({"user_id": "alice", "password": "p" * (70 * 1024)})
        reply = await self.http("POST", "/api/register", huge)
        self.assertEqual(reply.status, 413, reply)
        self.assertIn("close", (reply.header("connection") or "").lower(), reply)
        # Over the header limit: 431.
        reply = await self.http("POST", "/api/register", "{}", headers=[("X-Padding", "h" * (20 * 1024))])
        self.assertEqual(reply.status, 431, reply)
        # A request that does not parse as HTTP at all: 400, and the connection closes.
        garbage = HttpReply(await asyncio.to_thread(http_exchange, port, b"\x16\x03\x01 not http\r\n\r\n"))
        self.assertEqual(garbage.status, 400, garbage)

        health = await self.http("GET", "/healthz")
        self.assertEqual((health.status, health.body.strip()), (200, b"ok"), health)
        doc = await self.register("alice")
        self.assertEqual(doc.get("user_id"), "alice", doc)
        self.assertTrue(doc.get("token", "").startswith("pt_"), doc)
        reply = await self.http("POST", "/api/register", {"user_id": "alice", "password": PASSWORD})
        self.assertEqual(reply.status, 409, reply)
        self.assertEqual(reply.json().get("error"), "name_taken", reply)


if __name__ == "__main__":
    unittest.main()
