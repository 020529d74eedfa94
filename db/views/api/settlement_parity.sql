-- Public (live: Kalshi's results and the NWS's reports are everyone's data, nothing of our trading): how
-- often each cross-check agreed with the value Kalshi settled on, for the dashboard's Health tab.
create or replace view api.settlement_parity as
select source, events, agree, agreement_rate from ops.v_settlement_parity_rates order by source;
comment on view api.settlement_parity is 'Public: per cross-check source (cli, metar), settled daily events compared with Kalshi''s settled value, how many agreed, the rate.';
