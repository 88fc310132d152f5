using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Web.Design;
using System.Data.Common;
using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Pages.FailedGenerations;

/// <summary>Charts over the failures the user may see, under the filters in the URL (same names as the grid).</summary>
public sealed partial class FailureInsightsPage : FailureFilterPageBase, IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private FailureChartData? _charts;
    private FailureFilterState _state = FailureFilterState.Empty;
    private string? _problem;

    [Inject]
    private FailureDashboardService Failures { get; set; } = default!;

    [Inject]
    private DesignDashboardService Design { get; set; } = default!;

    private IReadOnlyList<BreakdownRow> _designBreakdown = [];

    private string ListUrl => "/conversations/failed" + _state.ToQueryString();

    protected override async Task OnParametersSetAsync()
    {
        _state = FiltersFromUrl();
        try
        {
            _charts = FailureChartData.From(await Failures.GetInsightsAsync(_state, _disposed.Token));
            // By scaffolding and template version, over the runs the filter's run, model and dates select (run creation time).
            _designBreakdown = await Design.GetBreakdownAsync(
                _state.RunId,
                _state.From is { } from ? new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null,
                _state.To is { } to ? new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null,
                _state.Model,
                _disposed.Token);
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
