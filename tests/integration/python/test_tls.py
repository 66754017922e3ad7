"""Integration tests for TLS: the real `parley` binary with --tls-cert/--tls-key, driven over HTTPS
and WSS by Python's ssl module and websockets.

Run with Debian's interpreter (python3-websockets) and the `openssl` command line:
    cd tests/integration/python && PARLEY_BINARY=../../../build/release/parley \
        /usr/bin/python3 -m unittest -v test_tls

The certificates are made at test time: a self-signed one for localhost / 127.0.0.1 that the
server uses, and an unrelated one that plays a CA the server's certificate does not chain to.
"""

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import websockets

from parley_server import ParleyServer, binary_path
from test_python_client import RECV_TIMEOUT_S, ParleyTestCase, frame

CERTS = {}  # name -> (cert path, key path), made by setUpModule
CERT_DIR = None


def make_cert(name):
    cert = os.path.join(CERT_DIR, f"{name}.pem")
    key = os.path.join(CERT_DIR, f"{name}.key")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", f"/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", key, "-out", cert,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    CERTS[name] = (cert, key)


def setUpModule():
    global CERT_DIR
    if shutil.which("openssl") is None:
        raise unittest.SkipTest("the openssl command line is not installed (scripts/install-deps --test)")
    CERT_DIR = tempfile.mkdtemp(prefix="parley-tls-")
    make_cert("server")
    make_cert("other")


def tearDownModule():
    if CERT_DIR is not None:
        shutil.rmtree(CERT_DIR, ignore_errors=True)


def client_context(trust="server"):
    """A client context that trusts only the certificate named `trust`."""
    return ssl.create_default_context(cafile=CERTS[trust][0])


def tls_args(*extra):
    cert, key = CERTS["server"]
    return ("--tls-cert", cert, "--tls-key", key, *extra)


