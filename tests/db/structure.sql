-- Shape of the database: schemas, comments everywhere, api holds only views, no PUBLIC execute.
begin;
select plan(10);

-- (pgTAP's schemas_are skips names LIKE 'pg_%', which matches pgmq, so that one is checked apart)
select schemas_are(array['ops', 'analytics', 'api', 'meta', 'public']::name[], 'exactly the expected schemas exist');
select has_schema('pgmq', 'pgmq is installed');
select is(
    (select array_agg(c.relname || '.' || a.attname order by 1)
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where n.nspname = 'ops' and c.relkind = 'r' and col_description(c.oid, a.attnum) is null),
    null, 'every ops column has a comment');
select is(
    (select array_agg(c.relname order by 1) from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'ops' and c.relkind in ('r', 'v') and obj_description(c.oid, 'pg_class') is null),
    null, 'every ops table and view has a comment');
select is(
    (select array_agg(c.relname order by 1) from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'api' and c.relkind <> 'v'),
    null, 'the api schema holds views only');
select is(
    (select array_agg(p.oid::regprocedure::text order by 1) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('ops', 'api', 'analytics', 'pgmq', 'meta') and has_function_privilege('public', p.oid, 'EXECUTE')),
    null, 'no function is executable by PUBLIC');
select has_table('pgmq', 'q_order_intents', 'the order queue exists');
select is((select count(*)::int from ops.cities), 10, 'ten cities');
select is((select array_agg(code order by code) from ops.cities where cluster = 'Northeast'), array['BOS', 'NYC', 'PHL'], 'Northeast cluster');
select is(ops.climate_date('2026-07-01 04:30Z', '-05:00'), '2026-06-30'::date,
          '00:30 EDT on July 1 is still June 30 in local standard time');

select * from finish();
rollback;
