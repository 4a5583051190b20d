"""A scripted judge with injected biases, for ground-truth tests of the bias audit.

Serve it with the fake OpenAI server::

    BIASED_JUDGE="p_first=0.7,q_longer=0.2,invalid=0.1" \\
        python -m evalkit.testing.fake_openai --responder evalkit.testing.biased_judge:respond

It reads evalkit's judge prompts (``[The Start of Response A]`` … markers). Per request, seeded by the
request's text (so a repeated request gets the same answer, as a cache would give), it decides:

- with probability ``invalid``: an unusable reply (verdict first, then text); asked again with the
  reminder, it answers properly unless ``stubborn=1``;
- pairwise: with probability ``self`` the response containing the judge's own model name (the request's
  ``model``) when exactly one does; else with probability ``q_longer`` the longer response (by characters);
  else position A with probability ``p_first``, otherwise B. ``tie`` is the chance of TIE instead;
- pointwise: PASS with probability ``p_pass``, or PASS exactly when the response contains ``pass_marker``.

So with ``q_longer=0`` the consistency over both orders is 2·p(1−p), the first-position share p², and
the second-position share (1−p)².
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from typing import Any

_SECTION = r"\[The Start of {name}\]\n(.*?)\n\[The End of {name}\]"
DEFAULTS = {"p_first": 0.5, "q_longer": 0.0, "invalid": 0.0, "stubborn": 0.0, "tie": 0.0, "self": 0.0,
            "p_pass": 0.5, "seed": 0.0}


def settings() -> dict[str, Any]:
    """``BIASED_JUDGE="key=value,..."`` over the defaults (``pass_marker`` may be text)."""
    found: dict[str, Any] = dict(DEFAULTS)
    for part in filter(None, os.environ.get("BIASED_JUDGE", "").split(",")):
        key, _, value = part.partition("=")
        found[key.strip()] = value if key.strip() == "pass_marker" else float(value)
    return found


def _section(text: str, name: str) -> str | None:
    match = re.search(_SECTION.format(name=re.escape(name)), text, re.DOTALL)
    return match.group(1) if match else None


def _verdict(user: str, model: str, rng: random.Random, cfg: dict[str, Any]) -> str:
    a, b = _section(user, "Response A"), _section(user, "Response B")
    if a is None or b is None:
        response = _section(user, "the Response") or ""
        marker = cfg.get("pass_marker")
        if marker is not None:
            return "PASS" if marker in response else "FAIL"
        return "PASS" if rng.random() < cfg["p_pass"] else "FAIL"
    own = [model in a, model in b]
    if cfg["self"] and sum(own) == 1 and rng.random() < cfg["self"]:
        return "A" if own[0] else "B"
    if len(a) != len(b) and rng.random() < cfg["q_longer"]:
        return "A" if len(a) > len(b) else "B"
    if rng.random() < cfg["tie"]:
        return "TIE"
    return "A" if rng.random() < cfg["p_first"] else "B"


def respond(body: dict[str, Any]) -> str:
    cfg = settings()
    messages = body.get("messages") or [{"role": "user", "content": body.get("prompt", "")}]
    first_user = next(m["content"] for m in messages if m["role"] == "user")
    reminded = sum(m["role"] == "user" for m in messages) > 1
    key = json.dumps([cfg["seed"], body.get("model"), first_user]).encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    broken = rng.random() < cfg["invalid"]
    verdict = _verdict(first_user, str(body.get("model", "")), rng, cfg)
    if broken and (not reminded or cfg["stubborn"]):
        return f"VERDICT: {verdict}\nI decided first and will explain afterwards: both responses were read."
    return f"Both responses were read and compared against the criteria.\nVERDICT: {verdict}"
