"""The `evalkit` command. EvalkitError → one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import sys

import typer

from evalkit.cli.bias import bias_command
from evalkit.cli.gate import gate_command
from evalkit.cli.judge import judge_command
from evalkit.cli.list_cmd import list_command
from evalkit.cli.report import report_command
from evalkit.cli.retry import retry_command
from evalkit.cli.run import run_command
from evalkit.cli.score import score_command
from evalkit.cli.strict import OnceEachCommand
from evalkit.errors import BudgetReached, EvalkitError

app = typer.Typer(
    name="evalkit",
    help="Evaluate LLMs: benchmarks, judges, regression gates and reports.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("run", cls=OnceEachCommand)(run_command)
app.command("judge", cls=OnceEachCommand)(judge_command)
app.command("bias", cls=OnceEachCommand)(bias_command)
app.command("list", cls=OnceEachCommand)(list_command)
app.command("score", cls=OnceEachCommand)(score_command)
app.command("gate", cls=OnceEachCommand)(gate_command)
app.command("report", cls=OnceEachCommand)(report_command)
app.command("retry", cls=OnceEachCommand)(retry_command)


def main() -> None:
    try:
        status = app(standalone_mode=False)  # click's own errors come here, to be printed in one line
    except typer.TyperException as exc:  # click's: an unknown option, a missing value, an option given twice
        print(f"error: {exc.format_message()} (see --help)", file=sys.stderr)
        sys.exit(exc.exit_code)
    except BudgetReached as exc:  # a clean stop, not a failure: exit 3, resumable
        print(f"stopped: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except EvalkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        from evalkit.cli.output import interrupted_line

        print(interrupted_line(), file=sys.stderr)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)  # a command's typer.Exit(code) arrives as its code


if __name__ == "__main__":
    main()
