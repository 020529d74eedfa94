"""The public edge (deploy/nginx-public.conf, rendered by milkbot.edge) with the real nginx on loopback,
in front of the real PostgREST and Streamlit. Clients bind distinct loopback addresses (127.0.0.x) to be
distinct clients; the test's "Cloudflare" is 127.0.0.2/32 in its own ranges file."""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import SETTINGS
from fakes.ports import free_ports
from fakes.waiting import wait_for
from milkbot import edge
from milkbot.api import _server_user, _spawn

CLOUDFLARE = "127.0.0.2"


def origin_certificate(folder: Path) -> tuple[Path, Path]:
    """A stand-in for the Cloudflare origin certificate: self-signed, for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "milkbot origin (test)")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "origin.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "origin.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return folder / "origin.pem", folder / "origin.key"


class Edge:
    def __init__(self, https: int, http: int, conf: Path, cert: Path):
        self.https, self.http, self.conf, self.cert = https, http, conf, cert
        self.url = f"https://127.0.0.1:{https}"

    def client(self, source: str = "127.0.0.3") -> httpx.Client:
        trust = ssl.create_default_context(cafile=str(self.cert))
        return httpx.Client(verify=trust, timeout=10, transport=httpx.HTTPTransport(local_address=source, verify=trust))


@pytest.fixture
def edge_site(api):
    state = Path(tempfile.mkdtemp(prefix="mbedge-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    cert, key = origin_certificate(state)
    ranges = state / "cf-ranges.txt"
    ranges.write_text(f"# the test's Cloudflare\n{CLOUDFLARE}/32\n")
    https, http, dport, https6, http6 = free_ports(5)
    pport = int(api.postgrest_url.rsplit(":", 1)[1])
    cfg = edge.EdgeConfig.from_settings(SETTINGS, state, cert=str(cert), cert_key=str(key), http_listen=f"127.0.0.1:{http}",
                                        https_listen=f"127.0.0.1:{https}", postgrest_port=pport, dashboard_port=dport,
                                        ranges=ranges, worker_processes="1", server_name="dash.example",
                                        http_listen6=f"[::1]:{http6}", https_listen6=f"[::1]:{https6}")
    conf = edge.render(cfg)
    ok, message = edge.check(conf)
    assert ok, message
    user = _server_user(SETTINGS)
    if user:
        for p in [state, *state.rglob("*")]:
            os.chown(p, user.pw_uid, user.pw_gid)
    proc = _spawn([edge.nginx_binary(), "-p", str(state), "-c", str(conf), "-e", str(state / "error.log")], user,
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    site = Edge(https, http, conf, cert)
    site.dashboard_port, site.https6, site.state = dport, https6, state

    def up():
        try:
            return site.client().get(f"{site.url}/v1/health").status_code == 200
        except httpx.HTTPError:
            return False
    wait_for(up, "the public nginx to answer", timeout=20, gone=lambda: proc.poll() is not None)
    yield site
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(state, ignore_errors=True)


def burst(client: httpx.Client, url: str, n: int = 40, headers=None) -> list[int]:
    return [client.get(url, headers=headers(i) if callable(headers) else headers).status_code for i in range(n)]


def test_rendered_configuration_passes_nginx_t(edge_site):
    ok, message = edge.check(edge_site.conf)
    assert ok, message
    broken = edge_site.conf.with_name("broken.conf")
    broken.write_text(edge_site.conf.read_text().replace("limit_req_status 429;", "limit_req_status banana;"))
    assert edge.check(broken)[0] is False                               # the check can fail


def test_beyond_the_burst_is_429_and_another_client_is_unaffected(edge_site):
    with edge_site.client("127.0.0.3") as a, edge_site.client("127.0.0.4") as b:
        codes = burst(a, f"{edge_site.url}/v1/health")
        assert codes.count(429) >= 10 and codes[:20].count(200) == 20, codes      # 10 r/s, burst 20
        r = a.get(f"{edge_site.url}/v1/health")
        assert r.status_code == 429 and r.json() == {"code": "MB429", "message": "too many requests"}
        assert b.get(f"{edge_site.url}/v1/health").status_code == 200            # a second client: not limited


def test_cf_connecting_ip_counts_only_from_cloudflare(edge_site):
    spoof = lambda i: {"CF-Connecting-IP": f"198.51.100.{i + 1}"}
    with edge_site.client("127.0.0.5") as untrusted:       # a header from anywhere else: ignored, limited as itself
        assert 429 in burst(untrusted, f"{edge_site.url}/v1/health", headers=spoof)
    with edge_site.client(CLOUDFLARE) as cf:               # from Cloudflare: each visitor is their own client
        assert 429 not in burst(cf, f"{edge_site.url}/v1/health", headers=spoof)
        assert 429 in burst(cf, f"{edge_site.url}/v1/health", headers={"CF-Connecting-IP": "203.0.113.9"})


def test_headers_redirect_and_generic_errors(edge_site):
    with edge_site.client("127.0.0.6") as c:
        r = c.get(f"{edge_site.url}/v1/trades")
        assert r.status_code == 200
        h = r.headers
        assert h["strict-transport-security"].startswith("max-age=") and h["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in h["content-security-policy"] and h["referrer-policy"]
        assert h["server"] == "nginx"                                          # no version
        r = c.get(f"{edge_site.url}/v1/trades?traded_at=eq.notadate")            # a PostgREST/Postgres error
        assert r.status_code == 400 and r.json() == {"code": "MB400", "message": "bad request"}
        for leak in ("PGRST", "22007", "invalid input", "timestamp"):
            assert leak not in r.text
        assert c.get(f"{edge_site.url}/secret").json()["code"] == "MB404"
        assert c.post(f"{edge_site.url}/v1/trades", json={}).status_code == 405
        assert "strict-transport-security" in c.get(f"{edge_site.url}/nope").headers   # on errors too
    r = httpx.get(f"http://127.0.0.1:{edge_site.http}/v1/trades?x=1", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "https://dash.example/v1/trades?x=1"   # (443 behind Cloudflare)
    # to our own name, never to the Host a client sent
    r = httpx.get(f"http://127.0.0.1:{edge_site.http}/v1/trades", headers={"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "https://dash.example/v1/trades"


def test_api_answers_are_cached_compressed_for_those_who_ask(edge_site, db):
    from public_world import populate
    populate(db, trades=40)
    with edge_site.client("127.0.0.7") as c:
        gz = c.get(f"{edge_site.url}/v1/trades", headers={"Accept-Encoding": "gzip"})
        plain = c.get(f"{edge_site.url}/v1/trades", headers={"Accept-Encoding": "identity"})
        again = c.get(f"{edge_site.url}/v1/trades", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert gz.status_code == plain.status_code == again.status_code == 200
    assert gz.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert "accept-encoding" in gz.headers["vary"].lower()
    assert gz.json() == plain.json() == again.json() and len(plain.json()) >= 40
    assert gz.num_bytes_downloaded * 3 < plain.num_bytes_downloaded
    assert gz.headers["strict-transport-security"] and gz.headers["x-content-type-options"] == "nosniff"


def test_the_websocket_upgrade_reaches_streamlit(edge_site, monkeypatch):
    from milkbot.dashboard_server import start as start_dashboard
    dash = start_dashboard(SETTINGS, port=edge_site.dashboard_port, api_url=f"{edge_site.url}/v1")
    try:
        ctx = ssl.create_default_context(cafile=str(edge_site.cert))
        with socket.create_connection(("127.0.0.1", edge_site.https), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{edge_site.https}\r\nUpgrade: websocket\r\n"
                       f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                       f"Origin: https://127.0.0.1:{edge_site.https}\r\n\r\n").encode())
            head = s.recv(4096).decode(errors="replace")
        assert head.startswith("HTTP/1.1 101"), head
        assert "sec-websocket-accept" in head.lower()
        page = edge_site.client("127.0.0.7").get(f"{edge_site.url}/")
        assert page.status_code == 200 and "streamlit" in page.text.lower()
    finally:
        dash.stop()


def test_cloudflare_ranges_refresh_and_validation(tmp_path):
    published = {edge.CF_URLS[0]: "\n".join(f"10.{i}.0.0/16" for i in range(12)) + "\n", edge.CF_URLS[1]: "2400:cb00::/32\n"}
    dest = tmp_path / "cf.txt"
    assert edge.refresh_ranges(dest, fetch=published.__getitem__) == 13
    assert edge.read_ranges(dest)[-1] == "2400:cb00::/32"
    before = dest.read_text()
    with pytest.raises(ValueError):                                    # a garbled answer replaces nothing
        edge.refresh_ranges(dest, fetch=lambda url: "<html>oops</html>")
    with pytest.raises(edge.EdgeError):                                # nor does a truncated one
        edge.refresh_ranges(dest, fetch=lambda url: "10.0.0.0/8")
    assert dest.read_text() == before
    bad = tmp_path / "bad.txt"
    bad.write_text("# ok\n10.0.0.0/8\nnot-a-net\n")
    with pytest.raises(edge.EdgeError, match=r"bad.txt:3: not a network"):
        edge.read_ranges(bad)


# ---- issue 26: the public face under attack ------------------------------------------------------------
def test_health_tells_states_and_coarse_ages_whatever_the_query(edge_site):
    """A query string that defeats the cache and a timestamp that moves with trading told the public
    when the bot traded: the answer is states and whole 5-minute steps, the same for any query."""
    with edge_site.client("127.0.0.8") as c:
        plain = c.get(f"{edge_site.url}/v1/health")
        probe = c.get(f"{edge_site.url}/v1/health?component=eq.executor&status=neq.x81723")
        other = c.get(f"{edge_site.url}/v1/health?select=component")
    assert plain.status_code == probe.status_code == other.status_code == 200
    assert plain.json() == probe.json() == other.json()
    rows = {r["component"]: r for r in plain.json()}
    assert set(rows["executor"]) == {"component", "status", "heard_within_min"}
    assert all(r["heard_within_min"] is None or (r["heard_within_min"] > 0 and r["heard_within_min"] % 5 == 0) for r in rows.values())
    assert "last_heartbeat" not in plain.text   # (the values themselves: tests/test_api.py, without the cache)


def test_accept_cannot_change_what_anyone_is_served(edge_site, db):
    from public_world import populate
    populate(db, trades=5)
    with edge_site.client("127.0.0.9") as c:
        for accept in ("text/csv", "application/vnd.pgrst.object+json", "application/xml", "text/html"):
            r = c.get(f"{edge_site.url}/v1/status", headers={"Accept": accept})
            assert r.status_code == 406 and r.json() == {"code": "MB406", "message": "not acceptable"}, (accept, r.text)
            assert "PGRST" not in r.text
        r = c.get(f"{edge_site.url}/v1/trades?limit=3", headers={"Accept": "text/csv"})
        assert r.status_code == 406
        plain = c.get(f"{edge_site.url}/v1/trades?limit=3")
        assert plain.headers["content-type"].startswith("application/json") and len(plain.json()) == 3
        status = c.get(f"{edge_site.url}/v1/status")
        assert isinstance(status.json(), list)
        # what browsers and curl send is served JSON
        browser = c.get(f"{edge_site.url}/v1/status", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert browser.status_code == 200 and isinstance(browser.json(), list)
        assert c.get(f"{edge_site.url}/v1/status", headers={"Accept": "application/json"}).status_code == 200


def test_only_known_parameters_in_one_form_reach_the_api_or_the_cache(edge_site, db):
    from public_world import populate
    populate(db, trades=5)
    with edge_site.client("127.0.0.10") as c:
        for bad in ("x=1", "limit=03", "limit=1001", "limit=3&junk=", "offset=-1", "offset=1001", "select=traded_at;drop",
                    "order=traded_at.sideways", "traded_at=eq.2026-01-01", "limit=3&or=(a.eq.1)"):
            r = c.get(f"{edge_site.url}/v1/trades?{bad}")
            assert r.status_code == 400 and r.json() == {"code": "MB400", "message": "bad request"}, (bad, r.text)
        first = c.get(f"{edge_site.url}/v1/trades?limit=2&offset=1&select=traded_at,price")
        again = c.get(f"{edge_site.url}/v1/trades?select=traded_at,price&offset=1&limit=2")
        assert first.status_code == again.status_code == 200 and first.json() == again.json() and len(first.json()) == 2
        # the same request in another order is the same cache entry, not a new upstream request
        assert again.headers["x-cache"] in ("HIT", "UPDATING", "STALE"), again.headers.get("x-cache")


def test_errors_of_the_request_itself_are_generic_and_not_logged(edge_site):
    error_log = edge_site.state / "error.log"
    before = error_log.stat().st_size if error_log.exists() else 0
    with edge_site.client("127.0.0.11") as c:
        r = c.get(f"{edge_site.url}/v1/{'a' * 9000}")
        assert r.status_code == 414 and r.json()["code"] == "MB414", r.text[:200]
        r = c.post(f"{edge_site.url}/v1/trades", content=b"x" * (10 * 1024 * 1024))   # refused, its body discarded
        assert r.status_code == 405 and r.json()["code"] == "MB405", r.text[:200]
        r = c.get(f"{edge_site.url}/", headers={"X-Big": "h" * 40000})                # headers too large
        assert r.status_code in (400, 431, 494) and r.json()["code"] == "MB400", r.text[:200]
    for _ in range(20):   # a garbled request line, raw over TLS
        ctx = ssl.create_default_context(cafile=str(edge_site.cert))
        with socket.create_connection(("127.0.0.1", edge_site.https)) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"\x16GARBAGE / HTTP/9\r\n\r\n")
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b'"code":"MB400"' in body, answer[:300]
    grown = (error_log.stat().st_size if error_log.exists() else 0) - before
    assert grown == 0, f"error.log grew {grown} bytes for client errors"


def test_the_edge_answers_over_ipv6(edge_site):
    trust = ssl.create_default_context(cafile=str(edge_site.cert))
    with httpx.Client(verify=trust, timeout=10) as c:
        r = c.get(f"https://[::1]:{edge_site.https6}/v1/health")
    assert r.status_code == 200 and r.headers["strict-transport-security"]


def test_an_ipv6_client_is_its_slash_64(edge_site):
    """Rate limits key an IPv6 client by its /64: addresses of one /64, in every form nginx prints them
    ("::" inside the prefix, inside the host part, across both), share one budget; the next /64 and an
    IPv4 client have their own."""
    prefix = int(ipaddress.ip_address("2001:db8::"))           # the /64 2001:db8:0:0
    shapes = [lambda x: (0, 0, 0, x), lambda x: (x, 0, 0, 0), lambda x: (0, x, 0, 0), lambda x: (x, x, x, x),
              lambda x: (0, 0, x, 0), lambda x: (x, 0, x, 0)]

    def address(i: int) -> str:
        groups = shapes[i % len(shapes)](i + 1)
        return str(ipaddress.ip_address(prefix + sum(g << (16 * (3 - n)) for n, g in enumerate(groups))))
    forms = {address(i) for i in range(40)}
    assert any(f.startswith("2001:db8::") for f in forms) and any(f.startswith("2001:db8:0:0:") for f in forms)
    with edge_site.client(CLOUDFLARE) as cf:
        codes = burst(cf, f"{edge_site.url}/v1/health", headers=lambda i: {"CF-Connecting-IP": address(i)})
        assert codes.count(429) >= 10, codes                    # one budget (10 r/s, burst 20) for the /64
        assert cf.get(f"{edge_site.url}/v1/health", headers={"CF-Connecting-IP": "2001:db8:0:1::1"}).status_code == 200
        assert cf.get(f"{edge_site.url}/v1/health", headers={"CF-Connecting-IP": "198.51.100.77"}).status_code == 200


def test_a_client_opens_at_most_four_dashboard_sockets(edge_site):
    """Each socket is a Streamlit session: one address holds at most four at once (a fifth is the
    generic 429); another address is unaffected."""
    from milkbot.dashboard_server import start as start_dashboard
    dash = start_dashboard(SETTINGS, port=edge_site.dashboard_port, api_url=f"{edge_site.url}/v1")
    ctx = ssl.create_default_context(cafile=str(edge_site.cert))
    held = []

    def upgrade(source: str) -> str:
        raw = socket.create_connection(("127.0.0.1", edge_site.https), timeout=10, source_address=(source, 0))
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{edge_site.https}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   f"Origin: https://127.0.0.1:{edge_site.https}\r\n\r\n").encode())
        held.append(s)
        return s.recv(4096).decode(errors="replace")
    try:
        for _ in range(4):
            assert upgrade("127.0.0.12").startswith("HTTP/1.1 101")
        fifth = upgrade("127.0.0.12")
        assert fifth.startswith("HTTP/1.1 429") and '"code":"MB429"' in fifth, fifth[:300]
        assert upgrade("127.0.0.13").startswith("HTTP/1.1 101")
    finally:
        for s in held:
            s.close()
        dash.stop()


def test_the_dashboards_guard_counts_the_client_the_edge_saw_not_the_one_it_claims(edge_site, monkeypatch):
    """The WebSocket guard (dashboard/guard.py) budgets per client as nginx names it (X-Milkbot-Client,
    set by the edge): a visitor cannot spend another's budget, nor escape its own, by sending the header."""
    from milkbot.dashboard_server import start as start_dashboard
    monkeypatch.setenv("MILKBOT_DASHBOARD_CONNECT_BURST", "2")
    monkeypatch.setenv("MILKBOT_DASHBOARD_CONNECT_EVERY_S", "3600")
    dash = start_dashboard(SETTINGS, port=edge_site.dashboard_port, api_url=f"{edge_site.url}/v1")
    ctx = ssl.create_default_context(cafile=str(edge_site.cert))
    held = []

    def upgrade(source: str, claims: str) -> str:
        raw = socket.create_connection(("127.0.0.1", edge_site.https), timeout=10, source_address=(source, 0))
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{edge_site.https}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   f"X-Milkbot-Client: {claims}\r\n"
                   f"Origin: https://127.0.0.1:{edge_site.https}\r\n\r\n").encode())
        held.append(s)
        return s.recv(4096).decode(errors="replace").split("\r\n")[0]
    try:
        # 127.0.0.14 claims a new name each time: still one client, two sockets, the third refused
        answers = [upgrade("127.0.0.14", f"claimed-{i}") for i in range(3)]
        assert answers == ["HTTP/1.1 101 Switching Protocols"] * 2 + ["HTTP/1.1 403 Forbidden"], answers
        # 127.0.0.15 claims to be 127.0.0.14 (spent): its own budget lets it in
        assert upgrade("127.0.0.15", "127.0.0.14") == "HTTP/1.1 101 Switching Protocols"
    finally:
        for s in held:
            s.close()
        dash.stop()
