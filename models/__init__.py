"""Scores, surge detection, explanations and trained artefacts."""
