"""Helpers shared by the tests (libraries, not tests): test modules import from here, never
from one another; pytest fixtures stay in the conftest.py files."""
