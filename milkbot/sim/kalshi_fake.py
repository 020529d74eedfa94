"""Fake Kalshi Trade API v2 (paths under /trade-api/v2): series, events, markets (cursor pagination),
orderbooks (single and batched), exchange status, and the V2 order endpoints with orders, fills,
positions and balance. Portfolio calls require a valid RSA-PSS signature from the configured public key;
a duplicate client_order_id answers 409. Faults: 500, 429, timeout, drop, malformed, and for order
creation `accept_then_timeout` / `accept_then_drop` (the order exists, the reply never arrives)."""
from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from workers.common.kalshi_auth import verify
from .server import FakeServer, Response
from .world import CITIES, OTHER_SERIES, World

PREFIX = "/trade-api/v2"
BOOK_SIZE = Decimal("50.00")


def d4(x: Decimal) -> str:
    return f"{x:.4f}"


def fp(x: Decimal) -> str:
    return f"{x:.2f}"


def err(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message, "details": ""}})


def rules_primary(city, day, kind: str, b: dict) -> str:
    """rules_primary in the shape of the recorded markets (../shared/data/recordings/kalshi)."""
    if b["strike_type"] == "between":
        strike = f"between {b['floor']}-{b['cap']}°"
    elif b["strike_type"] == "greater":
        strike = f"greater than {b['floor']}°"
    else:
        strike = f"less than {b['cap']}°"
    return (f"If the {'maximum' if kind == 'high' else 'minimum'} temperature recorded at {city.station_name.title()} "
            f"(CLI{city.cli}) for {day:%b} {day.day}, {day.year}, is {strike} fahrenheit according to The Weather Company, "
            "then the market resolves to Yes.")


