-- /v1/health tells states and coarse ages only (issue 26 §2): its last_heartbeat column, a timestamp
-- that moved with every order the executor sent, is replaced (the view is re-created by its definition).
drop view if exists api.health;
