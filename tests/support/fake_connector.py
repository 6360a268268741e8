"""A fake Bot Connector service (the Teams side of the REST API) on loopback, for tests.

Implements the routes a bot calls (Bot Connector REST API v3), records every request and can
be told to fail the next request(s) on a route with a status (429 with Retry-After, 403, 404).
`serviceUrl` given to the bot is `base_url` (with a path like Teams' `/amer/`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Call:
    method: str
    path: str  # after the prefix, decoded: /v3/conversations/{id}/activities
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class Fault:
    method: str
    pattern: str  # regex on Call.path
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1  # how many requests it answers; -1: forever


class FakeConnector:
    def __init__(self, prefix: str = "/amer") -> None:
        self.prefix = prefix.rstrip("/")
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.members: dict[str, list[dict[str, Any]]] = {}  # conversation/team id -> members
        self.created: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.base_url = ""  # set by start()
        self._runner: web.AppRunner | None = None

    # ---------------------------------------------------------------- control
    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests (-1: all) of `method` whose path matches `pattern`
        with `status` and `headers` (e.g. `{"Retry-After": "3"}` with 429)."""
        self.faults.append(Fault(method, pattern, status, dict(headers or {}), times))

    def sent(self, kind: str | None = None) -> list[Call]:
        """POSTs of activities (send and reply), optionally only one route kind."""
        out = []
        for c in self.calls:
            if c.method != "POST" or "/activities" not in c.path:
                continue
            is_reply = re.search(r"/activities/[^/]+$", c.path) is not None
            if kind == "send" and is_reply or kind == "reply" and not is_reply:
                continue
            out.append(c)
        return out

    # ---------------------------------------------------------------- server
    async def start(self) -> str:
        app = web.Application()
        p = self.prefix
        r = app.router
        r.add_post(p + "/v3/conversations", self.create_conversation)
        r.add_post(p + "/v3/conversations/{cid}/activities", self.send)
        r.add_post(p + "/v3/conversations/{cid}/activities/{aid}", self.reply)
        r.add_put(p + "/v3/conversations/{cid}/activities/{aid}", self.update)
        r.add_delete(p + "/v3/conversations/{cid}/activities/{aid}", self.delete)
        r.add_get(p + "/v3/conversations/{cid}/members", self.get_members)
        r.add_get(p + "/v3/conversations/{cid}/members/{mid}", self.get_member)
        # ConversationsOperations uses /pagedmembers, TeamsConnectorClient /pagedMembers
        r.add_get(p + "/v3/conversations/{cid}/pagedmembers", self.paged_members)
        r.add_get(p + "/v3/conversations/{cid}/pagedMembers", self.paged_members)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}{p}/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeConnector:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- helpers
    async def _record(self, request: web.Request) -> tuple[Call, web.Response | None]:
        body: Any = None
        if request.can_read_body:
            raw = await request.text()
            try:
                body = await request.json() if raw else None
            except ValueError:
                body = raw
        path = request.path[len(self.prefix) :]
        call = Call(request.method, path, dict(request.query), body, dict(request.headers))
        self.calls.append(call)
        for f in self.faults:
            if f.method == request.method and re.search(f.pattern, path) and f.times != 0:
                f.times -= 1
                err = {
                    "error": {
                        "code": {
                            403: "BotNotInConversationRoster",
                            404: "ConversationNotFound",
                            429: "TooManyRequests",
                        }.get(f.status, "Error"),
                        "message": f"fake {f.status}",
                    }
                }
                return call, web.json_response(err, status=f.status, headers=f.headers)
        return call, None

    # ---------------------------------------------------------------- routes
    async def create_conversation(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        self.created.append(call.body)
        cid = f"a:personal-{next(self._ids)}"
        return web.json_response({"id": cid, "serviceUrl": self.base_url}, status=201)

    async def send(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        return fault or web.json_response({"id": f"m{next(self._ids)}"}, status=201)

    async def reply(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        return fault or web.json_response({"id": f"m{next(self._ids)}"}, status=201)

    async def update(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        return fault or web.json_response({"id": request.match_info["aid"]})

    async def delete(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        return fault or web.Response(status=200)

    def _members_of(self, cid: str) -> list[dict[str, Any]] | None:
        base = cid.split(";")[0]
        return self.members.get(cid) or self.members.get(base)

    async def get_members(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        members = self._members_of(request.match_info["cid"])
        if members is None:
            return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        return web.json_response(members)

    async def get_member(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        for m in self._members_of(request.match_info["cid"]) or []:
            if request.match_info["mid"] in (m["id"], m.get("aadObjectId")):
                return web.json_response(m)
        return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)

    async def paged_members(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        members = self._members_of(request.match_info["cid"])
        if members is None:
            return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        size = int(request.query.get("pageSize") or 50)
        start = int(request.query.get("continuationToken") or 0)
        page = members[start : start + size]
        body: dict[str, Any] = {"members": page}
        if start + size < len(members):
            body["continuationToken"] = str(start + size)
        return web.json_response(body)


async def post_activity(http: aiohttp.ClientSession, url: str, activity: dict[str, Any]) -> int:
    """POST an activity to a bot's endpoint as the connector would; 0 while it is not listening."""
    try:
        async with http.post(url, json=activity) as response:
            return response.status
    except aiohttp.ClientConnectionError:
        return 0
