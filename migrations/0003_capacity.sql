-- brr-capacity: every assessment with its inputs, norm-set and rule version
-- and the explanation, so each decision can be reproduced.
SELECT public.brr_messaging_tables('capacity');

CREATE TABLE capacity.assessments (
  assessment_id  uuid PRIMARY KEY,
  application_id uuid NOT NULL UNIQUE,
  citizen_ref    uuid NOT NULL,
  kind           text NOT NULL,
  eligible       boolean NOT NULL,
  inputs         jsonb NOT NULL,
  result         jsonb NOT NULL,
  norm_set       text NOT NULL,
  rule_version   text NOT NULL,
  explanation    jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
