"""Test doubles shared by several test tiers (never shipped in src/)."""
