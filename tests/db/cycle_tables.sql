-- The cycle's working tables (ops.cycle_tables): made once per session, empty whenever a cycle starts,
-- made again when the functions that shape them were redefined, and without indexes (emptying a table at
-- commit rebuilds its indexes, which discards every plan cached on it).
begin;
select plan(6);

select ops.cycle_tables();
select 'pg_temp.cycle_book'::regclass::oid as book_oid \gset
insert into pg_temp.cycle_book (ticker) values ('KXHIGHNY-26NOV26-B48.5');
insert into pg_temp.cycle_eval (ticker) values ('KXHIGHNY-26NOV26-B48.5');

select ops.cycle_tables();
select is((select count(*)::int from pg_temp.cycle_book) + (select count(*)::int from pg_temp.cycle_eval), 0,
          'a second cycle in the same transaction finds the tables empty');
select is('pg_temp.cycle_book'::regclass::oid, :book_oid::oid, 'kept, not made again');

-- a migration re-applied the definitions while the session ran: the recorded signature no longer matches
select set_config('milkbot.cycle_tables', 'made by other definitions', false);
select ops.cycle_tables();
select isnt('pg_temp.cycle_book'::regclass::oid, :book_oid::oid, 'made again when the shaping definitions changed');
select isnt(current_setting('milkbot.cycle_tables'), 'made by other definitions', 'and the new signature recorded');
select is((select count(*)::int from pg_class c
            where c.relnamespace = pg_my_temp_schema() and c.relkind = 'r' and c.relname like 'cycle\_%'), 6,
          'six tables, none left over from before');
select is((select count(*)::int from pg_index i join pg_class c on c.oid = i.indrelid
            where c.relnamespace = pg_my_temp_schema() and c.relname like 'cycle\_%'), 0, 'no indexes on them');

select * from finish();
rollback;
