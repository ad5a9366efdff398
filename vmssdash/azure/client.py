"""The ARM client the app uses: JSON reads, parsed reads, paging and long-running
operations, on top of ``ArmSender.request`` (``sender.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from vmssdash.azure.debuglog import redact_url
from vmssdash.azure.decode import (
    decode_json,
    decode_json_off_loop,
    json_object,
    list_page,
    off_loop_if_big,
)
from vmssdash.azure.errors import BadResponseError, TooManyPagesError, invalid_body
from vmssdash.azure.lro import Operation, PollSettings
from vmssdash.azure.sender import ArmSender

T = TypeVar("T")


class ArmClient(ArmSender):
    """Async client for one ARM endpoint; the constructor is ``ArmSender``'s."""

    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        api_version: str | None = None,
    ) -> dict[str, Any]:
        """GET a JSON object; a non-JSON 2xx body raises ``BadResponseError``."""
        response = await self.request("GET", path, params=params, api_version=api_version)
        return json_object(decode_json(response), response)

    async def get_parsed(
        self,
        path: str,
        parse: Callable[[dict[str, Any]], T],
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> T:
        """GET a JSON object and ``parse`` it; a body that does not validate raises
        ``InvalidBodyError`` naming the field path and carrying the request id."""
        response = await self.request("GET", path, params=params)
        data = json_object(await decode_json_off_loop(response), response)
        try:
            return parse(data)
        except ValidationError as exc:
            raise invalid_body(exc, what, response) from None

    async def iter_pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        api_version: str | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield each page's ``value`` list (see ``iter_read_pages``)."""
        async for items in self.iter_read_pages(
            path, list_page, params=params, api_version=api_version, max_pages=max_pages
        ):
            yield items

    async def iter_read_pages(
        self,
        path: str,
        read: Callable[[httpx.Response], tuple[list[T], object]],
        *,
        params: Mapping[str, Any] | None = None,
        api_version: str | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[list[T]]:
        """Yield what ``read`` makes of each page (its items and the ``nextLink`` as
        sent), following ``nextLink`` verbatim (host-checked). ``read`` runs in a worker
        thread when the page is big: it is where a page's bytes are decoded, once.

        At most ``max_pages`` pages (default ``limits.max_pages``) are followed, and a
        repeated ``nextLink`` stops the list: either means a server that never ends it.
        """
        limit = max_pages if max_pages is not None else self.limits.max_pages
        next_url: str | None = path
        first = True
        seen: set[str] = set()
        pages = 0
        while next_url:
            if pages >= limit:
                raise TooManyPagesError(
                    f"the list at {path} went past max_pages={limit} pages; stopping "
                    "(the server keeps handing out new nextLinks)",
                    bound="max_pages",
                    method="GET",
                    url=redact_url(self.url_for(next_url)),
                )
            pages += 1
            response = await self.request(
                "GET",
                next_url,
                params=params if first else None,
                api_version=api_version,
            )
            first = False
            items, link = await off_loop_if_big(response, read)
            yield items
            if not link:
                break
            if not isinstance(link, str):
                raise BadResponseError(
                    f"page 'nextLink' is not a string but {type(link).__name__}",
                    url=str(response.request.url),
                    request_id=response.headers.get("x-ms-request-id"),
                )
            if link in seen:
                raise BadResponseError(
                    "the server repeated a nextLink; stopping to avoid an endless loop",
                    url=str(response.request.url),
                )
            seen.add(link)
            next_url = link

    async def begin(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        api_version: str | None = None,
    ) -> Operation:
        """Start a long-running operation; poll or wait on the returned ``Operation``."""
        response = await self.request(
            method, path, json=json, headers=headers, params=params, api_version=api_version
        )
        return Operation(self._get, method.upper(), response, self._poll_settings())

    async def _get(self, url: str) -> httpx.Response:
        return await self.request("GET", url)

    def _poll_settings(self) -> PollSettings:
        return PollSettings(
            pacing=self.pacing,
            emit=self._emit,
            poll_interval=self.poll_interval,
            max_delay=self.retry_policy.max_retry_after,
        )

    def resume_operation(self, status_url: str, *, method: str = "POST") -> Operation:
        """An ``Operation`` for an ``Azure-AsyncOperation`` URL saved earlier (journal).

        Nothing is sent until it is polled, and polling is host-checked as usual.
        """
        url = self.url_for(status_url)
        response = httpx.Response(
            202,
            headers={"Azure-AsyncOperation": str(url)},
            request=httpx.Request(method.upper(), url),
        )
        return Operation(self._get, method.upper(), response, self._poll_settings())
