"""Tests of the synalgo ML core."""
