-- The climate office marks some values estimated, e.g. "57(E)": kept as read, flagged per value.
alter table ops.climate_reports add column max_estimated boolean not null default false,
                                add column min_estimated boolean not null default false;
comment on column ops.climate_reports.max_estimated is 'The office marked the maximum estimated ((E) after the value).';
comment on column ops.climate_reports.min_estimated is 'The office marked the minimum estimated ((E) after the value).';
