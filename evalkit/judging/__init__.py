"""LLM-as-a-judge: templates, strict verdict parsing, order/jury controls and the judge-bias audit.

parse (pure) → templates (judges/*.yaml → requests) → kinds.judged (the runner's judge stage)
→ records (judgments.jsonl) → bias (audit, with glm and agreement) → outputs (run directory).
"""
