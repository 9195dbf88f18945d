"""Stewardship audit: every CRE episode of a history judged against the engine's plan.

One verdict function (`verdict.judge`) decides each episode; the local runner (worker
processes) and the Spark job only move episodes to it and its rows to Parquet, and the
summary and report are computed from that Parquet, so both engines give the same answer.
The verdicts and their precedence are documented in `cre_advisor.audit.verdict`.
"""
