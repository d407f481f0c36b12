"""Tests for evaluation (eval)."""
