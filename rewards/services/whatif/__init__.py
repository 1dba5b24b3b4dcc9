"""What-if: the settlement an edited copy of the campaign configuration would give, beside the one
the current configuration gives, without writing anything; and its one audited apply.

- changes: the settings a what-if may change, the validated unsaved copy carrying them
  (`campaign_with_changes`), the fields that differ and the configuration's fingerprint.
- preview: `whatif_preview`, reads only: every post judged under both configurations, both
  settled by the same `rewards_compute` that `settle_campaign` uses.
- engine: the judging and the links of settlement, run read-only under an unsaved configuration:
  posts streamed in batches through `post_judgement`, links under another threshold decided from
  the stored signatures (`links_decide`, the engine of `duplicates_rebuild`).
- compare: the two settlements side by side (per reward, kind and pool; verdicts and scores).
- apply: `whatif_apply`, the only write, under the campaign row lock, and who may make it.
- runs: both in the background (`WhatIfRun`, `whatif_run_task`): `whatif_preview_start` and
  `whatif_apply_start` refuse in the request what can be known there, `whatif_run_execute` calls
  the same two functions, recording progress and outcome on the run.
- results: what a run keeps as JSON, and a preview read back from it.
"""
