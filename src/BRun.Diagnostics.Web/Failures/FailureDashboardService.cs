using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// What the failed-generations pages and API ask for, always as the current user (scoped per request or circuit):
/// row-level security decides what is visible, so another member's failure is simply not found.
/// </summary>
public sealed class FailureDashboardService(FailedGenerationReader reader, ICurrentUser currentUser, TimeProvider timeProvider)
{
    /// <summary>Output-token histogram: 100-token buckets up to 5,000, then one open-ended bucket.</summary>
    public const int HistogramBucketWidth = 100;
    public const int HistogramBucketCount = 51;

    /// <summary>The chips' counts: each dimension under every filter but its own, so a chosen chip's siblings stay visible.</summary>
    public Task<FailureFacets> GetFacetsAsync(FailureFilterState state, CancellationToken cancellationToken) =>
        reader.GetChipFacetsAsync(currentUser.Identity, Filter(state), cancellationToken);

    /// <summary>Whether no rollup answers these filters' counts (a text search, an hour-level date bound): they read the rows.</summary>
    public bool CountsFromRows(FailureFilterState state) => !FailedGenerationReader.CanUseRollup(Filter(state));

    public Task<long> CountAsync(FailureFilterState state, CancellationToken cancellationToken) =>
        reader.CountAsync(currentUser.Identity, Filter(state), cancellationToken);

    public async Task<IReadOnlyList<FailureRowView>> ListPageAsync(
        FailureFilterState state, FailedGenerationSort sort, int pageIndex, int pageSize, CancellationToken cancellationToken)
    {
        var rows = await reader.ListPageAsync(currentUser.Identity, Filter(state), sort, new PageRequest(pageIndex, pageSize), cancellationToken).ConfigureAwait(false);
        if (!ShowsOwners)
        {
            return [.. rows.Select(r => FailureRowView.From(r))];
        }

        var owners = await reader.GetOwnerNamesAsync(currentUser.Identity, [.. rows.Select(r => r.CreatedBy).Distinct()], cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(r => FailureRowView.From(r, owners.GetValueOrDefault(r.CreatedBy)))];
    }

    /// <summary>
    /// What the grid shows first for these filters (newest first): one page of rows and the chip counts (whose grand
    /// total is the grid's total), read at once. The prerender reads it so the interactive page can show rows as soon as its circuit starts.
    /// </summary>
    public async Task<FailuresFirstView> ReadFirstViewAsync(FailureFilterState state, int pageIndex, int pageSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        var rows = ListPageAsync(state, FailedGenerationSort.NewestFirst, pageIndex, pageSize, cancellationToken);
        var facets = GetFacetsAsync(state, cancellationToken);
        await Task.WhenAll(rows, facets).ConfigureAwait(false);

        var chips = await facets.ConfigureAwait(false);
        return new FailuresFirstView(state.ToQueryString(), pageIndex, pageSize, [.. await rows.ConfigureAwait(false)], chips);
    }

    /// <summary>Whether the grid has an Owner column: an admin sees every member's failures, a member only their own.</summary>
    public bool ShowsOwners => currentUser.IsAdmin;

    /// <summary>A page for the HTTP API (newest first) with the total, in one round trip.</summary>
    public Task<Page<FailedGenerationSummary>> ListAsync(FailureFilterState state, int pageIndex, int pageSize, CancellationToken cancellationToken) =>
        reader.ListAsync(currentUser.Identity, Filter(state), new PageRequest(pageIndex, pageSize), cancellationToken);

    /// <summary>The <paramref name="pageSize"/> rows after <paramref name="after"/> (keyset), newest first.</summary>
    public Task<Page<FailedGenerationSummary>> ListAfterAsync(FailureFilterState state, FailedGenerationCursor after, int pageSize, CancellationToken cancellationToken) =>
        reader.ListAsync(currentUser.Identity, Filter(state), new PageRequest(0, pageSize), after, cancellationToken);

    /// <summary>How many of the announced failures this user may see under the current filters.</summary>
    public Task<int> CountMatchingAsync(FailureFilterState state, IReadOnlyCollection<Guid> failureIds, CancellationToken cancellationToken) =>
        reader.CountMatchingAsync(currentUser.Identity, Filter(state), failureIds, cancellationToken);

