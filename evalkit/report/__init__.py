"""The HTML leaderboard report: one self-contained page built from run directories."""

from evalkit.report.html import build_report as build_report

__all__ = ["build_report"]
