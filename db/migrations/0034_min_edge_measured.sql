-- min_edge from the measured edge (issue 24 §4): the edge a trade realised against the edge its signal
-- claimed, on settled markets; the edge gate's threshold follows the measurement once there is enough of it.

insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'min_edge_auto', 1, 0, 1, '1: min_edge follows the measured realised edge (ops.fit_min_edge) once min_edge_min_markets settled markets were traded; 0: min_edge is the operator''s.'),
    ('all', 'min_edge_min_markets', 100, 10, 100000, 'Settled traded markets needed before min_edge is set from the realised edge.');