    /// <summary>One failure for the API, or null when it does not exist or is not visible.</summary>
    public async Task<FailureDetail?> GetDetailAsync(Guid id, CancellationToken cancellationToken) =>
        await reader.GetAsync(currentUser.Identity, id, cancellationToken).ConfigureAwait(false) is { } row ? FailureDetail.From(row) : null;

    /// <summary>The dialog's view of one failure, or null when it does not exist or is not visible.</summary>
    public async Task<FailureReportView?> GetReportAsync(Guid id, CancellationToken cancellationToken)
    {
        var row = await reader.GetAsync(currentUser.Identity, id, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var report = await reader.DownloadReportAsync(currentUser.Identity, id, cancellationToken).ConfigureAwait(false);
        return report is null ? null : FailureReportView.From(row, report);
    }

    public Task<FailureReportFile?> DownloadReportAsync(Guid id, CancellationToken cancellationToken) =>
        reader.DownloadReportAsync(currentUser.Identity, id, cancellationToken);

    public IAsyncEnumerable<FailedGenerationSummary> StreamAsync(FailureFilterState state, CancellationToken cancellationToken) =>
        reader.StreamAsync(currentUser.Identity, Filter(state), FailedGenerationSort.NewestFirst, cancellationToken);

    /// <summary>Every RAW report matching the filters, and index.csv, as a ZIP streamed to <paramref name="output"/>.</summary>
    public Task<FailureArchiveResult> WriteReportArchiveAsync(FailureFilterState state, Stream output, CancellationToken cancellationToken) =>
        reader.WriteReportArchiveAsync(currentUser.Identity, Filter(state), output, cancellationToken);

    /// <summary>The three charts of the insights tab, under the same filters as the grid.</summary>
    public async Task<FailureInsights> GetInsightsAsync(FailureFilterState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        var filter = Filter(state);
        // Hours for a range of up to two days, else days; with no range, days.
        var unit = state.From is { } from && (state.To ?? timeProvider.GetUtcNow()) - from <= TimeSpan.FromDays(2)
            ? ChartTimeUnit.Hour
            : ChartTimeUnit.Day;
        var overTime = await reader.GetFailuresOverTimeAsync(currentUser.Identity, filter, unit, cancellationToken).ConfigureAwait(false);
        var facets = await reader.GetFacetsAsync(currentUser.Identity, filter, cancellationToken).ConfigureAwait(false);
        var histogram = await reader.GetOutputTokenHistogramAsync(currentUser.Identity, filter, HistogramBucketWidth, HistogramBucketCount, cancellationToken).ConfigureAwait(false);
        return new FailureInsights(unit, overTime, facets.ByStopReason, histogram);
    }

    private static FailedGenerationFilter Filter(FailureFilterState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.ToFilter();
    }
}

/// <summary>
/// The grid's first view as the prerender read it, handed to the interactive page through persisted component state
/// (so it is plain, serialisable data). <see cref="Filters"/> is the filters' query string, to check it still applies.
/// </summary>
public sealed record FailuresFirstView(string Filters, int PageIndex, int PageSize, List<FailureRowView> Rows, FailureFacets Facets)
{
    /// <summary>The grid's total: the chip counts' grand total, read under the same filters (no separate count).</summary>
    public long Total => Facets.Total;

    /// <summary>Whether this view answers the grid's load of <paramref name="pageIndex"/> under <paramref name="state"/>, newest first.</summary>
    public bool Answers(FailureFilterState state, int pageIndex, int pageSize, FailedGenerationSort sort) =>
        state is not null && Filters == state.ToQueryString() && PageIndex == pageIndex && PageSize == pageSize && sort == FailedGenerationSort.NewestFirst;
}

/// <summary>
/// The insights tab as the prerender read it, handed to the interactive page through persisted component state.
/// <see cref="Filters"/> is the filters' query string, to check it still applies.
/// </summary>
public sealed record InsightsFirstView(string Filters, FailureInsights Insights, List<BreakdownRow> Breakdown);

/// <summary>Chart data of the insights tab.</summary>
public sealed record FailureInsights(
    ChartTimeUnit Unit,
    IReadOnlyList<FailureTimeBucket> OverTime,
    IReadOnlyDictionary<string, long> ByStopReason,
    IReadOnlyList<OutputTokenBucket> OutputTokens);
