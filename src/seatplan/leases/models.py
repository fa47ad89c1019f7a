"""Run-time session leases (SPEC §6)."""
