-- Optional tail of the reference (task-watts reference --store-inputs): what a warehouse that
-- takes daily loads must keep besides the public outputs, stored in the file rather than left
-- as TEMP: every accepted input row (a day's load de-duplicates against them and re-rolls the
-- tasks it touches from them) and the task table. The dbt build stores the same three
-- (int_inference_calls__accepted, int_task_events__accepted, int_tasks__matured); with this
-- tail the reference does that work too, so the two can be compared like for like. (The
-- reference has no per-file row number; its row id in the checked rows stands in for one.)
create table int_inference_calls__accepted as
select
    call_id, task_id, started_at, ended_at, model, provider, region, gpu_type, gpu_count,
    batch_size, input_tokens, cached_input_tokens, output_tokens, status, measured_energy_j,
    batch_date, source_file, rowid as checked_row_id
from calls_checked
where passes and rowid not in (select row_no from call_duplicates)
;
create table int_task_events__accepted as
select
    event_id, task_id, feature, event_type, event_at, user_hash(user_id) as user_id_hash,
    task_watts_pseudonym_key_id() as user_pseudonym_key_id, quality_score,
    batch_date, source_file, rowid as checked_row_id
from events_checked
where passes and rowid not in (select row_no from event_duplicates)
;
create table int_tasks__matured as
select * from tasks
;
