"""Strict verdict parsing and judge templates (YAML schema, rendering, the reminder turn)."""

from __future__ import annotations

import pytest

from evalkit.errors import ConfigError, DataError
from evalkit.judging.parse import PAIRWISE_LABELS, POINTWISE_LABELS, parse_verdict
from evalkit.judging.templates import load_template, read_criteria


@pytest.mark.parametrize("text, verdict", [
    ("Response A answers the question; B does not.\nVERDICT: A", "A"),
    ("Both are equally good.\n\n**VERDICT: TIE**", "TIE"),
    ("B is more accurate.\nVERDICT: b.", "B"),
    ("Reasoning here. **VERDICT:** A", "A"),
])
def test_valid_pairwise_verdicts(text, verdict):
    parsed = parse_verdict(text, PAIRWISE_LABELS)
    assert parsed.valid and parsed.verdict == verdict
    assert parsed.rationale and "VERDICT" not in parsed.rationale


@pytest.mark.parametrize("text, problem", [
    ("VERDICT: A\nBecause A is better.", "text after the verdict"),
    ("VERDICT: A", "no rationale"),
    ("**\n VERDICT: B", "no rationale"),
    ("A is better. VERDICT: A. On reflection, VERDICT: B", "2 verdict lines"),
    ("A is better. VERDICT: A\nVERDICT: A", "2 verdict lines"),
    ("I prefer response A.", "no verdict"),
    ("", "empty reply"),
    ("A seems better. VERDICT: C", "unknown verdict"),
    ("A seems better. VERDICT: PASS", "unknown verdict"),
    ("A seems better. VERDICT: A and B", "text after the verdict"),
])
def test_invalid_replies_are_never_guessed(text, problem):
    parsed = parse_verdict(text, PAIRWISE_LABELS)
    assert not parsed.valid and parsed.verdict is None
    assert problem in (parsed.problem or "")


def test_prose_mentioning_a_verdict_in_lower_case_is_not_a_verdict_line():
    text = "My verdict: the first is more complete, and the second has an error.\nVERDICT: PASS"
    assert parse_verdict(text, POINTWISE_LABELS).verdict == "PASS"


def test_templates_render_and_remind():
    pairwise = load_template("pairwise")
    request = pairwise.request({"prompt": "Q?", "response_a": "first", "response_b": "second", "criteria": "C1"})
    user = request.messages[-1][1]
    assert user.index("first") < user.index("second") and "C1" in user and "Q?" in user
    assert request.temperature == 0.0
    follow = pairwise.followup(request, "VERDICT: A then text", "text after the verdict")
    assert [r for r, _ in follow.messages] == ["system", "user", "assistant", "user"]
    assert "text after the verdict" in follow.messages[-1][1] and '"VERDICT: TIE"' in follow.messages[-1][1]
    for name in ("pointwise", "pointwise_math", "pointwise_code", "pairwise_math", "pairwise_code"):
        assert load_template(name).name == name
    with pytest.raises(DataError, match="needs a reference"):
        load_template("pointwise_math").request({"prompt": "1+1?", "response": "2", "criteria": "", "reference": None})


def test_bad_templates_are_config_errors(tmp_path):
    good = (tmp_path / "t.yaml")
    good.write_text("name: t\nkind: pairwise\ntemplate: '{{ prompt }}'\ncriteria: c\nreminder: r\n")
    assert load_template(str(good)).labels == PAIRWISE_LABELS
    dup = tmp_path / "dup.yaml"
    dup.write_text("name: t\nname: u\nkind: pairwise\ntemplate: x\ncriteria: c\nreminder: r\n")
    with pytest.raises(ConfigError, match="duplicate key"):
        load_template(str(dup))
    extra = tmp_path / "extra.yaml"
    extra.write_text("name: t\nkind: pairwise\ntemplate: x\ncriteria: c\nreminder: r\nlabelz: [A]\n")
    with pytest.raises(ConfigError, match="labelz"):
        load_template(str(extra))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: t\nkind: pairwise\ntemplate: '{{ prompt '\ncriteria: c\nreminder: r\n")
    with pytest.raises(ConfigError, match="jinja2"):
        load_template(str(broken))
    with pytest.raises(ConfigError, match="unknown judge template"):
        load_template("no_such_judge")


def test_custom_criteria(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("  Be terse.\n")
    assert read_criteria(None, path) == "Be terse."
    assert read_criteria("Cite sources.", None) == "Cite sources."
    with pytest.raises(ConfigError):
        read_criteria("x", path)
    with pytest.raises(ConfigError):
        read_criteria("   ", None)
