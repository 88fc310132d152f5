using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Web.Api;
using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Pages.FailedGenerations;

/// <summary>
/// The failed-generations grid: server-side paging and sorting, filter chips with counts, filters in the URL query,
/// the report dialog, and live arrivals (page 1 re-queries; later pages count them in a "N new" chip).
/// </summary>
public sealed partial class FailedGenerationsPage : FailureFilterPageBase, IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private FailuresTable? _table;
    private FailureFilterState _state = FailureFilterState.Empty;
    private FailureFacets _facets = FailureFacets.Empty;
    private FailureFilterState? _facetsFor;
    private Task _facetsLoad = Task.CompletedTask;
    private CancellationTokenSource? _facetsCancellation;

    // The filters of the chip-count read in flight, and whether it must run once more when done (rows arrived meanwhile).
    private FailureFilterState? _facetsReading;
    private bool _recountFacets;
    private IReadOnlyList<FailureRowView> _rows = [];

    // Null while a new filter is being counted (the rows show before their total: a text search counts slowly).
    private long? _total;

    // The filters the shown total belongs to; _countedFor is null when it must be counted again (a live re-read keeps
    // the old total shown meanwhile, a new filter does not).
    private FailureFilterState? _totalOf;
    private FailureFilterState? _countedFor;
    private int _pageIndex;
    private int _pageSize = RowsPerPage;
    private FailedGenerationSort _sort = FailedGenerationSort.NewestFirst;

    // True until the first rows are in: an empty table then says "Loading", not "no failures".
    private bool _loading = true;
    private int _loadVersion;
    private CancellationTokenSource? _loadCancellation;
    private HashSet<Guid> _highlighted = [];
    private IReadOnlySet<Guid> _selected = new HashSet<Guid>();
    private IDisposable? _subscription;
    private string? _problem;
    private int _newCount;
    private bool _interactive;
    private bool _parametersSeen;
    private bool _revalidateAfterRender;

    // Where the grid's first rows came from ("prerendered" or "database"), on the page for the browser tests.
    private string? _firstLoad;

    [Inject]
    private FailureDashboardService Failures { get; set; } = default!;

    [Inject]
    private LiveEventHub Hub { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private PrerenderStateBudget StateBudget { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    /// <summary>
    /// The grid's page, 1-based, in the URL next to the filters (absent on page 1). Text, not a number: Blazor throws
    /// on a query value it cannot convert, and "?page=abc" was a 500.
    /// </summary>
    [SupplyParameterFromQuery(Name = PageKey)]
    public string? PageNumber { get; set; }

    /// <summary>The query parameter of the page number.</summary>
    public const string PageKey = "page";

    /// <summary>The URL's page, read by the API's parser: page 1 when absent, a problem when it is not a page.</summary>
    private (int Value, ParameterProblem? Problem) UrlPage =>
        PageQuery.ParseNumber(PageNumber, PageKey, 1, int.MaxValue, 1, "a whole number from 1 (page 1 is shown instead)");

    private int UrlPageIndex => UrlPage is (var n, null) ? n - 1 : 0;

    /// <summary>The filters' problems, and the page number's when it is not one.</summary>
    private IReadOnlyList<ParameterProblem> ShownUrlProblems => UrlPage.Problem is { } page ? [.. UrlProblems, page] : UrlProblems;

    /// <summary>The grid's page size when it opens.</summary>
    private const int RowsPerPage = 25;

    /// <summary>Reads of rows so far (tests check that a burst of events costs one).</summary>
    internal int LoadCount { get; private set; }

    private string InsightsUrl => "/conversations/failed/insights" + _state.ToQueryString();

    /// <summary>
    /// The first view read while prerendering, persisted into the page so the circuit's first render already has the
    /// rows and counts (no database round trip before the page is usable). Used once, then re-read in the background.
    /// </summary>
    [PersistentState(AllowUpdates = false)]
    public FailuresFirstView? Prerendered { get; set; }

    protected override async Task OnInitializedAsync()
    {
        _state = FiltersFromUrl();
        _pageIndex = UrlPageIndex;
        if (!RendererInfo.IsInteractive)
        {
            // Prerendering: no live events reach static HTML, so no subscription. The rows and counts read here are
            // in the HTML (shown before the circuit exists) and are persisted for the circuit's first render.
            try
            {
                var view = await Failures.ReadFirstViewAsync(_state, _pageIndex, _pageSize, _disposed.Token);
                Show(view);
                Prerendered = StateBudget.Admit(view, "failures");
            }
            catch (DbException)
            {
                // The interactive page reads again and shows the problem with a Retry button.
                Prerendered = null;
            }

            return;
        }

        // The circuit's first render batch carries the event handlers, so it can say so itself: waiting for the
        // after-render callback would cost a round trip to the browser before the page reads as interactive.
        _interactive = true;
        _subscription = Hub.Subscribe(OnLiveEventsAsync);
        var first = Prerendered;
        Prerendered = null;
        if (first is not null && first.Answers(_state, _pageIndex, _pageSize, _sort))
        {
            _firstLoad = "prerendered";
            Show(first);

            // Read again once rendered: a failure stored between the prerender's read and this circuit's subscription
            // to live events would otherwise be missing until the next one arrives.
            _revalidateAfterRender = true;
            return;
        }

        _firstLoad = "database";
        await LoadAsync();
    }

    private void Show(FailuresFirstView view)
    {
        _rows = view.Rows;
        _total = view.Total;
        _totalOf = _state;
        _countedFor = _state;
        _facets = view.Facets;
        _facetsFor = _state;
        _loading = false;
    }

    protected override async Task OnParametersSetAsync()
    {
        if (!_parametersSeen || !RendererInfo.IsInteractive)
        {
            // The first parameters were read by OnInitializedAsync.
            _parametersSeen = true;
            return;
        }

        var state = FiltersFromUrl();
        if (state == _state)
        {
            if (UrlPageIndex != _pageIndex)
            {
                // Back/forward between pages of the same filters.
                _pageIndex = UrlPageIndex;
                await LoadAsync();
            }

            return;
        }

        // Back/forward or an edited link: the URL is the source of truth, its page included.
        _state = state;
        ForgetView();
        _pageIndex = UrlPageIndex;
        await LoadAsync();
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (_revalidateAfterRender)
        {
            _revalidateAfterRender = false;
            _countedFor = null;
            _facetsFor = null;
            await LoadAsync();
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        // Cancels reads still in flight (_facetsLoad, a page read); they end on their own cancellation.
        _disposed.Cancel();
        _disposed.Dispose();
        _loadCancellation?.Dispose();
        _facetsCancellation?.Dispose();
    }

    /// <summary>The chip counts' load for the current filters (tests wait for it).</summary>
    internal Task FacetsLoad => _facetsLoad;

    /// <summary>
    /// Reads the current page (and, when the filters changed since the last count, the total and the chip counts).
    /// A newer read supersedes an older one still in flight: only the latest is shown.
    /// </summary>
    private async Task LoadAsync()
    {
        LoadCount++;
        var version = ++_loadVersion;
        if (_loadCancellation is { } previous)
        {
            await previous.CancelAsync();
            previous.Dispose();
        }

        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
        _loadCancellation = cancellation;
        _loading = true;
        if (_pageIndex == 0)
        {
            _newCount = 0;
        }

        var (state, pageIndex, pageSize, sort) = (_state, _pageIndex, _pageSize, _sort);
        Task<long>? total = null;
        try
        {
            var page = Failures.ListPageAsync(state, sort, pageIndex, pageSize, cancellation.Token);
            var counting = _countedFor != state;
            var countsFromRows = Failures.CountsFromRows(state);
            if (counting)
            {
                if (_totalOf != state)
                {
                    _total = null;
                }

                // Read alongside the page on their own connections, the chip counts rendering on their own. From the
                // rollup they take milliseconds; a text search's read the narrow search copy (a fifth of a second at
                // a million rows), while its page walks the date index (milliseconds), so neither waits for the other.
                StartFacetsLoad(state);
                // Without a rollup the chip counts' grand total is the grid's (LoadFacetsAsync sets it): a count of
                // its own would read the matches a second time.
                if (!countsFromRows)
                {
                    total = Failures.CountAsync(state, cancellation.Token);
                }
            }

            var rows = await page;
            if (version != _loadVersion)
            {
                return;
            }

            _rows = rows;
            _problem = null;
            if (total is { IsCompleted: false })
            {
                // The rows show now; the pager's "of N" and "Re-run all N" when the total arrives.
                _loading = false;
                StateHasChanged();
            }

            if (total is not null)
            {
                var counted = await total;
                if (version != _loadVersion)
                {
                    return;
                }

                _total = counted;
                _totalOf = state;
                _countedFor = state;
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Superseded by a newer read, or the page is closing.
        }
        catch (DbException)
        {
            if (version == _loadVersion)
            {
                _problem = "Could not load failed generations: the database did not answer.";
                _rows = [];
                _total = null;
                _totalOf = null;
                _countedFor = null;
            }

            await ObserveAsync(total);
        }
        finally
        {
            if (version == _loadVersion)
            {
                _loading = false;
                _loadCancellation = null;
                StateHasChanged();
            }
        }
    }

    private void StartFacetsLoad(FailureFilterState state)
    {
        if (_facetsFor == state)
        {
            return;
        }

        _facetsFor = state;
        if (_facetsReading == state)
        {
            // The same filters are being counted (rows arrived live): that read finishes and one more follows, rather
            // than a new read cancelling it. Arrivals faster than a full read (a broad search during a run) would
            // otherwise never let the counts finish.
            _recountFacets = true;
            return;
        }

        _facetsLoad = LoadFacetsAsync(state);
    }

    // The count of a read whose rows already failed: its own failure is the same outage, shown once above.
    private static async Task ObserveAsync(Task<long>? total)
    {
        if (total is null)
        {
            return;
        }

        try
        {
            await total;
        }
        catch (Exception ex) when (ex is DbException or OperationCanceledException)
        {
            // Already reported by the caller.
        }
    }

    /// <summary>
    /// Reads and shows the chip counts of <paramref name="state"/> (and the grid's total, when no rollup answers the
    /// filters and the counts read the rows); once more when asked meanwhile (<see cref="StartFacetsLoad"/>).
    /// </summary>
    private async Task LoadFacetsAsync(FailureFilterState state)
    {
        // Other filters' counts supersede these: a broad text search reads the rows, and typing should not leave one
        // such read per pause running on the database.
        _facetsCancellation?.Cancel();
        _facetsCancellation?.Dispose();
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
        _facetsCancellation = cancellation;
        _facetsReading = state;
        _recountFacets = false;
        try
        {
            var facets = await Failures.GetFacetsAsync(state, cancellation.Token);
            await InvokeAsync(() =>
            {
                // A newer filter may have been applied meanwhile; its own load will render.
                if (_facetsFor != state)
                {
                    return;
                }

                _facets = facets;
                if (Failures.CountsFromRows(state))
                {
                    _total = facets.Total;
                    _totalOf = state;
                    _countedFor = state;
                }

                StateHasChanged();
            });
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Superseded by other filters' counts, or the page is closing.
        }
        catch (DbException)
        {
            await InvokeAsync(() =>
            {
                _problem = "Could not load the filter counts: the database did not answer.";
                StateHasChanged();
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await DispatchExceptionAsync(ex);
        }

        if (cancellation.IsCancellationRequested)
        {
            return;
        }

        await InvokeAsync(() =>
        {
            if (_facetsReading != state)
            {
                return;
            }

            _facetsReading = null;
            if (_recountFacets && _facetsFor == state)
            {
                _facetsLoad = LoadFacetsAsync(state);
            }
        });
    }

    private async Task ApplyFiltersAsync(FailureFilterState state)
    {
        if (state == _state)
        {
            return;
        }

        _state = state;
        ForgetView();
        _pageIndex = 0;
        // Shareable: the URL carries the filters (and no page: a new filter starts on page 1). The router sets the same
        // values back; OnParametersSetAsync sees no change.
        Navigation.NavigateTo(Navigation.GetUriWithQueryParameters(
            "/conversations/failed",
            new Dictionary<string, object?>
            {
                [FailureFilterState.FailureTypeKey] = state.FailureType,
                [FailureFilterState.StopReasonKey] = state.StopReason,
                [FailureFilterState.PatternKey] = state.Pattern,
                [FailureFilterState.ModelKey] = state.Model,
                [FailureFilterState.RunIdKey] = state.RunId?.ToString("D"),
                [FailureFilterState.FromKey] = state.QueryValue(FailureFilterState.FromKey),
                [FailureFilterState.ToKey] = state.QueryValue(FailureFilterState.ToKey),
                [FailureFilterState.QueryKey] = state.Query,
            }));
        await LoadAsync();
    }

    /// <summary>What belonged to the previous filters: highlights, the selection, the "new" count and both counts.</summary>
    private void ForgetView()
    {
        _highlighted = [];
        // A selection made under other filters would re-run rows this view no longer shows.
        _selected = new HashSet<Guid>();
        _newCount = 0;
        _countedFor = null;
        _facetsFor = null;
    }

    private Task GoToPageAsync(int pageIndex)
    {
        _pageIndex = pageIndex;
        PutPageInUrl();
        return LoadAsync();
    }

    private Task ChangePageSizeAsync(int pageSize)
    {
        _pageSize = pageSize;
        return GoToPageAsync(0);
    }

    private Task ChangeSortAsync(FailedGenerationSort sort)
    {
        _sort = sort;
        return GoToPageAsync(0);
    }

    // The page joins the filters in the URL; replacing the entry keeps Back for the previous filter.
    private void PutPageInUrl()
    {
        if (_pageIndex != UrlPageIndex)
        {
            Navigation.NavigateTo(Navigation.GetUriWithQueryParameter(PageKey, _pageIndex == 0 ? null : (int?)(_pageIndex + 1)), replace: true);
        }
    }

    private void OnSelectedChanged(IReadOnlySet<Guid> selected) => _selected = selected;

    private Task RetryAsync()
    {
        _countedFor = null;
        _facetsFor = null;
        return LoadAsync();
    }

    private Task ShowNewAsync()
    {
        _highlighted = [];
        _newCount = 0;
        _countedFor = null;
        _facetsFor = null;
        return GoToPageAsync(0);
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
            // One count for the whole batch: row-level security and the current filters decide what is "new" here.
            var visible = failureIds.Length == 0 ? 0 : await Failures.CountMatchingAsync(_state, failureIds, _disposed.Token);
            if (visible == 0 && !batch.Resync)
            {
                return;
            }

            await InvokeAsync(async () =>
            {
                if (_pageIndex == 0)
                {
                    // The new rows are on this page: one re-query of counts and rows, new ones highlighted.
                    _highlighted = [.. failureIds];
                    _countedFor = null;
                    _facetsFor = null;
                    await LoadAsync();
                }
                else
                {
                    _newCount += visible;
                }

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

    private async Task OpenReportAsync(FailureRowView row)
    {
        var parameters = new DialogParameters<FailureReportDialog> { { d => d.FailureId, row.Id } };
        var options = new DialogOptions { MaxWidth = MaxWidth.Large, FullWidth = true, CloseOnEscapeKey = true, CloseButton = true };
        var dialog = await Dialogs.ShowAsync<FailureReportDialog>("Failure report", parameters, options);
        await dialog.Result;
        // Keyboard users land where they were.
        if (_table is not null)
        {
            await _table.FocusViewAsync(row.Id);
        }
    }

    private Task RerunSelectedAsync() => RerunAsync([.. _selected]);

    private Task RerunAllAsync() => RerunAsync(null);

    private string RerunAllText => _total is { } total
        ? $"Re-run all {total.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} matching"
        : "Re-run all matching (counting…)";

    /// <summary>Opens the confirmation; a confirmed re-run opens the new run's page.</summary>
    private async Task RerunAsync(IReadOnlyList<Guid>? failureIds)
    {
        var parameters = new DialogParameters<RerunDialog> { { d => d.Filter, _state }, { d => d.FailureIds, failureIds } };
        var options = new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true, CloseButton = true };
        var dialog = await Dialogs.ShowAsync<RerunDialog>("Re-run failed generations", parameters, options);
        if (await dialog.Result is { Canceled: false, Data: Guid runId })
        {
            Navigation.NavigateTo($"/runs/{runId:D}");
        }
    }

    private string ExportUrl(string format) =>
        "/api/failed-generations/export?format=" + format + (_state.IsEmpty ? string.Empty : "&" + _state.ToQueryString()[1..]);
}
