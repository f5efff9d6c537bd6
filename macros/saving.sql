{#
    What moving from `today` to `alternative` saves, with a saving within 1e-9 of today's
    figure taken as none: both are sums of the same calls' figures, and summed in another
    order (another engine, another plan) equal sums differ in the 15th digit. The same rule
    picks mart_shifting_what_if's best_option.
#}
{% macro saving(today, alternative) %}
    case
        when abs({{ today }} - {{ alternative }}) <= 1e-9 * abs({{ today }}) then 0.0
        else {{ today }} - {{ alternative }}
    end
{%- endmacro %}
