using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Web.Design;
using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Pages.FailedGenerations;

/// <summary>
/// Charts over the failures the user may see, under the filters in the URL (same names as the grid). They follow
/// live arrivals: a hub batch with a failure this user may see under these filters reloads the charts once.
/// </summary>
public sealed partial class FailureInsightsPage : FailureFilterPageBase, IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private readonly SemaphoreSlim _loading = new(1, 1);
    private FailureChartData? _charts;
    private FailureFilterState _state = FailureFilterState.Empty;
    private string? _problem;
    private IDisposable? _subscription;

    [Inject]
    private FailureDashboardService Failures { get; set; } = default!;

    [Inject]
    private DesignDashboardService Design { get; set; } = default!;

    private IReadOnlyList<BreakdownRow> _designBreakdown = [];

    [Inject]
    private LiveEventHub Hub { get; set; } = default!;

    [Inject]
    private TimeProvider Clock { get; set; } = default!;

    /// <summary>
    /// How often live arrivals may re-read the breakdown by scaffolding and template version. It groups every task of
    /// the selected runs (0.8-1.3 s at a million tasks, docs/dashboard.md), where the charts read rollups in
    /// milliseconds: during a run they follow each batch, the breakdown at most this often, and once more after the
    /// last arrival so it never stays behind.
    /// </summary>
    internal static readonly TimeSpan BreakdownLiveInterval = TimeSpan.FromSeconds(10);

    private DateTimeOffset? _breakdownReadAt;
    private ITimer? _breakdownCatchUp;
    private bool _closed;

    /// <summary>Breakdown reads completed so far (tests check the live throttle).</summary>
    internal int BreakdownLoadCount { get; private set; }

    /// <summary>Chart loads so far (tests check that a foreign failure costs none).</summary>
    internal int LoadCount { get; private set; }

    /// <summary>The latest live batch's handling (tests wait for it).</summary>
    internal Task LiveCheck { get; private set; } = Task.CompletedTask;

    private string ListUrl => "/conversations/failed" + _state.ToQueryString();

    /// <summary>Live batches received so far.</summary>
    internal int LiveBatches { get; private set; }

    protected override void OnInitialized() => _subscription = Hub.Subscribe(batch =>
    {
        LiveBatches++;
        return LiveCheck = OnLiveEventsAsync(batch);
    });

    protected override async Task OnParametersSetAsync()
    {
        _state = FiltersFromUrl();
        await LoadAsync();
    }

    /// <param name="live">A live batch asked: the breakdown is re-read only when <see cref="BreakdownLiveInterval"/> has passed.</param>
    private async Task LoadAsync(bool live = false)
    {
        // One load at a time: a batch arriving during a load waits, then loads the newer state once.
        await _loading.WaitAsync(_disposed.Token);
        try
        {
            LoadCount++;
            _charts = FailureChartData.From(await Failures.GetInsightsAsync(_state, _disposed.Token));
            var sinceBreakdown = Clock.GetUtcNow() - _breakdownReadAt;
            if (!live || sinceBreakdown is not { } elapsed || elapsed >= BreakdownLiveInterval)
            {
                await ReadBreakdownAsync();
            }
            else
            {
                ScheduleBreakdownCatchUp(BreakdownLiveInterval - elapsed);
            }

            _problem = null;
        }
        catch (DbException)
        {
            _problem = "Could not load the charts: the database did not answer.";
        }
        finally
        {
            _loading.Release();
        }
    }

    // By scaffolding and template version, over the runs the filter's run, model and dates select (run creation time).
    private async Task ReadBreakdownAsync()
    {
        _breakdownCatchUp?.Dispose();
        _breakdownCatchUp = null;
        // The interval counts from the read's start: what it shows is as of then.
        var startedAt = Clock.GetUtcNow();
        _designBreakdown = await Design.GetBreakdownAsync(_state.RunId, _state.From, _state.To, _state.Model, _disposed.Token);
        _breakdownReadAt = startedAt;
        BreakdownLoadCount++;
    }

    private void ScheduleBreakdownCatchUp(TimeSpan due)
    {
        // One pending catch-up covers every batch skipped until it runs.
        _breakdownCatchUp ??= Clock.CreateTimer(_ => _ = InvokeAsync(CatchUpBreakdownAsync), null, due, Timeout.InfiniteTimeSpan);
    }

    private async Task CatchUpBreakdownAsync()
    {
        if (_closed)
        {
            // A catch-up already queued when the page closed.
            return;
        }

        try
        {
            await _loading.WaitAsync(_disposed.Token);
            try
            {
                await ReadBreakdownAsync();
            }
            finally
            {
                _loading.Release();
            }

            StateHasChanged();
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
        {
            // The page is closing.
        }
        catch (DbException)
        {
            _problem = "Could not load the charts: the database did not answer.";
            StateHasChanged();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await DispatchExceptionAsync(ex);
        }
    }

    private async Task OnLiveEventsAsync(LiveEventBatch batch)
    {
        var failureIds = LiveFailureIds.Of(batch);
        if (!batch.Resync && failureIds.Length == 0)
        {
            return;
        }

        try
        {
            // Events carry every user's failures: row-level security and the filters decide whether the charts move.
            if (!batch.Resync && await Failures.CountMatchingAsync(_state, failureIds, _disposed.Token) == 0)
            {
                return;
            }

            await InvokeAsync(async () =>
            {
                await LoadAsync(live: !batch.Resync);
                StateHasChanged();
            });
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
        {
            // The page is closing.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await DispatchExceptionAsync(ex);
        }
    }

    public void Dispose()
    {
        _closed = true;
        _subscription?.Dispose();
        _breakdownCatchUp?.Dispose();
        _disposed.Cancel();
        _disposed.Dispose();
        _loading.Dispose();
    }
}
