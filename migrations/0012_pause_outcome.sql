-- Issue 5: the running pause as brr-distribution applies it, and a pause
-- that reached its start when the arrangement could no longer be paused.
--
-- brr-distribution keeps the running pause with the arrangement: which
-- pause (so only its own end resumes it), its last day (instalments due
-- after it open as usual while it runs), and for RESPREAD the instalment
-- and the projected end date from before it (the end date it keeps; the
-- instalment never falls below, also when the pause is cut short).
ALTER TABLE distribution.arrangements
  ADD COLUMN pause_id         uuid,
  ADD COLUMN pause_until      date,
  ADD COLUMN pause_base_cents bigint,
  ADD COLUMN pause_keep_end   date;

-- brr-pause: IGNORED is a pause that started on its timer but was not
-- applied (brr-distribution answered arrangement.pause_ignored: the
-- arrangement was in arrears or closed by then); refusal holds why.
ALTER TABLE pause.pauses DROP CONSTRAINT pauses_state;
ALTER TABLE pause.pauses ADD CONSTRAINT pauses_state
  CHECK (state IN ('SCHEDULED', 'RUNNING', 'ENDED', 'CANCELLED', 'REFUSED',
                   'IGNORED'));
