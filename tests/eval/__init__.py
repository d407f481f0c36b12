"""Tests for answer grading (eval.grading)."""
