"""Integration tests of accounts and authentication: the real `parley` binary in `--auth password`
and `--auth jwt` modes, driven over its HTTP API (urllib/http.client), its WebSocket protocol
(websockets) and its admin command line (`parley user ...`).

Run with Debian's interpreter, which has python3-websockets (10.4):
    cd tests/integration/python && PARLEY_BINARY=../../../build/release/parley \
        /usr/bin/python3 -m unittest -v test_auth

Every server is started with its auth mode given explicitly (the harness would otherwise add
`--auth open`). All clients connect from 127.0.0.1, so failed logins of one test add up on one
address key of the login throttle: tests that are not about throttling raise
--login-free-failures so that their deliberate failures never lock them out.
"""

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from parley_server import ParleyServer, binary_path
from test_python_client import QUIET_S, RECV_TIMEOUT_S, ParleyTestCase, frame

PASSWORD = "correct horse battery"
NO_THROTTLE = ("--login-free-failures", "1000")
JWT_SECRET = "an HS256 key of well over 32 bytes, for tests only"
CLI_TIMEOUT_S = 30.0


# ---- JWT, built by hand -----------------------------------------------------------------------


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims, secret=JWT_SECRET, header=None, digest=hashlib.sha256, signature=None):
    """A compact JWS: header.payload.signature, HMAC-signed with `digest` unless `signature` is given."""
    header = {"alg": "HS256", "typ": "JWT"} if header is None else header
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    if signature is None:
        signature = b64url(hmac.new(secret.encode(), signing_input.encode(), digest).digest())
    return signing_input + "." + signature


class AuthTestCase(ParleyTestCase):
    """ParleyTestCase plus the HTTP API, credentialed logins and the admin command line."""

    async def start_server(self, *args, env=None, defaults=True):
        server = ParleyServer(*args, env=env, defaults=defaults)
        self.addCleanup(server.kill)  # runs after asyncTearDown, whatever happened
        await asyncio.to_thread(server.start)
        self.server = server
        return server

    # ---- HTTP API ------------------------------------------------------------------------------

    def _api_blocking(self, path, body, token, content_type, method, origin):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=RECV_TIMEOUT_S)
        try:
            headers = {} if origin is None else {"Origin": origin}
            data = None
            if body is not None:
                data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                if isinstance(data, str):
                    data = data.encode()
                headers["Content-Type"] = content_type
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                parsed = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                parsed = raw.decode(errors="replace")
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
        finally:
            conn.close()

    async def api(self, path, body=None, token=None, content_type="application/json", method="POST", origin=None):
        """One HTTP request on a fresh connection: (status, headers with lower-case names, JSON body)."""
        return await asyncio.to_thread(self._api_blocking, path, body, token, content_type, method, origin)

    async def register(self, user_id, password=PASSWORD, expect_name=None):
        status, _, body = await self.api("/api/register", {"user_id": user_id, "password": password})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["user_id"], expect_name or user_id.lower(), body)
        return body["token"]

    async def api_login(self, user_id, password=PASSWORD):
        status, _, body = await self.api("/api/login", {"user_id": user_id, "password": password})
        self.assertEqual(status, 200, body)
        return body["token"]

    # ---- WebSocket logins ----------------------------------------------------------------------

    async def try_login(self, ws=None, **fields):
        """Sends a login with `fields` (on a new connection unless `ws`); returns (ws, first reply)."""
        if ws is None:
            ws = await self.connect()
        msg = await self.request(ws, frame(type="login", **fields))
        return ws, msg

    async def login_as(self, expected_user, **fields):
        """A login that must succeed as `expected_user`; reads the catch-up; returns the socket."""
        ws, msg = await self.try_login(**fields)
        self.assertEqual(msg.get("type"), "login_ok", f"{fields} -> {msg}")
        self.assertEqual(msg.get("user_id"), expected_user, msg)
        await self.finish_sync(ws)
        return ws

    async def login_refused(self, code="auth_failed", **fields):
        """A login that must be refused with `code`; the connection stays open and not logged in."""
        ws, msg = await self.try_login(**fields)
        self.assertEqual(msg.get("type"), "error", f"{fields} -> {msg}")
        self.assertEqual(msg.get("code"), code, f"{fields} -> {msg}")
        self.assertTrue(msg.get("message"), msg)
        # Still not logged in: chat is refused, the connection is usable.
        await self.assert_error(ws, frame(type="chat", to_user_id="x", message="m"), "not_logged_in")
        return msg

    async def recv_all(self, ws, within=QUIET_S):
        """Every message that arrives on `ws` within `within` seconds."""
        out = []
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(ws.recv(), left)
            except asyncio.TimeoutError:
                break
            out.append(json.loads(raw))
        return out

    async def conversations(self, ws):
        msg = await self.request(ws, frame(type="conversations", id="cv"))
        self.assertEqual(msg.get("type"), "conversations", msg)
        return {c["peer"]: c for c in msg["conversations"]}

    # ---- the admin command line ----------------------------------------------------------------

    async def cli(self, *args, password=None):
        """`parley user ARGS --data-dir <the server's>`, the password (if any) on stdin."""
        argv = [binary_path(), "user", *args, "--data-dir", self.server.data_dir]
        return await asyncio.to_thread(
            subprocess.run,
            argv,
            input="" if password is None else password + "\n",
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )

    def assert_cli_ok(self, result):
        self.assertEqual(result.returncode, 0, f"{result.args}: {result.stdout}{result.stderr}")
        return result.stdout

    def assert_cli_fails(self, result, *fragments):
        self.assertEqual(result.returncode, 1, f"{result.args}: {result.stdout}{result.stderr}")
        self.assertTrue(result.stderr.strip(), f"{result.args}: failed without a message")
        for fragment in fragments:
            self.assertIn(fragment, result.stderr, result.args)


