-- A poll that finds unchanged content writes no new snapshot, but it does confirm the content is still
-- current: last_seen_at records that, so an unchanged book or forecast does not look stale.
alter table ops.market_snapshots add column last_seen_at timestamptz;
comment on column ops.market_snapshots.last_seen_at is 'Latest fetch that returned this same book (null: only the first fetch).';
alter table ops.weather_snapshots add column last_seen_at timestamptz;
comment on column ops.weather_snapshots.last_seen_at is 'Latest fetch (or 304 Not Modified) that confirmed this same content.';
