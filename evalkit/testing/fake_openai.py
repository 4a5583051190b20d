"""A real HTTP server on 127.0.0.1 speaking the OpenAI protocol, with injectable faults.

Used by evalkit's tests and ``bench/`` scripts (needs ``aiohttp``, from ``evalkit[test]``)::

    python -m evalkit.testing.fake_openai --port 0 --latency 0.2 --fault-rate 0.1 --faults 429,500

It prints ``READY <port>`` once listening. ``--rpm``/``--tpm`` add a token-bucket rate limit (429 with
Retry-After); ``/v1/files`` and ``/v1/batches`` implement OpenAI's batch API (``--batch-*`` faults). ``GET /stats`` returns request counts so tests can
prove that a re-run made zero model calls; ``GET /arrivals`` the arrival time of each request. What the "model" says comes from a responder:
``--answers FILE`` (JSONL of ``{"match": substring, "output": text}``, or ``"outputs": [texts]``
picked by the request's seed, or ``"tool_calls": [{"name", "arguments"}]`` for a reply that calls tools) or ``--responder
module:function`` (called with the request JSON, returns text); otherwise a fixed reply.
An answers entry may also carry ``"reasoning"`` (returned as the message's ``reasoning_content``, as vLLM
and DeepSeek do, and counted in ``usage.completion_tokens_details.reasoning_tokens``) and
``"finish_reason"`` (e.g. ``"length"``); a responder may return such a dict (``content``, ``reasoning``,
``finish_reason``) instead of text.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import random
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

# text, or {"content": text | None, "tool_calls": [{"name", "arguments"}], "reasoning": text, "finish_reason"}
Reply = str | dict[str, Any]
Responder = Callable[[dict[str, Any]], Reply]
FAULTS = ("429", "500", "503", "hang", "drop", "malformed")


def answers_responder(path: str, default: str) -> Responder:
    """Reply with the output of the first entry whose ``match`` occurs in the last message."""
    entries = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]

    def respond(body: dict[str, Any]) -> Reply:
        text = _last_text(body)
        for entry in entries:
            if entry["match"] in text:
                if "tool_calls" in entry:
                    return {"content": entry.get("output"), "tool_calls": entry["tool_calls"]}
                outputs = entry.get("outputs")
                if outputs:  # one answer per sampling seed (pass@k: replica i is sent seed + i)
                    content = str(outputs[int(body.get("seed") or 0) % len(outputs)])
                else:
                    content = str(entry["output"])
                if "reasoning" in entry or "finish_reason" in entry:
                    return {"content": content, "reasoning": entry.get("reasoning"),
                            "finish_reason": entry.get("finish_reason", "stop")}
                return content
        return default

    return respond


def _last_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        content = body["messages"][-1].get("content", "")
        return content if isinstance(content, str) else json.dumps(content)
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else str(prompt[0])


def _load_responder(spec: str) -> Responder:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


class TokenBucket:
    """A provider-style rate limit: ``per_minute`` units refill continuously into a bucket holding
    ``burst_seconds`` worth of them; a request that finds too few is refused with the wait it needs."""

    def __init__(self, per_minute: float, burst_seconds: float = 1.0) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def take(self, amount: float) -> float:
        """Take ``amount`` units: 0.0 when granted, else the seconds until it would be."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        amount = min(amount, self.capacity)  # a request larger than the bucket waits for a full one
        if self.level >= amount:
            self.level -= amount
            return 0.0
        return (amount - self.level) / self.rate


