"""Milkbot's public dashboard. Run: `milkbot dashboard` (or `streamlit run dashboard/serve.py`: the page behind its WebSocket guard).

Everything shown comes from the public Analytics API (dashboard.data -> dashboard.public_api): trading
data there is already 60 minutes old by the API's own definition. The page re-reads it every 60 s
(a fragment: no full reload); when the API is down it says so and keeps the last good data."""
from __future__ import annotations

import logging
import os
from datetime import datetime

import streamlit as st

from dashboard import charts, present
from dashboard.data import Reading, read
from milkbot import clock

REFRESH_S = float(os.environ.get("MILKBOT_DASHBOARD_REFRESH_S", "60"))   # tests shorten it
TRADES_PER_PAGE = 25
log = logging.getLogger("milkbot.dashboard")

# the page icon is our own file, served by Streamlit itself: a Material or emoji icon is fetched from
# fonts.gstatic.com, which the edge's CSP (no third-party fetches) refuses
st.set_page_config(page_title="Milkbot — weather markets, 60 minutes late",
                   page_icon=os.path.join(os.path.dirname(__file__), "icon.png"), layout="wide")


def problem_note(*readings: Reading) -> None:
    """One visitor-safe note for the readings that are not fresh (never an exception's text)."""
    bad = [r for r in readings if not r.ok]
    if not bad:
        return
    oldest = min((r.fetched_at for r in bad if r.fetched_at), default=None)
    if oldest:
        st.warning(f"{bad[0].problem} (received {present.when_words(oldest)})", icon=":material/warning:")
    else:
        st.warning(bad[0].problem, icon=":material/warning:")


def section(render, *args) -> None:
    """A failure inside one section shows a plain sentence there; the rest of the page still renders."""
    try:
        render(*args)
    except Exception:     # noqa: BLE001 -- a visitor sees no traceback; the server log has it
        log.exception("dashboard section %s failed", render.__name__)
        st.error("This part of the page could not be shown right now.")


def now_from(status: Reading) -> datetime:
    """Ages are measured on the API's clock (the database's now()) when we have it."""
    served = present.instant(status.rows[0].get("served_at")) if status.ok and status.rows else None
    return served or clock.now()


# --- Overview -----------------------------------------------------------------------------------------
def banner(status: Reading, health: Reading, overview: Reading) -> None:
    if status.rows:
        s = status.rows[0]
        since = present.when_words(present.instant(s.get("trading_state_since")))
        if s["trading_state"] == "HALTED":
            st.error(f"Trading is halted (as of {present.when_words(present.instant(s['delayed_to']))}, "
                     f"60 minutes ago; since {since}).", icon=":material/block:")
        elif s["trading_state"] == "REDUCING":
            st.warning(f"Milkbot is only reducing its positions (as of 60 minutes ago; since {since}).", icon=":material/warning:")
    cycle = next((h for h in health.rows if h["component"] == "cycle"), None)
    if health.ok and (cycle is None or cycle.get("heard_within_min") is None):
        st.info("Milkbot is warming up: its first pass over the weather and the markets is running. "
                "Forecasts and prices appear here within minutes, trades 60 minutes after they happen.",
                icon=":material/hourglass_top:")
    overall = next((h for h in health.rows if h["component"] == "all"), None)
    if overall and overall["status"] != "ok":
        st.warning(f"Some of Milkbot is {present.STATUS_WORDS.get(overall['status'], overall['status'])}: "
                   "see the Health tab.", icon=":material/warning:")
    stale = sorted({r["city"] for r in overview.rows if r["data_health"] != "ok"})
    if stale:
        st.warning("Weather data are out of date for " + ", ".join(present.city_name(c) for c in stale) + ".", icon=":material/cloud_off:")


