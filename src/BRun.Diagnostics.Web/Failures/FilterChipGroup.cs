using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>One chip: a value of a dimension, its count, and the state clicking it leads to.</summary>
public sealed record FilterChip(string Value, string Label, long Count, bool Selected, FailureFilterState Toggle);

/// <summary>The chips of one filter dimension, built from the facet counts (largest first).</summary>
public sealed record FilterChipGroup(string Key, string Label, IReadOnlyList<FilterChip> Chips)
{
    /// <summary>Chips shown per dimension at most (runs and models can be many).</summary>
    public const int MaxChips = 12;

    public static IReadOnlyList<FilterChipGroup> For(FailureFilterState state, FailureFacets facets)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(facets);
        return
        [
            Group(FailureFilterState.FailureTypeKey, "Failure type", facets.ByFailureType, state.FailureType,
                v => state with { FailureType = state.FailureType == v ? null : v }),
            Group(FailureFilterState.StopReasonKey, "Stop reason", facets.ByStopReason, state.StopReason,
                v => state with { StopReason = state.StopReason == v ? null : v }),
            Group(FailureFilterState.PatternKey, "Pattern", facets.ByTruncationPattern, state.Pattern,
                v => state with { Pattern = state.Pattern == v ? null : v }),
            Group(FailureFilterState.ModelKey, "Model", facets.ByModel, state.Model,
                v => state with { Model = state.Model == v ? null : v }),
            Group(FailureFilterState.RunIdKey, "Run", facets.ByRun.ToDictionary(p => p.Key.ToString("D"), p => p.Value), state.RunId?.ToString("D"),
                v => state with { RunId = state.RunId?.ToString("D") == v ? null : Guid.Parse(v) }, v => "run " + v[..8]),
        ];
    }

    private static FilterChipGroup Group(
        string key, string label, IReadOnlyDictionary<string, long> counts, string? selected, Func<string, FailureFilterState> toggle, Func<string, string>? display = null)
    {
        var chips = counts
            .OrderByDescending(p => p.Key == selected)
            .ThenByDescending(p => p.Value)
            .ThenBy(p => p.Key, StringComparer.Ordinal)
            .Take(MaxChips)
            .Select(p => new FilterChip(p.Key, display?.Invoke(p.Key) ?? p.Key, p.Value, p.Key == selected, toggle(p.Key)))
            .ToList();
        if (selected is not null && chips.All(c => !c.Selected))
        {
            // A filter with no matches still shows, so it can be removed.
            chips.Insert(0, new FilterChip(selected, display?.Invoke(selected) ?? selected, 0, true, toggle(selected)));
        }

        return new FilterChipGroup(key, label, chips);
    }
}
