"""Local fakes of api.weather.gov and the Kalshi Trade API v2 on 127.0.0.1, speaking the real wire
formats (paths, JSON shapes, headers, error bodies), with switchable faults. Used by the tests, the
offline demo and `milkbot sim serve`."""
