"""Cost accounting and budgets, end to end against the real local OpenAI-protocol server.

Expected costs are computed here from what the server says it answered (its request log: prompt
tokens are whitespace words, the reply is its fixed text) and the published per-1M-token formula —
never from evalkit's own numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.errors import ConfigError
from evalkit.execution.pricing import load_prices, read_prices
from evalkit.report.html import build_report
from evalkit.types import Usage

REPLY = "The answer is 42."  # the fake server's default reply: 4 completion tokens
PRICES = {"input": 2.0, "cached_input": 0.5, "output": 8.0, "batch_discount": 0.5}


def _price_file(tmp_path: Path, **models: dict) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(json.dumps({"source": "test", "as_of": "2026-01-01", "models": models}))  # JSON is YAML
    return path


def _expected(bodies: list[dict], cached: int = 0) -> list[float]:
    """Per-request USD by hand: (uncached prompt × input + cached × cached_input + reply × output) / 1e6."""
    costs = []
    for body in bodies:
        prompt = sum(len(m["content"].split()) for m in body["messages"])
        hit = min(cached, prompt)
        costs.append(((prompt - hit) * PRICES["input"] + hit * PRICES["cached_input"]
                      + len(REPLY.split()) * PRICES["output"]) / 1e6)
    return costs


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _args(server, data_dir: Path, out: Path, limit: int, model: str = "acme-1") -> list[str]:
    return ["run", "--model", f"openai:{model}", "--base-url", server.base_url, "--benchmark", "gsm8k",
            "--limit", str(limit), "--data-dir", str(data_dir), "--out", str(out), "-q"]


def test_price_formula_cached_reasoning_and_batch(tmp_path):
    models, _ = read_prices(Path(__file__).parents[1] / "evalkit" / "execution" / "prices.yaml")
    price = models["gpt-4o-mini"]
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, cached_prompt_tokens=400_000)
    # 0.6M uncached input at $0.15 + 0.4M cached at $0.075 + 1M output at $0.60
    assert price.cost(usage) == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.60)
    assert price.cost(usage, batch=True) == pytest.approx((0.6 * 0.15 + 0.4 * 0.075 + 0.60) / 2)
    assert price.cost(Usage(0, 1_000_000, reasoning_tokens=250_000)) == pytest.approx(0.60)  # billed as output
    dear = read_prices(_price_file(tmp_path, r={"input": 0, "output": 1, "reasoning": 3}))[0]["r"]
    assert dear.cost(Usage(0, 1_000_000, reasoning_tokens=250_000)) == pytest.approx(0.75 * 1 + 0.25 * 3)


def test_cost_per_request_from_usage_in_manifest_and_table(tmp_path, data_dir, fake_server):
    server = fake_server("--cached-tokens", "3")
    prices = _price_file(tmp_path, **{"acme-1": PRICES})
    proc = run_cli(*_args(server, data_dir, tmp_path / "a", 30), "--pricing", str(prices))
    assert proc.returncode == 0, proc.stderr
    expected = sum(_expected(server.bodies(), cached=3))
    cost = _manifest(tmp_path / "a")["cost"]
    assert cost["models"]["openai:acme-1"]["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert cost["benchmarks"]["gsm8k"]["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert cost["models"]["openai:acme-1"]["cached_prompt_tokens"] == 3 * 30
    assert cost["total_usd"] == pytest.approx(expected, abs=1e-6) and cost["judges"] == {}
    assert f"${expected:.4f}" in proc.stdout  # the results table's cost column and total

    # the price file can come from the environment too; answers from the cache cost nothing
    again = run_cli(*_args(server, data_dir, tmp_path / "b", 30), "--label", "cached",
                    env={"EVALKIT_PRICING": str(prices)})
    assert again.returncode == 0, again.stderr
    assert _manifest(tmp_path / "b")["cost"]["total_usd"] == 0.0 and server.stats()["completed"] == 30

    # the HTML report's leaderboard has a cost column: what each run paid
    build_report([tmp_path / "a", tmp_path / "b"], tmp_path / "report.html", n_bootstrap=0)
    html = (tmp_path / "report.html").read_text()
    assert "USD paid" in html
    assert re.findall(r'<td class="cost num" data-sort="[^"]*">([^<]*)</td>', html) == [f"${expected:.4f}", "$0.0000"]


def test_unknown_price_reports_tokens_only_said_once(tmp_path, data_dir, fake_server):
    server = fake_server()
    proc = run_cli(*_args(server, data_dir, tmp_path / "a", 12, model="no-such-model"), "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("no price for 'no-such-model'") == 1
    spend = _manifest(tmp_path / "a")["cost"]["models"]["openai:no-such-model"]
    assert spend["cost_usd"] is None and spend["price_per_1m_tokens"] is None
    prompt = sum(len(m["content"].split()) for b in server.bodies() for m in b["messages"])
    assert spend["prompt_tokens"] == prompt and spend["completion_tokens"] == 12 * len(REPLY.split())
    assert "tok" in proc.stdout and "$" not in proc.stdout


@pytest.mark.parametrize("entry, message", [
    ({"input": 1, "output": 2, "ouput": 3}, "unknown key 'ouput'"),
    ({"input": -1, "output": 2}, "input must not be negative"),
    ({"input": "cheap", "output": 2}, "input must be a number"),
    ({"output": 2}, "input is required"),
    ({"input": 1, "output": 2, "batch_discount": 1.5}, "batch_discount is a share below 1"),
])
def test_bad_price_entry_names_file_model_and_key(tmp_path, entry, message):
    prices = _price_file(tmp_path, **{"acme-1": entry})
    with pytest.raises(ConfigError, match=message) as caught:
        load_prices(prices)
    assert str(prices) in str(caught.value) and "acme-1" in str(caught.value)


def test_bad_price_file_is_one_line_exit_2_before_any_call(tmp_path, data_dir, fake_server):
    server = fake_server()
    prices = _price_file(tmp_path, **{"acme-1": {"input": -1, "output": 2}})
    for extra, env in ((["--pricing", str(prices)], None), ([], {"EVALKIT_PRICING": str(prices)})):
        proc = run_cli(*_args(server, data_dir, tmp_path / "a", 5), *extra, env=env)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "must not be negative" in lines[0] and str(prices) in lines[0]
    assert server.stats()["requests"] == 0


def test_unknown_top_level_key_and_override_keeps_shipped(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("modles: {}\n")
    with pytest.raises(ConfigError, match="models"):
        load_prices(bad)
    table = load_prices(_price_file(tmp_path, **{"gpt-4o-mini": PRICES}))
    assert table.price("gpt-4o-mini").input == 2.0 and table.price("gpt-4o") is not None
    assert table.price("gpt-4o-2099-01-01") is None  # never guessed from a similar name


def test_max_cost_refuses_stops_and_resumes_paying_nothing_twice(tmp_path, data_dir, fake_server):
    prices = _price_file(tmp_path, **{"acme-1": PRICES})
    n = 60
    # the unbudgeted reference, on its own server
    ref_server = fake_server()
    ref = run_cli(*_args(ref_server, data_dir, tmp_path / "ref", n), "--pricing", str(prices), "--no-cache")
    assert ref.returncode == 0, ref.stderr
    reference = _manifest(tmp_path / "ref")["cost"]["total_usd"]
    per_request = _expected(ref_server.bodies())
    assert reference == pytest.approx(sum(per_request), abs=1e-6)

    server = fake_server()
    out = tmp_path / "run"
    budget = reference / 3
    args = [*_args(server, data_dir, out, n), "--pricing", str(prices), "--no-cache", "--concurrency", "8"]
    refused = run_cli(*args, "--max-cost", f"{budget}")
    assert refused.returncode == 2 and "--force" in refused.stderr and "estimated cost of 60 requests" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and server.stats()["requests"] == 0

    stopped = run_cli(*args, "--max-cost", f"{budget}", "--force")
    assert stopped.returncode == 3, stopped.stderr
    assert "budget reached" in stopped.stderr and "resume" in stopped.stderr
    manifest = _manifest(out)
    assert manifest["status"] == "budget_reached"
    spent = manifest["cost"]["budget"]["spent_usd"]
    answered = server.stats()["completed"]
    assert 0 < answered < n
    assert spent == pytest.approx(sum(_expected(server.bodies())), abs=1e-6)  # every answered call is charged
    assert spent <= budget + 1e-9 and budget - spent < max(per_request)  # within one request's cost

    resumed = run_cli(*args, "--max-cost", f"{reference * 2}", "--force")
    assert resumed.returncode == 0, resumed.stderr
    assert server.stats()["completed"] == n  # nothing asked twice
    final = _manifest(out)
    assert final["status"] == "complete"
    assert final["cost"]["budget"]["spent_usd"] == pytest.approx(reference, abs=1e-6)
    assert final["cost"]["total_usd"] == pytest.approx(reference - spent, abs=1e-6)  # this invocation's share


def test_max_tokens_total_stops_and_needs_a_price_for_max_cost(tmp_path, data_dir, fake_server):
    server = fake_server()
    out = tmp_path / "run"
    proc = run_cli(*_args(server, data_dir, out, 40, model="no-such-model"), "--no-cache",
                   "--max-tokens-total", "1500", "--force")
    assert proc.returncode == 3, proc.stderr
    budget = _manifest(out)["cost"]["budget"]
    assert budget["reached"] and budget["spent_tokens"] <= 1500
    paid = sum(len(m["content"].split()) for b in server.bodies() for m in b["messages"])
    assert budget["spent_tokens"] == paid + len(server.bodies()) * len(REPLY.split())

    unpriced = run_cli(*_args(server, data_dir, tmp_path / "b", 5, model="no-such-model"), "--max-cost", "1")
    assert unpriced.returncode == 2 and "--max-cost needs a price for 'no-such-model'" in unpriced.stderr


def test_judges_are_charged_apart_from_the_model(tmp_path, data_dir, fake_server):
    rows = json.loads((data_dir / "alpaca_eval/results/claude-2.1/model_outputs.json").read_text())
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": f"alpaca_eval-{i}", "output": r["output"]}) + "\n"
                             for i, r in enumerate(rows)))
    server = fake_server()  # replies "The answer is 42.": no verdict, so each pair is asked once more
    prices = _price_file(tmp_path, **{"acme-judge": PRICES})
    proc = run_cli("run", "--model", f"predictions:{preds}", "--benchmark", "alpaca_eval", "--data-dir", str(data_dir),
                   "--limit", "8", "--judge", "openai:acme-judge", "--judge-base-url", server.base_url, "--pricing",
                   str(prices), "--out", str(tmp_path / "r"), "--no-cache", "-q", "--max-error-rate", "1")
    assert proc.returncode in (0, 1), proc.stderr
    cost = _manifest(tmp_path / "r")["cost"]
    expected = sum(_expected(server.bodies()))
    assert len(server.bodies()) == 16
    assert cost["judges"]["openai:acme-judge"]["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert cost["judges"]["openai:acme-judge"]["requests"] == 16
    assert "openai:acme-judge" not in cost["models"]
    assert cost["total_usd"] == pytest.approx(expected, abs=1e-6)

    # the judges share the run's budget: a stop while judging is recorded like any other
    stopped = run_cli("run", "--model", f"predictions:{preds}", "--benchmark", "alpaca_eval", "--data-dir",
                      str(data_dir), "--limit", "8", "--judge", "openai:acme-judge", "--judge-base-url", server.base_url,
                      "--pricing", str(prices), "--out", str(tmp_path / "s"), "--no-cache", "-q",
                      "--max-cost", f"{expected / 4}", "--force")
    assert stopped.returncode == 3, stopped.stderr
    manifest = _manifest(tmp_path / "s")
    assert manifest["status"] == "budget_reached"
    assert manifest["cost"]["judges"]["openai:acme-judge"]["cost_usd"] <= expected / 4 + 1e-9
