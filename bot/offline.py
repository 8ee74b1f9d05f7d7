"""An offline Telegram: a `BaseRequest` that records Bot API calls and answers as Telegram would.

The tests drive the real Application through it, and `haru demo` runs the whole bot on it in
one process, with no network and no token.

It keeps every chat's messages (text, photo, caption, buttons), so a test can look at the
worker's phone and tap a button by its words. It refuses what Telegram refuses: edits that
change nothing, callback data over 64 bytes, captions over 1024 characters, broken HTML, a
callback query answered twice, messages to a user who blocked the bot, and getFile on a file
over the 20 MB a bot may download.

Files users send (`add_file`) are served as Telegram serves them: getFile gives a file_path,
and the bytes come from GET <base_file_url><token>/<file_path> (recorded as a "download" call).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

from telegram.ext import Application, ContextTypes
from telegram.request import BaseRequest, RequestData

from bot.config import Config

BOT_ID = 7000001
BOT_USERNAME = "haru_test_bot"
_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a",
              "blockquote", "span", "tg-spoiler"}
SENDS = {"sendMessage", "sendPhoto"}
DOWNLOAD = "download"  # the method name recorded for a file fetched from the file URL
MAX_DOWNLOAD_BYTES = 20_000_000  # getFile refuses bigger files ("file is too big")
_FILE_URL = re.compile(r"/file/bot[^/]+/(?P<path>.+)$")
EDITS = {"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def flood(retry_after: int) -> ApiError:
    """Telegram's flood control: 429 with the seconds to wait."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


@dataclass
class SentFile:
    """A file a user sent the bot: its bytes, and what Telegram says about it."""

    data: bytes
    name: str | None
    size: int | None  # what the update and getFile say (None: not said)
    too_big: bool  # getFile answers "file is too big", whatever the size says
    path: str
    unique_id: str


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