def city_card(code: str, rows: list[dict]) -> None:
    with st.container(border=True):
        health = rows[0]["data_health"] if rows else "no forecast yet"
        dot = ":green[●]" if health == "ok" else ":orange[●]"
        st.markdown(f"**{present.city_name(code)}** · {code}  \n{dot} {present.DATA_HEALTH_WORDS.get(health, health)}")
        for day in ("today", "tomorrow"):
            by_kind = {r["kind"]: r for r in rows if r["day"] == day}
            if not by_kind:
                continue
            any_row = next(iter(by_kind.values()))
            hi, lo = by_kind.get("high", {}), by_kind.get("low", {})
            observed = f" (so far {present.temp(hi['observed_f'])})" if hi.get("observed_f") is not None else ""
            lines = [f"**{day.capitalize()}, {present.day_words(any_row['climate_date'])}** — "
                     f"high {present.temp(hi.get('forecast_f'))}{observed} · low {present.temp(lo.get('forecast_f'))}"]
            for kind in ("high", "low"):
                r = by_kind.get(kind)
                if r and r.get("favoured_bracket"):
                    held = " · **holding**" if r["holding"] else ""
                    lines.append(f"{kind}: favours {r['favoured_bracket']} at {present.pct(r['favoured_p'])}; "
                                 f"market {present.quote(r['yes_bid'], r['yes_ask'])}{held}")
            st.markdown("  \n".join(lines))


def city_grid(overview: Reading) -> None:
    by_city: dict[str, list[dict]] = {}
    for r in overview.rows:
        by_city.setdefault(r["city"], []).append(r)
    known = {c for cities in present.CLUSTERS.values() for c in cities}
    clusters = dict(present.CLUSTERS)
    extra = sorted(set(by_city) - known)
    if extra:
        clusters["Other"] = extra
    for cluster, cities in clusters.items():
        st.markdown(f"#### {cluster}")
        for col, code in zip(st.columns(len(cities)), cities):
            with col:
                city_card(code, by_city.get(code, []))


def headline(metrics: Reading) -> None:
    m = metrics.rows[0] if metrics.rows else {}
    settled = int(float(m.get("settled_markets") or 0))
    a, b, c, d = st.columns(4)
    a.metric("P&L (net of fees)", present.money(m.get("net_pnl")),
             help="Realised on settled markets, plus open positions marked at the market's mid, minus fees.")
    b.metric(f"Win rate · {settled:,} settled", present.pct(m.get("win_rate")),
             help="Share of the contracts on settled markets that paid out.")
    c.metric(f"Brier score · {settled:,} settled", "–" if m.get("brier") is None else f"{float(m['brier']):.3f}",
             help="Mean squared error of the model's day-ahead probability (its last before the day began) on settled "
                  "markets (0 is perfect, lower is better).")
    d.metric("Trades", "0" if m.get("fills") is None else f"{int(float(m['fills'])):,}")
    st.caption(f"P&L: realised {present.money(m.get('realised_pnl'))} · marked (open positions) "
               f"{present.money(m.get('marked_pnl'))} · fees {present.money(m.get('fees'))} · "
               f"{settled:,} settled market{'s' if settled != 1 else ''}" +
               (" — too few to judge the strategy by." if settled < 30 else "."))


def equity(curve: Reading) -> None:
    if not curve.rows:
        st.info("No equity history yet: it starts with the first trade that is at least 60 minutes old.")
        return
    st.vega_lite_chart(charts.spec("equity", curve.rows), width="stretch")


def overview_tab() -> None:
    status, health, overview = read("status"), read("health"), read("overview")
    metrics, curve = read("headline"), read("equity", select="at,equity,drawdown", order="at.asc")
    problem_note(status, health, overview, metrics, curve)
    banner(status, health, overview)
    section(headline, metrics)
    section(city_grid, overview)
    st.markdown("#### Equity and drawdown (hourly, UTC, 60 minutes delayed)")
    section(equity, curve)


# --- Trades -------------------------------------------------------------------------------------------
def trades_tab() -> None:
    page = st.session_state.setdefault("trades_page", 0)
    feed = read("trades", select="traded_at,words,city,side,price,contracts",
                limit=TRADES_PER_PAGE + 1, offset=page * TRADES_PER_PAGE)
    problem_note(feed)
    rows = feed.rows[:TRADES_PER_PAGE]
    if not rows:
        st.info("No trades to show yet. Trades appear here 60 minutes after they happen." if page == 0
                else "No older trades.")
    else:
        st.dataframe([{"Time": present.when_words(present.instant(r["traded_at"])), "City": present.city_name(r["city"]),
                       "Market": r["words"], "Side": present.side_words(r["side"]), "Price": present.cents(r["price"]),
                       "Contracts": f"{float(r['contracts']):g}"} for r in rows],
                     hide_index=True, width="stretch")
    newer, label, older = st.columns([1, 2, 1])
    # callbacks, not st.rerun(): a click reruns the fragment, and the callback has moved the page before it
    newer.button("← Newer", disabled=page == 0, key="trades_newer", on_click=_turn_page, args=(-1,))
    label.caption(f"Page {page + 1} · newest first · every trade is at least 60 minutes old")
    older.button("Older →", disabled=len(feed.rows) <= TRADES_PER_PAGE, key="trades_older", on_click=_turn_page, args=(1,))


