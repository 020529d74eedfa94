"""HTTP behaviour shared by the workers: explicit headers, timeouts, retries with backoff on 5xx and
timeouts (tenacity), exponential backoff on 429, a token bucket under the exchange's rate limit, and
errors that say what happened (never with credentials in them)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
from tenacity import (RetryCallState, retry, retry_if_exception, stop_after_attempt,
                      wait_exponential_jitter)


class HttpError(RuntimeError):
    """A request that failed for good. `status` is None for timeouts and dropped connections."""

    def __init__(self, url: str, status: int | None, message: str, body: bytes | None = None):
        super().__init__(f"{message} ({status or 'no status'}) for {url}")
        self.url, self.status, self.message, self.body = url, status, message, body


class OutageError(HttpError):
    """The source says it is down (e.g. NWS 503 ForecastGridExpired): not retried hot."""


class Retryable(HttpError):
    pass


class TokenBucket:
    """Keeps a client under `rate` requests/s with bursts up to `burst` (Kalshi Basic: ~20 reads/s)."""

    def __init__(self, rate: float, burst: float | None = None):
        self.rate, self.capacity = rate, burst or rate
        self.tokens, self.updated = self.capacity, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


@dataclass
class Reply:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self):
        import json
        from .wire import PayloadError
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise PayloadError(f"malformed JSON from {self.url}: {exc}") from None


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, Retryable)


class Client:
    """One upstream: base URL, headers, timeouts, retry policy, optional rate limit and signer."""

    def __init__(self, base_url: str, headers: dict[str, str], *, timeout: float = 15.0, attempts: int = 3,
                 backoff: float = 0.5, bucket: TokenBucket | None = None, signer=None,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(headers=headers, timeout=timeout, transport=transport, follow_redirects=False)
        self.bucket, self.signer = bucket, signer
        self.attempts, self.backoff = attempts, backoff

    def close(self):
        self.http.close()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def request(self, method: str, path: str, *, params=None, json=None, headers=None,
                ok=(200,), sign: bool = False, attempts: int | None = None) -> Reply:
        """attempts overrides the client's policy for one call (the executor's reads retry; its writes never)."""
        url = self.url(path)

        @retry(retry=retry_if_exception(_is_retryable), stop=stop_after_attempt(attempts or self.attempts),
               wait=wait_exponential_jitter(multiplier=self.backoff, max=8 * self.backoff, jitter=self.backoff), reraise=True)
        def attempt() -> Reply:
            if self.bucket:
                self.bucket.take()
            hdrs = dict(headers or {})
            if sign:
                if not self.signer:
                    raise HttpError(url, None, "signed request without credentials")
                hdrs.update(self.signer.headers(method, httpx.URL(url).path))
            try:
                r = self.http.request(method, url, params=params, json=json, headers=hdrs)
            except httpx.TimeoutException:
                raise Retryable(url, None, "timeout") from None
            except httpx.TransportError as exc:
                raise Retryable(url, None, f"connection failed: {transport_cause(exc)}") from None
            reply = Reply(url=str(r.url), status=r.status_code, headers=r.headers, body=r.content)
            if r.status_code in ok:
                return reply
            if r.status_code == 429:
                raise Retryable(url, 429, "rate limited", r.content)
            if r.status_code >= 500:
                if _grid_outage(r):
                    raise OutageError(url, r.status_code, "source outage: " + _problem_title(r), r.content)
                raise Retryable(url, r.status_code, "server error", r.content)
            raise HttpError(url, r.status_code, f"unexpected status: {_problem_title(r)}", r.content)

        return attempt()

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)


def transport_cause(exc: BaseException) -> str:
    """The real cause of a failed connection, in words: name resolution, refused, reset, TLS, or the
    library's own text (never a bare class name)."""
    text = f"{exc} {exc.__cause__ or ''} {exc.__context__ or ''}".lower()
    for needles, words in ((("name or service not known", "temporary failure in name resolution", "nodename nor servname",
                             "errno -2", "errno -3", "errno -5"), "name resolution failed (no DNS / no network?)"),
                           (("connection refused", "errno 111"), "connection refused"),
                           (("network is unreachable", "errno 101", "no route to host", "errno 113"), "network unreachable"),
                           (("connection reset", "errno 104"), "connection reset"),
                           (("certificate", "ssl", "tls"), "TLS handshake failed")):
        if any(n in text for n in needles):
            return words
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {detail}"[:200] if detail else type(exc).__name__


def _problem_title(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.reason_phrase or "error"
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return f"{body['error'].get('code')}: {body['error'].get('message')}"
        return str(body.get("title") or body.get("error") or body.get("message") or r.reason_phrase)
    return r.reason_phrase or "error"


def _grid_outage(r: httpx.Response) -> bool:
    """NWS 503 ForecastGridExpired / ForecastMissingData: an office feed outage, hours long."""
    if r.status_code != 503:
        return False
    try:
        body = r.json()
    except ValueError:
        return False
    kind = f"{body.get('type', '')} {body.get('title', '')}" if isinstance(body, dict) else ""
    return any(k in kind.replace(" ", "") for k in ("ForecastGridExpired", "ForecastMissingData"))
