-- Paper fills only as the tape allows (issue 25 §4): a resting paper order remembers where it joined the
-- queue (the volume bid ahead of it at its price when placed); it fills only as the recorded trade tape
-- prints at or through its price after that volume has traded. The per-book matching of migration 0008
-- (a resting order filled whenever a later book crossed it, once per book) is gone.

create table ops.paper_queue (
    order_id     bigint primary key references ops.orders on delete cascade,
    placed_at    timestamptz not null,
    queue_ahead  numeric(14,2) check (queue_ahead >= 0),
    book_source  text not null,
    note         text not null
);
comment on table ops.paper_queue is 'Paper mode: where each resting paper order joined the queue at its price, from the recorded book when it was placed.';
comment on column ops.paper_queue.order_id is 'The paper order.';
comment on column ops.paper_queue.placed_at is 'When it was placed (the executor''s clock): only trades after it count.';
comment on column ops.paper_queue.queue_ahead is 'Contracts bid at the order''s price (its side) when placed: they trade first. Null = not known (a REST top of book shows no depth below the best bid): then only trades strictly through the price count.';
comment on column ops.paper_queue.book_source is 'Which book placed it: feed (the tape''s full depth) or the market_snapshots source of a top of book.';
comment on column ops.paper_queue.note is 'The placement in words (explain, tests).';

alter table ops.orders drop column paper_book_id;