class RateLimits:
    """Requests/min and tokens/min buckets (tokens: prompt words + max_tokens, as providers count the
    reply's ceiling); a request over either is answered 429 with Retry-After."""

    def __init__(self, rpm: float | None, tpm: float | None, burst_seconds: float) -> None:
        self.requests = TokenBucket(rpm, burst_seconds) if rpm else None
        self.tokens = TokenBucket(tpm, burst_seconds) if tpm else None

    def check(self, body: dict[str, Any]) -> web.Response | None:
        wait = self.requests.take(1) if self.requests is not None else 0.0
        if not wait and self.tokens is not None:
            wait = self.tokens.take(len(_last_text(body).split()) + int(body.get("max_tokens") or 16))
            if wait and self.requests is not None:
                self.requests.level += 1  # refused: the request slot is not spent
        if not wait:
            return None
        return web.json_response({"error": {"message": "rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
                                 status=429, headers={"Retry-After": f"{wait:.3f}"})


class FakeOpenAI:
    def __init__(self, responder: Responder, latency: float, fault_rate: float, faults: list[str],
                 seed: int, retry_after: float, limits: RateLimits | None = None, cached_tokens: int = 0) -> None:
        self.limits = limits
        self.cached_tokens = cached_tokens  # reported as usage.prompt_tokens_details.cached_tokens
        self.responder = responder
        self.latency = latency
        self.fault_rate = fault_rate
        self.faults = faults
        self.rng = random.Random(seed)
        self.retry_after = retry_after
        self.stats = _fresh_stats()
        self.log: list[dict[str, Any]] = []  # every answered request body, for tests that check what was asked
        self.arrivals: list[float] = []  # when each request arrived (time.time()), for rate-limit checks

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/completions", self.completions)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/stats", self.get_stats)
        app.router.add_post("/stats/reset", self.reset_stats)
        app.router.add_get("/log", self.get_log)
        app.router.add_get("/arrivals", self.get_arrivals)
        return app

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats)

    async def get_log(self, request: web.Request) -> web.Response:
        return web.json_response(self.log)

    async def get_arrivals(self, request: web.Request) -> web.Response:
        return web.json_response(self.arrivals)

    async def reset_stats(self, request: web.Request) -> web.Response:
        self.stats = _fresh_stats()
        self.arrivals = []
        return web.json_response(self.stats)

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    async def _fault(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse | None:
        self.stats["requests"] += 1
        self.arrivals.append(time.time())
        refused = self.limits.check(body) if self.limits is not None else None
        if refused is not None:
            self.stats["rate_limited"] += 1
            return refused
        if not self.faults or self.rng.random() >= self.fault_rate:
            return None
        self.stats["faults"] += 1
        fault = self.rng.choice(self.faults)
        if fault == "429":
            return web.json_response({"error": {"message": "rate limited", "type": "rate_limit"}}, status=429,
                                     headers={"Retry-After": f"{self.retry_after:g}"})
        if fault in ("500", "503"):
            return web.json_response({"error": {"message": "server error"}}, status=int(fault))
        if fault == "hang":
            await asyncio.sleep(3600)
        if fault == "drop":
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        # malformed: a 200 whose JSON body is cut short
        return web.Response(body=b'{"id": "x", "choices": [{"index": 0, "mess', content_type="application/json")

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        fault = await self._fault(request, body)
        if fault is not None:
            return fault
        await asyncio.sleep(self.latency)
        message, finish = chat_message(self.responder(body))
        self.stats["completed"] += 1
        self.log.append(body)
        return web.json_response(self.chat_body(body, message, finish))

    def chat_body(self, body: dict[str, Any], message: dict[str, Any], finish: str) -> dict[str, Any]:
        """A chat.completion object; tokens are whitespace words (``--cached-tokens`` of the prompt's are
        cached; a ``reasoning_content`` counts as reasoning tokens inside completion_tokens)."""
        text = message.get("content") or ""
        thinking = len(message.get("reasoning_content", "").split())
        completion = len(text.split()) + thinking
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                                 "total_tokens": prompt_tokens + completion,
                                 "completion_tokens_details": {"reasoning_tokens": thinking}}
        if self.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": min(self.cached_tokens, prompt_tokens)}
        return {
            "id": f"chatcmpl-{self.stats['completed']}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        fault = await self._fault(request, body)
        if fault is not None:
            return fault
        await asyncio.sleep(self.latency)
        self.stats["completed"] += 1
        return web.json_response(self.completion_body(body))

    def completion_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A text_completion object (with echoed prompt log-probabilities when asked for them)."""
        prompt = _last_text(body)
        reply = self.responder(body)
        text = reply if isinstance(reply, str) else str(reply.get("content") or "")
        finish = "stop" if isinstance(reply, str) else reply.get("finish_reason", "stop")
        choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        if body.get("echo") and body.get("logprobs") is not None:
            choice["text"] = prompt + " ."
            choice["logprobs"] = _word_logprobs(prompt + " .")
        return {
            "id": f"cmpl-{self.stats['completed']}", "object": "text_completion", "created": int(time.time()),
            "model": body.get("model", "fake"), "choices": [choice],
            "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": 1, "total_tokens": len(prompt.split()) + 1},
        }

    def answer_line(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """The response body a batch line gets (chat or text completion)."""
        if url.endswith("/chat/completions"):
            message, finish = chat_message(self.responder(body))
            return self.chat_body(body, message, finish)
        return self.completion_body(body)


def _fresh_stats() -> dict[str, int]:
    return {"requests": 0, "completed": 0, "faults": 0, "rate_limited": 0,
            "files_uploaded": 0, "batches_created": 0, "batch_lines_answered": 0, "batch_retrievals": 0}


class FakeBatches:
    """OpenAI's Files and Batches endpoints: upload a JSONL input file, create a batch on it, retrieve it
    (it completes ``delay`` seconds after creation), download its output and error files.

    Faults: each line fails (HTTP 500 in the error file) with probability ``line_fail_rate`` and is left
    unfinished with probability ``expire_rate`` (the batch then ends ``expired``, those lines in the error
    file as ``batch_expired``); the first ``fail_batches`` batches created fail as a whole."""

    def __init__(self, fake: FakeOpenAI, delay: float, line_fail_rate: float, expire_rate: float,
                 fail_batches: int, seed: int) -> None:
        self.fake = fake
        self.delay = delay
        self.line_fail_rate = line_fail_rate
        self.expire_rate = expire_rate
        self.fail_batches = fail_batches
        self.rng = random.Random(seed + 1)
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self.upload)
        app.router.add_get("/v1/files/{file_id}/content", self.content)
        app.router.add_post("/v1/batches", self.create)
        app.router.add_get("/v1/batches/{batch_id}", self.retrieve)

    def _store(self, data: bytes, purpose: str, name: str) -> dict[str, Any]:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = data
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                "filename": name, "purpose": purpose, "status": "processed"}

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField) or form.get("purpose") != "batch":
            return web.json_response({"error": {"message": "expected a file and purpose=batch"}}, status=400)
        self.fake.stats["files_uploaded"] += 1
        return web.json_response(self._store(upload.file.read(), "batch", upload.filename))

    async def content(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["file_id"])
        if data is None:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("input_file_id") not in self.files or body.get("completion_window") != "24h":
            return web.json_response({"error": {"message": "unknown input_file_id or completion_window"}}, status=400)
        self.fake.stats["batches_created"] += 1
        batch_id = f"batch_{len(self.batches) + 1}"
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
            "input_file_id": body["input_file_id"], "completion_window": "24h", "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": int(time.time()),
            "metadata": body.get("metadata"), "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "_ready_at": time.monotonic() + self.delay, "_fails": len(self.batches) < self.fail_batches,
        }
        return web.json_response(self._public(self.batches[batch_id]))

    @staticmethod
    def _public(batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if not k.startswith("_")}

    async def retrieve(self, request: web.Request) -> web.Response:
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        self.fake.stats["batch_retrievals"] += 1
        if batch["status"] in ("validating", "in_progress"):
            if time.monotonic() < batch["_ready_at"]:
                batch["status"] = "in_progress"
            else:
                self._finish(batch)
        return web.json_response(self._public(batch))

    def _finish(self, batch: dict[str, Any]) -> None:
        if batch["_fails"]:
            batch.update(status="failed", errors={"object": "list", "data": [
                {"code": "invalid_request", "message": "the batch failed as a whole (injected)", "line": None}]})
            return
        outputs, errors, expired = [], [], 0
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].splitlines() if line.strip()]
        for number, line in enumerate(lines):
            record: dict[str, Any] = {"id": f"batch_req_{batch['id']}_{number}", "custom_id": line["custom_id"]}
            if self.rng.random() < self.expire_rate:
                expired += 1
                errors.append({**record, "response": None,
                               "error": {"code": "batch_expired", "message": "not completed in the window"}})
            elif self.rng.random() < self.line_fail_rate:
                errors.append({**record, "error": None, "response": {
                    "status_code": 500, "request_id": record["id"], "body": {"error": {"message": "server error"}}}})
            else:
                self.fake.stats["batch_lines_answered"] += 1
                outputs.append({**record, "error": None, "response": {
                    "status_code": 200, "request_id": record["id"], "body": self.fake.answer_line(line["url"], line["body"])}})
        encode = "".join(json.dumps(r) + "\n" for r in outputs).encode()
        batch["output_file_id"] = self._store(encode, "batch_output", "output.jsonl")["id"] if outputs else None
        if errors:
            batch["error_file_id"] = self._store("".join(json.dumps(r) + "\n" for r in errors).encode(),
                                                 "batch_output", "errors.jsonl")["id"]
        batch["status"] = "expired" if expired else "completed"
        batch["request_counts"] = {"total": len(lines), "completed": len(outputs), "failed": len(errors) - expired}


def chat_message(reply: Reply) -> tuple[dict[str, Any], str]:
    """A responder's reply as an assistant message and its finish reason; scripted tool calls get the
    OpenAI shape (ids, ``type: function``, arguments as a JSON string unless the script gives a string)."""
    if isinstance(reply, str):
        return {"role": "assistant", "content": reply}, "stop"
    calls = [{"id": f"call_{i}", "type": "function",
              "function": {"name": call["name"], "arguments": call["arguments"] if isinstance(call["arguments"], str)
                           else json.dumps(call["arguments"])}}
             for i, call in enumerate(reply.get("tool_calls") or [])]
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if calls:
        message["tool_calls"] = calls
    if reply.get("reasoning") is not None:  # as vLLM and DeepSeek return a reasoning model's thinking
        message["reasoning_content"] = reply["reasoning"]
    return message, reply.get("finish_reason") or ("tool_calls" if calls else "stop")


def _word_logprobs(text: str) -> dict[str, Any]:
    """Deterministic pseudo-logprobs: each whitespace-led word costs -len(word)/10 nats."""
    tokens, offsets, logprobs = [], [], []
    for match in re.finditer(r"\s*\S+", text):
        tokens.append(match.group())
        offsets.append(match.start())
        logprobs.append(-len(match.group().strip()) / 10)
    logprobs[0] = None  # type: ignore[call-overload]  # as real servers: no logprob for the first token
    top = [None] + [{t: lp} for t, lp in zip(tokens[1:], logprobs[1:])]
    return {"tokens": tokens, "token_logprobs": logprobs, "text_offset": offsets, "top_logprobs": top}


async def serve(args: argparse.Namespace) -> None:
    if args.responder:
        responder = _load_responder(args.responder)
    elif args.answers:
        responder = answers_responder(args.answers, args.default_reply)
    else:
        responder = lambda body: args.default_reply  # noqa: E731
    faults = [f for f in args.faults.split(",") if f] if args.faults else []
    for fault in faults:
        if fault not in FAULTS:
            sys.exit(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
    limits = RateLimits(args.rpm, args.tpm, args.burst_seconds) if args.rpm or args.tpm else None
    fake = FakeOpenAI(responder, args.latency, args.fault_rate, faults, args.seed, args.retry_after, limits,
                      args.cached_tokens)
    app = fake.app()
    FakeBatches(fake, args.batch_delay, args.batch_line_fail_rate, args.batch_expire_rate, args.batch_fail_first,
                args.seed).add_routes(app)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY {port}", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default="")
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--answers")
    parser.add_argument("--responder")
    parser.add_argument("--default-reply", default="The answer is 42.")
    parser.add_argument("--rpm", type=float, help="answer 429 past this many requests per minute (token bucket)")
    parser.add_argument("--tpm", type=float, help="answer 429 past this many tokens per minute (prompt + max_tokens)")
    parser.add_argument("--burst-seconds", type=float, default=1.0, help="bucket size, in seconds of the rate")
    parser.add_argument("--cached-tokens", type=int, default=0, help="report this many prompt tokens as cached")
    parser.add_argument("--batch-delay", type=float, default=0.5, help="seconds from batch creation to completion")
    parser.add_argument("--batch-line-fail-rate", type=float, default=0.0, help="share of batch lines answered HTTP 500")
    parser.add_argument("--batch-expire-rate", type=float, default=0.0, help="share of batch lines left unfinished (expired)")
    parser.add_argument("--batch-fail-first", type=int, default=0, help="the first N batches created fail as a whole")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