def _turn_page(step: int) -> None:
    st.session_state.trades_page = max(0, st.session_state.get("trades_page", 0) + step)


# --- Cities -------------------------------------------------------------------------------------------
def cities_tab() -> None:
    ladders, reliability, observed, monthly = read("ladders"), read("reliability"), read("observed_today"), read("monthly")
    problem_note(ladders, reliability, observed, monthly)
    codes = sorted((c for cs in present.CLUSTERS.values() for c in cs), key=present.city_name)
    code = st.selectbox("City", codes, index=codes.index("NYC"), format_func=lambda c: f"{present.city_name(c)} ({c})",
                        key="city")
    section(observed_chart, code, observed)
    mine = [r for r in ladders.rows if r["city"] == code]
    if not mine:
        st.info("No open markets for this city right now.")
    for (day, kind) in sorted({(r["climate_date"], r["kind"]) for r in mine}):
        brackets = [r for r in mine if r["climate_date"] == day and r["kind"] == kind]
        title = f"{present.city_name(code)} {kind}, {present.day_words(day)}: model vs market"
        section(lambda b=brackets, t=title: st.vega_lite_chart(charts.spec("ladder", b, t), width="stretch"))
    st.caption("Model: Milkbot's probability for each bracket as of 60 minutes ago. Market: the middle of "
               "Kalshi's current bid and ask.")
    section(monthly_card, code, monthly)
    st.markdown(f"#### Model or market: which was right more often in {present.city_name(code)}?")
    bins = [r for r in reliability.rows if r["city"] == code]
    if not bins:
        st.info("No settled markets with a model probability yet.")
        return
    section(lambda: st.vega_lite_chart(charts.spec("reliability", bins), width="stretch"))
    words = []
    for who in ("model", "market"):
        mine = [b for b in bins if b["forecaster"] == who]
        n = sum(int(b["markets"]) for b in mine)
        if n:
            brier = sum(float(b["brier"]) * int(b["markets"]) for b in mine) / n
            words.append(f"{who}: {n} settled markets, Brier {brier:.3f}")
    st.caption(" · ".join(words) + ". Each dot: brackets given about that probability, and how often they came "
               "true; a calibrated forecaster's dots sit on the dashed line. The market's probability is its mid "
               "(bid and ask), over the ladder, at the same moment as the model's: the day ahead, the last before the "
               "day began (later the thermometer all but settles a high, and anyone scores well). Lower Brier is better.")


def monthly_card(code: str, monthly: Reading) -> None:
    """The city's Monthly rain and snow ladders, where Kalshi lists them: the month so far against its
    normal, and the model against the market for each "above X inches"."""
    mine = [r for r in monthly.rows if r["city"] == code]
    for kind in sorted({r["kind"] for r in mine}):
        rows = [{**r, "bracket": r["threshold"]} for r in mine if r["kind"] == kind]
        word = "Rain" if kind == "monthly_rain" else "Snow"
        first = rows[0]
        st.markdown(f"#### {word} in {present.city_name(code)} this month ({present.month_words(first['month'])})")
        if first.get("month_to_date_in") is not None:
            st.markdown(f"So far **{float(first['month_to_date_in']):.2f} in** through "
                        f"{present.day_words(first['bulletin_through'])}; the normal to that day is "
                        f"{float(first['normal_to_date_in'] or 0):.2f} in.")
        else:
            st.markdown("No climate report of this month yet.")
        st.vega_lite_chart(charts.spec("ladder", rows, f"{word}, {present.city_name(code)}: model vs market"), width="stretch")
    if mine:
        st.caption("From the NWS daily climate reports (public, not delayed). Model: Milkbot's probability that the "
                   "month's total ends above each amount, as of 60 minutes ago; market: the middle of Kalshi's bid and ask.")


