"""Fake api.weather.gov: /points, raw gridpoints, 12-h and hourly forecasts, station observations,
CLI product lists and products — real paths and JSON shapes (GeoJSON with `properties`; JSON-LD for
/products), problem+json errors, Last-Modified / If-Modified-Since, and faults:
500, 503_grid_expired, 429, timeout, drop, malformed, stale (old updateTime), null_temps, bad_precip
(a gridpoint whose probabilityOfPrecipitation says 150 %)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from zoneinfo import ZoneInfo

from .server import FakeServer, Response
from .world import BY_CODE, CITIES, World, f_to_c

PROBLEM = "application/problem+json"


def _iso_local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).isoformat()


def problem(status: int, kind: str, title: str, detail: str) -> Response:
    return Response(status, {"correlationId": "fake", "title": title, "type": f"https://api.weather.gov/problems/{kind}",
                             "status": status, "detail": detail, "instance": "https://api.weather.gov/requests/fake"},
                    content_type=PROBLEM)



def _cell(city) -> dict:
    """The 2.5 km grid cell around a city, as the GeoJSON polygon NWS returns for grid products."""
    d = 0.0125
    ring = [[city.lon - d, city.lat - d], [city.lon + d, city.lat - d], [city.lon + d, city.lat + d],
            [city.lon - d, city.lat + d], [city.lon - d, city.lat - d]]
    return {"type": "Polygon", "coordinates": [ring]}

def _tenths(c: float) -> str:
    return f"{1 if c < 0 else 0}{round(abs(c) * 10):03d}"


def metar(icao: str, at, c: float, last6h: list[float]) -> str:
    """A METAR in the real shape: whole °C in the body, the T-group's tenths in the remarks, and the
    6-hourly max/min groups (1snTTT, 2snTTT) at the synoptic reports (00, 06, 12, 18 UTC)."""
    body = f"{'M' if c < 0 else ''}{abs(round(c)):02d}/{'M' if c - 8 < 0 else ''}{abs(round(c - 8)):02d}"
    six = ""
    if (at.hour + 1) % 6 == 0 and at.minute == 51:
        six = f" 1{_tenths(max(last6h))} 2{_tenths(min(last6h))}"
    return f"{icao} {at:%d%H%M}Z 00000KT 10SM CLR {body} A3000 RMK AO2 SLP160 T{_tenths(c)}{_tenths(c - 8)}{six}"


class NwsFake(FakeServer):
    def __init__(self, world: World):
        super().__init__("nws")
        self.world = world
        self.base = ""
        self._routes()

    def start(self, port: int = 0) -> str:
        self.base = super().start(port)
        return self.base

    def fault_response(self, fault):
        if fault.kind == "503_grid_expired":
            return problem(503, "ForecastGridExpired", "Forecast Grid Expired",
                           "The requested forecast grid was issued 2026-11-20T00:00:00+00:00 and has expired.")
        if fault.kind == "500":
            return problem(500, "UnexpectedProblem", "Unexpected Problem", "An unexpected problem has occurred.")
        if fault.kind == "404":
            return problem(404, "NotFound", "Not Found", "The requested grid does not exist.")
        return super().fault_response(fault)

    def grid_city(self, wfo: str, x: int, y: int):
        for c in CITIES:
            if (c.wfo, c.gx, c.gy) == (wfo, x, y):
                return c
        return None

    def issued(self, path: str) -> datetime:
        lag = timedelta(days=3) if self.active("stale", path) else self.world.issued_lag
        return (self.world.now() - lag).replace(minute=0, second=0)

    def _routes(self):
        w = self.world

        @self.route("GET", r"/points/(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)")
        def points(m, q, h, b):
            lat, lon = m.group(1), m.group(2)
            if len(lat.split(".")[-1]) > 4 or len(lon.split(".")[-1]) > 4:
                fixed = f"/points/{round(float(lat), 4)},{round(float(lon), 4)}"
                r = problem(301, "AdjustedPointLocation", "Adjusting Precision Of Point Coordinate",
                            "The precision of latitude/longitude points is limited to 4 decimal digits for efficiency.")
                r.headers["Location"] = fixed
                return r
            city = min(CITIES, key=lambda c: (c.lat - float(lat)) ** 2 + (c.lon - float(lon)) ** 2)
            if abs(city.lat - float(lat)) > 0.01 or abs(city.lon - float(lon)) > 0.01:
                return problem(404, "InvalidPoint", "Data Unavailable For Requested Point", "outside the fake's cities")
            g = f"{self.base}/gridpoints/{city.wfo}/{city.gx},{city.gy}"
            return Response(200, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                                  "properties": {"@id": f"{self.base}/points/{lat},{lon}", "@type": "wx:Point",
                                                 "cwa": city.wfo, "gridId": city.wfo, "gridX": city.gx, "gridY": city.gy,
                                                 "forecast": f"{g}/forecast", "forecastHourly": f"{g}/forecast/hourly",
                                                 "forecastGridData": g,
                                                 "observationStations": f"{g}/stations", "timeZone": city.zone}},
                            content_type="application/geo+json", headers={"Cache-Control": "public, max-age=86400"})

        @self.route("GET", r"/gridpoints/([A-Z]{3})/(\d+),(\d+)")
        def gridpoint(m, q, h, b):
            city = self.grid_city(m.group(1), int(m.group(2)), int(m.group(3)))
            if not city:
                return problem(404, "NotFound", "Not Found", "grid not found")
            issued = self.issued(m.group(0))
            lm = format_datetime(issued, usegmt=True)
            ims = h.get("If-Modified-Since")
            if ims:
                try:
                    if parsedate_to_datetime(ims) >= issued:
                        return Response(304, b"", headers={"Last-Modified": lm})
                except (TypeError, ValueError):
                    pass
            null = self.active("null_temps", m.group(0))
            today = w.today(city)
            maxv, minv = [], []
            for d in range(7):
                day = today + timedelta(days=d)
                start = w.day_start(city, day) + timedelta(hours=7)     # 07:00 LST, 13 h
                maxv.append({"validTime": f"{start.isoformat()}/PT13H",
                             "value": None if null else round(f_to_c(w.forecast_high(city, day)), 12)})
                nstart = w.day_start(city, day) - timedelta(hours=5)    # 19:00 LST the evening before, 14 h
                minv.append({"validTime": f"{nstart.isoformat()}/PT14H",
                             "value": None if null else round(f_to_c(w.forecast_low(city, day)), 12)})
            # precipitation from the 6-hour block now is in, for the 7 days: PoP, QPF and snowfall per 6 h (mm)
            pop, qpf, snow = [], [], []
            block = w.now().replace(minute=0, second=0) - timedelta(hours=(w.now() + w.std_offset(city)).hour % 6)
            for d in range(7):
                day = today + timedelta(days=d)
                p, rain_in, snow_in = w.pop_qpf(city, day)
                for q in range(4):
                    start = w.day_start(city, day) + timedelta(hours=6 * q)
                    if start < block:
                        continue
                    qpf.append({"validTime": f"{start.isoformat()}/PT6H", "value": round(rain_in * 25.4 / 4, 3)})
                    snow.append({"validTime": f"{start.isoformat()}/PT6H", "value": round(snow_in * 25.4 / 4, 3)})
                    pop.append({"validTime": f"{start.isoformat()}/PT6H", "value": p})
            if self.active("bad_precip", m.group(0)) and pop:
                pop[0] = {**pop[0], "value": 150}
            return Response(200, {"type": "Feature", "geometry": _cell(city), "properties": {
                "@id": f"{self.base}{m.group(0)}", "@type": "wx:Gridpoint", "updateTime": issued.isoformat(),
                "validTimes": f"{w.day_start(city, today).isoformat()}/P7D", "gridId": city.wfo, "gridX": city.gx,
                "gridY": city.gy, "elevation": {"unitCode": "wmoUnit:m", "value": 10},
                "maxTemperature": {"uom": "wmoUnit:degC", "values": maxv},
                "minTemperature": {"uom": "wmoUnit:degC", "values": minv},
                "probabilityOfPrecipitation": {"uom": "wmoUnit:percent", "values": pop},
                "quantitativePrecipitation": {"uom": "wmoUnit:mm", "values": qpf},
                "snowfallAmount": {"uom": "wmoUnit:mm", "values": snow}}},
                content_type="application/geo+json", headers={"Last-Modified": lm, "Cache-Control": "public, max-age=3600"})

        @self.route("GET", r"/gridpoints/([A-Z]{3})/(\d+),(\d+)/forecast")
        def forecast(m, q, h, b):
            city = self.grid_city(m.group(1), int(m.group(2)), int(m.group(3)))
            if not city:
                return problem(404, "NotFound", "Not Found", "grid not found")
            issued = self.issued(m.group(0))
            null = self.active("null_temps", m.group(0))
            periods, today = [], w.today(city)
            for d in range(7):
                day = today + timedelta(days=d)
                ds = w.day_start(city, day)
                for n, (start, end, daytime, temp) in enumerate((
                        (ds + timedelta(hours=6), ds + timedelta(hours=18), True, w.forecast_high(city, day)),
                        (ds + timedelta(hours=18), ds + timedelta(hours=30), False, w.forecast_low(city, day + timedelta(days=1))))):
                    if end <= w.now():
                        continue
                    periods.append({"number": len(periods) + 1, "name": "Today" if daytime else "Tonight",
                                    "startTime": _iso_local(start, city.zone), "endTime": _iso_local(end, city.zone),
                                    "isDaytime": daytime, "temperature": None if null else temp, "temperatureUnit": "F",
                                    "temperatureTrend": None, "probabilityOfPrecipitation": {"unitCode": "wmoUnit:percent", "value": 10},
                                    "windSpeed": "5 mph", "windDirection": "N", "shortForecast": "Sunny", "detailedForecast": ""})
            return Response(200, {"type": "Feature", "geometry": _cell(city), "properties": {
                "units": "us", "forecastGenerator": "BaselineForecastGenerator", "generatedAt": w.now().isoformat(),
                "updateTime": issued.isoformat(), "validTimes": f"{issued.isoformat()}/P7D",
                "elevation": {"unitCode": "wmoUnit:m", "value": 10}, "periods": periods}},
                content_type="application/geo+json")

        @self.route("GET", r"/gridpoints/([A-Z]{3})/(\d+),(\d+)/forecast/hourly")
        def hourly(m, q, h, b):
            city = self.grid_city(m.group(1), int(m.group(2)), int(m.group(3)))
            if not city:
                return problem(404, "NotFound", "Not Found", "grid not found")
            issued = self.issued(m.group(0))
            null = self.active("null_temps", m.group(0))
            start = w.now().replace(minute=0, second=0)
            periods = []
            for i in range(156):
                at = start + timedelta(hours=i)
                periods.append({"number": i + 1, "name": "", "startTime": _iso_local(at, city.zone),
                                "endTime": _iso_local(at + timedelta(hours=1), city.zone), "isDaytime": 6 <= (at + w.std_offset(city)).hour < 18,
                                "temperature": None if null else round(w.forecast_temp_at(city, at)), "temperatureUnit": "F",
                                "temperatureTrend": None, "probabilityOfPrecipitation": {"unitCode": "wmoUnit:percent", "value": 0},
                                "windSpeed": "5 mph", "windDirection": "N", "shortForecast": "Clear", "detailedForecast": ""})
            return Response(200, {"type": "Feature", "geometry": _cell(city), "properties": {
                "units": "us", "forecastGenerator": "HourlyForecastGenerator", "generatedAt": w.now().isoformat(),
                "updateTime": issued.isoformat(), "validTimes": f"{issued.isoformat()}/P7D",
                "elevation": {"unitCode": "wmoUnit:m", "value": 10}, "periods": periods}},
                content_type="application/geo+json")

        @self.route("GET", r"/stations/(K[A-Z]{3})/observations")
        def observations(m, q, h, b):
            city = next((c for c in CITIES if c.icao == m.group(1)), None)
            if not city:
                return problem(404, "NotFound", "Not Found", "station not found")
            limit = int(q.get("limit", 24))
            if not 1 <= limit <= 500:
                return problem(400, "BadRequest", "Bad Request", "limit must be 1..500")
            null = self.active("null_temps", m.group(0))
            now = w.now().replace(minute=51, second=0)
            if now > w.now():
                now -= timedelta(hours=1)
            feats = []
            for i in range(limit):
                at = now - timedelta(hours=i)
                c = f_to_c(w.temp_at(city, at))
                feats.append({"id": f"{self.base}/stations/{city.icao}/observations/{at.isoformat()}", "type": "Feature",
                              "geometry": {"type": "Point", "coordinates": [city.lon, city.lat]},
                              "properties": {"station": f"{self.base}/stations/{city.icao}", "timestamp": at.isoformat(),
                                             "rawMessage": "" if null else metar(city.icao, at, c, [f_to_c(w.temp_at(city, at - timedelta(minutes=m)))
                                                                                                 for m in range(0, 360, 30)]),
                                             # like the real feed: the JSON value is the whole-degree METAR body, the tenths are in the remarks
                                             "temperature": {"unitCode": "wmoUnit:degC", "value": None if null else float(round(c)),
                                                             "qualityControl": "V"}}})
            return Response(200, {"type": "FeatureCollection", "features": feats}, content_type="application/geo+json")

        def cli_products(city):
            """A final (YESTERDAY) report for each of the last 3 days (Monthly worlds: the month so far), and
            today's preliminary."""
            out = []
            today = w.today(city)
            # a world with Monthly markets keeps every final of the month so far (the month to date)
            back = max(3, today.day - 1) if w.monthly else 3
            for d in range(1, back + 1):
                day = today - timedelta(days=d)
                issued = w.day_start(city, day + timedelta(days=1)) + timedelta(hours=1, minutes=30)
                out.append((f"cli-{city.cli}-{day.isoformat()}-final", issued, day, "YESTERDAY"))
            prelim_at = w.day_start(city, today) + timedelta(hours=17)
            if prelim_at <= w.now():
                out.append((f"cli-{city.cli}-{today.isoformat()}-prelim", prelim_at, today, "TODAY"))
            return [p for p in out if p[1] <= w.now()]

        def amounts(city, day, label) -> str:
            """PRECIPITATION and SNOWFALL (IN) as the real bulletin lays them out: the observed value ends at
            column 23, the NORMAL under the header's NORMAL (column 49)."""
            out = []
            for title, kind, fmt in (("PRECIPITATION (IN)", "monthly_rain", "{:.2f}"), ("SNOWFALL (IN)", "monthly_snow", "{:.1f}")):
                normal_day = w.normal(city, kind) / w.days_in_month(day)
                out.append(f"{title}\n"
                           f"  {label:<13}{fmt.format(w.amount(city, day, kind)):>8}{fmt.format(normal_day):>26}\n"
                           f"  {'MONTH TO DATE':<13}{fmt.format(w.month_to_date(city, day, kind)):>8}"
                           f"{fmt.format(normal_day * day.day):>26}\n\n")
            return "".join(out)

        def cli_text(city, day, label, issued) -> str:
            hi, lo = w.high(city, day), w.low(city, day)
            return (f"\n000\nCDUS41 K{city.wfo} {issued:%d%H%M}\nCLI{city.cli}\n\nCLIMATE REPORT\n"
                    f"NATIONAL WEATHER SERVICE\n\n...................................\n\n"
                    f"...THE {city.station_name} CLIMATE SUMMARY FOR {day.strftime('%B').upper()} {day.day} {day.year}...\n\n"
                    "WEATHER ITEM   OBSERVED TIME   RECORD YEAR NORMAL DEPARTURE LAST\n"
                    "                VALUE   (LST)  VALUE       VALUE  FROM      YEAR\n"
                    "...................................................................\n"
                    f"TEMPERATURE (F)\n {label}\n"
                    f"  MAXIMUM         {hi:>3}   3:12 PM  {hi + 20:>3}    1950  {hi - 2:>3}     2       {hi - 1}\n"
                    f"  MINIMUM         {lo:>3}   6:05 AM  {lo - 20:>3}    1950  {lo + 1:>3}    -1       {lo}\n"
                    f"  AVERAGE         {(hi + lo) // 2:>3}\n\n"
                    + amounts(city, day, label) +
                    "...................................................................\n\n"
                    f"... CLIMATE NORMALS FOR TODAY\n  MAXIMUM TEMPERATURE (F)   {hi - 2}\n  MINIMUM TEMPERATURE (F)   {lo + 1}\n\n$$\n")

        @self.route("GET", r"/products/types/CLI/locations/([A-Z]{3})")
        def cli_list(m, q, h, b):
            if q:
                return problem(400, "BadRequest", "Bad Request", "unrecognised query parameters")
            city = next((c for c in CITIES if c.cli == m.group(1)), None)
            graph = [] if not city else [
                {"@id": f"{self.base}/products/{pid}", "id": pid, "wmoCollectiveId": "CDUS41",
                 "issuingOffice": f"K{city.wfo}", "issuanceTime": at.isoformat(), "productCode": "CLI",
                 "productName": "Climatological Report (Daily)"} for pid, at, _d, _l in sorted(cli_products(city), key=lambda p: p[1], reverse=True)]
            return Response(200, {"@context": {"@version": "1.1"}, "@graph": graph}, content_type="application/ld+json")

        @self.route("GET", r"/products/([A-Za-z0-9-]+)")
        def product(m, q, h, b):
            pid = m.group(1)
            for city in CITIES:
                for p, at, day, label in cli_products(city):
                    if p == pid:
                        return Response(200, {"@context": {"@version": "1.1"}, "@id": f"{self.base}/products/{pid}",
                                              "id": pid, "wmoCollectiveId": "CDUS41", "issuingOffice": f"K{city.wfo}",
                                              "issuanceTime": at.isoformat(), "productCode": "CLI",
                                              "productName": "Climatological Report (Daily)",
                                              "productText": cli_text(city, day, label, at)},
                                        content_type="application/ld+json")
            return problem(404, "NotFound", "Not Found", f"product {pid} not found")
