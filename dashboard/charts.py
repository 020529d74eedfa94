"""Altair charts (rendered natively by Streamlit): equity with drawdown, model vs market per bracket,
calibration (reliability). The page draws them from `spec()`: the Vega-Lite of a chart, built once per
distinct data."""
from __future__ import annotations

import functools
import json

import altair as alt
import pandas as pd


def spec(kind: str, rows: list[dict], *args) -> dict:
    """The chart's Vega-Lite spec (for st.vega_lite_chart), a fresh copy each call (Streamlit takes the data
    out of it). Built once per distinct rows: Altair's chart building and schema validation were most of a
    page run's CPU, and every visitor's run (and every refresh) drew the same charts from the same
    readings (issue 26 §1: a run must be cheap, one process serves everyone)."""
    return json.loads(_spec_json(kind, json.dumps(rows, sort_keys=True, default=str), *args))


@functools.lru_cache(maxsize=256)
def _spec_json(kind: str, rows_json: str, *args) -> str:
    build = {"equity": equity, "ladder": ladder, "calibration": calibration, "reliability": reliability,
             "observed": observed}[kind]
    return json.dumps(build(json.loads(rows_json), *args).to_dict())


def equity(rows: list[dict]) -> alt.VConcatChart:
    df = pd.DataFrame(rows)
    df["at"] = pd.to_datetime(df["at"], utc=True)
    df["equity"] = df["equity"].astype(float)
    df["drawdown"] = df["drawdown"].astype(float)
    # UTC on the axis and in the tooltips (the rest of the page says UTC; Vega-Lite would use the browser's
    # zone), and a few pixels of padding so the newest point is not cut off at the right edge
    x = alt.X("at:T", title="UTC", scale=alt.Scale(type="utc", padding=8),
              axis=alt.Axis(format="%b %d %H:%M", labelOverlap=True))
    when = alt.Tooltip("at:T", title="hour (UTC)", format="%b %d %H:%M", formatType="utc")
    base = alt.Chart(df).encode(x=x)
    line = base.mark_line(point=True).encode(y=alt.Y("equity:Q", title="Equity", scale=alt.Scale(zero=False), axis=alt.Axis(format="$,.2f")),
                                   tooltip=[when, alt.Tooltip("equity:Q", format="$,.2f")])
    dd = base.mark_area(color="#d62728", opacity=0.5).encode(
        y=alt.Y("drawdown:Q", title="Drawdown", axis=alt.Axis(format="$,.2f")),
        tooltip=[when, alt.Tooltip("drawdown:Q", format="$,.2f")])
    return alt.vconcat(line.properties(height=220, width="container"), dd.properties(height=90, width="container"))


def ladder(rows: list[dict], title: str) -> alt.Chart:
    """Model probability vs the market's implied probability, side by side for each bracket."""
    long = []
    for i, r in enumerate(rows):
        for who, key in (("model", "model_p"), ("market", "market_p")):
            if r.get(key) is not None:
                long.append({"bracket": r["bracket"], "order": i, "who": who, "p": float(r[key])})
    df = pd.DataFrame(long, columns=["bracket", "order", "who", "p"])
    order = [r["bracket"] for r in rows]
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X("bracket:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40)),
        xOffset=alt.XOffset("who:N", sort=["model", "market"]),
        y=alt.Y("p:Q", title="probability", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("who:N", sort=["model", "market"], title=None,
                        scale=alt.Scale(domain=["model", "market"], range=["#1f77b4", "#ff7f0e"])),
        tooltip=["bracket:N", "who:N", alt.Tooltip("p:Q", format=".0%")],
    ).properties(height=220, width="container")


def calibration(rows: list[dict]) -> alt.LayerChart:
    df = pd.DataFrame(rows)
    df["mean_model_p"] = df["mean_model_p"].astype(float)
    df["yes_rate"] = df["yes_rate"].astype(float)
    diagonal = alt.Chart(pd.DataFrame({"p": [0.0, 1.0]})).mark_line(color="gray", strokeDash=[4, 4]).encode(
        x=alt.X("p:Q", title="model probability", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("p:Q", title="how often YES", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])))
    points = alt.Chart(df).mark_circle(color="#1f77b4").encode(
        x="mean_model_p:Q", y="yes_rate:Q", size=alt.Size("markets:Q", title="markets"),
        tooltip=[alt.Tooltip("mean_model_p:Q", title="model", format=".0%"),
                 alt.Tooltip("yes_rate:Q", title="YES rate", format=".0%"), "markets:Q"])
    return (diagonal + points).properties(height=260, width="container")


def reliability(rows: list[dict]) -> alt.LayerChart:
    """Model and market side by side: per 10-point bin of each one's probability, how often YES came."""
    df = pd.DataFrame(rows)
    df["mean_p"] = df["mean_p"].astype(float)
    df["yes_rate"] = df["yes_rate"].astype(float)
    df["markets"] = df["markets"].astype(int)
    diagonal = alt.Chart(pd.DataFrame({"p": [0.0, 1.0]})).mark_line(color="gray", strokeDash=[4, 4]).encode(
        x=alt.X("p:Q", title="forecast probability", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("p:Q", title="how often YES", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])))
    points = alt.Chart(df).mark_circle(opacity=0.8).encode(
        x="mean_p:Q", y="yes_rate:Q", size=alt.Size("markets:Q", title="markets"),
        color=alt.Color("forecaster:N", sort=["model", "market"], title=None,
                        scale=alt.Scale(domain=["model", "market"], range=["#1f77b4", "#ff7f0e"])),
        tooltip=["forecaster:N", alt.Tooltip("mean_p:Q", title="forecast", format=".0%"),
                 alt.Tooltip("yes_rate:Q", title="YES rate", format=".0%"), "markets:Q"])
    return (diagonal + points).properties(height=260, width="container")


def observed(rows: list[dict]) -> alt.LayerChart:
    """Today's hourly observed max/min at the station, with the forecast high and low as dashed rules."""
    df = pd.DataFrame(rows)
    df["hour"] = pd.to_datetime(df["hour"], utc=True)
    long = pd.concat([pd.DataFrame({"hour": df["hour"], "temp": df["max_f"].astype(float), "what": "hourly max"}),
                      pd.DataFrame({"hour": df["hour"], "temp": df["min_f"].astype(float), "what": "hourly min"})])
    x = alt.X("hour:T", title="UTC", scale=alt.Scale(type="utc", padding=8), axis=alt.Axis(format="%H:%M"))
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=x, y=alt.Y("temp:Q", title="°F", scale=alt.Scale(zero=False)),
        color=alt.Color("what:N", title=None, scale=alt.Scale(domain=["hourly max", "hourly min"], range=["#d62728", "#1f77b4"])),
        tooltip=[alt.Tooltip("hour:T", title="hour (UTC)", format="%H:%M", formatType="utc"), "what:N",
                 alt.Tooltip("temp:Q", title="°F", format=".1f")])
    rules = []
    for col, label, colour in (("forecast_high_f", "forecast high", "#d62728"), ("forecast_low_f", "forecast low", "#1f77b4")):
        value = next((r[col] for r in rows if r.get(col) is not None), None)
        if value is not None:
            rules.append(alt.Chart(pd.DataFrame({"temp": [float(value)], "what": [label]})).mark_rule(
                color=colour, strokeDash=[6, 4]).encode(y="temp:Q", tooltip=["what:N", alt.Tooltip("temp:Q", title="°F")]))
    return alt.layer(lines, *rules).properties(height=220, width="container")
