-- The public delay and the public book, defined once. Everything public that is derived from fills,
-- orders, positions, signals or P&L reads only what is at or before `at`, and only the book `book`: the
-- delayed trade feed, the city grid, the overview, and every dbt staging model the public metric and
-- equity views are built from (as a source).
-- A view rather than a function: views reading it run with their owner's rights, so web_anon needs no
-- EXECUTE on anything (it has SELECT on api views and nothing else).
create or replace view analytics.public_cutoff as
select now() - interval '60 minutes' as at, (select b.mode from ops.public_book b) as book;
comment on view analytics.public_cutoff is 'The one public cut-off (now() - 60 minutes; nothing public is younger) and the one public book (book = ops.public_book.mode).';
