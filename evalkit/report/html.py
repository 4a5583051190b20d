"""Render the report: one self-contained HTML file (inline CSS, JS, SVG and data; nothing fetched).

Safety: every piece of model or dataset text reaches the page either through jinja2 autoescaping or
as data in a ``<script type="application/json">`` element that the page script puts into the DOM with
``textContent`` only. A Content-Security-Policy allows only our own script (by hash), so neither an
injected ``<script>`` nor an ``onerror=`` attribute could run even if escaping were ever bypassed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.paths import bundled_dir

_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no ``<``, ``>``, ``&`` or line separators left."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return "".join(_SCRIPT_ESCAPES.get(ch, ch) for ch in text) if any(ch in text for ch in _SCRIPT_ESCAPES) else text


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(bundled_dir("reports/templates"))),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def _asset(env: Any, name: str) -> str:
    source, _, _ = env.loader.get_source(env, name)
    if "</script" in source.lower() or "</style" in source.lower() or "<!--" in source:
        raise ConfigError(f"report asset {name} must not contain </script, </style or <!--")
    return str(source)


def build_report(paths: list[Path], out: Path, title: str = "evalkit leaderboard", n_bootstrap: int = 200,
                 seed: int = 0) -> dict[str, Any]:
    """Write the HTML report for ``paths`` to ``out``; returns counts and the file size."""
    from markupsafe import Markup

    from evalkit.report.bradley_terry import pairwise_rows, ratings, style_control
    from evalkit.report.charts import chart
    from evalkit.report.collect import columns, judge_bias, leaderboard, load_views
    from evalkit.report.samples import encode, pack

    views = load_views(paths)
    cols = columns(views)
    board = leaderboard(views, cols)
    labels = [row["label"] for row in board["rows"]]
    charts = [chart(col, labels, [row["cells"][i] for row in board["rows"]]) for i, col in enumerate(cols)]
    judgments = [j for view in views for j in view.judgments]
    ranking = ratings(judgments, n_bootstrap=n_bootstrap, seed=seed)
    style = style_control(judgments, n_bootstrap=n_bootstrap, seed=seed) if ranking else None
    table, n_samples = pack(views, cols)
    env = _environment()
    script = _asset(env, "report.js")
    payload = {"samples": {"encoding": "gzip+base64", "data": encode(table)}, "n_samples": n_samples}
    html = env.get_template("report.html.j2").render(
        title=title, generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), views=views, board=board,
        charts=charts, bias=judge_bias(views), ranking=ranking, style_control=style, n_bootstrap=n_bootstrap,
        n_samples=n_samples, n_judgments=len(pairwise_rows(judgments)), csp=_csp(script),
        style=Markup(_asset(env, "report.css")), script=Markup(script), data=Markup(script_json(payload)),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return {"runs": len(views), "benchmarks": len(cols), "samples": n_samples, "bytes": out.stat().st_size}
