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
    build = {"equity": equity, "ladder": ladder, "calibration": calibration}[kind]
    return json.dumps(build(json.loads(rows_json), *args).to_dict())


def equity(rows: list[dict]) -> alt.VConcatChart:
    df = pd.DataFrame(rows)
    df["at"] = pd.to_datetime(df["at"], utc=True)
    df["equity"] = df["equity"].astype(float)
    df["drawdown"] = df["drawdown"].astype(float)
    base = alt.Chart(df).encode(x=alt.X("at:T", title=None))
    line = base.mark_line(point=True).encode(y=alt.Y("equity:Q", title="Equity", scale=alt.Scale(zero=False), axis=alt.Axis(format="$,.0f")),
                                   tooltip=[alt.Tooltip("at:T", title="hour (UTC)"), alt.Tooltip("equity:Q", format="$,.2f")])
    dd = base.mark_area(color="#d62728", opacity=0.5).encode(
        y=alt.Y("drawdown:Q", title="Drawdown", axis=alt.Axis(format="$,.2f")),
        tooltip=[alt.Tooltip("at:T", title="hour (UTC)"), alt.Tooltip("drawdown:Q", format="$,.2f")])
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
