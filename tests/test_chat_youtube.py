"""YouTube Live Chat polling: the pure parser, hypothesis on it, and YouTubeSource against a local
aiohttp server that serves the documented ``liveChatMessageListResponse`` JSON."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhost.chat.intake import ChatRejected
from streamhost.chat.source import Backoff
from streamhost.chat.youtube import YouTubeSource, parse_item, parse_messages_response
from streamhost.frames import EVENT_KINDS, ChatEvent

AUTHOR = {
    "channelId": "UCabc",
    "channelUrl": "http://www.youtube.com/channel/UCabc",
    "displayName": "Ann",
    "profileImageUrl": "https://yt3.ggpht.com/x.jpg",
    "isVerified": False,
    "isChatOwner": False,
    "isChatSponsor": False,
    "isChatModerator": False,
}


def item(mid: str, type_: str = "textMessageEvent", author: dict | None = None, **details) -> dict:
    snippet: dict[str, Any] = {
        "type": type_,
        "liveChatId": "chat1",
        "authorChannelId": "UCabc",
        "publishedAt": "2024-05-01T12:00:00.5+00:00",
        "hasDisplayContent": True,
        "displayMessage": details.pop("displayMessage", ""),
    }
    snippet.update(details)
    return {
        "kind": "youtube#liveChatMessage",
        "etag": "e" + mid,
        "id": mid,
        "snippet": snippet,
        "authorDetails": author or AUTHOR,
    }


def text_item(mid: str, text: str) -> dict:
    return item(mid, displayMessage=text, textMessageDetails={"messageText": text})


def page(items: list[dict], token: str | None, interval_ms: int = 50) -> dict:
    doc: dict[str, Any] = {
        "kind": "youtube#liveChatMessageListResponse",
        "etag": "pe",
        "pollingIntervalMillis": interval_ms,
        "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        "items": items,
    }
    if token is not None:
        doc["nextPageToken"] = token
    return doc


# --- parser ---------------------------------------------------------------------------------------


def test_parse_all_event_types() -> None:
    doc = page(
        [
            text_item("m1", "how much is the kettle?"),
            item(
                "m2",
                "superChatEvent",
                superChatDetails={
                    "amountMicros": "5000000",
                    "currency": "USD",
                    "amountDisplayString": "$5.00",
                    "userComment": "love it",
                    "tier": 2,
                },
            ),
            item(
                "m3",
                "superStickerEvent",
                superStickerDetails={
                    "superStickerMetadata": {"stickerId": "s1", "altText": "dancing cat"},
                    "amountMicros": "2500000",
                    "currency": "EUR",
                    "tier": 1,
                },
            ),
            item("m4", "newSponsorEvent", newSponsorDetails={"memberLevelName": "Gold"}),
            item(
                "m5",
                "memberMilestoneChatEvent",
                memberMilestoneChatDetails={
                    "memberLevelName": "Gold",
                    "memberMonth": 6,
                    "userComment": "half a year!",
                },
            ),
            item(
                "m6",
                "membershipGiftingEvent",
                membershipGiftingDetails={
                    "giftMembershipsCount": 5,
                    "giftMembershipsLevelName": "Gold",
                },
            ),
            item("m7", "giftMembershipReceivedEvent"),
            item("m8", "messageDeletedEvent", messageDeletedDetails={"deletedMessageId": "m1"}),
        ],
        "tok2",
        interval_ms=1500,
    )
    events, token, interval = parse_messages_response(doc, received_at=3.0)
    assert token == "tok2" and interval == 1.5
    got = [(e.kind, e.text, e.amount, e.currency, e.count, e.item) for e in events]
    assert got == [
        ("comment", "how much is the kettle?", 0.0, "", 1, ""),
        ("gift", "love it", 5.0, "USD", 1, "superchat"),
        ("gift", "", 2.5, "EUR", 1, "dancing cat"),
        ("purchase", "", 1.0, "membership", 1, "Gold"),
        ("purchase", "half a year!", 1.0, "membership", 1, "Gold"),
        ("gift", "", 5.0, "membership", 5, "Gold"),
    ]
    for e in events:
        assert (e.user, e.user_id, e.platform, e.received_at) == ("Ann", "UCabc", "youtube", 3.0)
        assert e.sent_at == pytest.approx(1714564800.5)
        assert e.kind in EVENT_KINDS
        assert e.raw is not None and e.raw["kind"] == "youtube#liveChatMessage"


def test_bad_items_are_skipped_and_reported() -> None:
    bad: list[tuple[ChatRejected, Any]] = []
    doc = page(
        [
            text_item("ok1", "first"),
            "not an object",
            {"id": "x"},
            item("b1", "superChatEvent", superChatDetails={"amountMicros": "lots"}),
            item("b2", author={"displayName": 7}),
            item("b3", publishedAt="yesterday"),
            text_item("ok2", "second"),
        ],
        "t",
    )
    events, _, _ = parse_messages_response(doc, on_reject=lambda e, it: bad.append((e, it)))
    assert [e.text for e in events] == ["first", "second"]
    assert len(bad) == 5 and all(e.code == "yt_bad_item" for e, _ in bad)


@pytest.mark.parametrize(
    "doc",
    [
        [],
        "x",
        None,
        {"kind": "youtube#videoListResponse", "items": []},
        {"items": {}},
        {"items": [], "nextPageToken": 5},
        {"items": [], "pollingIntervalMillis": -1},
        {"items": [], "pollingIntervalMillis": "soon"},
    ],
)
def test_bad_documents_raise(doc: Any) -> None:
    with pytest.raises(ChatRejected) as e:
        parse_messages_response(doc)
    assert e.value.code == "yt_bad_response"


def test_missing_token_and_interval_are_none() -> None:
    assert parse_messages_response({"items": []}) == ([], None, None)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=5)
    ),
    max_leaves=30,
)
_keys = st.sampled_from(
    [
        "kind",
        "items",
        "nextPageToken",
        "pollingIntervalMillis",
        "snippet",
        "authorDetails",
        "type",
        "displayName",
        "channelId",
        "publishedAt",
        "superChatDetails",
        "amountMicros",
        "currency",
        "membershipGiftingDetails",
        "giftMembershipsCount",
        "textMessageDetails",
        "messageText",
        "superStickerDetails",
        "memberMilestoneChatDetails",
        "newSponsorDetails",
        "id",
    ]
)
_types = st.sampled_from(
    [
        "textMessageEvent",
        "superChatEvent",
        "superStickerEvent",
        "newSponsorEvent",
        "memberMilestoneChatEvent",
        "membershipGiftingEvent",
        "youtube#liveChatMessageListResponse",
    ]
)
# JSON-ish objects built from the API's own key and type names, so the fuzzing reaches deep.
_youtubeish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | _types,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_keys, kids, max_size=6),
    max_leaves=40,
)


@given(st.one_of(_json, _youtubeish))
@settings(max_examples=300, deadline=None)
def test_random_json_only_raises_chat_rejected(obj: Any) -> None:
    try:
        events, token, interval = parse_messages_response(obj)
    except ChatRejected:
        return
    assert all(isinstance(e, ChatEvent) and e.kind in EVENT_KINDS for e in events)
    assert token is None or isinstance(token, str)
    assert interval is None or interval >= 0


@given(_youtubeish)
@settings(max_examples=200, deadline=None)
def test_random_items_only_raise_chat_rejected(obj: Any) -> None:
    try:
        parse_item(obj)
    except ChatRejected:
        pass


# --- against a local HTTP server -----------------------------------------------------------------


class FakeYouTube:
    """Serves pages p0, p1, ... (page n answers token "p{n}"; no token = p0).

    ``script`` maps a request number to an override: an HTTP status + reason, "drop" (cut the
    connection mid-body), or "garbage" (not JSON)."""

    def __init__(self, pages: list[list[dict]], interval_ms: int = 50) -> None:
        self.pages = pages
        self.interval_ms = interval_ms
        self.requests: list[tuple[float, dict[str, str]]] = []
        self.script: dict[int, tuple[int, str] | str] = {}
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        n = len(self.requests)
        self.requests.append((time.monotonic(), dict(request.query)))
        action = self.script.get(n)
        if isinstance(action, tuple):
            status, reason = action
            err = {"code": status, "message": f"{reason} here", "errors": [{"reason": reason}]}
            return web.json_response({"error": err}, status=status)
        if action == "garbage":
            return web.Response(text="<html>oops", content_type="text/html")
        token = request.query.get("pageToken", "p0")
        idx = int(token[1:])
        items = self.pages[idx] if idx < len(self.pages) else []
        # Like the real API: the next token moves past what was served; the last one stays.
        nxt = f"p{min(idx + 1, len(self.pages))}"
        if action == "drop":
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            resp.content_length = 10_000
            await resp.prepare(request)
            await resp.write(b'{"kind": "youtube#liveChatMessageListResponse", "items": [')
            assert request.transport is not None
            request.transport.abort()
            return resp
        doc = page(items, nxt, self.interval_ms)
        if action == "offline":
            doc["offlineAt"] = "2024-05-01T13:00:00Z"
        return web.json_response(doc)

    async def start(self) -> FakeYouTube:
        app = web.Application()
        app.router.add_get("/youtube/v3/liveChat/messages", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def yt():
    pages = [
        [text_item("a1", "one"), text_item("a2", "two")],
        [],
        [text_item("b1", "three")],
        [text_item("c1", "four"), text_item("c2", "five")],
        [text_item("d1", "six")],
    ]
    srv = await FakeYouTube(pages).start()
    yield srv
    await srv.close()


async def until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.01)


def start(srv: FakeYouTube, **kw) -> tuple[YouTubeSource, list[ChatEvent], asyncio.Task]:
    events: list[ChatEvent] = []
    kw.setdefault("backoff", Backoff(initial=0.05, maximum=0.2))
    kw.setdefault("default_interval_s", 0.1)  # the wait after a page without an interval
    src = YouTubeSource("yt", events.append, "chat1", "KEY123", base_url=srv.base, **kw)
    return src, events, asyncio.create_task(src.run())


async def stop(src: YouTubeSource, task: asyncio.Task) -> None:
    src.stop()
    await asyncio.wait_for(task, 5)
    assert src.health.state == "stopped"


ALL = ["one", "two", "three", "four", "five", "six"]


async def test_paginates_with_key_and_interval(yt: FakeYouTube) -> None:
    yt.interval_ms = 150
    src, events, task = start(yt)
    try:
        await until(lambda: len(events) == 6, what="all pages")
        await until(lambda: len(yt.requests) >= 7)
    finally:
        await stop(src, task)
    assert [e.text for e in events] == ALL
    assert src.health.state == "stopped" and src.health.connects == 1
    q = [r[1] for r in yt.requests]
    assert all(x["key"] == "KEY123" and x["liveChatId"] == "chat1" for x in q)
    assert all(x["part"] == "snippet,authorDetails" for x in q)
    assert "pageToken" not in q[0]
    assert [x["pageToken"] for x in q[1:6]] == ["p1", "p2", "p3", "p4", "p5"]
    gaps = [b[0] - a[0] for a, b in zip(yt.requests, yt.requests[1:], strict=False)]
    assert min(gaps) >= 0.14  # pollingIntervalMillis=150 honoured
    assert max(gaps) < 1.0


async def test_no_duplicates_after_dropped_connection(yt: FakeYouTube) -> None:
    yt.script = {2: "drop", 4: "garbage"}
    src, events, task = start(yt)
    try:
        await until(lambda: len(events) == 6, what="all messages")
        await asyncio.sleep(0.3)
    finally:
        await stop(src, task)
    assert [e.text for e in events] == ALL  # once each, in order
    assert src.health.reconnects >= 1 and src.health.connects == 2
    assert src.health.rejected == 1  # the non-JSON page
    q = [r[1] for r in yt.requests]
    # The request after the drop resumes with the token it was cut off on.
    assert q[2]["pageToken"] == q[3]["pageToken"] == "p2"


async def test_quota_exceeded_backs_off_longer(yt: FakeYouTube) -> None:
    yt.script = {1: (403, "quotaExceeded"), 2: (403, "rateLimitExceeded")}
    src, events, task = start(yt, quota_backoff_s=0.4, quota_backoff_max_s=5.0)
    try:
        await until(lambda: len(yt.requests) >= 2)
        await until(lambda: src.health.state == "backoff")
        assert "quotaExceeded" in src.health.last_error
        await until(lambda: len(events) == 6, what="all messages after quota")
    finally:
        await stop(src, task)
    t = [r[0] for r in yt.requests]
    assert t[2] - t[1] >= 0.4 * 0.8 - 0.02  # first quota wait, jitter at most 20 %
    assert t[3] - t[2] >= 0.8 * 0.8 - 0.02  # and it doubles
    assert t[4] - t[3] < 0.4  # success resets it to the API's polling interval
    assert [e.text for e in events] == ALL
    assert src.health.reconnects == 0  # quota waits are not reconnects


@pytest.mark.parametrize("status,reason", [(403, "liveChatEnded"), (404, "liveChatNotFound")])
async def test_chat_ended_stops_the_source(yt: FakeYouTube, status: int, reason: str) -> None:
    yt.script = {3: (status, reason)}
    src, events, task = start(yt)
    await asyncio.wait_for(task, 5)  # stops by itself
    assert src.health.state == "stopped"
    assert "chat ended" in src.health.last_error and reason in src.health.last_error
    assert [e.text for e in events] == ["one", "two", "three"]
    assert len(yt.requests) == 4


async def test_offline_at_stops_after_the_last_page(yt: FakeYouTube) -> None:
    yt.script = {2: "offline"}
    src, events, task = start(yt)
    await asyncio.wait_for(task, 5)
    assert [e.text for e in events] == ["one", "two", "three"]
    assert src.health.state == "stopped" and "offline" in src.health.last_error


async def test_server_errors_reconnect_with_backoff(yt: FakeYouTube) -> None:
    yt.script = {1: (500, "backendError"), 2: (503, "backendError")}
    src, events, task = start(yt)
    try:
        await until(lambda: len(events) == 6)
    finally:
        await stop(src, task)
    assert src.health.reconnects == 2 and src.health.connects == 2
    assert "HTTP 503 backendError" in src.health.last_error
    assert [e.text for e in events] == ALL


async def test_stop_interrupts_a_long_poll_wait(yt: FakeYouTube) -> None:
    yt.interval_ms = 60_000
    src, events, task = start(yt)
    await until(lambda: len(events) == 2)
    t0 = time.monotonic()
    await stop(src, task)
    assert time.monotonic() - t0 < 1.0
