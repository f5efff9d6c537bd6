{#
    The batch-size curve is log-linear between its points and flat beyond the
    last one. Every batch the pricing needs (the call's, its plausible range,
    the coefficient's reference batch) is read off the curve the same way:
    join int_batch_size_efficiency__bands with batch_curve_join, then take
    batch_curve_value over the same alias.
#}

{% macro batch_curve_join(bands_relation, alias, batch_expr) %}
    left join {{ bands_relation }} as {{ alias }}
        on
            {{ batch_expr }} >= {{ alias }}.batch_size_from
            and (
                {{ batch_expr }} < {{ alias }}.batch_size_to
                or {{ alias }}.batch_size_to is null
            )
{% endmacro %}


{% macro batch_curve_value(alias, batch_expr) %}
    (
        {{ alias }}.relative_energy_from
        + (
            coalesce({{ alias }}.relative_energy_to, {{ alias }}.relative_energy_from)
            - {{ alias }}.relative_energy_from
        )
        * coalesce(
            (ln({{ batch_expr }}) - ln({{ alias }}.batch_size_from))
            / (ln({{ alias }}.batch_size_to) - ln({{ alias }}.batch_size_from)),
            0
        )
    )
{% endmacro %}
