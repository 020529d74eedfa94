-- Kalshi trading fees (kalshi-api.md §6). Taker: round UP to the cent of 0.07·C·P·(1−P), scaled by the
-- series fee_multiplier. Maker: 0.0175·C·P·(1−P) only for quadratic_with_maker_fees (half that for the
-- combo variant); other series charge makers nothing. A 'flat' fee_type has no published formula: it is
-- priced as the taker quadratic, which is the conservative choice for the edge gate.
create or replace function ops.taker_fee(price numeric, contracts numeric, fee_multiplier numeric default 1)
returns numeric
language sql immutable strict parallel safe
return ceil(0.07 * fee_multiplier * contracts * price * (1 - price) * 100) / 100;
comment on function ops.taker_fee(numeric, numeric, numeric) is 'Taker fee in dollars for C contracts at price P: ceil_to_cent(0.07·mult·C·P·(1−P)).';

create or replace function ops.maker_fee(price numeric, contracts numeric, fee_type text, fee_multiplier numeric default 1)
returns numeric
language sql immutable strict parallel safe
return case fee_type
           when 'quadratic_with_maker_fees' then ceil(0.0175 * fee_multiplier * contracts * price * (1 - price) * 100) / 100
           when 'quadratic_with_combo_maker_fees' then ceil(0.5 * 0.0175 * fee_multiplier * contracts * price * (1 - price) * 100) / 100
           else 0
       end;
comment on function ops.maker_fee(numeric, numeric, text, numeric) is 'Maker fee in dollars per the series fee_type.';

create or replace function ops.on_price_grid(price numeric, price_ranges jsonb)
returns boolean
language sql immutable strict parallel safe
return exists (
    select 1 from jsonb_array_elements(price_ranges) r
     where price between (r->>'start')::numeric and (r->>'end')::numeric
       and mod(price - (r->>'start')::numeric, (r->>'step')::numeric) = 0);
comment on function ops.on_price_grid(numeric, jsonb) is 'True when a price lies on one of the market''s price_ranges steps.';

-- One fee for every decision (the edge, the Kelly size, the worst case of a working order): the taker fee
-- of a single contract, rounded up to the cent as Kalshi rounds each fill, with the market's own fee
-- multiplier (unknown = 1). A larger fill costs at most this per contract.
create or replace function ops.fee_per_contract(price numeric, fee_multiplier numeric)
returns numeric
language sql immutable parallel safe
return ops.taker_fee(price, 1, coalesce(fee_multiplier, 1));
comment on function ops.fee_per_contract(numeric, numeric) is 'The per-contract fee every decision uses: taker fee of one contract at the market''s multiplier (null = 1).';

-- Kelly for a binary contract bought at `cost` (the price of the side) plus `fee`, paying $1: the all-in
-- price is c = cost + fee and the model's probability of the side is q = edge + c, so the fraction of
-- equity to stake is (q - c)/(1 - c) and the number of contracts is that times equity / c:
--     contracts = kelly_fraction * equity * (q - c) / (c (1 - c)).
-- (Without the fee in c the size at 1 cent was 1.98x full Kelly, at 5 cents 1.19x.)
create or replace function ops.kelly_contracts(edge numeric, cost numeric, fee numeric, kelly_fraction numeric, equity numeric)
returns numeric
language sql immutable parallel safe
return case when edge is null or edge <= 0 or cost + fee <= 0 or cost + fee >= 1 or equity <= 0 then 0
            else floor(kelly_fraction * equity * edge / ((cost + fee) * (1 - cost - fee))) end;
comment on function ops.kelly_contracts(numeric, numeric, numeric, numeric, numeric) is 'Kelly size in contracts for a binary bought at cost + fee with the given edge (q - cost - fee), a fraction of equity.';
