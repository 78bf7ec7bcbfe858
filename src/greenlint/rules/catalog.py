"""Importing this module registers every rule: add a new rule's module here."""

from greenlint.rules import gl101_inference_without_no_grad  # noqa: F401
