"""Sim only: the demo's books move. A seeded random walk adds and takes liquidity on the open daily
markets of the fake world, through the WebSocket fake (so the feed hears each change as a delta and the
REST fake serves the same book): now and then a bid one cent better, a level taken whole (and printed as a
public trade), size added behind. It never crosses a book. Synthetic, and said so in the README (`MILKBOT_SIM=1 make run`)."""
from __future__ import annotations

import random
import threading
from datetime import timedelta
from decimal import Decimal

from .world import CITIES

CENT = Decimal("0.01")


class BookMover:
    def __init__(self, world, ws, every: float = 2.0, seed: int = 20261207, follow_market: bool = False):
        self.world, self.ws, self.every = world, ws, every
        # the demo's real-days world: the books also follow the market's moving belief (SimMarketMaker)
        self.maker = None
        if follow_market:
            from .history_world import SimMarketMaker
            self.maker = SimMarketMaker(world, ws, self)
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.moves = 0
        self.printed: list[tuple[str, str]] = []     # (trade id, market) of every trade printed
        self.thread = threading.Thread(target=self.run, name="sim-book-mover", daemon=True)

    def start(self) -> "BookMover":
        self.thread.start()
        return self

    def open_tickers(self) -> list[str]:
        out = []
        for city in CITIES:
            today = self.world.today(city)
            for day in (today, today + timedelta(days=1)):
                for kind in ("high", "low"):
                    out += [b["ticker"] for b in self.world.ladder(city, day, kind)]
        return out

    def step(self) -> None:
        ticker = self.rng.choice(self.open_tickers())
        lv = self.world.levels(ticker)
        side = self.rng.choice(("yes", "no"))
        other = lv["no" if side == "yes" else "yes"]
        mine = lv[side]
        best = max(mine, default=None)
        room = 1 - (max(other) if other else Decimal(0))      # a bid on this side must stay below it
        roll = self.rng.random()
        if best is not None and roll < 0.3 and mine[best] > 0:
            # the top level taken whole by a taker: a public trade (what fills resting paper orders)
            qty = mine[best]
            self.ws.change(ticker, side, best, -qty)
            if side == "yes":
                self.printed.append((self.ws.trade(ticker, best, qty, "no"), ticker))        # YES bids hit by takers buying NO
            else:
                self.printed.append((self.ws.trade(ticker, 1 - best, qty, "yes"), ticker))   # NO bids hit by takers buying YES
        elif best is not None and roll < 0.55 and best + CENT < room:
            self.ws.change(ticker, side, best + CENT, Decimal(self.rng.randint(5, 60)))   # a better bid
        elif best is not None and best - CENT > 0:
            self.ws.change(ticker, side, best - CENT, Decimal(self.rng.randint(5, 80)))   # size behind
        self.moves += 1

    def run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                if self.maker is not None:
                    self.maker.step()
                self.step()
            except (KeyError, ValueError, RuntimeError):
                continue                                     # a market gone from the world: the next one