def observed_chart(code: str, observed: Reading) -> None:
    rows = [r for r in observed.rows if r["city"] == code]
    st.markdown(f"#### {present.city_name(code)} today: observed so far against the forecast")
    if not rows:
        st.info("No observation yet on this climate day.")
        return
    st.vega_lite_chart(charts.spec("observed", rows), width="stretch")
    st.caption("Hourly highest and lowest readings at the settlement station (UTC), with the day's forecast "
               "high and low as dashed lines. Public weather data, not delayed.")


# --- Health -------------------------------------------------------------------------------------------
def health_tab() -> None:
    status, health, overview = read("status"), read("health"), read("overview")
    problem_note(status, health, overview)
    now = now_from(status)
    if health.rows:
        st.dataframe([{"Part": present.COMPONENTS.get(h["component"], h["component"]),
                       "Status": present.STATUS_WORDS.get(h["status"], h["status"]),
                       "Last heard from": "—" if h["component"] == "database"
                       else present.heard_words(h.get("heard_within_min"))} for h in health.rows],
                     hide_index=True, width="stretch")
    cities = {}
    for r in overview.rows:
        cities.setdefault(r["city"], r)
    if cities:
        st.markdown("#### Weather data per city")
        st.dataframe([{"City": present.city_name(c), "Data": present.DATA_HEALTH_WORDS.get(r["data_health"], r["data_health"]),
                       "Newest forecast": present.age_words(present.instant(r["forecast_at"]), now),
                       "Newest observation": present.age_words(present.instant(r["observed_at"]), now)}
                      for c, r in sorted(cities.items())], hide_index=True, width="stretch")
    section(settlement_checks, read("settlement_parity"))


def settlement_checks(parity: Reading) -> None:
    """How often each cross-check agreed with the value Kalshi settled on (its outcome is the truth)."""
    st.markdown("#### Settlement cross-checks")
    rows = [r for r in parity.rows if int(r["events"] or 0) > 0]
    if not rows:
        st.info("No settled market to compare yet.")
        return
    words = {"cli": "The NWS daily climate report (CLI)", "metar": "The station's own readings (METAR)"}
    st.markdown("  \n".join(f"{words.get(r['source'], r['source'])} agreed with the value Kalshi settled on "
                             f"for {int(r['agree'])} of {int(r['events'])} settled days ({present.pct(r['agreement_rate'])})."
                             for r in rows))
    st.caption("Kalshi's own settled value is the outcome of record; the others are checked against it, and a "
               "disagreement is raised for the operator.")


def about_tab() -> None:
    st.markdown("""
**Milkbot** trades Kalshi's daily weather markets — the day's high and low temperature in ten US cities,
in brackets of a degree or two — from the National Weather Service's forecasts and observations. For each
bracket it prices a probability, and it trades only where that probability beats the market's price by
more than the fees.

**Everything about trading here is 60 minutes late.** Trades, positions, the model's probabilities,
profit and loss and the trading state appear only once they are at least an hour old. Weather forecasts,
observations and market quotes are public data and are shown as they arrive.

**Nothing here is advice.** It is a public record of an automated system, which can be wrong and can
lose money. Prices and probabilities may be out of date.
""")
    world = sim_world()
    if world:
        st.markdown("**This is a simulation, not the live system.** " + world)


def sim_world() -> str | None:
    """What the demo's world is made of (the API says so only in the sim; None in a real deployment)."""
    status = read("status")
    return (status.rows[0].get("sim_world") or None) if status.ok and status.rows else None


@st.fragment(run_every=REFRESH_S)
def page() -> None:
    st.title("Milkbot")
    st.caption("Automated trading of Kalshi's daily temperature markets · trading data delayed 60 minutes · "
               "not advice")
    if sim_world():
        st.info("A simulation on an accelerated clock: paper money, simulated markets — see About for what "
                "its world is made of. Times and the 60-minute delay are the simulation's.", icon=":material/science:")
    tabs = st.tabs(["Overview", "Trades", "Cities", "Health", "About"])
    for tab, render in zip(tabs, (overview_tab, trades_tab, cities_tab, health_tab, about_tab)):
        with tab:
            section(render)


page()
