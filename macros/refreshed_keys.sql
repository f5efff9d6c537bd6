{# The keys of the marts a daily load recomputes (their incremental filters and pre-hooks). #}

{#
    The feature x task-day keys a daily load recomputes in mart_feature_task_watts: the days
    the refreshed tasks (int_tasks__to_refresh) start on now, and the days they started on
    before the load. Emits a select of feature_day_id; used by the mart and its pre-hook.
#}
{% macro refreshed_feature_days(task_footprint, tasks_to_refresh) %}
    select task_footprint.feature || '|' || cast(cast(task_footprint.started_at as date) as string)
        as feature_day_id
    from {{ task_footprint }} as task_footprint
    inner join {{ tasks_to_refresh }} as tasks_to_refresh
        on task_footprint.task_id = tasks_to_refresh.task_id
    union
    select tasks_to_refresh.previous_feature || '|' || cast(tasks_to_refresh.previous_task_date as string)
    from {{ tasks_to_refresh }} as tasks_to_refresh
    where tasks_to_refresh.previous_feature is not null
{% endmacro %}


{#
    The model x accelerator x month keys a daily load recomputes in mart_model_efficiency:
    those of the calls accepted from the day (a call's model, accelerator and start never
    change, so no other month moves). Emits a select of model_efficiency_id.
#}
{% macro refreshed_model_months(accepted_calls) %}
    select distinct
        accepted_calls.model || '|' || coalesce(accepted_calls.gpu_type, 'vendor') || '|'
        || cast(cast({{ dbt.date_trunc('month', 'accepted_calls.started_at') }} as date) as string)
            as model_efficiency_id
    from {{ accepted_calls }} as accepted_calls
    where accepted_calls.batch_date = {{ task_watts.batch_date_literal() }}
{% endmacro %}


{#
    Pre-hook of a mart a daily load merges into: delete the rows whose key is in `keys_sql`
    (the mart then appends them recomputed). Does nothing in a full build.
#}
{% macro delete_refreshed(key_column, keys_sql) %}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ key_column }} in ({{ keys_sql }})
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}


{#
    The quarters a daily load recomputes in the task-quarter marts: those the refreshed tasks
    (int_tasks__to_refresh) start in now and started in before. Emits a select of quarter_start.
#}
{% macro refreshed_task_quarters(task_footprint, tasks_to_refresh) %}
    select cast({{ dbt.date_trunc('quarter', 'task_footprint.started_at') }} as date) as quarter_start
    from {{ task_footprint }} as task_footprint
    inner join {{ tasks_to_refresh }} as tasks_to_refresh
        on task_footprint.task_id = tasks_to_refresh.task_id
    union
    select cast({{ dbt.date_trunc('quarter', 'tasks_to_refresh.previous_task_date') }} as date)
    from {{ tasks_to_refresh }} as tasks_to_refresh
    where tasks_to_refresh.previous_task_date is not null
{% endmacro %}


{#
    The call days a daily load recomputes in int_inference_calls__shifting_days: those of the
    calls it priced (load_batch_date) and of every call of a refreshed task (a pending task
    that matured moves its calls into the shiftable part). Emits a select of call_date.
#}
{% macro refreshed_call_days(call_footprint, tasks_to_refresh) %}
    select distinct cast(call_footprint.started_at as date) as call_date
    from {{ call_footprint }} as call_footprint
    where
        {{ task_watts.priced_by_this_load('call_footprint') }}
        or call_footprint.task_id in (select tasks_to_refresh.task_id from {{ tasks_to_refresh }} as tasks_to_refresh)
{% endmacro %}


{#- True when `timestamp_column` falls in a quarter the CTE `quarters` (quarter_start) lists. -#}
{% macro in_refreshed_quarter(timestamp_column, quarters='refreshed_quarters') %}
    cast({{ dbt.date_trunc('quarter', timestamp_column) }} as date)
    in (select {{ quarters }}.quarter_start from {{ quarters }})
{%- endmacro %}