class PasswordModeTest(AuthTestCase):
    async def test_seed_login_needs_credentials(self):
        """Password mode: the seed's bare login is refused with auth_required; chat before login is
        not_logged_in; the connection stays usable."""
        await self.start_server("--auth", "password")
        msg = await self.login_refused("auth_required", user_id="alice")
        self.assertIn("password", msg["message"])
        ws = await self.connect()
        await self.assert_error(ws, frame(type="chat", to_user_id="bob", message="hi"), "not_logged_in")
        await self.assert_usable(ws)

    async def test_register(self):
        """POST /api/register: 201 with user_id, token and expires_at; names are folded to lower
        case; a taken name (in any case) is 409; a short password or a bad name is 400; a body that
        is not JSON-typed is 415; GET is 405."""
        await self.start_server("--auth", "password", *NO_THROTTLE)
        before_ms = int(time.time() * 1000)
        status, _, body = await self.api("/api/register", {"user_id": "Alice", "password": PASSWORD})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["user_id"], "alice", body)
        self.assertIsInstance(body["token"], str, body)
        self.assertGreaterEqual(len(body["token"]), 32, body)
        # Default TTL 30 days.
        self.assertIsInstance(body["expires_at"], int, body)
        self.assertGreater(body["expires_at"], before_ms + 29 * 86400 * 1000, body)

        for name in ("alice", "ALICE"):
            status, _, body = await self.api("/api/register", {"user_id": name, "password": PASSWORD})
            self.assertEqual(status, 409, body)
            self.assertEqual(body["error"], "name_taken", body)

        status, _, body = await self.api("/api/register", {"user_id": "bob", "password": "short"})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"], "weak_password", body)

        for bad in ("", "bad name", "-dash", "x" * 65, "ünïcode"):
            status, _, body = await self.api("/api/register", {"user_id": bad, "password": PASSWORD})
            self.assertEqual(status, 400, f"{bad!r}: {body}")
            self.assertEqual(body["error"], "bad_user_id", f"{bad!r}: {body}")

        status, _, body = await self.api("/api/register", {"user_id": "bob"})
        self.assertEqual(status, 400, body)
        status, _, body = await self.api("/api/register", "not json")
        self.assertEqual(status, 400, body)
        status, _, body = await self.api(
            "/api/register", {"user_id": "bob", "password": PASSWORD}, content_type="text/plain"
        )
        self.assertEqual(status, 415, body)
        status, headers, body = await self.api("/api/register", method="GET")
        self.assertEqual(status, 405, body)

        # None of the refused attempts created "bob": he can still register.
        await self.register("bob")

    async def test_pipelined_api_requests_are_answered_in_order(self):
        """Two API requests in one write on a keep-alive connection (register, then log in): the
        server reads nothing past the first while the auth thread works on it, then answers both,
        in order, on the same connection."""
        await self.start_server("--auth", "password", *NO_THROTTLE)

        def exchange():
            body = json.dumps({"user_id": "erin", "password": PASSWORD}).encode()
            request = lambda path: (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                                    ).encode() + body
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=RECV_TIMEOUT_S) as s:
                s.sendall(request("/api/register") + request("/api/login"))
                data = b""
                while data.count(b"HTTP/1.1 ") < 2 or not data.rstrip().endswith(b"}"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                return data.decode()

        data = await asyncio.to_thread(exchange)
        first, second = data.index("HTTP/1.1 201"), data.index("HTTP/1.1 200")
        self.assertLess(first, second, data)
        self.assertEqual(data.count('"user_id":"erin"'), 2, data)

    async def test_registration_closed(self):
        """--registration closed: /api/register is 403 and creates nothing."""
        await self.start_server("--auth", "password", "--registration", "closed")
        status, _, body = await self.api("/api/register", {"user_id": "alice", "password": PASSWORD})
        self.assertEqual(status, 403, body)
        self.assertEqual(body["error"], "registration_closed", body)
        status, _, body = await self.api("/api/login", {"user_id": "alice", "password": PASSWORD})
        self.assertEqual(status, 401, body)

    async def test_api_refuses_foreign_origins(self):
        """A page from another origin cannot call the API (403) unless --allowed-origins names it;
        the server's own origin and requests without Origin (non-browser clients) are allowed."""
        await self.start_server("--auth", "password", "--allowed-origins", "https://chat.example.com", *NO_THROTTLE)
        creds = {"user_id": "alice", "password": PASSWORD}
        status, _, body = await self.api("/api/register", creds, origin="https://evil.example")
        self.assertEqual(status, 403, body)
        self.assertEqual(body["error"], "origin_not_allowed", body)
        status, _, body = await self.api("/api/register", creds, origin="https://chat.example.com")
        self.assertEqual(status, 201, body)
        status, _, body = await self.api("/api/login", creds, origin=f"http://127.0.0.1:{self.server.port}")
        self.assertEqual(status, 200, body)
        status, _, body = await self.api("/api/logout", token=body["token"], origin="https://evil.example")
        self.assertEqual(status, 403, body)

    async def test_websocket_login_with_token_or_password(self):
        """A registered user logs in over the WebSocket with the token alone, or with user_id and
        password (the name in any case); both sessions are "alice". A token with someone else's
        user_id beside it is refused."""
        await self.start_server("--auth", "password", *NO_THROTTLE)
        token = await self.register("Alice")
        await self.login_as("alice", token=token)
        await self.login_as("alice", user_id="ALICE", password=PASSWORD)
        await self.login_as("alice", user_id="alice", token=token)
        await self.register("bob")
        await self.login_refused(user_id="bob", token=token)

    async def test_wrong_password_and_unknown_user_look_the_same(self):
        """A wrong password and a name with no account get the same code and message, so a client
        cannot learn which accounts exist. Forged and malformed tokens get it too."""
        await self.start_server("--auth", "password", *NO_THROTTLE)
        await self.register("alice")
        wrong = await self.login_refused(user_id="alice", password="not the password")
        unknown = await self.login_refused(user_id="nobody", password="not the password")
        self.assertEqual(wrong, unknown)
        forged = await self.login_refused(token="A" * 43)
        self.assertEqual(forged["code"], "auth_failed")
        junk = await self.login_refused(token="junk")
        self.assertEqual(junk["code"], "auth_failed")

    async def test_registered_users_chat_both_ways(self):
        """Two registered users chat in both directions; a chat addressed to "BOB" reaches bob,
        because account names are case-folded in password mode. The server gets no --auth at
        all: password mode, with its folding, must be what the default is."""
        await self.start_server(*NO_THROTTLE, defaults=False)
        alice_token = await self.register("alice")
        bob_token = await self.register("bob")
        alice = await self.login_as("alice", token=alice_token)
        bob = await self.login_as("bob", token=bob_token)

        await alice.send(frame(type="chat", to_user_id="bob", message="hi bob", id="a1"))
        got = await self.recv_json(bob)
        self.assert_chat(got, "alice", "bob", "hi bob")
        self.assert_ack(await self.recv_json(alice), "a1", got["msg_id"])

        await bob.send(frame(type="chat", to_user_id="alice", message="hi alice", id="b1"))
        got = await self.recv_json(alice)
        self.assert_chat(got, "bob", "alice", "hi alice")
        self.assert_ack(await self.recv_json(bob), "b1", got["msg_id"])

        await alice.send(frame(type="chat", to_user_id="BOB", message="shouting", id="a2"))
        got = await self.recv_json(bob)
        self.assert_chat(got, "alice", "bob", "shouting")
        self.assert_ack(await self.recv_json(alice), "a2", got["msg_id"])
        await self.assert_quiet(alice)
        await self.assert_quiet(bob)

    async def test_api_login_and_throttling(self):
        """POST /api/login: the right password gives a 200 token that logs in; a wrong one is 401.
        With --login-free-failures 2, the third attempt is 429 with Retry-After, and a WebSocket
        password login (even with the right password) is throttled too: auth_failed saying when to
        try again."""
        await self.start_server("--auth", "password", "--login-free-failures", "2")
        await self.register("alice")
        token = await self.api_login("ALICE")
        await self.login_as("alice", token=token)

        # Opened now, so that the throttled login below is one frame away from the last failure.
        ws = await self.connect()
        for _ in range(2):
            status, _, body = await self.api("/api/login", {"user_id": "alice", "password": "wrong password"})
            self.assertEqual(status, 401, body)
            self.assertEqual(body["error"], "auth_failed", body)
        status, headers, body = await self.api("/api/login", {"user_id": "alice", "password": PASSWORD})
        self.assertEqual(status, 429, body)
        self.assertEqual(body["error"], "rate_limited", body)
        self.assertIn("retry-after", headers)
        self.assertGreaterEqual(int(headers["retry-after"]), 1, headers)

        _, msg = await self.try_login(ws, user_id="alice", password=PASSWORD)
        self.assertEqual(msg.get("type"), "error", msg)
        self.assertEqual(msg.get("code"), "auth_failed", msg)
        self.assertIn("try again in", msg["message"])

    async def test_logout_closes_that_session_only(self):
        """POST /api/logout with a bearer token: the live session logged in with that token is
        closed with 1008 and the token no longer logs in; a device logged in with another token
        stays connected; the revoked token cannot log out again (401)."""
        await self.start_server("--auth", "password", *NO_THROTTLE)
        token1 = await self.register("alice")
        token2 = await self.api_login("alice")
        bob_token = await self.register("bob")
        phone = await self.login_as("alice", token=token1)
        laptop = await self.login_as("alice", token=token2)
        bob = await self.login_as("bob", token=bob_token)

        status, _, body = await self.api("/api/logout", token=token1)
        self.assertEqual(status, 200, body)
        self.assertEqual(await self.wait_closed(phone), 1008)
        await self.assert_usable(laptop)
        await self.login_refused(token=token1)
        status, _, body = await self.api("/api/logout", token=token1)
        self.assertEqual(status, 401, body)

        # The laptop and bob still chat.
        await bob.send(frame(type="chat", to_user_id="alice", message="still there?"))
        self.assert_chat(await self.recv_json(laptop), "bob", "alice", "still there?")
        await self.login_as("alice", token=token2)

    async def test_logout_everywhere(self):
        """{"everywhere":true} closes every session of the user (token- and password-logged-in)
        and revokes all of its tokens; other users are untouched."""
        await self.start_server("--auth", "password", *NO_THROTTLE)
        token1 = await self.register("alice")
        token2 = await self.api_login("alice")
        token3 = await self.api_login("alice")
        bob_token = await self.register("bob")
        sessions = [
            await self.login_as("alice", token=token1),
            await self.login_as("alice", token=token2),
            await self.login_as("alice", user_id="alice", password=PASSWORD),
        ]
        bob = await self.login_as("bob", token=bob_token)

        status, _, body = await self.api("/api/logout", {"everywhere": True}, token=token1)
        self.assertEqual(status, 200, body)
        self.assertEqual(body.get("revoked"), 3, body)
        for ws in sessions:
            self.assertEqual(await self.wait_closed(ws), 1008)
        for token in (token1, token2, token3):
            await self.login_refused(token=token)
        await self.assert_usable(bob)
        await self.login_as("bob", token=bob_token)
        # The password still works: logging out is not disabling.
        await self.login_as("alice", user_id="alice", password=PASSWORD)

    async def test_token_expiry(self):
        """--token-ttl 1s: a token logs in at once and is refused once expires_at has passed."""
        await self.start_server("--auth", "password", "--token-ttl", "1s", *NO_THROTTLE)
        status, _, body = await self.api("/api/register", {"user_id": "alice", "password": PASSWORD})
        self.assertEqual(status, 201, body)
        now_ms = time.time() * 1000
        self.assertLessEqual(body["expires_at"], now_ms + 1500, body)
        await self.login_as("alice", token=body["token"])
        await asyncio.sleep(max(0.0, (body["expires_at"] - time.time() * 1000) / 1000) + 0.5)
        await self.login_refused(token=body["token"])
        status, _, _ = await self.api("/api/logout", token=body["token"])
        self.assertEqual(status, 401)


class AdminCliTest(AuthTestCase):
    async def test_add_and_list(self):
        """`parley user add carol` (password on stdin) while the server runs: carol logs in over the
        WebSocket and the API; `list` shows her enabled."""
        await self.start_server("--auth", "password", "--registration", "closed", *NO_THROTTLE)
        out = self.assert_cli_ok(await self.cli("add", "Carol", password="carol's password"))
        self.assertIn("carol", out)
        await self.login_as("carol", user_id="carol", password="carol's password")
        await self.api_login("carol", "carol's password")
        listing = self.assert_cli_ok(await self.cli("list"))
        rows = [line.split("\t") for line in listing.splitlines()]
        self.assertIn(["carol", "enabled"], [row[:2] for row in rows], listing)

    async def test_disable_and_enable(self):
        """`disable carol` closes her live sessions (1008) within ~3 s, revokes her tokens and
        refuses new logins; other users stay connected. `enable` lets her log in again."""
        await self.start_server("--auth", "password", *NO_THROTTLE)
        self.assert_cli_ok(await self.cli("add", "carol", password="carol's password"))
        token = await self.api_login("carol", "carol's password")
        by_password = await self.login_as("carol", user_id="carol", password="carol's password")
        by_token = await self.login_as("carol", token=token)
        dave = await self.login_as("dave", token=await self.register("dave"))

        self.assert_cli_ok(await self.cli("disable", "carol"))
        for ws in (by_password, by_token):
            self.assertEqual(await self.wait_closed(ws, timeout=3.0), 1008)
        await self.assert_usable(dave)
        disabled = await self.login_refused(user_id="carol", password="carol's password")
        # Disabled looks like a wrong password: nothing tells a client the account exists.
        self.assertEqual(disabled, await self.login_refused(user_id="carol", password="wrong password"))
        await self.login_refused(token=token)
        status, _, body = await self.api("/api/login", {"user_id": "carol", "password": "carol's password"})
        self.assertEqual(status, 401, body)
        self.assertIn("carol\tdisabled", self.assert_cli_ok(await self.cli("list")))

        self.assert_cli_ok(await self.cli("enable", "carol"))
        await self.login_as("carol", user_id="carol", password="carol's password")
        await self.login_refused(token=token)  # disabling revoked it for good
        await self.login_as("carol", token=await self.api_login("carol", "carol's password"))
        self.assertIn("carol\tenabled", self.assert_cli_ok(await self.cli("list")))

        # Disabled a second time, the new session is closed too.
        again = await self.login_as("carol", user_id="carol", password="carol's password")
        self.assert_cli_ok(await self.cli("disable", "carol"))
        self.assertEqual(await self.wait_closed(again, timeout=3.0), 1008)

    async def test_passwd(self):
        """`passwd carol`: the old password fails, the new one works, tokens issued before fail."""
        await self.start_server("--auth", "password", *NO_THROTTLE)
        self.assert_cli_ok(await self.cli("add", "carol", password="old password"))
        token = await self.api_login("carol", "old password")
        live = await self.login_as("carol", token=token)
        self.assert_cli_ok(await self.cli("passwd", "CAROL", password="new password"))
        # The server notices the change within a second and closes the live session (1008).
        self.assertEqual(await self.wait_closed(live, timeout=3.0), 1008)
        await self.login_refused(user_id="carol", password="old password")
        await self.login_refused(token=token)
        await self.login_as("carol", user_id="carol", password="new password")
        await self.api_login("carol", "new password")

    async def test_errors(self):
        """Unknown names, weak passwords, bad names and taken names: exit 1 with a message on
        stderr, and nothing changes."""
        await self.start_server("--auth", "password", *NO_THROTTLE)
        self.assert_cli_ok(await self.cli("add", "carol", password="carol's password"))
        for action in ("disable", "enable", "passwd"):
            self.assert_cli_fails(await self.cli(action, "nobody", password="some password"), "nobody")
        self.assert_cli_fails(await self.cli("passwd", "nobody", password="some password"), "no such account")
        self.assert_cli_fails(await self.cli("add", "shorty", password="short"), "at least 8")
        self.assert_cli_fails(await self.cli("add", "nopass"))  # empty stdin: an empty password
        self.assert_cli_fails(await self.cli("add", "bad name!", password="some password"))
        self.assert_cli_fails(await self.cli("add", "CAROL", password="other password"), "carol")
        self.assert_cli_fails(await self.cli("passwd", "carol", password="short"), "at least 8")
        listing = self.assert_cli_ok(await self.cli("list"))
        self.assertEqual([line.split("\t")[0] for line in listing.splitlines()], ["carol"], listing)
        # carol's password is the one she was added with.
        await self.login_as("carol", user_id="carol", password="carol's password")


class IsolationTest(AuthTestCase):
    """Nobody speaks for, or reads as, someone else."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        await self.start_server("--auth", "password", *NO_THROTTLE)
        self.tokens = {name: await self.register(name) for name in ("alice", "bob", "mallory")}

    async def test_from_user_id_is_the_session_user(self):
        """A chat frame carrying "from_user_id":"bob" from alice arrives as from alice."""
        alice = await self.login_as("alice", token=self.tokens["alice"])
        bob = await self.login_as("bob", token=self.tokens["bob"])
        mallory = await self.login_as("mallory", token=self.tokens["mallory"])
        await alice.send(frame(type="chat", to_user_id="bob", message="it's me", from_user_id="bob", id="a1"))
        got = await self.recv_json(bob)
        self.assert_chat(got, "alice", "bob", "it's me")
        self.assert_ack(await self.recv_json(alice), "a1", got["msg_id"])
        await mallory.send(frame(type="chat", to_user_id="alice", message="from bob", from_user_id="bob", id="m1"))
        got = await self.recv_json(alice)
        self.assert_chat(got, "mallory", "alice", "from bob")
        self.assert_ack(await self.recv_json(mallory), "m1", got["msg_id"])
        self.assertEqual(
            [m for m in await self.recv_all(bob) if m.get("type") == "chat"], [], "bob got a chat he did not send"
        )

    async def test_others_conversations_stay_private(self):
        """mallory's history with bob or alice has none of their messages, her conversations list
        is empty, and her read receipt naming alice and an alice->bob msg_id changes nothing that
        alice or bob see."""
        alice = await self.login_as("alice", token=self.tokens["alice"])
        bob = await self.login_as("bob", token=self.tokens["bob"])
        await alice.send(frame(type="chat", to_user_id="bob", message="secret 1", id="a1"))
        to_bob = await self.recv_json(bob)
        self.assert_ack(await self.recv_json(alice), "a1", to_bob["msg_id"])
        await bob.send(frame(type="chat", to_user_id="alice", message="secret 2", id="b1"))
        to_alice = await self.recv_json(alice)
        self.assert_ack(await self.recv_json(bob), "b1", to_alice["msg_id"])
        bob_view = await self.conversations(bob)
        alice_view = await self.conversations(alice)
        self.assertEqual(bob_view["alice"]["unread"], 1, bob_view)

        mallory = await self.login_as("mallory", token=self.tokens["mallory"])
        for peer in ("bob", "alice", "BOB"):
            msg = await self.request(mallory, frame(type="history", peer=peer, id="h"))
            self.assertEqual(msg.get("type"), "history", msg)
            self.assertEqual(msg.get("messages"), [], msg)
        self.assertEqual(await self.conversations(mallory), {})

        for up_to in (to_bob["msg_id"], to_alice["msg_id"]):
            await mallory.send(frame(type="receipt", status="read", peer="alice", up_to=up_to))
            await mallory.send(frame(type="receipt", status="read", peer="bob", up_to=up_to))
        await self.assert_usable(mallory)
        for who, ws in (("alice", alice), ("bob", bob)):
            for m in await self.recv_all(ws, within=0.5):
                self.assertEqual(m.get("type"), "receipt", f"{who} got {m}")
                # mallory never talked to them: her mark on that conversation stays 0.
                self.assertEqual(m.get("user_id"), "mallory", f"{who} got {m}")
                self.assertEqual(m.get("up_to"), 0, f"{who} got {m}")
        self.assertEqual(await self.conversations(bob), bob_view)
        self.assertEqual(await self.conversations(alice), alice_view)
        self.assertEqual(await self.conversations(mallory), {})

    async def test_second_login_is_refused(self):
        """A logged-in connection cannot log in again, as anyone, by any credential."""
        alice = await self.login_as("alice", token=self.tokens["alice"])
        await self.assert_error(alice, frame(type="login", token=self.tokens["bob"]), "already_logged_in")
        await self.assert_error(
            alice, frame(type="login", user_id="bob", password=PASSWORD), "already_logged_in"
        )
        await self.assert_error(alice, frame(type="login", user_id="alice"), "already_logged_in")
        bob = await self.login_as("bob", token=self.tokens["bob"])
        await bob.send(frame(type="chat", to_user_id="alice", message="still alice?"))
        self.assert_chat(await self.recv_json(alice), "bob", "alice", "still alice?")


class JwtModeTest(AuthTestCase):
    def jwt_env(self):
        return {"PARLEY_JWT_SECRET": JWT_SECRET}

    async def test_valid_token_logs_in_as_sub(self):
        """A valid HS256 token {"sub":"dave","exp":now+60} logs in as "dave" (sub as is, not
        folded); two such users chat."""
        await self.start_server("--auth", "jwt", *NO_THROTTLE, env=self.jwt_env())
        now = int(time.time())
        dave = await self.login_as("dave", token=make_jwt({"sub": "dave", "exp": now + 60}))
        erin = await self.login_as("Erin", token=make_jwt({"sub": "Erin", "exp": now + 60, "nbf": now - 5}))
        await self.login_as("dave", user_id="dave", token=make_jwt({"sub": "dave", "exp": now + 60}))
        await dave.send(frame(type="chat", to_user_id="Erin", message="hi erin"))
        self.assert_chat(await self.recv_json(erin), "dave", "Erin", "hi erin")

    async def test_bad_tokens_are_refused(self):
        """A bad signature, alg none (empty signature), alg HS512, an expired exp, no exp, a future
        nbf, no sub, or a user_id that is not the sub: auth_failed."""
        await self.start_server("--auth", "jwt", *NO_THROTTLE, env=self.jwt_env())
        now = int(time.time())
        good = {"sub": "dave", "exp": now + 60}
        cases = {
            "bad signature": make_jwt(good, secret="another secret that is also long enough!!"),
            "alg none": make_jwt(good, header={"alg": "none", "typ": "JWT"}, signature=""),
            "alg HS512": make_jwt(good, header={"alg": "HS512", "typ": "JWT"}, digest=hashlib.sha512),
            "expired": make_jwt({"sub": "dave", "exp": now - 10}),
            "no exp": make_jwt({"sub": "dave"}),
            "future nbf": make_jwt({"sub": "dave", "exp": now + 60, "nbf": now + 30}),
            "no sub": make_jwt({"exp": now + 60}),
            "tampered payload": make_jwt(good).split(".")[0]
            + "."
            + b64url(json.dumps({"sub": "root", "exp": now + 60}).encode())
            + "."
            + make_jwt(good).split(".")[2],
            "not a JWT": "not.a.jwt",
        }
        for what, token in cases.items():
            with self.subTest(what):
                await self.login_refused(token=token)
        await self.login_refused(user_id="erin", token=make_jwt(good))
        # The refusals did not break anything: a good token still logs in.
        await self.login_as("dave", token=make_jwt(good))

    async def test_passwords_and_accounts_are_not_offered(self):
        """In jwt mode a password (or bare) login is auth_required and the account API is 404."""
        await self.start_server("--auth", "jwt", env=self.jwt_env())
        await self.login_refused("auth_required", user_id="dave", password=PASSWORD)
        await self.login_refused("auth_required", user_id="dave")
        for path in ("/api/register", "/api/login", "/api/logout"):
            status, _, body = await self.api(path, {"user_id": "dave", "password": PASSWORD})
            self.assertEqual(status, 404, f"{path}: {body}")

    def start_jwt_server_expecting_failure(self, extra_args=(), env_secret=None):
        """Runs `parley serve --auth jwt` that must exit 1 at once; returns its stderr."""
        data_dir = tempfile.mkdtemp(prefix="parley-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        env = {k: v for k, v in os.environ.items() if k != "PARLEY_JWT_SECRET"}
        if env_secret is not None:
            env["PARLEY_JWT_SECRET"] = env_secret
        argv = [binary_path(), "serve", "--auth", "jwt", "--listen", "127.0.0.1:0", "--threads", "1",
                "--data-dir", data_dir, *extra_args]
        try:
            result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                    timeout=10)
        except subprocess.TimeoutExpired as e:
            self.fail(f"{argv} kept running instead of refusing to start: {e.stderr!r}")
        self.assertEqual(result.returncode, 1, f"{argv}: {result.stderr}")
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one line, got: {result.stderr!r}")
        self.assertNotIn("listening", result.stderr)
        return lines[0]

    async def test_startup_without_a_usable_secret_fails(self):
        """--auth jwt without a secret, or with one under 32 bytes (in the environment or as a flag),
        exits 1 with one clear line, which does not repeat the secret."""
        line = self.start_jwt_server_expecting_failure()
        self.assertIn("PARLEY_JWT_SECRET", line)
        short = "only thirty-one bytes long....."
        self.assertEqual(len(short), 31)
        for args, env_secret in (((), short), (("--jwt-secret", short), None)):
            with self.subTest(args=args, env=env_secret is not None):
                line = self.start_jwt_server_expecting_failure(args, env_secret)
                self.assertIn("32 bytes", line)
                self.assertNotIn(short, line, "the error message must not print the secret")


if __name__ == "__main__":
    unittest.main()
