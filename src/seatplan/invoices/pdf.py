"""Invoices as PDF: an HTML template rendered by WeasyPrint."""

from django.conf import settings
from django.template.loader import render_to_string

from seatplan.invoices.models import Invoice


def invoice_pdf(invoice: Invoice) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only PDF rendering needs

    html = render_to_string(
        "invoices/invoice_pdf.html",
        {
            "invoice": invoice,
            "lines": invoice.line_list,
            "vendor": {
                "name": settings.VENDOR_NAME,
                "address": settings.VENDOR_ADDRESS,
                "vat_id": settings.VENDOR_VAT_ID,
            },
        },
    )
    return HTML(string=html).write_pdf()
