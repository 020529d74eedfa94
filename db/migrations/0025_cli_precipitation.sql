-- The CLI's precipitation and snowfall (issue 27 §2): the Monthly markets settle on them. Inches as the
-- bulletin gives them: a trace is 0 with its *_trace flag, MM is null, (E) sets *_estimated; a row the
-- parser could not read is null and named in read_problems (the temperatures are still reported).
alter table ops.climate_reports
    add column precip_in            numeric(6,2) check (precip_in >= 0),
    add column precip_trace         boolean not null default false,
    add column precip_estimated     boolean not null default false,
    add column precip_mtd_in        numeric(6,2) check (precip_mtd_in >= 0),
    add column precip_mtd_trace     boolean not null default false,
    add column precip_mtd_normal_in numeric(6,2) check (precip_mtd_normal_in >= 0),
    add column snow_in              numeric(6,2) check (snow_in >= 0),
    add column snow_trace           boolean not null default false,
    add column snow_estimated       boolean not null default false,
    add column snow_mtd_in          numeric(6,2) check (snow_mtd_in >= 0),
    add column snow_mtd_trace       boolean not null default false,
    add column snow_mtd_normal_in   numeric(6,2) check (snow_mtd_normal_in >= 0),
    add column read_problems        text[] not null default '{}',
    add check (not precip_trace or precip_in = 0), add check (not snow_trace or snow_in = 0),
    add check (not precip_mtd_trace or precip_mtd_in = 0), add check (not snow_mtd_trace or snow_mtd_in = 0);
comment on column ops.climate_reports.precip_in is 'Precipitation of the report''s day (YESTERDAY in a final, TODAY so far in a preliminary), inches; null = missing (MM) or not reported.';
comment on column ops.climate_reports.precip_trace is 'The day''s precipitation was a trace (T): stored as 0.';
comment on column ops.climate_reports.precip_estimated is 'The office marked the day''s precipitation estimated ((E)).';
comment on column ops.climate_reports.precip_mtd_in is 'Precipitation month to date, inches (null = missing).';
comment on column ops.climate_reports.precip_mtd_trace is 'Month-to-date precipitation was a trace (T): stored as 0.';
comment on column ops.climate_reports.precip_mtd_normal_in is 'The normal precipitation month to date, inches (the NORMAL column).';
comment on column ops.climate_reports.snow_in is 'Snowfall of the report''s day, inches (null = missing or not reported).';
comment on column ops.climate_reports.snow_trace is 'The day''s snowfall was a trace (T): stored as 0.';
comment on column ops.climate_reports.snow_estimated is 'The office marked the day''s snowfall estimated ((E)).';
comment on column ops.climate_reports.snow_mtd_in is 'Snowfall month to date, inches (null = missing).';
comment on column ops.climate_reports.snow_mtd_trace is 'Month-to-date snowfall was a trace (T): stored as 0.';
comment on column ops.climate_reports.snow_mtd_normal_in is 'The normal snowfall month to date, inches.';
comment on column ops.climate_reports.read_problems is 'Precipitation/snowfall rows the parser could not read, with the reason (those amounts are null).';
