"""Differential privacy: run-field checks, accounting, Worker-side DP-SGD and central DP."""
