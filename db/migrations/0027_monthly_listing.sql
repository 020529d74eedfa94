-- Monthly series discovered, not hand-listed (issue 27 §1): what GET /series (category "Climate and
-- Weather") lists for each city and kind -- rain KXRAIN<CITY>M, snow KX<CITY>SNOWM -- written by ingest
-- beside the operator's verified series_ticker, which alone (with `enabled`) lets the Monthly strategy
-- trade. Ingest reads the listed series' markets so they are seen, priced and recorded.
alter table ops.monthly_series
    add column listed_ticker text check (listed_ticker ~ '^KX[A-Z]+$'),
    add column listed_title  text,
    add column listed_at     timestamptz;
comment on column ops.monthly_series.listed_ticker is 'The series GET /series lists for this city and kind (discovered by ingest); null = none listed.';
comment on column ops.monthly_series.listed_title is 'Its title as listed.';
comment on column ops.monthly_series.listed_at is 'When ingest last saw the listing (a series no longer listed is set null then).';