class _HtmlCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(400, f"Bad Request: can't parse entities: unsupported tag {tag!r}")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            raise ApiError(400, f"Bad Request: can't parse entities: unexpected end tag {tag}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def plain(text: str, parse_mode: str | None) -> str:
    """What the user reads: the text with its HTML tags checked and removed."""
    if parse_mode != "HTML":
        return text
    checker = _HtmlCheck()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise ApiError(400, "Bad Request: can't parse entities: unclosed tag")
    return "".join(checker.text)


class InProcessApi(BaseRequest):
    """A Bot API inside this process: `answer` gets each request; no network, no pool."""

    READ_TIMEOUT = 1.0

    @property
    def read_timeout(self) -> float | None:
        return self.READ_TIMEOUT

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None,
        read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        return await self.answer(url, method, request_data)

    async def answer(self, url: str, method: str,
                     request_data: RequestData | None) -> tuple[int, bytes]:
        raise NotImplementedError


class FakeTelegram(InProcessApi):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.chats: dict[int, dict[int, dict[str, Any]]] = {}
        self.blocked: set[int] = set()
        self.uploads: dict[str, bytes] = {}
        self.open_queries: set[str] = set()
        self.fail_next: dict[str, ApiError] = {}
        # method -> (error raised at the HTTP layer, whether Telegram got the request first)
        self.cut_next: dict[str, tuple[Exception, bool]] = {}
        self.menus: dict[str, list[str]] = {}  # setMyCommands: scope (JSON) -> commands
        self.files: dict[str, SentFile] = {}  # file_id -> a file users sent
        self._file_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._clock = itertools.count(1_790_000_000)

    # --- the Bot API -----------------------------------------------------------------------

    async def answer(self, url: str, method: str,
                     request_data: RequestData | None) -> tuple[int, bytes]:
        download = _FILE_URL.search(url)
        if download is not None and method == "GET":
            return self._download(unquote(download.group("path")))
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files: dict[str, bytes] = {}
        if request_data and request_data.contains_files:
            for key, part in request_data.multipart_data.items():
                content = part[1]
                files[key] = content if isinstance(content, bytes) else content.read()
        self.calls.append(Call(name, params, files))
        cut, delivered = self.cut_next.pop(name, (None, False))
        if cut is not None and not delivered:
            raise cut  # the connection failed before the request reached Telegram
        try:
            if name in self.fail_next:
                raise self.fail_next.pop(name)
            result = getattr(self, f"_api_{name}", self._unknown)(params, files)
        except ApiError as err:
            body: dict[str, Any] = {"ok": False, "error_code": err.code,
                                    "description": err.description}
            if err.retry_after is not None:
                body["parameters"] = {"retry_after": err.retry_after}
            return err.code, json.dumps(body).encode()
        if cut is not None:
            raise cut  # Telegram did it, but the answer never came back
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # --- what a test looks at --------------------------------------------------------------

    def methods(self, since: int = 0) -> list[str]:
        return [c.method for c in self.calls[since:]]

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return list(self.chats.get(chat_id, {}).values())

    def last_message(self, chat_id: int) -> dict[str, Any]:
        return self.messages(chat_id)[-1]

    def with_buttons(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages(chat_id) if m.get("reply_markup")]

    # --- files users send -----------------------------------------------------------------

    def add_file(self, data: bytes, name: str | None, *, size: int | None = -1,
                 too_big: bool = False, mime_type: str | None = None) -> dict[str, Any]:
        """A file a user sends (as a document): its Document, for an update. `size` is the
        size Telegram states (by default the real one; None: not stated); getFile refuses a
        stated size over 20 MB, and any file with `too_big`."""
        number = next(self._file_ids)
        file_id = f"BQAC{number:06d}{hashlib.sha256(data).hexdigest()[:12]}"
        stated = len(data) if size == -1 else size
        suffix = name.rsplit(".", 1)[-1] if name and "." in name else "bin"
        sent = SentFile(data, name, stated, too_big, f"documents/file_{number}.{suffix}",
                        f"u{number}")
        self.files[file_id] = sent
        document: dict[str, Any] = {"file_id": file_id, "file_unique_id": sent.unique_id}
        if name is not None:
            document["file_name"] = name
        if mime_type is not None:
            document["mime_type"] = mime_type
        if stated is not None:
            document["file_size"] = stated
        return document

    def downloads(self) -> list[str]:
        """The file paths the bot downloaded, in order."""
        return [str(c.params["file_path"]) for c in self.calls if c.method == DOWNLOAD]

    def _download(self, path: str) -> tuple[int, bytes]:
        self.calls.append(Call(DOWNLOAD, {"file_path": path}))
        for sent in self.files.values():
            if sent.path == path:
                return 200, sent.data
        return 404, json.dumps({"ok": False, "error_code": 404,
                                "description": "Not Found"}).encode()

    def _api_getFile(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        file_id = str(params.get("file_id", ""))
        sent = self.files.get(file_id)
        if sent is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if sent.too_big or (sent.size or 0) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        found: dict[str, Any] = {"file_id": file_id, "file_unique_id": sent.unique_id,
                                 "file_path": sent.path}
        if sent.size is not None:
            found["file_size"] = sent.size
        return found

    # --- the Bot API -----------------------------------------------------------------------

    def _unknown(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        raise ApiError(404, "Not Found")

    def _api_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Haru", "username": BOT_USERNAME,
                "can_join_groups": False, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    def _api_getUpdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return []

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        query_id = str(params["callback_query_id"])
        if query_id not in self.open_queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        self.open_queries.discard(query_id)
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = self._chat(params)
        text = str(params.get("text", ""))
        shown = plain(text, params.get("parse_mode"))
        if not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(shown) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        message = self._new(chat_id, {"text": shown})
        return self._with_markup(message, params)

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = self._chat(params)
        photo = self._photo(params.get("photo"), files, "photo")
        message = self._new(chat_id, {"photo": photo})
        self._set_caption(message, params)
        return self._with_markup(message, params)

    def _api_setMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        commands = params["commands"]
        commands = json.loads(commands) if isinstance(commands, str) else commands
        scope = params.get("scope")
        scope = json.loads(scope) if isinstance(scope, str) else scope or {"type": "default"}
        self.menus[json.dumps(scope, sort_keys=True)] = [c["command"] for c in commands]
        return True

    def _api_editMessageText(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        message = self._find(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        new = dict(message, text=plain(str(params["text"]), params.get("parse_mode")))
        return self._commit(message, new, params)

    def _api_editMessageCaption(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        message = self._find(params)
        if "photo" not in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        new = dict(message)
        self._set_caption(new, params)
        return self._commit(message, new, params)

    def _api_editMessageMedia(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        message = self._find(params)
        if "photo" not in message:
            raise ApiError(400, "Bad Request: message can't be edited")
        media = params["media"]
        media = json.loads(media) if isinstance(media, str) else media
        if media.get("type") != "photo":
            raise ApiError(400, "Bad Request: wrong media type")
        new = dict(message, photo=self._photo(media.get("media"), files, "media"))
        new.pop("caption", None)
        self._set_caption(new, media)
        return self._commit(message, new, params)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        message = self._find(params)
        return self._commit(message, dict(message), params)

    # --- helpers ---------------------------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> int:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _new(self, chat_id: int, content: dict[str, Any]) -> dict[str, Any]:
        message = {"message_id": next(self._message_ids), "date": next(self._clock),
                   "chat": {"id": chat_id, "type": "private", "first_name": "W"},
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Haru",
                            "username": BOT_USERNAME}, **content}
        self.chats.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    def _find(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        message = self.chats.get(chat_id, {}).get(int(params.get("message_id", 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _commit(self, old: dict[str, Any], new: dict[str, Any], params: dict[str, Any]) -> Any:
        new = self._with_markup(new, params, replace=True)
        if new == old:
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        new["edit_date"] = next(self._clock)
        self.chats[new["chat"]["id"]][new["message_id"]] = new
        return new

    def _with_markup(
        self, message: dict[str, Any], params: dict[str, Any], replace: bool = False
    ) -> dict[str, Any]:
        markup = params.get("reply_markup")
        markup = json.loads(markup) if isinstance(markup, str) else markup
        if replace:
            message.pop("reply_markup", None)
        if markup and markup.get("inline_keyboard"):
            for row in markup["inline_keyboard"]:
                for button in row:
                    data = button.get("callback_data", "")
                    if not button.get("text") or not 1 <= len(data.encode()) <= 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            message["reply_markup"] = markup
        return message

    def _set_caption(self, message: dict[str, Any], params: dict[str, Any]) -> None:
        caption = params.get("caption")
        if caption is None:
            message.pop("caption", None)
            return
        shown = plain(str(caption), params.get("parse_mode"))
        if len(shown) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        message["caption"] = shown

    def _photo(self, value: Any, files: dict[str, bytes], field_name: str) -> list[dict[str, Any]]:
        if isinstance(value, str) and value.startswith("attach://"):
            data = files[value.removeprefix("attach://")]
        elif value is None and field_name in files:
            data = files[field_name]
        elif isinstance(value, str) and value in self.uploads:
            data = self.uploads[value]
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        digest = hashlib.sha256(data).hexdigest()[:16]
        file_id = f"AgAC{digest}"
        self.uploads[file_id] = data
        return [{"file_id": file_id, "file_unique_id": digest, "width": 1280, "height": 960,
                 "file_size": len(data)}]


# --- the whole bot on it, in this process --------------------------------------------------


async def start_offline(config: Config, telegram: FakeTelegram, clock: Callable[[], datetime],
                        errors: list[BaseException]) -> Application:  # type: ignore[type-arg]
    """The real Application on `telegram`, initialised as `run` would, without polling or
    the JobQueue (the caller ticks the schedule). Handler failures are collected in
    `errors`. Used by `haru demo` and the tests' harness."""
    from bot.app import build_application

    app = build_application(config, request=telegram, clock=clock, rate_limit=False)

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            errors.append(context.error)

    app.add_error_handler(record)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    return app


async def stop_offline(app: Application) -> None:  # type: ignore[type-arg]
    assert app.post_shutdown is not None
    await app.post_shutdown(app)
    await app.shutdown()
