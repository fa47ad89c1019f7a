"""A local HTTP server that answers the few Stripe API calls the Stripe gateway makes, as Stripe does.

Enough of Stripe's contract to test the adapter through the official SDK over real HTTP: form-encoded
requests, `Idempotency-Key` (the same key returns the first answer), card errors as 402 with Stripe's
codes, PaymentIntent search by metadata, refunds. Test card numbers are Stripe's own.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from urllib.parse import parse_qsl, urlsplit

from seatplan.payments.sandbox import _luhn_ok  # the same card-number check a processor makes

DECLINES = {"4000000000000002": "generic_decline", "4000000000009995": "insufficient_funds"}
NEEDS_AUTHENTICATION = "4000002760003184"


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[dict] = []  # method, path, params, headers of every call
        self.payment_methods: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.lose_answers = False  # make the charge, then answer 500 (an answer lost on the way)
        self.search_lag = False  # search does not show charges yet (Stripe's index can lag up to a minute)
        self._ids = count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def tokenise(self, number: str = "4242424242424242") -> str:
        """What Stripe.js does in the customer's browser: a PaymentMethod this server never saw the card of."""
        status, method = self._payment_method(
            {"card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2030"}
        )
        assert status == 200
        return method["id"]

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    # --- the API ----------------------------------------------------------------------------------

    def answer(self, method: str, path: str, params: dict, headers: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append({"method": method, "path": path, "params": params, "headers": headers})
            key = headers.get("idempotency-key")
            if method == "POST" and key and key in self.idempotent:
                return self.idempotent[key]
            status, body = self._route(method, path, params)
            if method == "POST" and key and status != 500:
                self.idempotent[key] = (status, body)
            if self.lose_answers and path == "/v1/payment_intents":
                return 500, {"error": {"type": "api_error", "message": "An error occurred."}}
            return status, body

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if (method, path) == ("POST", "/v1/payment_methods"):
            return self._payment_method(params)
        if method == "GET" and path.startswith("/v1/payment_methods/"):
            found = self.payment_methods.get(path.rsplit("/", 1)[1])
            if found is None:
                return 404, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": "No such PaymentMethod.",
                        "param": "payment_method",
                    }
                }
            return 200, {k: v for k, v in found.items() if not k.startswith("_")}
        if (method, path) == ("POST", "/v1/customers"):
            customer = {"id": self._id("cus"), "object": "customer", "invoice_settings": {}}
            self.customers[customer["id"]] = customer
            self.payment_methods[params["payment_method"]]["customer"] = customer["id"]
            return 200, customer
        if (method, path) == ("POST", "/v1/payment_intents"):
            return self._payment_intent(params)
        if (method, path) == ("GET", "/v1/payment_intents/search"):
            field, _, value = params["query"].partition(":")
            name = field.removeprefix("metadata['").removesuffix("']")
            found = [i for i in self.intents.values() if i["metadata"].get(name) == value.strip("'")]
            if self.search_lag:
                found = []
            return 200, {
                "object": "search_result",
                "data": found[: int(params.get("limit", 10))],
                "has_more": False,
                "url": path,
                "next_page": None,
            }
        if (method, path) == ("POST", "/v1/refunds"):
            refund = {
                "id": self._id("re"),
                "object": "refund",
                "payment_intent": params["payment_intent"],
                "amount": self.intents[params["payment_intent"]]["amount"],
                "status": "succeeded",
            }
            self.refunds.append(refund)
            return 200, refund
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {path}."}}

    def _payment_method(self, params: dict) -> tuple[int, dict]:
        number = params.get("card[number]", "")
        if not (number.isdigit() and _luhn_ok(number)):
            return _card_error("incorrect_number", "Your card number is incorrect.", param="number")
        if not 1 <= int(params["card[exp_month]"]) <= 12:
            return _card_error("invalid_expiry_month", "Your card's expiration month is invalid.", param="exp_month")
        method = {
            "id": self._id("pm"),
            "object": "payment_method",
            "type": "card",
            "customer": None,
            "card": {
                "brand": "visa",
                "last4": number[-4:],
                "exp_month": int(params["card[exp_month]"]),
                "exp_year": int(params["card[exp_year]"]),
            },
            "_number": number,
        }
        self.payment_methods[method["id"]] = method
        return 200, {k: v for k, v in method.items() if not k.startswith("_")}

    def _payment_intent(self, params: dict) -> tuple[int, dict]:
        method = self.payment_methods[params["payment_method"]]
        assert method["customer"] == params["customer"], "a PaymentMethod is used with its own Customer"
        intent = {
            "id": self._id("pi"),
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "customer": params["customer"],
            "payment_method": method["id"],
            "status": "succeeded",
            "last_payment_error": None,
            "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
        }
        self.intents[intent["id"]] = intent
        number = method["_number"]
        if number in DECLINES or number == NEEDS_AUTHENTICATION:
            code = "authentication_required" if number == NEEDS_AUTHENTICATION else "card_declined"
            error = {
                "type": "card_error",
                "code": code,
                "decline_code": DECLINES.get(number),
                "message": "Your card was declined.",
            }
            intent.update(status="requires_payment_method", last_payment_error=error)
            return 402, {"error": {**error, "payment_intent": intent}}
        return 200, intent

    def _handler(self):  # noqa: ANN202
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = dict(parse_qsl(url.query or body, keep_blank_values=True))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if headers.get("authorization") != "Bearer sk_test_fake":
                    status, answer = 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
                else:
                    status, answer = fake.answer(method, url.path, params, headers)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Stripe-Should-Retry", "false")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        return Handler


def _card_error(code: str, message: str, *, param: str) -> tuple[int, dict]:
    return 402, {"error": {"type": "card_error", "code": code, "message": message, "param": param}}
