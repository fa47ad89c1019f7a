"""Sessions at run time: leases, queue, usage (API.md "Sessions at run time")."""

from ninja import Router

router = Router(tags=["Sessions at run time"])
