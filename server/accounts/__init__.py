"""Accounts: users, roles, passwords, sessions and sign-in."""
