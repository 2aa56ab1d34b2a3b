"""Stripe Connect endpoints that localstripe lacks, for separate charges and transfers.

    POST /v1/accounts                       a connected account (Express/Custom shape, minimal)
    GET  /v1/accounts/{id}
    POST /v1/transfers                      amount, currency, destination, transfer_group
    GET  /v1/transfers/{id}   GET /v1/transfers[?destination=&transfer_group=]
    POST /v1/transfers/{id}/reversals       amount (default: what is left)
    GET  /v1/transfers/{id}/reversals

Like Stripe: a repeated Idempotency-Key returns the first answer instead of paying twice, a
reversal can never take back more than was transferred, and amounts are positive integers in
minor units. For tests, two kinds of destination misbehave as real accounts can: one whose id
contains ``refuse`` refuses transfers (an account not ready for payouts), and transfers to one
containing ``noreverse`` cannot be reversed (its balance is already paid out).

`install(app)` adds the routes to localstripe's aiohttp app; objects live in localstripe's
store, so they persist with its state file like everything else.
"""

from __future__ import annotations

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import List, StripeObject, store, try_convert_to_int
from localstripe.server import get_post_data, json_response


class Account(StripeObject):
    object = "account"
    _id_prefix = "acct_"

    def __init__(self, type="express", country="GB", email=None, metadata=None, **kwargs):
        super().__init__()
        self.type = type
        self.country = country
        self.email = email
        self.metadata = metadata or {}
        self.charges_enabled = True
        self.payouts_enabled = True


class Transfer(StripeObject):
    object = "transfer"
    _id_prefix = "tr_"

    def __init__(self, amount=None, currency=None, destination=None, transfer_group=None,
                 metadata=None, description=None, **kwargs):  # fmt: skip
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        amount = try_convert_to_int(amount)
        if not (isinstance(amount, int) and amount > 0):
            raise UserError(400, "Invalid positive integer: amount")
        if not (isinstance(currency, str) and len(currency) == 3):
            raise UserError(400, "Missing required param: currency")
        if not (isinstance(destination, str) and destination.startswith("acct_")):
            raise UserError(400, "Missing required param: destination")
        if "refuse" in destination:
            raise UserError(400, "The destination account cannot receive transfers yet.")
        super().__init__()
        self.amount = amount
        self.amount_reversed = 0
        self.currency = currency.lower()
        self.destination = destination
        self.transfer_group = transfer_group
        self.description = description
        self.metadata = metadata or {}
        self.reversed = False

    @classmethod
    def _api_list_all(cls, url, destination=None, transfer_group=None, limit=None,
                      starting_after=None, **kwargs):  # fmt: skip
        listed = super()._api_list_all(url, limit=limit, starting_after=starting_after)
        listed._list = [
            transfer
            for transfer in listed._list
            if (destination is None or transfer.destination == destination)
            and (transfer_group is None or transfer.transfer_group == transfer_group)
        ]
        return listed


class TransferReversal(StripeObject):
    object = "transfer_reversal"
    _id_prefix = "trr_"

    def __init__(self, transfer=None, amount=None, metadata=None, **kwargs):
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        parent = Transfer._api_retrieve(transfer)
        left = parent.amount - parent.amount_reversed
        amount = left if amount is None else try_convert_to_int(amount)
        if not (isinstance(amount, int) and 0 < amount <= left):
            raise UserError(400, f"Reversal amount must be between 1 and {left}.")
        if "noreverse" in parent.destination:
            raise UserError(400, "Insufficient funds in the connected account to reverse.")
        super().__init__()
        self.transfer = parent.id
        self.amount = amount
        self.currency = parent.currency
        self.metadata = metadata or {}
        parent.amount_reversed += amount
        parent.reversed = parent.amount_reversed == parent.amount


def _idempotent(request: web.Request, make):
    """Stripe's idempotency: the same key answers with the object it first made."""
    key = request.headers.get("Idempotency-Key")
    slot = f"idempotency:{request.path}:{key}"
    if key and slot in store:
        kind, object_id = store[slot]
        return {"transfer": Transfer, "transfer_reversal": TransferReversal}[kind]._api_retrieve(
            object_id
        )
    made = make()
    if key:
        store[slot] = (made.object, made.id)
    return made


async def _create_account(request):
    data = await get_post_data(request) or {}
    return json_response(Account(**data)._export())


async def _create_transfer(request):
    data = await get_post_data(request) or {}
    return json_response(_idempotent(request, lambda: Transfer(**data))._export())


async def _create_reversal(request):
    data = await get_post_data(request) or {}
    transfer_id = request.match_info["id"]
    return json_response(
        _idempotent(request, lambda: TransferReversal(transfer=transfer_id, **data))._export()
    )


def _list_reversals(request):
    transfer = Transfer._api_retrieve(request.match_info["id"])
    listed = List(request.path, limit=100)
    listed._list = [
        value
        for key, value in store.items()
        if key.startswith("transfer_reversal:") and value.transfer == transfer.id
    ]
    return json_response(listed._export())


def _retrieve(cls):
    def handler(request):
        return json_response(cls._api_retrieve(request.match_info["id"])._export())

    return handler


def _list_transfers(request):
    query = dict(request.query)
    return json_response(Transfer._api_list_all(request.path, **query)._export())


def install(app: web.Application) -> None:
    app.router.add_post("/v1/accounts", _create_account)
    app.router.add_get("/v1/accounts/{id}", _retrieve(Account))
    app.router.add_post("/v1/transfers/{id}/reversals", _create_reversal)
    app.router.add_get("/v1/transfers/{id}/reversals", _list_reversals)
    app.router.add_post("/v1/transfers", _create_transfer)
    app.router.add_get("/v1/transfers/{id}", _retrieve(Transfer))
    app.router.add_get("/v1/transfers", _list_transfers)
