"""Integration tests: the real `parley` binary driven by a real WebSocket client (Python websockets).

Run with Debian's interpreter, which has python3-websockets (10.4):
    cd tests/integration/python && PARLEY_BINARY=../../../build/release/parley \
        /usr/bin/python3 -m unittest -v test_python_client

Each test starts its own server on a free port (port 0) with a fresh data directory and stops it
with SIGTERM, asserting exit code 0. Every receive is bounded by a timeout, so a server bug fails
the test instead of hanging it.
"""

import asyncio
import json
import os
import socket
import time
import unittest
import urllib.error
import urllib.request

import websockets
from websockets.exceptions import ConnectionClosed

from parley_server import ParleyServer

RECV_TIMEOUT_S = 5.0  # one message, one close, one pong
QUIET_S = 0.3  # how long "nothing else arrives" is watched for
MISSING = object()

OP_TEXT = 0x1


def frame(**fields):
    return json.dumps(fields, ensure_ascii=False)


class ParleyTestCase(unittest.IsolatedAsyncioTestCase):
    """Starts servers and clients for a test; stops them all afterwards."""

    async def asyncSetUp(self):
        self.server = None
        self.clients = []

    async def asyncTearDown(self):
        for ws in self.clients:
            try:
                await asyncio.wait_for(ws.close(), RECV_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - already closed or broken: nothing to clean
                pass
        if self.server is not None and self.server.running():
            rc = await asyncio.to_thread(self.server.stop)
            self.assertEqual(rc, 0, f"parley exited with {rc} on SIGTERM\n--- log ---\n{self.server.log()}")

    # ---- server and connections ---------------------------------------------------------------

    async def start_server(self, *args):
        server = ParleyServer(*args)
        self.addCleanup(server.kill)  # runs after asyncTearDown, whatever happened
        await asyncio.to_thread(server.start)
        self.server = server
        return server

    async def connect(self, path="/"):
        ws = await asyncio.wait_for(
            websockets.connect(
                self.server.url(path),
                compression=None,  # plain frames, as the seed page's browser would send without pmd
                ping_interval=None,  # no client keepalive pings unless a test sends them
                close_timeout=2,
                max_size=None,
                open_timeout=RECV_TIMEOUT_S,
            ),
            RECV_TIMEOUT_S,
        )
        self.clients.append(ws)
        return ws

    async def login(self, user_id, path="/"):
        ws = await self.connect(path)
        msg = await self.request(ws, frame(type="login", user_id=user_id))
        self.assertEqual(msg.get("type"), "login_ok", msg)
        self.assertEqual(msg.get("user_id"), user_id, msg)
        self.assertIsInstance(msg.get("shard"), int, msg)
        ws.shard = msg["shard"]
        await self.finish_sync(ws)
        return ws

    async def finish_sync(self, ws):
        """Reads the catch-up that follows login_ok (stored messages, then "synced"); returns the chats."""
        chats = []
        while True:
            msg = await self.recv_json(ws)
            if msg.get("type") == "synced":
                self.assertIsInstance(msg.get("seq"), int, msg)
                return chats
            self.assertEqual(msg.get("type"), "chat", msg)
            chats.append(msg)

    async def login_on_shard(self, user_id, shard, attempts=40):
        """Logs in until the session lands on `shard` (SO_REUSEPORT spreads connections)."""
        seen = set()
        for _ in range(attempts):
            ws = await self.login(user_id)
            if ws.shard == shard:
                return ws
            seen.add(ws.shard)
            await asyncio.wait_for(ws.close(), RECV_TIMEOUT_S)
            self.clients.remove(ws)
        self.fail(f"{attempts} sessions of {user_id!r} never landed on shard {shard}; shards seen: {sorted(seen)}")

    # ---- receiving -----------------------------------------------------------------------------

    async def recv_json(self, ws, timeout=RECV_TIMEOUT_S):
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout)
        except asyncio.TimeoutError:
            self.fail(f"no message within {timeout}s")
        except ConnectionClosed as e:
            self.fail(f"connection closed while a message was expected: code={e.code} reason={e.reason!r}")
        self.assertIsInstance(raw, str, f"expected a text frame, got {raw!r}")
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            self.fail(f"server sent invalid JSON {raw!r}: {e}")

    async def request(self, ws, data):
        await ws.send(data)
        return await self.recv_json(ws)

    async def assert_quiet(self, ws, within=QUIET_S):
        """Nothing more arrives on `ws` for a short while."""
        try:
            raw = await asyncio.wait_for(ws.recv(), within)
        except asyncio.TimeoutError:
            return
        except ConnectionClosed as e:
            self.fail(f"connection closed unexpectedly: code={e.code} reason={e.reason!r}")
        self.fail(f"unexpected message: {raw!r}")

    async def wait_closed(self, ws, timeout=RECV_TIMEOUT_S):
        """Reads (and discards) until the server closes `ws`; returns the close code."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"connection not closed within {timeout}s")
            try:
                await asyncio.wait_for(ws.recv(), left)
            except asyncio.TimeoutError:
                self.fail(f"connection not closed within {timeout}s")
            except ConnectionClosed:
                break
        await asyncio.wait_for(ws.wait_closed(), timeout)
        return ws.close_code

    # ---- assertions ----------------------------------------------------------------------------

    async def assert_error(self, ws, data, code, ref=MISSING):
        """Sends `data`, expects an `error` with `code`, and `ref` when given (absent otherwise)."""
        msg = await self.request(ws, data)
        self.assertEqual(msg.get("type"), "error", f"{data!r} -> {msg}")
        self.assertEqual(msg.get("code"), code, f"{data!r} -> {msg}")
        self.assertIsInstance(msg.get("message"), str, msg)
        self.assertTrue(msg["message"], f"error without a human-readable message: {msg}")
        if ref is MISSING:
            self.assertIsNone(msg.get("ref"), f"{data!r}: no id was sent, yet ref is set: {msg}")
        else:
            self.assertIn("ref", msg, f"{data!r}: expected ref {ref!r}: {msg}")
            self.assertEqual(msg["ref"], ref, msg)
            self.assertIs(type(msg["ref"]), type(ref), f"ref must echo the id's JSON type: {msg}")
        return msg

    async def assert_usable(self, ws, tag="alive"):
        msg = await self.request(ws, frame(type="ping", id=tag))
        self.assertEqual(msg, {"type": "pong", "id": tag})

    def assert_chat(self, msg, frm, to, text, outgoing=False):
        self.assertEqual(msg.get("type"), "chat", msg)
        self.assertEqual(msg.get("from_user_id"), frm, msg)
        self.assertEqual(msg.get("to_user_id"), to, msg)
        self.assertEqual(msg.get("message"), text, msg)
        self.assertIsInstance(msg.get("msg_id"), int, msg)
        self.assertIsInstance(msg.get("ts"), int, msg)
        if outgoing:
            self.assertIs(msg.get("outgoing"), True, msg)
        else:
            self.assertFalse(msg.get("outgoing", False), f"a received message must not be marked outgoing: {msg}")

    def assert_ack(self, msg, client_id, msg_id=None, ts=None):
        self.assertEqual(msg.get("type"), "ack", msg)
        self.assertIn("id", msg, msg)
        self.assertEqual(msg["id"], client_id, msg)
        self.assertIsInstance(msg.get("msg_id"), int, msg)
        self.assertIsInstance(msg.get("ts"), int, msg)
        if msg_id is not None:
            self.assertEqual(msg["msg_id"], msg_id, msg)
        if ts is not None:
            self.assertEqual(msg["ts"], ts, msg)

    async def assert_seed_chat_both_ways(self, reply_text):
        """alice (on /) and bob (on /ws) log in and chat as the seed page does — no ids — one
        message each way: each arrives once with its sender, and each sender gets its ack."""
        alice = await self.login("alice", path="/")
        bob = await self.login("bob", path="/ws")

        await alice.send(json.dumps({"type": "chat", "to_user_id": "bob", "message": "hello bob"}))
        got = await self.recv_json(bob)
        self.assert_chat(got, "alice", "bob", "hello bob")
        self.assert_ack(await self.recv_json(alice), None, got["msg_id"], got["ts"])

        await bob.send(json.dumps({"type": "chat", "to_user_id": "alice", "message": reply_text}))
        got = await self.recv_json(alice)
        self.assert_chat(got, "bob", "alice", reply_text)
        self.assert_ack(await self.recv_json(bob), None, got["msg_id"], got["ts"])

        await self.assert_quiet(alice)
        await self.assert_quiet(bob)


class SeedProtocolTest(ParleyTestCase):
    async def test_seed_round_trip_both_ways(self):
        """The seed page's frames, exactly: login, then chat without an id, in both directions."""
        await self.start_server()
        await self.assert_seed_chat_both_ways("héllo alice 👋 \"quoted\" <b>&amp;</b>\n")

    async def test_numeric_user_ids_as_php_clients_send_them(self):
        """The decoder takes unquoted non-negative integers as user ids (their decimal digits)."""
        await self.start_server()
        one = await self.connect()
        msg = await self.request(one, '{"type":"login","user_id":1}')
        self.assertEqual(msg.get("type"), "login_ok", msg)
        self.assertEqual(msg.get("user_id"), "1", msg)
        await self.finish_sync(one)
        two = await self.login("2")
        await one.send('{"type":"chat","to_user_id":2,"message":"hi two"}')
        self.assert_chat(await self.recv_json(two), "1", "2", "hi two")

    async def test_ack_carries_client_id_and_matches_delivery(self):
        await self.start_server()
        alice = await self.login("alice")
        bob = await self.login("bob")
        before_ms = int(time.time() * 1000)

        await alice.send(frame(type="chat", to_user_id="bob", message="one", id="c1"))
        first = await self.recv_json(bob)
        self.assert_chat(first, "alice", "bob", "one")
        ack = await self.recv_json(alice)
        self.assert_ack(ack, "c1", first["msg_id"], first["ts"])
        after_ms = int(time.time() * 1000)
        self.assertLessEqual(before_ms - 1000, ack["ts"], "ts is not a Unix time in milliseconds")
        self.assertLessEqual(ack["ts"], after_ms + 1000, "ts is not a Unix time in milliseconds")

        # An integer id is echoed as an integer; a second message gets a new msg_id.
        await alice.send(frame(type="chat", to_user_id="bob", message="two", id=42))
        second = await self.recv_json(bob)
        self.assert_chat(second, "alice", "bob", "two")
        ack2 = await self.recv_json(alice)
        self.assert_ack(ack2, 42, second["msg_id"], second["ts"])
        self.assertIs(type(ack2["id"]), int, ack2)
        self.assertNotEqual(first["msg_id"], second["msg_id"])
        self.assertGreaterEqual(second["ts"], first["ts"])

        # Messages to an offline user are still acked to the sender.
        await alice.send(frame(type="chat", to_user_id="carol", message="are you there?", id="c3"))
        ack3 = await self.recv_json(alice)
        self.assert_ack(ack3, "c3")
        self.assertNotIn(ack3["msg_id"], (first["msg_id"], second["msg_id"]))

    async def test_chat_to_self_reaches_own_sessions(self):
        await self.start_server()
        a1 = await self.login("alice")
        a2 = await self.login("alice")
        await a1.send(frame(type="chat", to_user_id="alice", message="note to self", id="s1"))
        got1 = await self.recv_json(a1)
        got2 = await self.recv_json(a2)
        # a1 gets the chat and its ack, in either order.
        ack = await self.recv_json(a1)
        if got1.get("type") == "ack":
            got1, ack = ack, got1
        self.assert_chat(got1, "alice", "alice", "note to self")
        self.assert_chat(got2, "alice", "alice", "note to self")
        self.assert_ack(ack, "s1", got1["msg_id"], got1["ts"])
        self.assertEqual(got2["msg_id"], got1["msg_id"])


