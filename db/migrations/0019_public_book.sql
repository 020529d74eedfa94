-- The public sees exactly one book (issue 23 §1.7): the mode an operator publishes, by default the mode
-- the executor runs in. Paper and live fills never add up on a public path.

create table ops.public_book (
    singleton  boolean primary key default true check (singleton),
    mode       ops.trading_mode not null default 'paper',
    set_by     text not null default 'default' check (set_by in ('default', 'executor', 'operator')),
    changed_at timestamptz not null default now()
);
comment on table ops.public_book is 'The one book (mode) every public path shows. The executor sets it to its own mode at start unless an operator chose one (set_by = operator).';
comment on column ops.public_book.singleton is 'Always true: there is exactly one row.';
comment on column ops.public_book.mode is 'The published mode: paper, demo or live.';
comment on column ops.public_book.set_by is 'default (never set), executor (followed the executor''s mode) or operator (chosen; the executor leaves it).';
comment on column ops.public_book.changed_at is 'When it last changed.';
insert into ops.public_book default values;

alter table ops.control_audit drop constraint control_audit_table_name_check;
alter table ops.control_audit add constraint control_audit_table_name_check
    check (table_name in ('strategy_params', 'risk_limits', 'trading_state', 'cities', 'public_book'));
create trigger audit after insert or update or delete on ops.public_book for each row execute function ops.audit_control_change();

-- the public cut-off view gains the published mode (db/views/analytics/public_cutoff.sql)
