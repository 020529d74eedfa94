"""`milkbot explain --prose`: an LLM rephrases the plain page for a non-specialist (OpenRouter's
chat-completions API, OpenAI-compatible).

Only the page goes out (the recorded facts `ops.explain` printed: no key, no account, no position beyond
what the page says); what comes back is printed above the plain page and goes nowhere else -- no decision
reads it. Any failure (no key, a timeout, an HTTP error, an answer that is not text) prints the plain
page alone and says why on stderr. The key is sent only in the Authorization header and never printed.

Settings: MILKBOT_OPENROUTER_API_KEY (required for --prose), MILKBOT_OPENROUTER_MODEL (default
openai/gpt-4o-mini), MILKBOT_OPENROUTER_URL (default https://openrouter.ai/api/v1; tests point it at a
local fake), MILKBOT_OPENROUTER_TIMEOUT_S (default 20)."""
from __future__ import annotations

import os
import sys

import httpx

DEFAULT_URL = "https://openrouter.ai/api/v1"
DEFAULT_MODEL = "openai/gpt-4o-mini"
MAX_ANSWER = 8000
INSTRUCTIONS = (
    "You rewrite a trading bot's decision log for a reader who does not trade. Keep every number and fact "
    "exactly as given; add no fact, opinion or advice; explain terms (bid, ask, edge, Kelly, cap) in a few "
    "words where they appear. Answer in at most 150 words of plain prose.")


class ProseError(Exception):
    pass


def ask(page: str, *, key: str, url: str = DEFAULT_URL, model: str = DEFAULT_MODEL, timeout: float = 20.0) -> str:
    """The model's rephrasing of `page`; ProseError with a reason that never contains the key."""
    try:
        r = httpx.post(f"{url.rstrip('/')}/chat/completions", timeout=timeout,
                       headers={"Authorization": f"Bearer {key}", "X-Title": "Milkbot explain"},
                       json={"model": model, "messages": [{"role": "system", "content": INSTRUCTIONS},
                                                          {"role": "user", "content": page}]})
    except httpx.TimeoutException:
        raise ProseError(f"no answer within {timeout:.0f} s") from None
    except httpx.HTTPError as exc:
        raise ProseError(f"could not reach the LLM service ({type(exc).__name__})") from None
    if r.status_code != 200:
        raise ProseError(f"the LLM service answered HTTP {r.status_code}")
    try:
        text = r.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ProseError("the LLM service's answer is not a chat completion") from None
    if not isinstance(text, str) or not text.strip():
        raise ProseError("the LLM service answered with no text")
    return text.strip()[:MAX_ANSWER]


def rephrase(page: str, env: dict | None = None) -> str:
    """The page with a rephrasing above it, or the plain page (and the reason on stderr)."""
    env = os.environ if env is None else env
    key = env.get("MILKBOT_OPENROUTER_API_KEY", "").strip()
    if not key:
        print("explain --prose: MILKBOT_OPENROUTER_API_KEY is not set; the plain page follows", file=sys.stderr)
        return page
    model = env.get("MILKBOT_OPENROUTER_MODEL") or DEFAULT_MODEL
    try:
        text = ask(page, key=key, url=env.get("MILKBOT_OPENROUTER_URL") or DEFAULT_URL, model=model,
                   timeout=float(env.get("MILKBOT_OPENROUTER_TIMEOUT_S") or 20))
    except ProseError as exc:
        print(f"explain --prose: {exc}; the plain page follows", file=sys.stderr)
        return page
    return f"{text}\n\n(rephrased by {model} from the recorded facts below; the facts are what count)\n\n{page}"
