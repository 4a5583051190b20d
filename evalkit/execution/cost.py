"""What a run spends, and the budget it may not pass: tokens and dollars per model, reserved before a
call starts and settled when it ends.

``Budget`` is shared by every executor of a run (model, second turns, judges); each executor has its
own ``CostMeter`` because each model has its own price. A call reserves an estimate of its cost before
it starts and waits while that would pass the budget and other calls are still in flight; when nothing
is in flight and the next call still does not fit, the budget is *reached* and no further call starts.
So a run stops within one request's cost of its budget however many calls run at once.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from evalkit.execution.pricing import Price
from evalkit.types import GenerateRequest, Request, Usage

_MESSAGE_OVERHEAD = 4  # tokens a chat format adds per message (role markers)


def estimate_tokens(request: Request) -> tuple[int, int]:
    """(prompt tokens, most completion tokens) of a request before it is sent: ~4 characters a token
    for the prompt (English text through a BPE tokenizer), the request's ``max_tokens`` for the reply."""
    if isinstance(request, GenerateRequest):
        if request.messages is not None:
            prompt = sum(math.ceil(len(c) / 4) + _MESSAGE_OVERHEAD for _, c in request.messages)
        else:
            prompt = math.ceil(len(request.prompt or "") / 4)
        return prompt, request.max_tokens
    return math.ceil(len(request.context + request.continuation) / 4), 1


