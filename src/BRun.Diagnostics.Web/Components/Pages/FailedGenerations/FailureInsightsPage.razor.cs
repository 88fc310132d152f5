using System.Data.Common;
using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Pages.FailedGenerations;

/// <summary>Charts over the failures the user may see, under the filters in the URL (same names as the grid).</summary>
public sealed partial class FailureInsightsPage : IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private FailureChartData? _charts;
    private FailureFilterState _state = FailureFilterState.Empty;
    private string? _problem;

    [Inject]
    private FailureDashboardService Failures { get; set; } = default!;

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

    private string ListUrl => "/conversations/failed" + _state.ToQueryString();

    protected override async Task OnParametersSetAsync()
    {
        _state = FailureFilterState.Parse(FailureType, StopReason, Pattern, Model, RunId, From, To, Q);
        try
        {
            _charts = FailureChartData.From(await Failures.GetInsightsAsync(_state, _disposed.Token));
            _problem = null;
        }
        catch (DbException)
        {
            _problem = "Could not load the charts: the database did not answer.";
        }
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }
}
