"""`haru run` as a process, against a Bot API server of our own on loopback (HARU_API_URL)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

TOKEN = "4242:secret-token-never-in-logs"


class BotApi(ThreadingHTTPServer):
    """A tiny Bot API: getMe, getUpdates from a queue, and it records everything else."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.next_message = 1
        self.refuse_token = False

    def wait_for(self, method: str, timeout: float = 20.0, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for _, name, params in self.calls:
                    if name == method and all(params.get(k) == v for k, v in match.items()):
                        return params
            time.sleep(0.05)
        raise AssertionError(f"no {method} call with {match}; saw {[c[1] for c in self.calls]}")

    def texts(self, chat_id: int) -> list[str]:
        with self.lock:
            return [str(p.get("text")) for _, name, p in self.calls
                    if name == "sendMessage" and p.get("chat_id") == chat_id]


class _Handler(BaseHTTPRequestHandler):
    server: BotApi

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        params: dict[str, Any] = {}
        for key, values in parse_qs(body).items():
            try:
                params[key] = json.loads(values[0])
            except ValueError:
                params[key] = values[0]
        prefix, _, method = self.path.rpartition("/")
        with self.server.lock:
            self.server.calls.append((prefix, method, params))
        if self.server.refuse_token:
            self._send(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        self._reply(self._answer(method, params))

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 4242, "is_bot": True, "first_name": "Haru", "username": "haru_e2e_bot"}
        if method == "getUpdates":
            offset = int(params.get("offset", 0))
            with self.server.lock:
                ready = [u for u in self.server.updates if u["update_id"] >= offset]
            if not ready:
                time.sleep(0.2)
            return ready
        if method in ("sendMessage", "sendPhoto"):
            with self.server.lock:
                self.server.next_message += 1
                message_id = self.server.next_message
            return {"message_id": message_id, "date": 1_790_000_000,
                    "chat": {"id": params["chat_id"], "type": "private"},
                    "text": params.get("text", "")}
        return True

    def _reply(self, result: Any) -> None:
        self._send(200, {"ok": True, "result": result})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def api() -> Iterator[BotApi]:
    server = BotApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def haru(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, text=True,
                          capture_output=True, timeout=60, check=False)


def test_haru_run_talks_to_the_server_in_haru_api_url_and_stops_cleanly_on_ctrl_c(
    api: BotApi, tmp_path: Path
) -> None:
    env = {**os.environ, "HARU_DB": str(tmp_path / "haru.db"), "TELEGRAM_BOT_TOKEN": TOKEN,
           "HARU_API_URL": f"http://127.0.0.1:{api.server_address[1]}/"}
    env.pop("HARU_BOT_USERNAME", None)
    sentences = tmp_path / "s.csv"
    sentences.write_text("text\nThe tea is warm.\n", encoding="utf-8")
    assert haru(["project", "create", "p", "--question", "How is it?", "--choice", "🙂 Good",
                 "--choice", "🙁 Bad"], env).returncode == 0
    assert haru(["import", "p", str(sentences)], env).returncode == 0

    bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        api.wait_for("getUpdates")
        invite = haru(["invite", "worker", "민지", "--project", "p"], env)
        assert invite.stdout.startswith("https://t.me/haru_e2e_bot?start=")
        code = invite.stdout.strip().rsplit("=", 1)[1]
        user = {"id": 77, "is_bot": False, "first_name": "민지", "language_code": "ko"}
        api.updates.append({"update_id": 1, "message": {
            "message_id": 1, "date": 1_790_000_000, "chat": {"id": 77, "type": "private"},
            "from": user, "text": f"/start {code}",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}})
        welcome = api.wait_for("sendMessage", chat_id=77)
        assert "민지 님" in welcome["text"]
        bot.send_signal(signal.SIGINT)
        out, err = bot.communicate(timeout=30)
    finally:
        if bot.poll() is None:
            bot.kill()
    assert bot.returncode == 0, err
    assert TOKEN not in out + err
    prefixes = {prefix for prefix, _, _ in api.calls}
    assert prefixes == {f"/bot{TOKEN}"}


def test_haru_run_sends_a_batch_that_fell_due_while_it_was_stopped(
    api: BotApi, tmp_path: Path
) -> None:
    env = run_env(tmp_path, f"http://127.0.0.1:{api.server_address[1]}")
    sentences = tmp_path / "s.csv"
    sentences.write_text("text\nThe tea is warm.\nThe soup is cold.\n", encoding="utf-8")
    assert haru(["project", "create", "p", "--question", "How is it?", "--choice", "🙂 Good",
                 "--choice", "🙁 Bad"], env).returncode == 0
    assert haru(["import", "p", str(sentences)], env).returncode == 0
    env["HARU_BOT_USERNAME"] = "haru_e2e_bot"
    code = haru(["invite", "worker", "민지", "--project", "p"], env).stdout.strip()[-22:]
    with sqlite3.connect(tmp_path / "haru.db") as conn:  # as if 민지 had joined earlier
        conn.execute("UPDATE workers SET tg_user_id = 77, chat_id = 77")
    assert code
    # Every day at 00:00 UTC: today's has passed, so it is due as soon as the bot is back.
    done = haru(["worker", "set", "민지", "--days", "daily", "--at", "00:00", "--tz", "UTC"],
                env)
    assert done.returncode == 0, done.stderr
    for attempt in range(2):  # a second start must not send it again
        bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            api.wait_for("getUpdates")
            deadline = time.monotonic() + 10
            while attempt == 0 and not api.texts(77) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.5)
            bot.send_signal(signal.SIGINT)
            _, err = bot.communicate(timeout=30)
        finally:
            if bot.poll() is None:
                bot.kill()
        assert bot.returncode == 0, err
    texts = api.texts(77)
    assert len(texts) == 1 and "오늘은 글 2개예요." in texts[0], texts


def run_env(tmp_path: Path, api_url: str) -> dict[str, str]:
    env = {**os.environ, "HARU_DB": str(tmp_path / "haru.db"), "TELEGRAM_BOT_TOKEN": TOKEN,
           "HARU_API_URL": api_url}
    env.pop("HARU_BOT_USERNAME", None)
    return env


def test_a_token_telegram_refuses_is_one_line_and_a_non_zero_exit(
    api: BotApi, tmp_path: Path
) -> None:
    api.refuse_token = True
    done = haru(["run"], run_env(tmp_path, f"http://127.0.0.1:{api.server_address[1]}"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and TOKEN not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("haru: Telegram did not accept")


@pytest.mark.parametrize("url", ["127.0.0.1:8081", "ftp://x", "https://", "http://h/?a=1",
                                 "http:// x"])
def test_a_malformed_api_url_is_refused_at_once(tmp_path: Path, url: str) -> None:
    done = haru(["run"], run_env(tmp_path, url))
    assert done.returncode == 2 and "HARU_API_URL" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_bot_api_out_of_reach_is_retried_and_said_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], text=True,
                           env=run_env(tmp_path, f"http://127.0.0.1:{port}"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(4)
        bot.send_signal(signal.SIGINT)
        _, err = bot.communicate(timeout=30)
    finally:
        if bot.poll() is None:
            bot.kill()
    assert "The Bot API did not answer; trying again." in err
    assert TOKEN not in err
