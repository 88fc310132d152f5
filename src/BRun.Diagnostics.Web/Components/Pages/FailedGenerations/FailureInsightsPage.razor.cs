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

    [Inject]
    private PrerenderStateBudget StateBudget { get; set; } = default!;

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

    private const string ChartsUnavailable = "Could not load the charts: the database did not answer.";

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

    /// <summary>
    /// The charts and breakdown read while prerendering, persisted into the page so the circuit's first render shows
    /// them (rather than a progress bar until it has read them again). Used once.
    /// </summary>
    [PersistentState(AllowUpdates = false)]
    public InsightsFirstView? Prerendered { get; set; }

    /// <summary>Where the circuit's first charts came from: "prerendered" or "database" (browser tests read it).</summary>
    private string? _firstLoad;
    private bool _revalidateAfterRender;
    private FailureInsights? _insights;

    protected override void OnInitialized()
    {
        // No live events reach static HTML: only the circuit subscribes.
        if (RendererInfo.IsInteractive)
        {
            _subscription = Hub.Subscribe(batch =>
            {
                LiveBatches++;
                return LiveCheck = OnLiveEventsAsync(batch);
            });
        }
    }

    protected override async Task OnParametersSetAsync()
    {
        _state = FiltersFromUrl();
        if (!RendererInfo.IsInteractive)
        {
            await LoadAsync();
            Prerendered = _insights is { } insights && _problem is null
                ? StateBudget.Admit(new InsightsFirstView(_state.ToQueryString(), insights, [.. _designBreakdown]), "insights")
                : null;
            return;
        }

        var first = Prerendered;
        Prerendered = null;
        if (_firstLoad is null && first is not null && first.Filters == _state.ToQueryString())
        {
            _firstLoad = "prerendered";
            _insights = first.Insights;
            _charts = FailureChartData.From(first.Insights);
            _designBreakdown = first.Breakdown;
            _breakdownReadAt = Clock.GetUtcNow();
            // The charts once more after this render: a failure stored between the prerender's read and this circuit's
            // subscription would otherwise wait for the next one. The breakdown follows the next live batch.
            _revalidateAfterRender = true;
            return;
        }

        _firstLoad ??= "database";
        await LoadAsync();
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!_revalidateAfterRender)
        {
            return;
        }

        _revalidateAfterRender = false;
        try
        {
            await LoadAsync(BreakdownRead.Keep);
            StateHasChanged();
        }
        catch (OperationCanceledException) when (_closed || _disposed.IsCancellationRequested)
        {
            // The page closed before its charts were read again.
        }
    }

    /// <summary>What a load does with the breakdown by scaffolding.</summary>
    private enum BreakdownRead
    {
        Now,

        /// <summary>A live batch asked: re-read only when <see cref="BreakdownLiveInterval"/> has passed, else catch up then.</summary>
        WhenDue,
        Keep,
    }

    private async Task LoadAsync(BreakdownRead breakdown = BreakdownRead.Now)
    {
        // One load at a time: a batch arriving during a load waits, then loads the newer state once.
        await _loading.WaitAsync(_disposed.Token);
        try
        {
            LoadCount++;
            _insights = await Failures.GetInsightsAsync(_state, _disposed.Token);
            _charts = FailureChartData.From(_insights);
            var sinceBreakdown = Clock.GetUtcNow() - _breakdownReadAt;
            if (breakdown == BreakdownRead.Now || sinceBreakdown is not { } elapsed || (breakdown == BreakdownRead.WhenDue && elapsed >= BreakdownLiveInterval))
            {
                await ReadBreakdownAsync();
            }
            else if (breakdown == BreakdownRead.WhenDue)
            {
                ScheduleBreakdownCatchUp(BreakdownLiveInterval - elapsed);
            }

            _problem = null;
        }
        catch (DbException)
        {
            _problem = ChartsUnavailable;
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
        catch (OperationCanceledException) when (_closed || _disposed.IsCancellationRequested)
        {
            // The page is closing.
        }
        catch (ObjectDisposedException) when (_closed)
        {
            // The page closed during the read: its cancellation ended the read and its lock is gone.
        }
        catch (DbException)
        {
            _problem = ChartsUnavailable;
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
                await LoadAsync(batch.Resync ? BreakdownRead.Now : BreakdownRead.WhenDue);
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
