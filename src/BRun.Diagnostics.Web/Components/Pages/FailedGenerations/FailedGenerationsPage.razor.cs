using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
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
    private readonly Dictionary<Guid, MudButton> _viewButtons = [];
    private MudDataGrid<FailureRowView>? _grid;
    private FailureFilterState _state = FailureFilterState.Empty;
    private FailureFacets _facets = FailureFacets.Empty;
    private FailureFilterState? _facetsFor;
    private Task _facetsLoad = Task.CompletedTask;
    private long _total;
    private HashSet<Guid> _highlighted = [];
    private HashSet<FailureRowView> _selected = [];
    private IDisposable? _subscription;
    private string? _problem;
    private int _newCount;
    private int _pageIndex;
    private bool _interactive;
    private bool _reloadAfterRender;

    // Where the grid's first rows came from ("prerendered" or "database"), on the page for the browser tests.
    private string? _firstLoad;

    [Inject]
    private FailureDashboardService Failures { get; set; } = default!;

    [Inject]
    private LiveEventHub Hub { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    /// <summary>The grid's page, 1-based, in the URL next to the filters (absent on page 1).</summary>
    [SupplyParameterFromQuery(Name = PageKey)]
    public int? PageNumber { get; set; }

    /// <summary>The query parameter of the page number.</summary>
    public const string PageKey = "page";

    private int UrlPageIndex => PageNumber is { } n and > 1 ? n - 1 : 0;

    /// <summary>The grid's page size when it opens.</summary>
    private const int RowsPerPage = 25;

    /// <summary>Grid loads so far (tests check that a burst of events costs one).</summary>
    internal int LoadCount { get; private set; }

    private string InsightsUrl => "/conversations/failed/insights" + _state.ToQueryString();

    /// <summary>
    /// The first view read while prerendering, persisted into the page so the interactive grid's first load needs no
    /// database round trip (rows show as soon as the circuit renders). Used once, then re-read in the background.
    /// </summary>
    [PersistentState(AllowUpdates = false)]
    public FailuresFirstView? Prerendered { get; set; }

    protected override async Task OnInitializedAsync()
    {
        if (!RendererInfo.IsInteractive)
        {
            // Prerendering: no live events reach static HTML, so no subscription; read what the grid will ask for first.
            try
            {
                Prerendered = await Failures.ReadFirstViewAsync(FiltersFromUrl(), UrlPageIndex, RowsPerPage, _disposed.Token);
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
    }

    protected override async Task OnParametersSetAsync()
    {
        var state = FiltersFromUrl();
        if (_grid is null)
        {
            // First render: a link with a page opens on that page (the grid's first load reads CurrentPage).
            _state = state;
            _pageIndex = UrlPageIndex;
            return;
        }

        if (state == _state)
        {
            if (UrlPageIndex != _pageIndex)
            {
                // Back/forward between pages of the same filters: this render hands the grid its new CurrentPage,
                // and the reload after it reads that page.
                _pageIndex = UrlPageIndex;
                _reloadAfterRender = true;
            }

            return;
        }

        // Back/forward or an edited link: the URL is the source of truth.
        _state = state;
        await ReloadFromFirstPageAsync();
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (_reloadAfterRender && _grid is not null)
        {
            _reloadAfterRender = false;
            await _grid.ReloadServerData();
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        // Cancels a chip-count load still in flight (_facetsLoad); it ends on its own cancellation.
        _disposed.Cancel();
        _disposed.Dispose();
    }

    /// <summary>The chip counts' load for the current filters (tests wait for it).</summary>
    internal Task FacetsLoad => _facetsLoad;

    private async Task<GridData<FailureRowView>> LoadServerDataAsync(GridState<FailureRowView> gridState, CancellationToken cancellationToken)
    {
        LoadCount++;
        _pageIndex = gridState.Page;
        if (_pageIndex == 0)
        {
            _newCount = 0;
        }

        if (_pageIndex != UrlPageIndex)
        {
            // The page joins the filters in the URL; replacing the entry keeps Back for the previous filter.
            Navigation.NavigateTo(Navigation.GetUriWithQueryParameter(PageKey, _pageIndex == 0 ? null : (int?)(_pageIndex + 1)), replace: true);
        }

        // Only a circuit loads from the prerender's view (bUnit runs after-render callbacks even for a static render).
        if (RendererInfo.IsInteractive && Prerendered is { } first)
        {
            Prerendered = null;
            if (first.Answers(_state, gridState.Page, gridState.PageSize, SortOf(gridState)))
            {
                _firstLoad ??= "prerendered";
                _total = first.Total;
                _facets = first.Facets;
                _problem = null;

                // Read again once rendered: a failure stored between the prerender's read and this circuit's subscription
                // to live events would otherwise be missing until the next one arrives.
                _facetsFor = null;
                _reloadAfterRender = true;
                StateHasChanged();
                return new GridData<FailureRowView> { Items = first.Rows, TotalItems = (int)Math.Min(_total, int.MaxValue) };
            }
        }

        _firstLoad ??= "database";
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        try
        {
            var state = _state;
            var page = Failures.ListPageAsync(state, SortOf(gridState), gridState.Page, gridState.PageSize, linked.Token);
            Task<long>? total = null;
            if (_facetsFor != state)
            {
                // The chip counts run alongside and render on their own; the grid waits for its rows and the total,
                // read at once on their own connections (a text search, which no rollup answers, costs the slower).
                _facetsFor = state;
                _facetsLoad = LoadFacetsAsync(state);
                total = Failures.CountAsync(state, linked.Token);
            }

            // Awaits both, so a failure of either is observed and reported below.
            await Task.WhenAll(page, total ?? Task.CompletedTask);
            var rows = await page;
            if (total is not null)
            {
                _total = await total;
            }
            _problem = null;
            // The chips, the total and the "new" chip live outside the grid: render them too.
            StateHasChanged();
            return new GridData<FailureRowView> { Items = rows, TotalItems = (int)Math.Min(_total, int.MaxValue) };
        }
        catch (DbException)
        {
            _problem = "Could not load failed generations: the database did not answer.";
            StateHasChanged();
            return new GridData<FailureRowView> { Items = [], TotalItems = 0 };
        }
    }

    private async Task LoadFacetsAsync(FailureFilterState state)
    {
        try
        {
            var facets = await Failures.GetFacetsAsync(state, _disposed.Token);
            await InvokeAsync(() =>
            {
                // A newer filter may have been applied meanwhile; its own load will render.
                if (_facetsFor == state)
                {
                    _facets = facets;
                    StateHasChanged();
                }
            });
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
        {
            // The page is closing.
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
    }

    private static FailedGenerationSort SortOf(GridState<FailureRowView> gridState)
    {
        var sort = gridState.SortDefinitions.FirstOrDefault();
        return sort?.SortBy switch
        {
            nameof(FailureRowView.OutputTokens) => sort.Descending ? FailedGenerationSort.MostOutputTokens : FailedGenerationSort.FewestOutputTokens,
            nameof(FailureRowView.CreatedAt) when !sort.Descending => FailedGenerationSort.OldestFirst,
            _ => FailedGenerationSort.NewestFirst,
        };
    }

    private async Task ApplyFiltersAsync(FailureFilterState state)
    {
        if (state == _state)
        {
            return;
        }

        _state = state;
        // Shareable: the URL carries the filters. The router sets the same values back; OnParametersSetAsync sees no change.
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
        await ReloadFromFirstPageAsync();
    }

    private async Task ReloadFromFirstPageAsync()
    {
        _highlighted = [];
        // A selection made under other filters would re-run rows this view no longer shows.
        _selected = [];
        _newCount = 0;
        _facetsFor = null;
        if (_grid is null)
        {
            return;
        }

        if (_grid.CurrentPage != 0)
        {
            // Changing the page reloads the server data.
            _grid.NavigateTo(Page.First);
        }
        else
        {
            await _grid.ReloadServerData();
        }
    }

    private Task RetryAsync()
    {
        _facetsFor = null;
        return _grid?.ReloadServerData() ?? Task.CompletedTask;
    }

    private async Task ShowNewAsync()
    {
        _newCount = 0;
        await ReloadFromFirstPageAsync();
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
                    _facetsFor = null;
                    if (_grid is not null)
                    {
                        await _grid.ReloadServerData();
                    }
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
        if (_viewButtons.TryGetValue(row.Id, out var button))
        {
            await button.FocusAsync();
        }
    }

    private Task RerunSelectedAsync() => RerunAsync([.. _selected.Select(r => r.Id)]);

    private Task RerunAllAsync() => RerunAsync(null);

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

    private static Color TypeColor(string failureType) => failureType switch
    {
        "truncation" => Color.Error,
        "api_error" => Color.Warning,
        "parse_error" => Color.Secondary,
        _ => Color.Default,
    };
}
