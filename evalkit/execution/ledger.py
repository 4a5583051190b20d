"""A run's cost accounting in one place: the price list, the shared budget, one meter per model, the
pre-start estimate, and the manifest's ``cost`` section (per model, per benchmark, judges apart)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evalkit.backends.base import Backend
from evalkit.errors import ConfigError
from evalkit.execution.cost import Budget, CostMeter, Spend
from evalkit.execution.pricing import PriceTable
from evalkit.execution.store import ResponseStore
from evalkit.types import Request, request_key


class CostLedger:
    def __init__(self, prices: PriceTable, budget: Budget, batch: bool = False) -> None:
        self.prices = prices
        self.budget = budget
        self.batch = batch
        self.meters: dict[str, CostMeter] = {}  # by backend name
        self.roles: dict[str, str] = {}  # backend name → "model" | "judge"
        self.billed: set[str] = set()  # backends with a per-token price (known or not); local ones have none
        self.benchmarks: dict[str, Spend] = {}
        self.unpriced: list[str] = []  # billed models the price list lacks: reported in tokens only

    def meter_for(self, backend: Backend, role: str = "model") -> CostMeter:
        """The backend's meter (one per model for the whole run); says once when it has no price."""
        meter = self.meters.get(backend.name)
        if meter is None:
            price = self.prices.price(backend.billing_model)
            if price is None and backend.billing_model is not None:
                if self.budget.max_cost is not None:
                    raise ConfigError(f"--max-cost needs a price for {backend.billing_model!r}, which the price list "
                                      "lacks: add it with --pricing FILE (see docs/cost.md)")
                self.unpriced.append(backend.billing_model)  # said once, with the results (cli/run.py)
            meter = self.meters[backend.name] = CostMeter(price, self.budget, batch=self.batch)
            self.roles[backend.name] = role
            if backend.billing_model is not None:
                self.billed.add(backend.name)
        return meter

    def check_start(self, backend: Backend, requests: Iterable[Request], journal: ResponseStore,
                    cache: ResponseStore | None, force: bool) -> dict[str, Any] | None:
        """Estimate what the requests not yet answered will cost; refuse (ConfigError) past the budget
        unless ``force``. Returns the estimate for the manifest (None without a budget)."""
        if not self.budget.limited:
            return None
        meter = self.meter_for(backend)
        by_key = {request_key(backend.identity, r): r for r in requests}
        known = set(journal.get_many(list(by_key)))
        if cache is not None:
            known |= set(cache.get_many([k for k in by_key if k not in known]))
        usd = tokens = 0.0
        for key, request in by_key.items():
            if key not in known:
                bound_usd, bound_tokens = meter.upper_bound(request)
                usd += bound_usd
                tokens += bound_tokens
        budget = self.budget
        total_usd, total_tokens = budget.spent_usd + usd, budget.spent_tokens + int(tokens)
        estimate = {"requests": len(by_key) - len(known), "usd": round(total_usd, 6), "tokens": total_tokens,
                    "already_spent_usd": round(budget.spent_usd, 6), "already_spent_tokens": budget.spent_tokens}
        over = []
        if budget.max_cost is not None and total_usd > budget.max_cost:
            over.append(f"${total_usd:.4f} > --max-cost {budget.max_cost:g}")
        if budget.max_tokens is not None and total_tokens > budget.max_tokens:
            over.append(f"{total_tokens:,} tokens > --max-tokens-total {budget.max_tokens}")
        if over and not force:
            raise ConfigError(f"estimated cost of {estimate['requests']} requests (prompts at ~4 characters a token, "
                              f"replies at max_tokens) is past the budget: {'; '.join(over)} — raise the budget, "
                              "or pass --force to start anyway and stop at the budget")
        return estimate

    def add_benchmark(self, name: str, costs: Iterable[tuple[Any, float | None]]) -> None:
        """Charge a benchmark with its paid calls: (usage, cost) pairs, cost None when unpriced."""
        spend = self.benchmarks.setdefault(name, Spend())
        for usage, cost in costs:
            spend.add(usage, cost)

    def summary(self) -> dict[str, Any]:
        """The manifest's ``cost`` section."""
        def section(role: str) -> dict[str, Any]:
            return {name: {**m.spend.as_dict(), "price_per_1m_tokens": m.price.as_dict() if m.price else None}
                    for name, m in self.meters.items() if self.roles.get(name) == role}

        known = [m.spend.cost_usd for name, m in self.meters.items() if name in self.billed]
        return {
            "currency": "USD", "prices_from": list(self.prices.sources), "batch": self.batch,
            "billed": sorted(self.billed),  # backends charged per token (local models are not)
            "unpriced": list(self.unpriced),
            # this invocation's calls; "budget.spent_usd" adds what earlier ones on the same run directory paid
            "total_usd": None if not known or any(c is None for c in known) else round(sum(c or 0.0 for c in known), 6),
            "models": section("model"), "judges": section("judge"),
            "benchmarks": {name: spend.as_dict() for name, spend in self.benchmarks.items()},
            "budget": self.budget.as_dict(),
        }