class MultiDeviceTest(ParleyTestCase):
    async def test_every_device_gets_every_message(self):
        await self.start_server()
        bob1 = await self.login("bob")
        bob2 = await self.login("bob")
        alice1 = await self.login("alice")
        alice2 = await self.login("alice")

        await alice1.send(frame(type="chat", to_user_id="bob", message="to all of bob", id="m1"))
        b1 = await self.recv_json(bob1)
        b2 = await self.recv_json(bob2)
        out = await self.recv_json(alice2)
        ack = await self.recv_json(alice1)
        self.assert_chat(b1, "alice", "bob", "to all of bob")
        self.assert_chat(b2, "alice", "bob", "to all of bob")
        self.assert_chat(out, "alice", "bob", "to all of bob", outgoing=True)
        self.assert_ack(ack, "m1", b1["msg_id"], b1["ts"])
        self.assertEqual({b1["msg_id"], b2["msg_id"], out["msg_id"]}, {ack["msg_id"]})
        self.assertEqual({b1["ts"], b2["ts"], out["ts"]}, {ack["ts"]})
        await self.assert_quiet(alice1)  # the sending session gets the ack, not a copy

        # And back: bob2 answers; alice's two sessions receive, bob1 gets the outgoing copy.
        await bob2.send(frame(type="chat", to_user_id="alice", message="reply", id="r1"))
        self.assert_chat(await self.recv_json(alice1), "bob", "alice", "reply")
        self.assert_chat(await self.recv_json(alice2), "bob", "alice", "reply")
        self.assert_chat(await self.recv_json(bob1), "bob", "alice", "reply", outgoing=True)
        self.assert_ack(await self.recv_json(bob2), "r1")
        for ws in (alice1, alice2, bob1, bob2):
            await self.assert_quiet(ws)

    async def test_second_login_does_not_disconnect_first(self):
        await self.start_server()
        alice = await self.login("alice")
        bob1 = await self.login("bob")
        bob2 = await self.login("bob")  # the seed would orphan bob1 here

        await self.assert_usable(bob1, "still-here")
        await alice.send(frame(type="chat", to_user_id="bob", message="after second login"))
        self.assert_chat(await self.recv_json(bob1), "alice", "bob", "after second login")
        self.assert_chat(await self.recv_json(bob2), "alice", "bob", "after second login")
        self.assert_ack(await self.recv_json(alice), None)

        # Closing one device leaves the other registered.
        await asyncio.wait_for(bob2.close(), RECV_TIMEOUT_S)
        await alice.send(frame(type="chat", to_user_id="bob", message="after bob2 left", id="x"))
        self.assert_ack(await self.recv_json(alice), "x")
        self.assert_chat(await self.recv_json(bob1), "alice", "bob", "after bob2 left")
        self.assertTrue(bob1.open)

    async def test_devices_on_different_shards(self):
        """Cross-shard routing: each user has a session on shard 0 and one on shard 1."""
        await self.start_server()  # --threads 2
        bob0 = await self.login_on_shard("bob", 0)
        bob1 = await self.login_on_shard("bob", 1)
        alice0 = await self.login_on_shard("alice", 0)
        alice1 = await self.login_on_shard("alice", 1)

        for sender, copy, tag in ((alice0, alice1, "a0"), (alice1, alice0, "a1")):
            await sender.send(frame(type="chat", to_user_id="bob", message=f"from {tag}", id=tag))
            got0 = await self.recv_json(bob0)
            got1 = await self.recv_json(bob1)
            self.assert_chat(got0, "alice", "bob", f"from {tag}")
            self.assert_chat(got1, "alice", "bob", f"from {tag}")
            self.assert_chat(await self.recv_json(copy), "alice", "bob", f"from {tag}", outgoing=True)
            self.assert_ack(await self.recv_json(sender), tag, got0["msg_id"], got0["ts"])
            self.assertEqual(got0["msg_id"], got1["msg_id"])
        for ws in (alice0, alice1, bob0, bob1):
            await self.assert_quiet(ws)


