"""An httpx-backed ``http_client`` for msal.

msal duck-types its HTTP client. Giving it ours means one TLS configuration (the
simulator's CA, a private cloud's CA) and, in tests, a transport that can refuse any host
that is not loopback before a socket is opened.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class MsalHttpClient:
    """The ``post``/``get``/``close`` surface msal calls; ``httpx.Response`` fits as-is."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @classmethod
    def create(
        cls,
        *,
        verify: bool | str = True,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> MsalHttpClient:
        # With a pinned CA we also ignore the environment, so REQUESTS_CA_BUNDLE/SSL_CERT_FILE
        # or a proxy variable cannot silently change where tokens are requested.
        client = httpx.Client(
            verify=ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify,
            timeout=timeout,
            trust_env=verify is True and transport is None,
            transport=transport,
            follow_redirects=False,
        )
        return cls(client)

    def post(
        self,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        **kwargs: Any,
    ) -> httpx.Response:
        # requests drops None form values and msal relies on that (``claims=None``); httpx
        # would also turn a bytes value (msal's client assertion) into "b'...'", so decode.
        if isinstance(data, dict):
            data = {
                k: v.decode() if isinstance(v, bytes) else v
                for k, v in data.items()
                if v is not None
            }
        timeout = kwargs.get("timeout")
        return self._client.post(
            url,
            params=params,
            data=data,
            headers=headers,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )

    def get(
        self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        timeout = kwargs.get("timeout")
        return self._client.get(
            url,
            params=params,
            headers=headers,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )

    def close(self) -> None:
        self._client.close()