class KalshiFake(FakeServer):
    def __init__(self, world: World, public_key=None):
        super().__init__("kalshi")
        self.world, self.public_key = world, public_key
        self.orders: dict[str, dict] = {}
        self.by_client: dict[str, str] = {}
        self.fills: list[dict] = []
        self.exchange_active = True
        self.trading_active = True
        self.page_size = 4            # small pages, so clients must follow the cursor
        self.olock = threading.Lock()
        self.seq = itertools.count(1)
        self.settled: dict[str, str] = {}
        # who hears our private events (fills, order updates): the WebSocket fake's fill and user_orders
        # channels. Called under olock, in the order the exchange did things.
        self.listeners: list = []
        self._routes()

    def _emit(self, channel: str, msg: dict) -> None:
        for listen in list(self.listeners):
            listen(channel, msg)

    def emit_order(self, o: dict) -> None:
        """A user_orders update for an order whose state changed."""
        self._emit("user_order", {**self.order_view(o), "last_updated_ts_ms": int(self.world.now().timestamp() * 1000)})

    # -- helpers -------------------------------------------------------------------------------
    def authorised(self, method: str, path: str, h) -> bool:
        if self.public_key is None:
            return False
        key, ts, sig = h.get("KALSHI-ACCESS-KEY"), h.get("KALSHI-ACCESS-TIMESTAMP"), h.get("KALSHI-ACCESS-SIGNATURE")
        if not (key and ts and sig and ts.isdigit()):
            return False
        if abs(int(ts) - time.time() * 1000) > 60_000:
            return False
        return verify(self.public_key, sig, ts, method, path)

    def market_obj(self, city, day, kind, b) -> dict:
        w = self.world
        bid, ask = w.quote(b["ticker"], b)
        ds = w.day_start(city, day)
        result = self.settled.get(b["ticker"], "") or w.result(b["ticker"])
        status = "finalized" if result else ("active" if w.now() < ds + timedelta(days=1) else "closed")
        m = {"ticker": b["ticker"], "event_ticker": b["event"], "market_type": "binary",
             "yes_sub_title": b["yes"], "no_sub_title": b["yes"], "title": f"{kind} temperature {city.code} {day}",
             "created_time": (ds - timedelta(days=2)).isoformat().replace("+00:00", "Z"),
             "updated_time": w.now().isoformat().replace("+00:00", "Z"),
             "open_time": (ds - timedelta(hours=14)).isoformat().replace("+00:00", "Z"),
             "close_time": (ds + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
             "expected_expiration_time": w.expected_expiration(city, day).isoformat().replace("+00:00", "Z"),
             "latest_expiration_time": (ds + timedelta(days=8)).isoformat().replace("+00:00", "Z"),
             "settlement_timer_seconds": 3600, "status": status,
             "notional_value_dollars": "1.0000", "yes_bid_dollars": d4(bid), "yes_ask_dollars": d4(ask),
             "no_bid_dollars": d4(1 - ask), "no_ask_dollars": d4(1 - bid), "yes_bid_size_fp": fp(BOOK_SIZE),
             "yes_ask_size_fp": fp(BOOK_SIZE), "last_price_dollars": d4(bid), "previous_yes_bid_dollars": "0.0000",
             "previous_yes_ask_dollars": "0.0000", "previous_price_dollars": "0.0000", "volume_fp": "1000.00",
             "volume_24h_fp": "200.00", "open_interest_fp": "500.00", "result": result, "can_close_early": True,
             "expiration_value": (str(w.high(city, day) if kind == "high" else w.low(city, day)) if result else ""),
             "rules_primary": rules_primary(city, day, kind, b),
             "rules_secondary": "", "price_level_structure": "linear_cent",
             "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
             "strike_type": b["strike_type"], "liquidity_dollars": "0.0000", "exchange_index": 0}
        if b["floor"] is not None:
            m["floor_strike"] = b["floor"]
        if b["cap"] is not None:
            m["cap_strike"] = b["cap"]
        return m

    def monthly_market_obj(self, city, kind, b) -> dict:
        """A month's 'above X inches' market: open from the first of the month to its end (LST)."""
        w = self.world
        bid, ask = w.quote(b["ticker"], b)
        start = w.day_start(city, b["month"])
        nxt = (b["month"].replace(day=28) + timedelta(days=4)).replace(day=1)
        end = w.day_start(city, nxt)
        word = "rain" if kind == "monthly_rain" else "snow"
        return {"ticker": b["ticker"], "event_ticker": b["event"], "market_type": "binary",
                "yes_sub_title": b["yes"], "no_sub_title": b["yes"],
                "title": f"{word.capitalize()} in {city.code} in {b['month']:%B %Y}: {b['yes']}?",
                "created_time": (start - timedelta(days=3)).isoformat().replace("+00:00", "Z"),
                "updated_time": w.now().isoformat().replace("+00:00", "Z"),
                "open_time": (start - timedelta(days=2)).isoformat().replace("+00:00", "Z"),
                "close_time": end.isoformat().replace("+00:00", "Z"),
                "expected_expiration_time": (end + timedelta(hours=14)).isoformat().replace("+00:00", "Z"),
                "latest_expiration_time": (end + timedelta(days=8)).isoformat().replace("+00:00", "Z"),
                "settlement_timer_seconds": 3600, "status": "active", "notional_value_dollars": "1.0000",
                "yes_bid_dollars": d4(bid), "yes_ask_dollars": d4(ask), "no_bid_dollars": d4(1 - ask),
                "no_ask_dollars": d4(1 - bid), "yes_bid_size_fp": fp(BOOK_SIZE), "yes_ask_size_fp": fp(BOOK_SIZE),
                "last_price_dollars": d4(bid), "previous_yes_bid_dollars": "0.0000", "previous_yes_ask_dollars": "0.0000",
                "previous_price_dollars": "0.0000", "volume_fp": "300.00", "volume_24h_fp": "40.00",
                "open_interest_fp": "150.00", "result": "", "can_close_early": True, "expiration_value": "",
                "rules_primary": (f"If the total {word} recorded at {city.station_name} for {b['month']:%B %Y} is above "
                                  f"{b['floor']} inches according to the National Weather Service's Climatological "
                                  f"Report, then the market resolves to Yes."),
                "rules_secondary": "", "price_level_structure": "linear_cent",
                "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
                "strike_type": "greater", "floor_strike": b["floor"], "liquidity_dollars": "0.0000", "exchange_index": 0}

    def series_listing(self) -> list[dict]:
        """GET /series: our cities' daily series, the monthly ones listed for them, and others'."""
        out = []
        for c in CITIES:
            for t, what in ((c.high_series, "Highest temperature"), (c.low_series, "Lowest temperature")):
                out.append({"ticker": t, "title": f"{what} in {c.code}", "frequency": "daily"})
        for t, city, kind in self.world.monthly_series():
            out.append({"ticker": t, "title": f"{'Rain' if kind == 'monthly_rain' else 'Snow'} in {city.code} this month",
                        "frequency": "monthly"})
        if self.world.monthly:
            out += [{"ticker": t, "title": f"{t} (not a Milkbot city)", "frequency": "monthly"} for t in OTHER_SERIES]
        return [{**s, "category": "Climate and Weather", "tags": ["Weather"], "settlement_sources": [], "contract_url": "",
                 "contract_terms_url": "", "fee_type": "quadratic", "fee_multiplier": 1, "additional_prohibitions": [],
                 "product_metadata": {}} for s in out]

    def open_markets(self, series: str) -> list[dict]:
        w = self.world
        for t, city, kind in self.world.monthly_series():
            if t == series:
                month = w.today(city).replace(day=1)
                return [self.monthly_market_obj(city, kind, b) for b in w.monthly_ladder(t, kind, month)]
        out = []
        for city in CITIES:
            for kind, s in (("high", city.high_series), ("low", city.low_series)):
                if s != series:
                    continue
                for d in (0, 1):
                    day = w.today(city) + timedelta(days=d)
                    out += [self.market_obj(city, day, kind, b) for b in w.ladder(city, day, kind)]
        return [m for m in out if m["status"] == "active"]

    def book(self, ticker: str) -> dict | None:
        """GET .../orderbook: the world's book (the WebSocket fake serves the same), levels ascending."""
        lv = self.world.levels(ticker)
        if lv is None:
            return None
        return {side + "_dollars": [[d4(p), fp(q)] for p, q in sorted(lv[side].items())] for side in ("yes", "no")}

    # -- matching ------------------------------------------------------------------------------
    def fill(self, order: dict, qty: Decimal, price: Decimal, taker: bool = True) -> dict:
        fee = (Decimal("0.07") * qty * price * (1 - price) * 100).to_integral_value(rounding="ROUND_CEILING") / 100
        fid = str(uuid.uuid4())
        now = self.world.now()
        f = {"fill_id": fid, "trade_id": fid, "order_id": order["order_id"], "ticker": order["ticker"],
             "market_ticker": order["ticker"], "book_side": order["side"],
             "outcome_side": "yes" if order["side"] == "bid" else "no",
             "side": "yes" if order["side"] == "bid" else "no", "action": "buy",
             "count_fp": fp(qty), "yes_price_dollars": d4(price), "no_price_dollars": d4(1 - price),
             "is_taker": taker, "fee_cost": d4(fee), "created_time": now.isoformat().replace("+00:00", "Z"),
             "ts": int(now.timestamp()), "subaccount_number": 0, "exchange_index": 0}
        self.fills.append(f)
        order["fill_count"] += qty
        order["taker_fees"] += fee
        if order["fill_count"] >= order["count"]:
            order["status"] = "executed"
        self._emit("fill", {"trade_id": fid, "order_id": order["order_id"], "market_ticker": order["ticker"],
                            "exchange_index": 0, "is_taker": taker, "side": f["side"], "yes_price_dollars": f["yes_price_dollars"],
                            "count_fp": f["count_fp"], "fee_cost": f["fee_cost"], "action": "buy", "ts": f["ts"],
                            "ts_ms": int(now.timestamp() * 1000), "client_order_id": order["client_order_id"],
                            "outcome_side": f["outcome_side"], "book_side": f["book_side"], "purchased_side": f["outcome_side"]})
        self.emit_order(order)
        return f

    def create_order(self, body: dict) -> Response:
        required = ("ticker", "side", "count", "price", "time_in_force", "self_trade_prevention_type")
        missing = [k for k in required if k not in body]
        if missing:
            return err(400, "invalid_parameters", f"missing {missing}")
        if body["side"] not in ("bid", "ask"):
            return err(400, "invalid_parameters", "side must be bid or ask")
        try:
            price, count = Decimal(body["price"]), Decimal(body["count"])
        except Exception:
            return err(400, "invalid_parameters", "price and count are decimal strings")
        if not (Decimal("0.01") <= price <= Decimal("0.99")) or price % Decimal("0.01") != 0:
            return err(400, "invalid_price", "price is not on the market's price grid")
        if count < Decimal("0.01"):
            return err(400, "invalid_parameters", "count below 0.01")
        found = self.world.find_bracket(body["ticker"])
        if not found:
            return err(404, "market_not_found", f"market {body['ticker']} not found")
        if not self.trading_active:
            return err(400, "trading_is_paused", "trading is paused")
        with self.olock:
            coid = body.get("client_order_id")
            if coid and coid in self.by_client:
                return err(409, "order_already_exists", "an order with this client_order_id already exists")
            oid = str(uuid.uuid4())
            order = {"order_id": oid, "client_order_id": coid or "", "ticker": body["ticker"], "side": body["side"],
                     "price": price, "count": count, "fill_count": Decimal(0), "status": "resting",
                     "created": self.world.now(), "taker_fees": Decimal(0)}
            self.orders[oid] = order
            if coid:
                self.by_client[coid] = oid
            bid, bid_size, ask, ask_size = self.world.top(body["ticker"])
            crosses = ((body["side"] == "bid" and ask is not None and price >= ask)
                       or (body["side"] == "ask" and bid is not None and price <= bid))
            if crosses:
                self.fill(order, min(count, ask_size if body["side"] == "bid" else bid_size), ask if body["side"] == "bid" else bid)
            if body["time_in_force"] in ("immediate_or_cancel", "fill_or_kill") and order["status"] == "resting":
                order["status"] = "canceled"
            if not crosses or order["status"] == "canceled":
                self.emit_order(order)
        reply = {"order_id": oid, "client_order_id": order["client_order_id"], "fill_count": fp(order["fill_count"]),
                 "remaining_count": fp(order["count"] - order["fill_count"] if order["status"] != "canceled" else Decimal(0)),
                 "ts_ms": int(time.time() * 1000)}
        if order["fill_count"] > 0:
            reply["average_fill_price"] = d4(Decimal(self.fills[-1]["yes_price_dollars"]))
            reply["average_fee_paid"] = d4(order["taker_fees"] / order["fill_count"])
        return Response(201, reply)

    def order_view(self, o: dict) -> dict:
        return {"order_id": o["order_id"], "user_id": "fake-user", "client_order_id": o["client_order_id"],
                "ticker": o["ticker"], "outcome_side": "yes" if o["side"] == "bid" else "no", "book_side": o["side"],
                "side": "yes" if o["side"] == "bid" else "no", "action": "buy", "type": "limit", "status": o["status"],
                "yes_price_dollars": d4(o["price"]), "no_price_dollars": d4(1 - o["price"]),
                "fill_count_fp": fp(o["fill_count"]),
                "remaining_count_fp": fp(o["count"] - o["fill_count"] if o["status"] == "resting" else Decimal(0)),
                "initial_count_fp": fp(o["count"]), "taker_fees_dollars": d4(o["taker_fees"]), "maker_fees_dollars": "0.0000",
                "taker_fill_cost_dollars": "0.0000", "maker_fill_cost_dollars": "0.0000",
                "created_time": o["created"].isoformat().replace("+00:00", "Z"),
                "last_update_time": self.world.now().isoformat().replace("+00:00", "Z"),
                "self_trade_prevention_type": "taker_at_cross", "subaccount_number": 0, "exchange_index": 0}

    def positions(self) -> list[dict]:
        pos: dict[str, dict] = {}
        for f in self.fills:
            p = pos.setdefault(f["ticker"], {"ticker": f["ticker"], "position": Decimal(0), "fees": Decimal(0), "traded": Decimal(0)})
            q = Decimal(f["count_fp"])
            p["position"] += q if f["book_side"] == "bid" else -q
            p["fees"] += Decimal(f["fee_cost"])
            p["traded"] += q * Decimal(f["yes_price_dollars"])
        return [{"ticker": t, "exchange_index": 0, "total_traded_dollars": d4(p["traded"]), "position_fp": fp(p["position"]),
                 "market_exposure_dollars": "0.0000", "realized_pnl_dollars": "0.0000", "fees_paid_dollars": d4(p["fees"]),
                 "last_updated_ts": self.world.now().isoformat()} for t, p in sorted(pos.items())]

    def page(self, items: list, q: dict, key: str, default_limit: int = 100) -> Response:
        limit = min(int(q.get("limit", default_limit)), self.page_size)
        start = int(q.get("cursor") or 0)
        chunk = items[start:start + limit]
        nxt = str(start + limit) if start + limit < len(items) else ""
        return Response(200, {key: chunk, "cursor": nxt})

    # -- routes --------------------------------------------------------------------------------
    def _routes(self):
        P = PREFIX

        @self.route("GET", P + r"/exchange/status")
        def status(m, q, h, b):
            return Response(200, {"exchange_active": self.exchange_active, "trading_active": self.trading_active,
                                  "exchange_estimated_resume_time": None})

        @self.route("GET", P + r"/series")
        def series_list(m, q, h, b):
            listing = self.series_listing()
            if q.get("category"):
                listing = [s for s in listing if s["category"] == q["category"]]
            return Response(200, {"series": listing})

        @self.route("GET", P + r"/series/([A-Z0-9]+)")
        def series(m, q, h, b):
            t = m.group(1)
            monthly = {s for s, _, _ in self.world.monthly_series()}
            if t in monthly:
                return Response(200, {"series": {
                    "ticker": t, "frequency": "monthly", "title": f"{t} monthly total", "category": "Climate and Weather",
                    "tags": ["Weather"], "settlement_sources": [{"name": "National Weather Service",
                                                                 "url": "https://forecast.weather.gov/product.php?product=CLI"}],
                    "contract_url": "", "contract_terms_url": "", "fee_type": "quadratic", "fee_multiplier": 1,
                    "additional_prohibitions": [], "product_metadata": {}}})
            if not any(t in (c.high_series, c.low_series) for c in CITIES):
                return err(404, "not_found", "series not found")
            return Response(200, {"series": {
                "ticker": t, "frequency": "daily", "title": f"{t} temperature", "category": "Climate and Weather",
                "tags": ["Weather"], "settlement_sources": [{"name": "The Weather Company", "url": "https://weather.com/kalshi"}],
                "contract_url": "", "contract_terms_url": "", "fee_type": "quadratic", "fee_multiplier": 1,
                "additional_prohibitions": [], "product_metadata": {}}})

        @self.route("GET", P + r"/markets")
        def markets(m, q, h, b):
            if q.get("status") not in (None, "open"):
                return Response(200, {"markets": [], "cursor": ""})
            return self.page(self.open_markets(q.get("series_ticker", "")), q, "markets")

        @self.route("GET", P + r"/markets/orderbooks")
        def books(m, q, h, b):
            if not self.authorised("GET", P + "/markets/orderbooks", h):
                return err(401, "unauthorized", "authentication required")
            tickers = [t for t in q.get("tickers", "").split(",") if t]
            if not 1 <= len(tickers) <= 100:
                return err(400, "invalid_parameters", "1 to 100 tickers")
            return Response(200, {"orderbooks": [{"ticker": t, "orderbook_fp": self.book(t)} for t in tickers if self.book(t)]})

        @self.route("GET", P + r"/markets/([A-Z0-9.-]+)/orderbook")
        def book(m, q, h, b):
            ob = self.book(m.group(1))
            return Response(200, {"orderbook_fp": ob}) if ob else err(404, "not_found", "market not found")

        @self.route("GET", P + r"/markets/([A-Z0-9.-]+)")
        def market(m, q, h, b):
            found = self.world.find_bracket(m.group(1))
            if not found:
                return err(404, "not_found", "market not found")
            return Response(200, {"market": self.market_obj(*found)})

        # portfolio: signed
        def signed(fn):
            def wrapper(m, q, h, b, _fn=fn):
                method = getattr(_fn, "method")
                if not self.authorised(method, m.group(0), h):
                    return err(401, "unauthorized", "bad or missing signature")
                return _fn(m, q, h, b)
            return wrapper

        def post_order(m, q, h, b):
            try:
                body = json.loads(b or b"{}")
            except ValueError:
                return err(400, "invalid_json", "body is not JSON")
            return self.create_order(body)
        post_order.method = "POST"
        self.route("POST", P + r"/portfolio/events/orders")(signed(post_order))

        def cancel_order(m, q, h, b):
            oid = m.group(1)
            with self.olock:
                o = self.orders.get(oid)
                if not o:
                    return err(404, "not_found", "order not found")
                reduced = o["count"] - o["fill_count"] if o["status"] == "resting" else Decimal(0)
                if o["status"] == "resting":
                    o["status"] = "canceled"
                    self.emit_order(o)
            return Response(200, {"order_id": oid, "client_order_id": o["client_order_id"], "reduced_by": fp(reduced),
                                  "ts_ms": int(time.time() * 1000)})
        cancel_order.method = "DELETE"
        self.route("DELETE", P + r"/portfolio/events/orders/([0-9a-f-]+)")(signed(cancel_order))

        def decrease_order(m, q, h, b):
            # POST /portfolio/events/orders/{id}/decrease (DecreaseOrderV2Request): exactly one of reduce_by /
            # reduce_to (fixed-point count strings); reduce_to is the remaining count the order is cut to.
            # Asking to remove more than remains is refused (the spec is silent; refusing is the strict reading)
            try:
                body = json.loads(b or b"{}")
            except ValueError:
                return err(400, "invalid_json", "body is not JSON")
            by, to = body.get("reduce_by"), body.get("reduce_to")
            if (by is None) == (to is None):
                return err(400, "invalid_parameters", "exactly one of reduce_by or reduce_to")
            try:
                amount = Decimal(str(by if by is not None else to))
            except ArithmeticError:
                return err(400, "invalid_parameters", "not a count")
            if amount < 0 or amount != amount.to_integral_value():
                return err(400, "invalid_parameters", "whole contracts only")
            oid = m.group(1)
            with self.olock:
                o = self.orders.get(oid)
                if not o:
                    return err(404, "not_found", "order not found")
                if o["status"] != "resting":
                    return err(400, "order_not_resting", "order is not resting")
                remaining = o["count"] - o["fill_count"]
                new_remaining = remaining - amount if by is not None else amount
                if new_remaining < 0 or new_remaining > remaining:
                    return err(400, "invalid_parameters", "can only decrease")
                o["count"] = o["fill_count"] + new_remaining
                if new_remaining == 0:
                    o["status"] = "canceled"
                self.emit_order(o)
            return Response(200, {"order_id": oid, "client_order_id": o["client_order_id"],   # DecreaseOrderV2Response
                                  "remaining_count": fp(new_remaining), "ts_ms": int(time.time() * 1000)})
        decrease_order.method = "POST"
        self.route("POST", P + r"/portfolio/events/orders/([0-9a-f-]+)/decrease")(signed(decrease_order))

        def get_orders(m, q, h, b):
            items = [self.order_view(o) for o in sorted(self.orders.values(), key=lambda o: o["created"])]
            if q.get("ticker"):
                items = [o for o in items if o["ticker"] == q["ticker"]]
            if q.get("status"):
                items = [o for o in items if o["status"] == q["status"]]
            return self.page(items, q, "orders")
        get_orders.method = "GET"
        self.route("GET", P + r"/portfolio/orders")(signed(get_orders))

        def get_fills(m, q, h, b):
            items = list(self.fills)
            if q.get("min_ts"):
                items = [f for f in items if f["ts"] >= int(q["min_ts"])]
            return self.page(items, q, "fills")
        get_fills.method = "GET"
        self.route("GET", P + r"/portfolio/fills")(signed(get_fills))

        def get_positions(m, q, h, b):
            r = self.page(self.positions(), q, "market_positions")
            r.body["event_positions"] = []
            return r
        get_positions.method = "GET"
        self.route("GET", P + r"/portfolio/positions")(signed(get_positions))

        def get_balance(m, q, h, b):
            return Response(200, {"balance": 100000, "balance_dollars": "1000.00", "portfolio_value": 0,
                                  "updated_ts": int(time.time())})
        get_balance.method = "GET"
        self.route("GET", P + r"/portfolio/balance")(signed(get_balance))

    def handle(self, method, path, query, headers, body):
        resp = super().handle(method, path, query, headers, body)
        return resp

    def fault_response(self, fault):
        return super().fault_response(fault)