class LoadTest(ParleyTestCase):
    async def test_many_senders_every_message_once_in_order(self):
        """16 users on 2 shards each send 40 messages round-robin to the others, all at once:
        every message arrives exactly once, each sender's messages to a recipient in order, and
        every ack's msg_id is unique and matches the delivered copy."""
        await self.start_server()
        n_users, per_user = 16, 40
        users = [f"u{i:02d}" for i in range(n_users)]
        conns = {u: await self.login(u) for u in users}
        self.assertEqual({ws.shard for ws in conns.values()}, {0, 1}, "all sessions on one shard")

        async def sender(i, u):
            for k in range(per_user):
                to = users[(i + 1 + k % (n_users - 1)) % n_users]
                await conns[u].send(frame(type="chat", to_user_id=to, message=f"{u}>{to}#{k}", id=f"{u}-{k}"))

        received = {u: [] for u in users}
        acks = {u: [] for u in users}

        async def reader(u):
            # Each user receives per_user messages and per_user acks.
            while len(received[u]) < per_user or len(acks[u]) < per_user:
                msg = await self.recv_json(conns[u], timeout=10)
                (acks if msg.get("type") == "ack" else received)[u].append(msg)

        await asyncio.wait_for(
            asyncio.gather(*(sender(i, u) for i, u in enumerate(users)), *(reader(u) for u in users)), 60)

        by_id = {}
        for u in users:
            self.assertEqual([a["id"] for a in acks[u]], [f"{u}-{k}" for k in range(per_user)],
                             f"{u}'s acks out of order or missing")
            last = {}
            for m in received[u]:
                self.assertEqual(m.get("type"), "chat", m)
                self.assertEqual(m["to_user_id"], u, m)
                frm, rest = m["message"].split(">")
                self.assertEqual(frm, m["from_user_id"], m)
                k = int(rest.split("#")[1])
                self.assertGreater(k, last.get(frm, -1), f"{u} got {frm}'s messages out of order")
                last[frm] = k
                self.assertNotIn(m["msg_id"], by_id, f"msg_id {m['msg_id']} delivered twice")
                by_id[m["msg_id"]] = m
            await self.assert_quiet(conns[u], within=0.05)
        self.assertEqual(len(by_id), n_users * per_user)
        for u in users:
            for a in acks[u]:
                self.assertIn(a["msg_id"], by_id, f"ack {a} matches no delivered message")
                delivered = by_id[a["msg_id"]]
                self.assertEqual(delivered["from_user_id"], u, a)
                self.assertEqual(delivered["ts"], a["ts"], a)


