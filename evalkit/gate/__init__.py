"""The CI regression gate: paired comparison of a candidate run against a baseline run."""

from evalkit.gate.check import GateOptions as GateOptions
from evalkit.gate.check import GateReport as GateReport
from evalkit.gate.check import run_gate as run_gate
from evalkit.gate.config import GateConfig as GateConfig
from evalkit.gate.config import load_gate_config as load_gate_config

__all__ = ["GateConfig", "GateOptions", "GateReport", "load_gate_config", "run_gate"]
