{#
    One row: which key pseudonymised the user ids of this warehouse and where
    it came from. The scorecard and the report read it and print a warning on a
    throwaway warehouse built under the public demo key.
#}
{%- set key_source = task_watts.pseudonym_key_source() %}

with

final as (

    select
        cast({{ task_watts.pseudonym_key_id() }} as string) as key_id,
        cast('{{ key_source }}' as string) as key_source,
        cast({{ task_watts.pseudonym_key_id() }} = 'public-demo-key' as boolean) as is_public_key

)

select * from final
