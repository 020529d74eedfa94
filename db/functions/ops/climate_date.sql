-- The climate day is midnight-to-midnight LOCAL STANDARD TIME all year (CLI and Kalshi settle on it),
-- so it is the UTC instant shifted by the city's fixed standard offset, never by the civil (DST) zone.
create or replace function ops.climate_date(p_at timestamptz, p_std_offset interval)
returns date
language sql immutable strict parallel safe
return ((p_at at time zone 'UTC') + p_std_offset)::date;
comment on function ops.climate_date(timestamptz, interval) is 'Climate date (local standard time) of an instant, given the standard UTC offset.';

create or replace function ops.climate_day_start(p_day date, p_std_offset interval)
returns timestamptz
language sql immutable strict parallel safe
return (p_day::timestamp - p_std_offset) at time zone 'UTC';
comment on function ops.climate_day_start(date, interval) is 'UTC instant at which a climate day (local standard midnight) begins; it ends at the next day''s start.';