class ErrorReplyTest(ParleyTestCase):
    async def test_unknown_fields_ignored_and_last_duplicate_wins(self):
        await self.start_server()
        alice = await self.login("alice")
        bob = await self.login("bob")
        await alice.send('{"type":"chat","to_user_id":"carol","to_user_id":"bob","message":"dup",'
                         '"extra":{"nested":[1,2,{"x":null}]},"id":"d1"}')
        self.assert_chat(await self.recv_json(bob), "alice", "bob", "dup")
        self.assert_ack(await self.recv_json(alice), "d1")
        await self.assert_error(alice, '{"type":"ping","type":"nope","id":1}', "unknown_type", ref=1)

    async def test_bad_json(self):
        await self.start_server()
        ws = await self.connect()
        for data in ("{not json", "", "   ", '{"type":"login"', '{"type":"ping"} trailing', "nul", "{'a':1}"):
            await self.assert_error(ws, data, "bad_json")
        await self.login_existing(ws, "alice")
        await self.assert_error(ws, '{"type":"chat",', "bad_json")
        await self.assert_usable(ws)

    async def login_existing(self, ws, user_id):
        msg = await self.request(ws, frame(type="login", user_id=user_id))
        self.assertEqual(msg.get("type"), "login_ok", msg)
        self.assertEqual(msg.get("user_id"), user_id, msg)
        await self.finish_sync(ws)

    async def test_not_an_object(self):
        await self.start_server()
        ws = await self.connect()
        for data in ("[1,2]", '"login"', "42", "null", "true", "[]"):
            await self.assert_error(ws, data, "not_an_object")
        await self.assert_usable(ws)

    async def test_unknown_type(self):
        await self.start_server()
        ws = await self.login("alice")
        await self.assert_error(ws, frame(type="nope", id="u1"), "unknown_type", ref="u1")
        await self.assert_error(ws, frame(type="nope", id=7), "unknown_type", ref=7)
        await self.assert_error(ws, frame(type=""), "unknown_type")
        await self.assert_usable(ws)

    async def test_not_logged_in(self):
        await self.start_server()
        bob = await self.login("bob")
        ws = await self.connect()
        await self.assert_error(ws, frame(type="chat", to_user_id="bob", message="sneaky", id="n1"),
                                "not_logged_in", ref="n1")
        await self.assert_error(ws, frame(type="chat", to_user_id="bob", message="sneaky", id=9),
                                "not_logged_in", ref=9)
        await self.assert_error(ws, frame(type="chat", to_user_id="bob", message="sneaky"), "not_logged_in")
        await self.login_existing(ws, "alice")
        await ws.send(frame(type="chat", to_user_id="bob", message="proper", id="p"))
        self.assert_ack(await self.recv_json(ws), "p")
        # Only the message sent after login reached bob.
        self.assert_chat(await self.recv_json(bob), "alice", "bob", "proper")
        await self.assert_quiet(bob)

    async def test_already_logged_in(self):
        await self.start_server()
        ws = await self.login("alice")
        await self.assert_error(ws, frame(type="login", user_id="mallory"), "already_logged_in")
        # Still alice: a message to mallory is from alice.
        mallory = await self.login("mallory")
        await ws.send(frame(type="chat", to_user_id="mallory", message="still alice"))
        self.assert_chat(await self.recv_json(mallory), "alice", "mallory", "still alice")

    async def test_bad_user_id(self):
        await self.start_server()
        ws = await self.connect()
        for bad in ("", "a" * 65, "a\u0001b", "tab\there", "new\nline", "del\u007f", "é" * 33):
            await self.assert_error(ws, frame(type="login", user_id=bad), "bad_user_id")
        await self.assert_error(ws, frame(type="login", user_id="", id="l1"), "bad_user_id", ref="l1")
        # 64 bytes is the limit, inclusive; a failed login left the connection free to log in.
        longest = "b" * 64
        await self.login_existing(ws, longest)
        for bad in ("", "x" * 65, "ctl\u001f"):
            await self.assert_error(ws, frame(type="chat", to_user_id=bad, message="hi", id="t1"),
                                    "bad_user_id", ref="t1")
        await self.assert_usable(ws)

    async def test_message_too_long(self):
        await self.start_server("--max-message-bytes", "16")
        alice = await self.login("alice")
        bob = await self.login("bob")
        ok_ascii = "x" * 16
        ok_utf8 = "é" * 8  # 16 bytes
        await self.assert_error(alice, frame(type="chat", to_user_id="bob", message="x" * 17, id="long1"),
                                "message_too_long", ref="long1")
        await self.assert_error(alice, frame(type="chat", to_user_id="bob", message="é" * 9),  # 18 bytes
                                "message_too_long")
        for text, cid in ((ok_ascii, "ok1"), (ok_utf8, "ok2")):
            await alice.send(frame(type="chat", to_user_id="bob", message=text, id=cid))
            self.assert_ack(await self.recv_json(alice), cid)
            self.assert_chat(await self.recv_json(bob), "alice", "bob", text)
        await self.assert_quiet(bob)

    async def test_missing_field(self):
        await self.start_server()
        ws = await self.connect()
        await self.assert_error(ws, frame(user_id="alice"), "missing_field")
        await self.assert_error(ws, "{}", "missing_field")
        await self.assert_error(ws, frame(type="login"), "missing_field")
        await self.login_existing(ws, "alice")
        await self.assert_error(ws, frame(type="chat", message="x", id="m"), "missing_field", ref="m")
        await self.assert_error(ws, frame(type="chat", to_user_id="bob", id="m2"), "missing_field", ref="m2")
        await self.assert_usable(ws)

    async def test_bad_field(self):
        await self.start_server()
        ws = await self.connect()
        await self.assert_error(ws, '{"type":5}', "bad_field")
        await self.assert_error(ws, '{"type":"login","user_id":true}', "bad_field")
        await self.assert_error(ws, '{"type":"login","user_id":-3}', "bad_field")
        await self.login_existing(ws, "alice")
        await self.assert_error(ws, '{"type":"chat","to_user_id":5.5,"message":"x","id":"f1"}', "bad_field", ref="f1")
        await self.assert_error(ws, '{"type":"chat","to_user_id":"bob","message":5,"id":"f2"}', "bad_field", ref="f2")
        await self.assert_error(ws, '{"type":"chat","to_user_id":"bob","message":null}', "bad_field")
        # An unusable id is not echoed back as ref.
        await self.assert_error(ws, '{"type":"chat","to_user_id":"bob","message":"x","id":{"a":1}}', "bad_field")
        await self.assert_error(ws, '{"type":"ping","id":1.5}', "bad_field")
        await self.assert_error(ws, frame(type="ping", id="i" * 65), "bad_field")
        await self.assert_usable(ws)

    async def test_binary_frame_is_refused_and_connection_stays_usable(self):
        await self.start_server()
        alice = await self.login("alice")
        bob = await self.login("bob")
        await self.assert_error(alice, b"\x00\x01\x02binary", "binary_unsupported")
        await self.assert_error(alice, frame(type="ping").encode(), "binary_unsupported")  # JSON, but binary
        await self.assert_usable(alice)
        await alice.send(frame(type="chat", to_user_id="bob", message="after binary", id="ab"))
        self.assert_ack(await self.recv_json(alice), "ab")
        self.assert_chat(await self.recv_json(bob), "alice", "bob", "after binary")


