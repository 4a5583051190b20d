from __future__ import annotations

import subprocess
import sys

from evalkit.execution.store import ResponseStore
from evalkit.types import GenerateRequest, GenerateResult, LoglikelihoodResult, Usage, request_key


def test_roundtrip_and_persistence_across_processes(tmp_path):
    path = tmp_path / "s.sqlite"
    store = ResponseStore(path)
    store.put("a", "b", GenerateResult("hi", "stop", Usage(3, 1)))
    store.put("c", "b", LoglikelihoodResult(-1.5, True, 2))
    code = (
        "import sys; from pathlib import Path; from evalkit.execution.store import ResponseStore;"
        f"s = ResponseStore(Path({str(path)!r})); print(s.get('a').text, s.get('c').logprob, len(s))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["hi", "-1.5", "2"]
    assert store.get_many(["a", "zz"]).keys() == {"a"}


def test_request_key_covers_every_parameter():
    base = GenerateRequest(messages=(("user", "q"),), max_tokens=10)
    keys = {request_key("x", base), request_key("y", base),
            request_key("x", GenerateRequest(messages=(("user", "q"),), max_tokens=11)),
            request_key("x", GenerateRequest(messages=(("user", "q"),), max_tokens=10, temperature=0.5)),
            request_key("x", GenerateRequest(messages=(("user", "q"),), max_tokens=10, replica=1))}
    assert len(keys) == 5
    assert request_key("x", base) == request_key("x", GenerateRequest(messages=(("user", "q"),), max_tokens=10))


def test_interval_of_unit_scores_stays_in_unit_range():
    from evalkit.stats.uncertainty import summarize_mean

    summary = summarize_mean([0.99, 1.0, 0.98, 1.0])
    assert summary["ci95"][1] == 1.0 and 0.9 < summary["ci95"][0] < 0.99
    wide = summarize_mean([2.0, 4.0, 9.0])
    assert wide["ci95"][0] < 0  # unbounded scores are not clipped


def test_request_payload_is_the_dataclass_as_dict():
    import json
    from dataclasses import asdict

    from evalkit.types import LoglikelihoodRequest, request_payload

    for request in (GenerateRequest(messages=(("system", "s"), ("user", "q")), stop=("\n",), seed=3, replica=2),
                    GenerateRequest(prompt="raw"), LoglikelihoodRequest("context", " continuation")):
        # who asked is not part of the key; fields added later (tools) are left out while unset
        expected = {k: v for k, v in asdict(request).items()
                    if k != "ref" and not (k in ("tools", "tool_choice") and v is None)}
        assert json.dumps(request_payload(request), sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_who_asked_changes_the_key_only_for_lookup_backends():
    import dataclasses

    from evalkit.types import RequestRef, request_key

    plain = GenerateRequest(prompt="same prompt")
    first = dataclasses.replace(plain, ref=RequestRef("b", "id-1", 0, 1))
    second = dataclasses.replace(plain, ref=RequestRef("b", "id-2", 0, 1))
    assert request_key("m", plain) == request_key("m", first) == request_key("m", second)
    assert request_key("m", first, by_sample=True) != request_key("m", second, by_sample=True)
