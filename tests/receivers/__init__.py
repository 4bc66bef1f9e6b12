"""Loopback receivers that check wire formats the way the real backends do."""