def client_hello_bytes():
    """The first flight of a real TLS client, to send by hand."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def wait_dropped(sock, timeout):
    """Reads until the server closes `sock` (EOF or reset); returns everything received."""
    sock.settimeout(timeout)
    got = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


class TlsTestCase(ParleyTestCase):
    """ParleyTestCase over WSS: every server gets the test certificate."""

    async def start_server(self, *args):
        return await super().start_server(*tls_args(*args))

    def wss_url(self, path="/"):
        return f"wss://127.0.0.1:{self.server.port}{path}"

    async def connect(self, path="/", trust="server", **options):
        ws = await asyncio.wait_for(
            websockets.connect(
                self.wss_url(path),
                ssl=client_context(trust),
                compression=None,
                ping_interval=None,
                close_timeout=2,
                max_size=None,
                open_timeout=RECV_TIMEOUT_S,
                **options,
            ),
            RECV_TIMEOUT_S,
        )
        self.clients.append(ws)
        return ws

    def https_get(self, path, trust="server"):
        url = f"https://127.0.0.1:{self.server.port}{path}"
        with urllib.request.urlopen(url, timeout=RECV_TIMEOUT_S, context=client_context(trust)) as r:
            return r.status, r.read()

    async def assert_serving(self):
        """The server still answers a well-behaved TLS client."""
        status, body = await asyncio.to_thread(self.https_get, "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        ws = await self.login("still-here")
        await self.assert_usable(ws)


class HttpsTest(TlsTestCase):
    async def test_healthz_and_web_client_over_https(self):
        await self.start_server()
        self.assertRegex(self.server.log(), r"web client at https://127\.0\.0\.1:\d+/")
        status, body = await asyncio.to_thread(self.https_get, "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        status, body = await asyncio.to_thread(self.https_get, "/")
        self.assertEqual(status, 200)
        self.assertIn(b"<html", body.lower())

    async def test_plain_http_and_ws_on_the_tls_port_are_refused(self):
        await self.start_server()
        with socket.create_connection(("127.0.0.1", self.server.port), RECV_TIMEOUT_S) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            got = await asyncio.to_thread(wait_dropped, sock, RECV_TIMEOUT_S)
        self.assertNotIn(b"200", got, "a plain HTTP request was answered on the TLS port")

        with self.assertRaises(Exception):  # the handshake response never comes: closed or reset
            ws = await asyncio.wait_for(
                websockets.connect(f"ws://127.0.0.1:{self.server.port}/", open_timeout=RECV_TIMEOUT_S),
                RECV_TIMEOUT_S,
            )
            await ws.close()
        await self.assert_serving()

    async def test_client_trusting_another_ca_fails_the_handshake(self):
        await self.start_server()
        with self.assertRaises(urllib.error.URLError) as caught:
            await asyncio.to_thread(self.https_get, "/healthz", "other")
        self.assertIsInstance(caught.exception.reason, ssl.SSLCertVerificationError)
        with self.assertRaises(ssl.SSLCertVerificationError):
            await self.connect(trust="other")
        await self.assert_serving()

    async def test_stalled_handshakes_are_dropped_after_the_timeout(self):
        await self.start_server("--handshake-timeout", "300ms")
        hello = client_hello_bytes()
        silent = socket.create_connection(("127.0.0.1", self.server.port), RECV_TIMEOUT_S)
        half = socket.create_connection(("127.0.0.1", self.server.port), RECV_TIMEOUT_S)
        try:
            half.sendall(hello[: len(hello) // 2])
            # Bounded, not timed: the server must drop both well before RECV_TIMEOUT_S.
            self.assertEqual(await asyncio.to_thread(wait_dropped, silent, RECV_TIMEOUT_S), b"")
            self.assertEqual(await asyncio.to_thread(wait_dropped, half, RECV_TIMEOUT_S), b"")
        except socket.timeout:
            self.fail(f"a connection that never finished its TLS handshake was kept past {RECV_TIMEOUT_S}s")
        finally:
            silent.close()
            half.close()
        await self.assert_serving()


class WssChatTest(TlsTestCase):
    async def test_login_and_chat_both_ways(self):
        await self.start_server()
        await self.assert_seed_chat_both_ways("héllo alice 👋 over TLS")

    async def test_large_message_round_trips(self):
        # 200 KB of text: about 13 TLS records each way.
        await self.start_server("--max-message-bytes", "256KiB", "--max-frame-bytes", "1MiB")
        alice = await self.login("alice")
        bob = await self.login("bob")
        text = "".join(chr(ord("a") + i % 26) for i in range(200_000))

        await alice.send(frame(type="chat", to_user_id="bob", message=text, id="big1"))
        self.assert_chat(await self.recv_json(bob), "alice", "bob", text)
        self.assert_ack(await self.recv_json(alice), "big1")

        back = text[::-1]
        await bob.send(frame(type="chat", to_user_id="alice", message=back, id="big2"))
        self.assert_chat(await self.recv_json(alice), "bob", "alice", back)
        self.assert_ack(await self.recv_json(bob), "big2")

    async def test_burst_to_a_reader_that_lags_arrives_whole_and_in_order(self):
        # 2,000 messages of 4 KB (8 MB) to a reader that takes none until all are acked: more
        # than the socket buffers hold, so the server's TLS writes must wait for writability.
        count, size = 2000, 4000
        await self.start_server(
            "--max-frames-per-second", "0", "--max-bytes-per-second", "0", "--max-send-queue-bytes", "32MiB", "--max-message-bytes", "8KiB"
        )
        alice = await self.login("alice")
        # Bob's client buffers one message and then stops reading the socket.
        bob = await self.connect(max_queue=1)
        login = await self.request(bob, frame(type="login", user_id="bob"))
        self.assertEqual(login.get("type"), "login_ok", login)
        await self.finish_sync(bob)
        pad = "x" * size

        async def send_all():
            for i in range(count):
                await alice.send(frame(type="chat", to_user_id="bob", message=f"{i:05d}{pad}", id=i))

        async def read_acks():
            for i in range(count):
                self.assert_ack(await self.recv_json(alice, timeout=30), i)

        await asyncio.gather(send_all(), read_acks())
        for i in range(count):
            got = await self.recv_json(bob, timeout=30)
            self.assert_chat(got, "alice", "bob", f"{i:05d}{pad}")
        await self.assert_quiet(bob)


class TlsCommandLineTest(unittest.TestCase):
    def run_parley(self, *args):
        data_dir = tempfile.mkdtemp(prefix="parley-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        return subprocess.run(
            [binary_path(), "serve", "--listen", "127.0.0.1:0", "--auth", "open", "--data-dir", data_dir, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
        )

    def assert_startup_error(self, result, *phrases):
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.startswith("parley: ")]
        self.assertEqual(len(lines), 1, result.stderr)
        for phrase in phrases:
            self.assertIn(phrase, lines[0])

    def test_cert_without_key_is_a_startup_error(self):
        self.assert_startup_error(self.run_parley("--tls-cert", CERTS["server"][0]), "--tls-key")

    def test_key_without_cert_is_a_startup_error(self):
        self.assert_startup_error(self.run_parley("--tls-key", CERTS["server"][1]), "--tls-cert")

    def test_missing_file_is_a_startup_error(self):
        missing = os.path.join(CERT_DIR, "no-such.pem")
        result = self.run_parley("--tls-cert", missing, "--tls-key", CERTS["server"][1])
        self.assert_startup_error(result, "cannot read TLS certificate file", missing)

    def test_key_of_another_certificate_is_a_startup_error(self):
        result = self.run_parley("--tls-cert", CERTS["server"][0], "--tls-key", CERTS["other"][1])
        self.assert_startup_error(result, "does not match")

    def test_file_that_is_not_pem_is_a_startup_error(self):
        not_pem = os.path.join(CERT_DIR, "not.pem")
        with open(not_pem, "w") as f:
            f.write("hello\n")
        result = self.run_parley("--tls-cert", not_pem, "--tls-key", CERTS["server"][1])
        self.assert_startup_error(result, "no usable PEM certificate")


if __name__ == "__main__":
    unittest.main()
