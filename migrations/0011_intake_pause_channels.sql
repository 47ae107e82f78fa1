-- brr-intake, issue 5: the debt counsellors' channels that asked for a
-- pause of an arrangement.  A counsellor submits no application, so this
-- is what lets it read the arrangement and its pauses afterwards
-- (GET /v1/arrangements/{id}[/pauses/{pause_id}]); any other channel reads
-- only the arrangements of its own applications.  Written in the
-- transaction that records the request (POST or DELETE of a pause).
CREATE TABLE intake.pause_channels (
  arrangement_id uuid NOT NULL,
  channel        text NOT NULL,
  first_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (arrangement_id, channel)
);
