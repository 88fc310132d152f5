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

    /// <summary>The filters the URL asks for.</summary>
    protected FailureFilterState FiltersFromUrl() => FailureFilterState.Parse(FailureType, StopReason, Pattern, Model, RunId, From, To, Q);
}
