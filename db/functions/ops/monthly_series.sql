-- Monthly series discovery (issue 27 §1), decided here: ingest hands over what GET /series listed for our
-- cities and follows what this answers.

-- Record the listing, set-based: every (city, kind) row takes the listed series, or null when it is
-- listed no more. p_listed: [{"city": "NYC", "kind": "monthly_rain", "ticker": "KXRAINNYCM", "title": "..."}].
-- Rows whose listing did not change are not rewritten.
create or replace function ops.record_monthly_listing(p_listed jsonb, p_at timestamptz)
returns integer
language sql volatile
set search_path = pg_catalog, ops
begin atomic
    with listed as (
        select l.city, l.kind, l.ticker, l.title
          from jsonb_to_recordset(p_listed) as l(city text, kind text, ticker text, title text)),
    changed as (
        update ops.monthly_series ms
           set listed_ticker = l.ticker, listed_title = l.title, listed_at = p_at
          from ops.monthly_series cur
          left join listed l on l.city = cur.city_code and l.kind = cur.kind::text
         where ms.city_code = cur.city_code and ms.kind = cur.kind
           and (cur.listed_ticker is distinct from l.ticker or cur.listed_title is distinct from l.title
                or cur.listed_at is null)
        returning 1)
    select count(*)::int from changed;
end;
comment on function ops.record_monthly_listing(jsonb, timestamptz) is 'Record what GET /series lists per city and monthly kind (null where no longer listed); returns rows changed.';

-- The monthly series whose markets ingest reads: the operator's verified series, else the listed one.
-- (Reading makes them quoted and evaluated; only a verified, enabled series trades.)
create or replace function ops.monthly_series_to_read()
returns table (city_code text, kind text, series_ticker text)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select ms.city_code, ms.kind::text, coalesce(ms.series_ticker, ms.listed_ticker)
      from ops.monthly_series ms
     where coalesce(ms.series_ticker, ms.listed_ticker) is not null
     order by 1, 2;
end;
comment on function ops.monthly_series_to_read() is 'Per city and monthly kind, the series ingest reads markets of: the verified series_ticker, else the listed one.';
