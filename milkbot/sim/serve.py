"""`milkbot sim serve`: the fakes (NWS, Kalshi REST and WebSocket) on 127.0.0.1, printing their URLs (and a demo
key for the exchange)."""
from __future__ import annotations

import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .kalshi_fake import PREFIX, KalshiFake
from .kalshi_ws_fake import KalshiWsFake
from .nws_fake import NwsFake
from .world import World


def demo_key(state_dir: Path) -> tuple[Path, rsa.RSAPrivateKey]:
    """A throwaway RSA key for the fake exchange, kept in the gitignored state folder (mode 0600)."""
    path = state_dir / "sim" / "fake-kalshi-key.pem"
    if path.is_file():
        return path, serialization.load_pem_private_key(path.read_bytes(), password=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path, key


def serve(state_dir: Path, nws_port: int = 0, kalshi_port: int = 0) -> int:
    world = World(monthly=True)
    key_path, key = demo_key(state_dir)
    nws = NwsFake(world)
    kalshi = KalshiFake(world, public_key=key.public_key())
    kalshi_ws = KalshiWsFake(world, public_key=key.public_key())
    nws_url, kalshi_url, ws_url = nws.start(nws_port), kalshi.start(kalshi_port), kalshi_ws.start()
    print(f"MILKBOT_NWS_BASE_URL={nws_url}")
    print(f"MILKBOT_KALSHI_BASE_URL={kalshi_url}{PREFIX}")
    print(f"MILKBOT_KALSHI_WS_URL={ws_url}")
    print(f"MILKBOT_KALSHI_KEY_ID=fake-key  MILKBOT_KALSHI_KEY_FILE={key_path}  (fake exchange only)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        nws.stop()
        kalshi.stop()
        kalshi_ws.stop()
    return 0