@dataclass
class Spend:
    """Tokens and dollars of the calls a run paid for (cache hits and resumed answers are free)."""

    requests: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = 0.0  # None: the model has no price

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, usage: Usage, cost: float | None) -> None:
        self.requests += 1
        self.prompt_tokens += usage.prompt_tokens
        self.cached_prompt_tokens += usage.cached_prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost

    def merge(self, other: Spend) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.cached_prompt_tokens += other.cached_prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cost_usd = None if other.cost_usd is None or self.cost_usd is None else self.cost_usd + other.cost_usd

    def as_dict(self) -> dict[str, float | int | None]:
        return {"requests": self.requests, "prompt_tokens": self.prompt_tokens,
                "cached_prompt_tokens": self.cached_prompt_tokens, "completion_tokens": self.completion_tokens,
                "reasoning_tokens": self.reasoning_tokens, "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6)}


class Budget:
    """``--max-cost`` and ``--max-tokens-total`` for a whole run, and what is spent and reserved against them."""

    def __init__(self, max_cost: float | None = None, max_tokens: int | None = None,
                 spent_usd: float = 0.0, spent_tokens: int = 0) -> None:
        self.max_cost = max_cost
        self.max_tokens = max_tokens
        self.spent_usd = spent_usd  # includes what earlier invocations on the same run directory paid
        self.spent_tokens = spent_tokens
        self.reached = False
        self._reserved_usd = 0.0
        self._reserved_tokens = 0
        self._in_flight = 0
        self._changed: asyncio.Condition | None = None

    def left(self) -> tuple[float, int]:
        """(USD, tokens) neither spent nor reserved; infinite where there is no limit."""
        usd = self.max_cost - self.spent_usd - self._reserved_usd if self.max_cost is not None else math.inf
        tokens = self.max_tokens - self.spent_tokens - self._reserved_tokens if self.max_tokens is not None else 2**62
        return usd, tokens

    @property
    def limited(self) -> bool:
        return self.max_cost is not None or self.max_tokens is not None

    def _fits(self, usd: float, tokens: int) -> bool:
        if self.max_cost is not None and self.spent_usd + self._reserved_usd + usd > self.max_cost:
            return False
        return self.max_tokens is None or self.spent_tokens + self._reserved_tokens + tokens <= self.max_tokens

    async def reserve(self, usd: float, tokens: int) -> bool:
        """Hold room for one call; False once the budget is reached (the call must not start)."""
        if not self.limited:
            return True
        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            while not self.reached and not self._fits(usd, tokens):
                if self._in_flight == 0:
                    self.reached = True
                    break
                await self._changed.wait()
            if self.reached:
                return False
            self._reserved_usd += usd
            self._reserved_tokens += tokens
            self._in_flight += 1
            return True

    def try_reserve(self, usd: float, tokens: int, waiting_possible: bool) -> bool:
        """Hold room for one call without waiting (batch submission); False when it does not fit now.
        With nothing in flight and nothing else to wait for, that is the budget reached."""
        if not self.limited:
            return True
        if self.reached or not self._fits(usd, tokens):
            if self._in_flight == 0 and not waiting_possible:
                self.reached = True
            return False
        self._reserved_usd += usd
        self._reserved_tokens += tokens
        self._in_flight += 1
        return True

    async def settle(self, reserved_usd: float, reserved_tokens: int, usd: float, tokens: int) -> None:
        """Replace a call's reservation by what it actually cost (0 for a call that failed)."""
        self.spent_usd += usd
        self.spent_tokens += tokens
        if not self.limited:
            return
        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            self._reserved_usd -= reserved_usd
            self._reserved_tokens -= reserved_tokens
            self._in_flight -= 1
            self._changed.notify_all()

    def as_dict(self) -> dict[str, object]:
        return {"max_cost_usd": self.max_cost, "max_tokens_total": self.max_tokens,
                "spent_usd": round(self.spent_usd, 6), "spent_tokens": self.spent_tokens, "reached": self.reached}


@dataclass
class Reservation:
    usd: float
    tokens: int


class CostMeter:
    """One model's spend at one price, and its calls' reservations against the run's budget.

    A reservation is the request's upper bound (estimated prompt + ``max_tokens``) scaled by the largest
    actual/upper-bound ratio seen so far, so it tracks what calls really cost once a few have finished;
    before the first has, one call probes alone (see ``_estimate``).
    """

    def __init__(self, price: Price | None, budget: Budget | None = None, batch: bool = False) -> None:
        self.price = price
        self.budget = budget or Budget()
        self.batch = batch
        self.spend = Spend(cost_usd=0.0 if price is not None else None)
        self._ratio_usd = 0.0
        self._ratio_tokens = 0.0

    def cost(self, usage: Usage, batch: bool | None = None) -> float | None:
        if self.price is None:
            return None
        return self.price.cost(usage, batch=self.batch if batch is None else batch)

    def upper_bound(self, request: Request) -> tuple[float, int]:
        prompt, completion = estimate_tokens(request)
        usd = self.cost(Usage(prompt, completion)) or 0.0
        return usd, prompt + completion

    def _estimate(self, request: Request) -> Reservation:
        usd, tokens = self.upper_bound(request)
        if self.spend.requests:
            return Reservation(usd * self._ratio_usd, math.ceil(tokens * self._ratio_tokens))
        # nothing observed yet, and the upper bound (max_tokens) may be far above a real reply: a first
        # call probes alone, holding what is left of the budget (at most its bound) until it settles
        left_usd, left_tokens = self.budget.left()
        return Reservation(min(usd, left_usd) if left_usd > 0 else usd,
                           min(tokens, left_tokens) if left_tokens > 0 else tokens)

    def reserve_now(self, request: Request, waiting_possible: bool) -> Reservation | None:
        """Room for one batched call at its upper bound, without waiting; None when it does not fit now."""
        usd, tokens = self.upper_bound(request)
        if self.spend.requests:
            usd, tokens = usd * self._ratio_usd, math.ceil(tokens * self._ratio_tokens)
        held = Reservation(usd, tokens)
        return held if self.budget.try_reserve(held.usd, held.tokens, waiting_possible) else None

    async def reserve(self, request: Request) -> Reservation | None:
        """Room for one call of ``request``, or None when the budget is reached."""
        held = self._estimate(request)
        return held if await self.budget.reserve(held.usd, held.tokens) else None

    async def settle(self, request: Request, held: Reservation | None, usage: Usage | None,
                     batch: bool | None = None) -> float | None:
        """Charge a finished call (``usage`` None: it failed and cost nothing); returns its cost."""
        cost = 0.0
        tokens = 0
        if usage is not None:
            cost_or_none = self.cost(usage, batch)
            self.spend.add(usage, cost_or_none)
            cost = cost_or_none or 0.0
            tokens = usage.prompt_tokens + usage.completion_tokens
            bound_usd, bound_tokens = self.upper_bound(request)
            if bound_usd > 0:
                self._ratio_usd = max(self._ratio_usd, cost / bound_usd)
            if bound_tokens > 0:
                self._ratio_tokens = max(self._ratio_tokens, tokens / bound_tokens)
        if held is None:  # never reserved (answered by a batch an earlier run submitted): only charged
            self.budget.spent_usd += cost
            self.budget.spent_tokens += tokens
        else:
            await self.budget.settle(held.usd, held.tokens, cost, tokens)
        return cost_or_none if usage is not None else 0.0

    def projected_usd(self, remaining: int) -> float | None:
        """Spent so far plus the mean cost of a paid call for each request still to answer."""
        spent = self.spend.cost_usd
        if spent is None:
            return None
        if self.spend.requests == 0:
            return spent
        return spent + spent / self.spend.requests * remaining