class PingTest(ParleyTestCase):
    async def test_app_level_ping_pong(self):
        await self.start_server()
        ws = await self.login("alice")
        self.assertEqual(await self.request(ws, frame(type="ping", id="p1")), {"type": "pong", "id": "p1"})
        self.assertEqual(await self.request(ws, frame(type="ping", id=7)), {"type": "pong", "id": 7})
        pong = await self.request(ws, frame(type="ping"))
        self.assertEqual(pong.get("type"), "pong", pong)
        self.assertIsNone(pong.get("id"), pong)

    async def test_app_level_ping_allowed_before_login(self):
        await self.start_server()
        ws = await self.connect()
        self.assertEqual(await self.request(ws, frame(type="ping", id="early")), {"type": "pong", "id": "early"})

    async def test_websocket_ping_is_answered(self):
        await self.start_server()
        ws = await self.login("alice")
        for payload in (b"", b"hello", bytes(range(125))):
            pong_waiter = await ws.ping(payload)
            try:
                await asyncio.wait_for(pong_waiter, RECV_TIMEOUT_S)
            except asyncio.TimeoutError:
                self.fail(f"no pong for a WebSocket ping with payload {payload!r}")
        await self.assert_usable(ws)

    async def test_idle_session_answering_pings_stays_open(self):
        await self.start_server("--ping-interval", "200ms", "--idle-timeout", "1s")
        ws = await self.login("alice")  # websockets answers the server's pings by itself
        await self.assert_quiet(ws, within=1.6)
        self.assertTrue(ws.open)
        await self.assert_usable(ws)


