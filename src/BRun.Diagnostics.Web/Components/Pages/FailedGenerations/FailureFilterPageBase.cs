using BRun.Diagnostics.Web.Api;
using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Pages.FailedGenerations;

/// <summary>
/// The failure filters as URL query parameters, shared by the grid and the insights page so a filtered view is a
/// link either way (the names are the API's).
/// </summary>
public abstract class FailureFilterPageBase : ComponentBase
{
    [SupplyParameterFromQuery(Name = FailureFilterState.FailureTypeKey)]
    public string? FailureType { get; set; }

    [SupplyParameterFromQuery(Name = FailureFilterState.StopReasonKey)]
    public string? StopReason { get; set; }

    [SupplyParameterFromQuery(Name = FailureFilterState.PatternKey)]
    public string? Pattern { get; set; }

    [SupplyParameterFromQuery(Name = FailureFilterState.ModelKey)]
    public string? Model { get; set; }

    [SupplyParameterFromQuery(Name = FailureFilterState.RunIdKey)]
    public string? RunId { get; set; }

    [SupplyParameterFromQuery(Name = FailureFilterState.FromKey)]
    public string? From { get; set; }

    [SupplyParameterFromQuery(Name = FailureFilterState.ToKey)]
    public string? To { get; set; }

    [SupplyParameterFromQuery(Name = FailureFilterState.QueryKey)]
    public string? Q { get; set; }

    /// <summary>What the URL's filters could not honour (shown on the page; the API answers 400 instead).</summary>
    protected IReadOnlyList<ParameterProblem> UrlProblems { get; private set; } = [];

    /// <summary>The filters the URL asks for, read by the same parser as the API; values it cannot honour are left out and listed in <see cref="UrlProblems"/>.</summary>
    protected FailureFilterState FiltersFromUrl()
    {
        var parsed = FailureFilterQuery.Parse(new Dictionary<string, string?>
        {
            [FailureFilterState.FailureTypeKey] = FailureType,
            [FailureFilterState.StopReasonKey] = StopReason,
            [FailureFilterState.PatternKey] = Pattern,
            [FailureFilterState.ModelKey] = Model,
            [FailureFilterState.RunIdKey] = RunId,
            [FailureFilterState.FromKey] = From,
            [FailureFilterState.ToKey] = To,
            [FailureFilterState.QueryKey] = Q,
        });
        UrlProblems = parsed.Problems;
        return parsed.State;
    }
}
