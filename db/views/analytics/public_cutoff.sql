-- The public delay and the public book, defined once. Everything public that is derived from fills,
-- orders, positions, signals or P&L reads only what is at or before `at`, and only the book `book`: the
-- delayed trade feed, the city grid, the overview, and every dbt staging model the public metric and
-- equity views are built from (as a source). `now` is analytics.clock's (the wall clock, or the sim's).
-- A view rather than a function: views reading it run with their owner's rights, so web_anon needs no
-- EXECUTE on anything (it has SELECT on api views and nothing else).
create or replace view analytics.public_cutoff as
select c.now - interval '60 minutes' as at, (select b.mode from ops.public_book b) as book, c.now as now,
       -- the same cut-off on the wall clock the control audit is stamped with (they differ only in the sim)
       case when c.rate is null then c.now - interval '60 minutes'
            else c.wall_at + (c.now - interval '60 minutes' - c.sim_at) / c.rate::float8 end as audit_at
  from analytics.clock c;
comment on view analytics.public_cutoff is 'The one public cut-off (analytics.clock''s now - 60 minutes; nothing public is younger) and the one public book (book = ops.public_book.mode).';
