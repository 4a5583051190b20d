"""AlpacaEval win rates: evalkit vs the leaderboard (raw) and vs the alpaca-eval package's own GLM (LC).

    python bench/alpaca_lc_parity.py [--data-dir ../shared/data] [--peer /tmp/peers/alpacaeval/bin/python]

For each model with annotations: evalkit's raw win rate against the leaderboard's ``win_rate``; evalkit's
length-controlled win rate against ``alpaca_eval.metrics.glm_winrate.get_length_controlled_winrate``
(variant ``length_controlled_minimal``) run in the peer's own venv on the same annotations, its
GroupKFold replaced by the same fixed folds (pair i → fold i mod 5) and its hub download (instruction
difficulty, unused by this variant) by a stub, once with its default liblinear tolerance (1e-4: it stops
early) and once with tol=1e-10; and, as a separate figure, the gap to the leaderboard's
``length_controlled_winrate`` (which also uses instruction difficulty and gamed baselines).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
from pathlib import Path

from evalkit.judging.bias import length_section
from evalkit.judging.inputs import read_judgment_files

PEER_SCRIPT = r"""
import json, sys, tempfile
import numpy as np, pandas as pd
from alpaca_eval.metrics import glm_winrate as g

path = sys.argv[1]
ann = json.load(open(path))
stub = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
pd.DataFrame({"model": "x", "index": range(len(ann)), "instruction_difficulty": 0.0}).to_csv(stub.name, index=False)
g.hf_hub_download = lambda **kwargs: stub.name

class FixedFolds(g.GroupKFold):  # keeps GroupKFold's metadata routing of `groups`
    def split(self, X, y=None, groups=None):
        groups = np.asarray(groups)
        for f in range(self.n_splits):
            yield np.where(groups % self.n_splits != f)[0], np.where(groups % self.n_splits == f)[0]

g.GroupKFold = FixedFolds
out = {}
for name, extra in (("lc", {}), ("lc_tight", {"tol": 1e-10, "max_iter": 100000})):
    info = {**g.GLM_INFO["length_controlled_minimal"]}
    info["kwargs"] = {**info["kwargs"], **extra}
    m = g.get_length_controlled_winrate(ann, glm_name="length_controlled_minimal", save_weights_dir=None,
                                        is_warn_extreme_changes=False, glm_info=info)
    out[name] = float(m["length_controlled_winrate"])
print(json.dumps(out))
"""


def leaderboard(data_dir: Path) -> dict[str, dict[str, str]]:
    path = data_dir / "alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
    with open(path, encoding="utf-8") as handle:
        return {row[""]: row for row in csv.DictReader(handle)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--peer", default="/tmp/peers/alpacaeval/bin/python")
    args = parser.parse_args()
    board = leaderboard(args.data_dir)
    print(f"{'model':22} {'raw (evalkit)':>14} {'raw (board)':>12} {'|diff|':>8} {'LC evalkit':>11} "
          f"{'LC package':>11} {'|diff|':>8} {'LC pkg tol':>11} {'|diff|':>8} {'LC board':>9} {'gap':>7}")
    for results in sorted((args.data_dir / "alpaca_eval/results").iterdir()):
        path = results / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json"
        if not path.is_file() or results.name == "gpt4_1106_preview":
            continue
        rows = read_judgment_files(path)
        ours = length_section(rows, n_resamples=0)
        peer = json.loads(subprocess.run([args.peer, "-c", PEER_SCRIPT, str(path)], capture_output=True, text=True,
                                         check=True).stdout.strip().splitlines()[-1])
        raw, lc = ours["raw_win_rate"]["value"] * 100, ours["lc_win_rate"]["value"] * 100
        board_raw = float(board[results.name]["win_rate"])
        board_lc = float(board[results.name]["length_controlled_winrate"])
        print(f"{results.name:22} {raw:14.10f} {board_raw:12.8f} {abs(raw - board_raw):8.1e} {lc:11.6f} "
              f"{peer['lc']:11.6f} {abs(lc - peer['lc']):8.1e} {peer['lc_tight']:11.6f} {abs(lc - peer['lc_tight']):8.1e} "
              f"{board_lc:9.4f} {lc - board_lc:+7.2f}")


if __name__ == "__main__":
    main()
