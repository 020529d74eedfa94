"""Code the workers share: HTTP behaviour, Kalshi request signing, exact parsing of wire values."""