class RawPeer:
    """A hand-driven WebSocket client over a raw socket: for peers that misbehave on purpose."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port, upgrade=True):
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), RECV_TIMEOUT_S)
        peer = cls(reader, writer)
        if upgrade:
            writer.write(
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), RECV_TIMEOUT_S)
            if not head.startswith(b"HTTP/1.1 101"):
                raise AssertionError(f"upgrade refused: {head!r}")
        return peer

    async def read_frame(self, timeout=RECV_TIMEOUT_S):
        """(opcode, payload) of the next server frame, or None at EOF."""
        try:
            b0, b1 = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        except asyncio.IncompleteReadError:
            return None
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(await asyncio.wait_for(self.reader.readexactly(2), timeout), "big")
        elif n == 127:
            n = int.from_bytes(await asyncio.wait_for(self.reader.readexactly(8), timeout), "big")
        payload = await asyncio.wait_for(self.reader.readexactly(n), timeout)
        return b0 & 0x0F, payload

    async def read_eof(self, timeout):
        data = await asyncio.wait_for(self.reader.read(), timeout)
        return data

    def close(self):
        self.writer.close()


class TimeoutTest(ParleyTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.raw = []

    async def asyncTearDown(self):
        for peer in self.raw:
            peer.close()
        await super().asyncTearDown()

    async def test_silent_peer_is_pinged_then_closed(self):
        await self.start_server("--ping-interval", "200ms", "--idle-timeout", "1s", "--close-timeout", "500ms")
        peer = await RawPeer.open(self.server.port)
        self.raw.append(peer)
        opcodes = []
        close_payload = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            got = await peer.read_frame(timeout=max(0.1, deadline - time.monotonic()))
            if got is None:
                break
            opcodes.append(got[0])
            if got[0] == 0x8:
                close_payload = got[1]
                break
        self.assertIn(0x9, opcodes, f"the server never pinged a silent peer; frames: {opcodes}")
        self.assertIsNotNone(close_payload, f"the server never closed a silent peer; frames: {opcodes}")
        code = int.from_bytes(close_payload[:2], "big")
        self.assertEqual(code, 1001, f"idle close code: {close_payload!r}")

    async def test_handshake_timeout(self):
        await self.start_server("--handshake-timeout", "500ms")
        peer = await RawPeer.open(self.server.port, upgrade=False)
        self.raw.append(peer)
        started = time.monotonic()
        try:
            data = await peer.read_eof(timeout=RECV_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.fail("a connection that never sent a request was not closed")
        except ConnectionResetError:
            data = b""
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 4.0)
        self.assertGreaterEqual(elapsed, 0.3, "closed long before the handshake timeout")
        self.assertFalse(data.startswith(b"HTTP/1.1 101"), data)


class ShutdownTest(ParleyTestCase):
    async def test_sigterm_closes_sessions_with_1001_and_exits_0(self):
        server = await self.start_server()
        alice = await self.login("alice")
        bob = await self.login("bob")
        anonymous = await self.connect()
        await self.assert_usable(anonymous)

        stopping = asyncio.create_task(asyncio.to_thread(server.stop))
        try:
            for name, ws in (("alice", alice), ("bob", bob), ("anonymous", anonymous)):
                code = await self.wait_closed(ws, timeout=10)
                self.assertEqual(code, 1001, f"{name} closed with {code} (reason {ws.close_reason!r})")
        finally:
            rc = await asyncio.wait_for(stopping, 30)
        self.assertEqual(rc, 0, f"exit code on SIGTERM\n--- log ---\n{server.log()}")
        # New connections are refused once it is gone.
        with self.assertRaises(OSError):
            with socket.create_connection(("127.0.0.1", server.port), timeout=2):
                pass

    async def test_sigterm_with_no_sessions_exits_0(self):
        server = await self.start_server()
        rc = await asyncio.to_thread(server.stop)
        self.assertEqual(rc, 0, server.log())


class ProtocolViolationTest(ParleyTestCase):
    async def test_oversized_message_closes_1009(self):
        await self.start_server("--max-frame-bytes", "1KiB")
        ws = await self.login("alice")
        await ws.send(frame(type="ping", id="x" * 2048))
        self.assertEqual(await self.wait_closed(ws), 1009)

    async def test_invalid_utf8_closes_1007(self):
        await self.start_server()
        ws = await self.login("alice")
        await ws.write_frame(True, OP_TEXT, b'{"type":"ping","id":"\xff\xfe"}')
        self.assertEqual(await self.wait_closed(ws), 1007)

    async def test_fragmented_message_is_reassembled(self):
        await self.start_server()
        ws = await self.login("alice")
        await ws.send(['{"type":', '"ping",', '"id":"fr', 'ag"}'])  # one text message, four frames
        self.assertEqual(await self.recv_json(ws), {"type": "pong", "id": "frag"})

    async def test_slow_consumer_is_closed_1008_and_sender_unharmed(self):
        await self.start_server("--max-send-queue-bytes", "256KiB", "--max-frames-per-second", "0", "--max-bytes-per-second", "0")
        alice = await self.login("alice")
        # bob reads nothing: a small, fixed receive buffer (no autotuning) fills fast, then the
        # server's socket buffer, then bob's send queue in parley.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(RECV_TIMEOUT_S)
        sock.connect(("127.0.0.1", self.server.port))
        sock.setblocking(False)
        bob = await asyncio.wait_for(
            websockets.connect(self.server.url(), sock=sock, compression=None, ping_interval=None,
                               close_timeout=2, max_size=None, max_queue=1),
            RECV_TIMEOUT_S,
        )
        self.clients.append(bob)
        self.assertEqual((await self.request(bob, frame(type="login", user_id="bob")))["type"], "login_ok")
        await self.finish_sync(bob)

        chunk = "z" * (32 * 1024)
        total = 0
        deadline = time.monotonic() + 30
        # 16 MiB dwarfs every buffer on the way (4 KiB + the kernel's send buffer, 4 MiB at most
        # here, + 256 KiB of queue); stop early once parley logs the slow consumer.
        while total < 16 * 1024 * 1024 and time.monotonic() < deadline:
            if "slow consumer" in self.server.log():
                break
            for _ in range(16):
                await alice.send(frame(type="chat", to_user_id="bob", message=chunk))
                total += len(chunk)
            for _ in range(16):
                msg = await self.recv_json(alice)
                self.assertEqual(msg.get("type"), "ack", msg)
        # alice is untouched; bob, once he reads again, finds the close code after his backlog.
        await self.assert_usable(alice)
        self.assertEqual(await self.wait_closed(bob, timeout=20), 1008)

    async def test_flood_is_rate_limited_then_closed_1008(self):
        await self.start_server("--max-frames-per-second", "1", "--max-frames-burst", "5")
        ws = await self.login("alice")  # the login frame takes one token
        sent = 0
        try:
            for i in range(400):
                await ws.send(frame(type="ping", id=i))
                sent += 1
        except ConnectionClosed:
            pass
        replies = []
        code = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            except ConnectionClosed:
                await asyncio.wait_for(ws.wait_closed(), RECV_TIMEOUT_S)
                code = ws.close_code
                break
            replies.append(json.loads(raw))
        pongs = [m for m in replies if m.get("type") == "pong"]
        limited = [m for m in replies if m.get("code") == "rate_limited"]
        self.assertGreaterEqual(len(pongs), 1, replies[:10])
        self.assertLess(len(pongs), 10, f"burst of 5 at 1/s let {len(pongs)} pings through")
        self.assertGreaterEqual(len(limited), 1, f"no rate_limited error; replies: {replies[:10]}")
        # One error per run of dropped frames, not one per frame (a run ends only when a frame is admitted).
        self.assertLessEqual(len(limited), len(pongs), f"{len(limited)} rate_limited errors for {len(pongs)} pongs")
        self.assertEqual(code, 1008, f"flood not closed with 1008 after {sent} frames; replies: {len(replies)}")


class HttpTest(ParleyTestCase):
    def get(self, path):
        try:
            with urllib.request.urlopen(self.server.http_url(path), timeout=RECV_TIMEOUT_S) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    async def test_http_endpoints(self):
        await self.start_server()
        status, ctype, body = await asyncio.to_thread(self.get, "/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", ctype)
        self.assertIn(b"<html", body.lower())
        status, _, body = await asyncio.to_thread(self.get, "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body.strip(), b"ok")
        status, _, _ = await asyncio.to_thread(self.get, "/no-such-page")
        self.assertEqual(status, 404)
        # HTTP and WebSocket share the port.
        ws = await self.login("alice")
        await self.assert_usable(ws)


class ThreadNamesTest(ParleyTestCase):
    def thread_names(self):
        task_dir = f"/proc/{self.server.proc.pid}/task"
        names = []
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/comm") as comm:
                    names.append(comm.read().strip())
            except FileNotFoundError:  # a thread that ended meanwhile
                pass
        return sorted(names)

    async def test_threads_are_named_for_what_they_run(self):
        # top -H, ps -L, perf and gdb show these: each shard, the storage thread (the default
        # store, SQLite, has one) and the auth thread (--auth password) are told apart; the main
        # thread keeps the program's name. A thread names itself as it starts, so the names are
        # read until they are all there (bounded).
        await self.start_server("--auth", "password")  # two shards
        expected = ["parley", "parley-auth", "parley-shard-0", "parley-shard-1", "parley-storage"]
        deadline = time.monotonic() + RECV_TIMEOUT_S
        while self.thread_names() != expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.assertEqual(self.thread_names(), expected)

if __name__ == "__main__":
    unittest.main()
