"""Click lets the last of a repeated option win without a word; evalkit refuses it instead.

``evalkit run --benchmark mmlu --benchmark gsm8k`` would otherwise run gsm8k alone, and a report would
silently lack mmlu. Options that take several values (``--judge``, ``--engine-arg``) are declared as
lists and may repeat as before.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from typer.core import TyperCommand, TyperOption


class OnceEachCommand(TyperCommand):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))  # one entry per occurrence
            given = Counter(param for param in order
                            if isinstance(param, TyperOption) and not param.multiple and not param.count)
            for param, times in given.items():
                if times > 1:
                    ctx.fail(f"{'/'.join(param.opts + param.secondary_opts)} given {times} times: give it once "
                             "(where it takes a list, the list is comma-separated)")
        return super().parse_args(ctx, args)
