"""Azure Resource Graph: one KQL query across many subscriptions, page by page.

``POST /providers/Microsoft.ResourceGraph/resources`` answers at most ``$top`` rows per
call and a ``$skipToken`` for the next page; each page is one query against a per-user
quota (about 15 queries per 5 seconds) that every answer reports in
``x-ms-user-quota-remaining`` and ``x-ms-user-quota-resets-after`` (``hh:mm:ss``). The
client waits out an exhausted quota on the pacing clock before it sends the next page,
instead of being throttled, and sends subscriptions in batches under the service's limit.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from vmssdash.azure.client import ArmClient
from vmssdash.azure.decode import decode_json
from vmssdash.azure.errors import BadResponseError
from vmssdash.azure.pacing import Pacing

PATH = "/providers/Microsoft.ResourceGraph/resources"
API_VERSION = "2022-10-01"
MAX_PAGE = 1000
#: Resource Graph takes a few hundred subscriptions per request; stay under 300.
SUBSCRIPTION_BATCH = 250
_RESETS_AFTER = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class Quota:
    """What the last answer said about the caller's query quota."""

    remaining: int | None
    resets_after: float | None
    seen_at: float

    def wait(self, now: float) -> float:
        """Seconds to wait before the next query may be sent (0 when there is quota)."""
        if self.remaining is None or self.remaining > 0 or self.resets_after is None:
            return 0.0
        return max(0.0, self.resets_after - (now - self.seen_at))


def parse_resets_after(text: str | None) -> float | None:
    """``"00:00:03"`` → 3.0; anything unreadable → None (then we do not wait on it)."""
    match = _RESETS_AFTER.match((text or "").strip())
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _quota(headers: Any, now: float) -> Quota:
    raw = headers.get("x-ms-user-quota-remaining")
    try:
        remaining = int(raw) if raw is not None else None
    except ValueError:
        remaining = None
    return Quota(remaining, parse_resets_after(headers.get("x-ms-user-quota-resets-after")), now)


class ResourceGraph:
    """Runs queries for one ARM client; owns the quota state between its calls."""

    def __init__(self, client: ArmClient, *, page_size: int = MAX_PAGE) -> None:
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE}")
        self.client = client
        self.pacing: Pacing = client.pacing
        self.page_size = page_size
        self.quota: Quota | None = None
        #: Queries sent (each page is one) and seconds waited for quota, for the caller.
        self.queries = 0
        self.waited = 0.0

    async def rows(self, query: str, subscriptions: Sequence[str]) -> list[dict[str, Any]]:
        """Every row of ``query`` over ``subscriptions``, all pages followed."""
        out: list[dict[str, Any]] = []
        async for page in self.pages(query, subscriptions):
            out.extend(page)
        return out

    async def pages(
        self, query: str, subscriptions: Sequence[str]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page's rows; one request per page, across a batch of subscriptions."""
        subs = list(dict.fromkeys(subscriptions))
        for start in range(0, len(subs), SUBSCRIPTION_BATCH):
            batch = subs[start : start + SUBSCRIPTION_BATCH]
            token: str | None = None
            seen: set[str] = set()
            while True:
                data = await self._query(query, batch, token)
                yield _rows_of(data)
                token = data.get("$skipToken") or None
                if token is None:
                    break
                if token in seen:
                    raise BadResponseError("Resource Graph repeated a $skipToken; stopping")
                seen.add(token)

    async def _query(
        self, query: str, subscriptions: list[str], token: str | None
    ) -> dict[str, Any]:
        await self._wait_for_quota()
        options: dict[str, Any] = {"$top": self.page_size, "resultFormat": "objectArray"}
        if token:
            options["$skipToken"] = token
        body = {"subscriptions": subscriptions, "query": query, "options": options}
        self.queries += 1
        response = await self.client.request("POST", PATH, json=body, api_version=API_VERSION)
        self.quota = _quota(response.headers, self.pacing.clock())
        data = decode_json(response)
        if not isinstance(data, dict):
            raise BadResponseError("expected a JSON object from Resource Graph")
        return data

    async def _wait_for_quota(self) -> None:
        if self.quota is None:
            return
        wait = self.quota.wait(self.pacing.clock())
        if wait > 0:
            self.waited += wait
            await self.pacing.sleep(wait)
        self.quota = None


def _rows_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = data.get("data")
    if isinstance(rows, dict):  # the older "table" result format: columns + rows
        columns = [str(c.get("name")) for c in rows.get("columns", []) if isinstance(c, dict)]
        return [dict(zip(columns, row, strict=False)) for row in rows.get("rows", [])]
    if not isinstance(rows, list):
        raise BadResponseError("Resource Graph answer has no 'data' list")
    return [row for row in rows if isinstance(row, dict)]
