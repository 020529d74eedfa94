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
