using System.Runtime.CompilerServices;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>The dashboard's queries: grid pages, chip counts, live checks, exports and chart aggregates.</summary>
public sealed partial class FailedGenerationReader
{
    /// <summary>Widest histogram the dashboard asks for (buckets).</summary>
    public const int MaxHistogramBuckets = 200;

    /// <summary>
    /// One page of rows in <paramref name="sort"/> order, without a count (the grid counts once per filter with
    /// <see cref="CountAsync"/>, so paging costs one indexed read). Offset paging over an index in the sort
    /// order: see docs/dashboard.md for why not keyset.
    /// </summary>
    public async Task<IReadOnlyList<FailedGenerationSummary>> ListPageAsync(
        DbIdentity identity, FailedGenerationFilter filter, FailedGenerationSort sort, PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(page);
        page.Validate();
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        filter = await ResolveTextSearchAsync(connection, null, filter, cancellationToken).ConfigureAwait(false);
        var (where, parameters) = BuildWhere(filter);

        // With filters, or past page 1, the rollup's count (a millisecond) comes first: none to show skips the page
        // query, few are read through the filters' own indexes (PageSql), and a page in the far half is read from the
        // other end (ReadPageAsync). Text search has no cheap count; its rows are read as ever.
        long? total = null;
        string? rollupWhere = null;
        if ((where.Length > 0 || page.Offset > 0) && CanUseRollup(filter))
        {
            var (countSql, countParameters) = CountSql(filter);
            total = await connection.ExecuteScalarAsync<long>(new CommandDefinition(countSql, countParameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
            rollupWhere = BuildWhere(filter, rollup: true).Where;
        }

        return await ReadPageAsync(connection, where, rollupWhere, parameters, sort, page, total, IsBroadSearch(filter), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rows matching the filter that the identity may see.</summary>
    public async Task<long> CountAsync(DbIdentity identity, FailedGenerationFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(filter);
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        filter = await ResolveTextSearchAsync(connection, null, filter, cancellationToken).ConfigureAwait(false);
        var (sql, parameters) = CountSql(filter);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Of <paramref name="ids"/> (failure ids from live events), how many the identity may see and the filter
    /// matches. Events carry every user's ids; this is where row-level security decides what counts as new.
    /// </summary>
    public async Task<int> CountMatchingAsync(
        DbIdentity identity, FailedGenerationFilter filter, IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return 0;
        }

        // A live batch is a few ids: the search is checked on those rows, not resolved over the table.
        var (where, parameters) = BuildWhere(filter);
        parameters.Add("ids", ids.ToArray());
        var clause = AndWhere(where, "id = ANY(@ids)");
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"SELECT count(*)::int FROM failed_generations {clause}", parameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>The total and the count per chip value, all under <paramref name="filter"/>, in one scan.</summary>
    public async Task<FailureFacets> GetFacetsAsync(DbIdentity identity, FailedGenerationFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        return await QueryFacetsAsync(connection, null, filter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Display names of the users with <paramref name="userIds"/> that the identity may see (an admin: all), for the
    /// grid's Owner column. Ids it may not see are simply absent.
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, string>> GetOwnerNamesAsync(DbIdentity identity, IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            return new Dictionary<Guid, string>();
        }

        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(Guid Id, string Name)>(new CommandDefinition(
            "SELECT id, display_name FROM app_users WHERE id = ANY(@ids)", new { ids = userIds.ToArray() }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.ToDictionary(r => r.Id, r => r.Name);
    }

    /// <summary>
    /// The filter chips' counts: the total under <paramref name="filter"/>, and each dimension counted under every
    /// filter except its own (faceted search). A chosen failure type therefore still shows the other types, with what
    /// each would count if chosen instead, so a person can switch. One aggregate (<see cref="FacetsAsync"/>).
    /// </summary>
    public async Task<FailureFacets> GetChipFacetsAsync(DbIdentity identity, FailedGenerationFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(filter);
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        filter = await ResolveTextSearchAsync(connection, null, filter, cancellationToken).ConfigureAwait(false);
        return await FacetsAsync(connection, null, filter, exceptOwn: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="GetFacetsAsync"/> on a connection the caller opened, so other reads can share its transaction (and
    /// its snapshot): the run page reads the run's counters and its failure breakdown as of one moment.
    /// </summary>
    internal static async Task<FailureFacets> QueryFacetsAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, FailedGenerationFilter filter, CancellationToken cancellationToken)
    {
        filter = await ResolveTextSearchAsync(connection, transaction, filter, cancellationToken).ConfigureAwait(false);
        return await FacetsAsync(connection, transaction, filter, exceptOwn: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams every matching row in <paramref name="sort"/> order straight from the database reader (unbuffered):
    /// memory stays flat whatever the row count. The connection stays open until enumeration ends.
    /// </summary>
    public async IAsyncEnumerable<FailedGenerationSummary> StreamAsync(
        DbIdentity identity,
        FailedGenerationFilter filter,
        FailedGenerationSort sort,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        filter = await ResolveTextSearchAsync(connection, null, filter, cancellationToken).ConfigureAwait(false);
        var (where, parameters) = BuildWhere(filter);
        var rows = connection.QueryUnbufferedAsync<FailedGenerationSummary>(
            $"SELECT {FailedGenerationSummary.Columns} FROM failed_generations {where} ORDER BY {OrderBy(sort)}",
            parameters);
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return row;
        }
    }

    /// <summary>Failures per time bucket and failure type, oldest first.</summary>
    public async Task<IReadOnlyList<FailureTimeBucket>> GetFailuresOverTimeAsync(
        DbIdentity identity, FailedGenerationFilter filter, ChartTimeUnit unit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        // Days come from the rollup (already per UTC day); hours and text search need the rows.
        var rollup = unit == ChartTimeUnit.Day && CanUseRollup(filter);
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        filter = await ResolveTextSearchAsync(connection, null, filter, cancellationToken).ConfigureAwait(false);
        var (where, parameters) = BuildWhere(filter, rollup);
        parameters.Add("unit", unit == ChartTimeUnit.Hour ? "hour" : "day");
        // date_trunc on timestamptz truncates in the session time zone: AT TIME ZONE 'UTC' keeps buckets in UTC.
        var sql = rollup
            ? $"""
              SELECT day::timestamp AS bucketstart, failure_type AS failuretype, sum(n)::bigint AS count
              FROM failed_generation_counts {where}
              GROUP BY 1, 2
              HAVING sum(n) > 0
              ORDER BY 1, 2
              """
            : $"""
              SELECT date_trunc(@unit, created_at AT TIME ZONE 'UTC') AS bucketstart, failure_type AS failuretype, count(*) AS count
              FROM failed_generations {where}
              GROUP BY 1, 2
              ORDER BY 1, 2
              """;
        var rows = await connection.QueryAsync<FailureTimeBucket>(new CommandDefinition(
            sql,
            parameters,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>
    /// Output tokens of failures (under <paramref name="filter"/>) and of stored conversations (same model, run and
    /// date range), in <paramref name="bucketCount"/> buckets of <paramref name="bucketWidth"/> tokens; the last
    /// bucket is open-ended. Rows without output_tokens are left out. From the token rollups (migration 0090) when
    /// the filters allow and the width is a whole number of their buckets, else from the rows: the same buckets.
    /// </summary>
    public async Task<IReadOnlyList<OutputTokenBucket>> GetOutputTokenHistogramAsync(
        DbIdentity identity, FailedGenerationFilter filter, int bucketWidth, int bucketCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketCount, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bucketCount, MaxHistogramBuckets);
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        filter = await ResolveTextSearchAsync(connection, null, filter, cancellationToken).ConfigureAwait(false);
        var rollup = CanUseTokenRollup(filter, bucketWidth);
        var table = rollup ? FilterTable.Rollup : FilterTable.Rows;
        var (where, parameters) = BuildWhere(filter, table);
        // The success filter only uses model, run and date (parameter names and values are shared with the failure filter).
        var (successWhere, _) = BuildWhere(new FailedGenerationFilter { Model = filter.Model, RunId = filter.RunId, From = filter.From, To = filter.To }, table);
        parameters.Add("width", bucketWidth);
        parameters.Add("buckets", bucketCount);
        parameters.Add("upper", bucketWidth * (bucketCount - 1));
        parameters.Add("per", bucketWidth / TokenRollupBucketWidth);
        var sql = rollup ? TokenHistogramFromRollupSql(where, successWhere) : TokenHistogramFromRowsSql(where, successWhere);
        var rows = await connection.QueryAsync<(int Bucket, long Failures, long Successes)>(new CommandDefinition(
            sql, parameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return [.. rows.Select(r => new OutputTokenBucket((r.Bucket - 1) * bucketWidth, r.Failures, r.Successes))];
    }

    /// <summary>Tokens per bucket of the token rollups (migration 0090, <c>brun_output_token_bucket</c>).</summary>
    internal const int TokenRollupBucketWidth = 50;

    /// <summary>Whether a histogram of <paramref name="bucketWidth"/> under <paramref name="filter"/> sums whole buckets of the token rollups.</summary>
    internal static bool CanUseTokenRollup(FailedGenerationFilter filter, int bucketWidth) =>
        CanUseRollup(filter) && bucketWidth % TokenRollupBucketWidth == 0;

    // width_bucket(x, 0, upper, n-1) gives 1..n-1 inside [0, upper), n at or above upper and 0 below 0 (left out by
    // the join): bucket b starts at (b-1)*width.
    private static string TokenHistogramFromRowsSql(string where, string successWhere) => $"""
        WITH f AS (
            SELECT width_bucket(output_tokens, 0, @upper, @buckets - 1) AS bucket, count(*) AS n
            FROM failed_generations {AndWhere(where, "output_tokens IS NOT NULL")} GROUP BY 1),
        s AS (
            SELECT width_bucket(output_tokens, 0, @upper, @buckets - 1) AS bucket, count(*) AS n
            FROM conversations {AndWhere(successWhere, "output_tokens IS NOT NULL")} GROUP BY 1)
        {JoinBucketsSql}
        """;

    // The same buckets from the rollups: a rollup bucket k holds [50k, 50k + 50), so it falls in the histogram's
    // bucket k / per + 1 (per = width / 50), the last one open-ended; bucket -1 (negative counts) falls below the first.
    private static string TokenHistogramFromRollupSql(string where, string successWhere) => $"""
        WITH f AS (
            SELECT CASE WHEN bucket < 0 THEN 0 ELSE least(bucket / @per + 1, @buckets) END AS bucket, sum(n) AS n
            FROM failed_generation_token_counts {where} GROUP BY 1),
        s AS (
            SELECT CASE WHEN bucket < 0 THEN 0 ELSE least(bucket / @per + 1, @buckets) END AS bucket, sum(n) AS n
            FROM conversation_token_counts {successWhere} GROUP BY 1)
        {JoinBucketsSql}
        """;

    private const string JoinBucketsSql = """
        SELECT b AS bucket, COALESCE(f.n, 0)::bigint AS failures, COALESCE(s.n, 0)::bigint AS successes
        FROM generate_series(1, @buckets) AS b
        LEFT JOIN f ON f.bucket = b
        LEFT JOIN s ON s.bucket = b
        ORDER BY b
        """;

    /// <summary>
    /// The rows of <paramref name="page"/>: none without a query when <paramref name="total"/> (when known) ends before
    /// it, and few matches through <see cref="PageSql"/>'s fence. <c>rollupWhere</c> is the same filter on the rollup,
    /// when the rollup answers it and the page reads every match of <c>where</c> (no keyset bound): a deep page in
    /// date order then skips whole days.
    /// </summary>
    private static async Task<List<FailedGenerationSummary>> ReadPageAsync(
        NpgsqlConnection connection, string where, string? rollupWhere, DynamicParameters parameters, FailedGenerationSort sort, PageRequest page,
        long? total, bool broadSearch, CancellationToken cancellationToken)
    {
        if (total <= page.Offset)
        {
            return [];
        }

        var (readSort, limit, offset, fromFarEnd) = PageReadPlan(sort, page, total);
        parameters.Add("limit", limit);
        parameters.Add("offset", offset);
        var command = new CommandDefinition(PageSql(where, readSort, total, offset, rollupWhere), parameters, cancellationToken: cancellationToken);
        var rows = !broadSearch || total <= FewMatches
            ? (await connection.QueryAsync<FailedGenerationSummary>(command).ConfigureAwait(false)).AsList()
            : await ReadBroadSearchPageAsync(connection, command).ConfigureAwait(false);
        if (fromFarEnd)
        {
            rows.Reverse();
        }

        return rows;
    }

    /// <summary>
    /// How to read <paramref name="page"/>: as asked, or, for a page in the far half of <paramref name="total"/>
    /// matches (when known and too many for PageSql's fence), in the opposite order from the other end, the rows then
    /// reversed. An offset costs as many rows as it skips (the last of 900,000 rows, 0.6-1.2 s), so the last page
    /// ("Last page", or oldest first from the newest) costs what the first does and the middle is the slowest.
    /// </summary>
    internal static (FailedGenerationSort Sort, int Limit, long Offset, bool FromFarEnd) PageReadPlan(
        FailedGenerationSort sort, PageRequest page, long? total)
    {
        if (total is not { } count || count <= FewMatches || page.Offset * 2 <= count)
        {
            return (sort, page.PageSize, page.Offset, false);
        }

        // Rows [offset, offset + size) in this order are rows [count - offset - size, count - offset) in the other.
        var offset = count - page.Offset - page.PageSize;
        var limit = offset < 0 ? (int)(count - page.Offset) : page.PageSize;
        return (Reversed(sort), limit, Math.Max(offset, 0), true);
    }

    /// <summary>The same order backwards: ties are broken by id both ways, so every row keeps its place.</summary>
    private static FailedGenerationSort Reversed(FailedGenerationSort sort) => sort switch
    {
        FailedGenerationSort.NewestFirst => FailedGenerationSort.OldestFirst,
        FailedGenerationSort.OldestFirst => FailedGenerationSort.NewestFirst,
        FailedGenerationSort.MostOutputTokens => FailedGenerationSort.FewestOutputTokens,
        FailedGenerationSort.FewestOutputTokens => FailedGenerationSort.MostOutputTokens,
        _ => throw new ArgumentOutOfRangeException(nameof(sort), sort, null),
    };

    private static async Task<List<FailedGenerationSummary>> ReadBroadSearchPageAsync(NpgsqlConnection connection, CommandDefinition command)
    {
        // A term that matched too many rows to resolve (ResolveTextSearchAsync) is common, so the walk down the sort's
        // index meets a page of matches early. The planner cannot see that: under row-level security it may not read
        // the column statistics for ILIKE (not leakproof), guesses a few dozen matches, and reads and sorts the whole
        // table instead (0.6-1.2 s at a million rows). Scans of the table are ruled out for this one statement, and
        // so are parallel workers: for the walk the planner expects to be long, starting two of them took 14-30 ms of
        // a statement whose reads take 0.3 ms, and with a broad term's counts scanning at the same time, 120 ms.
        return (await QueryWithPlannerSettingsAsync<FailedGenerationSummary>(connection, command, PageWalkSettings).ConfigureAwait(false)).AsList();
    }

    /// <summary>The planner's settings for a broad term's page (<see cref="ReadBroadSearchPageAsync"/> says why).</summary>
    internal static readonly (string Name, string Value)[] PageWalkSettings =
        [("enable_seqscan", "off"), ("enable_bitmapscan", "off"), ("max_parallel_workers_per_gather", "0")];

    /// <summary>A text search that <see cref="ResolveTextSearchAsync"/> left to the rows: too many matches to list by id.</summary>
    private static bool IsBroadSearch(FailedGenerationFilter filter) => !string.IsNullOrWhiteSpace(filter.Query) && filter.QueryMatches is null;

    /// <summary>Matches at most this many: read through the filters' indexes and sorted, not found by walking the sort's index.</summary>
    internal const long FewMatches = 5_000;

    /// <summary>
    /// One page in <paramref name="sort"/> order. Walking the sort's index and skipping what the filters refuse is
    /// right when matches are common; when the count says they are few (or scattered over a million rows, or absent),
    /// the walk read the whole index (0.5-1.5 s for a filter pair no row has). The OFFSET 0 fence then keeps the
    /// planner from pushing the order and limit into the scan, so it reads the few matches and sorts them.
    /// </summary>
    /// <param name="where">The filter on the rows.</param>
    /// <param name="sort">The order the page is read in.</param>
    /// <param name="total">The number of matches, when known.</param>
    /// <param name="offset">Rows skipped before the page.</param>
    /// <param name="rollupWhere">The same filter on the rollup, when it answers it: see <see cref="SkipByDaySql"/>.</param>
    internal static string PageSql(string where, FailedGenerationSort sort, long? total, long offset = 0, string? rollupWhere = null) =>
        rollupWhere is not null && total > FewMatches && offset >= SkipByDayFrom
            && sort is FailedGenerationSort.NewestFirst or FailedGenerationSort.OldestFirst
            ? SkipByDaySql(where, rollupWhere, sort)
            : total is { } count && count <= FewMatches
            ? $"""
              SELECT * FROM (SELECT {FailedGenerationSummary.Columns} FROM failed_generations {where} OFFSET 0) AS matches
              ORDER BY {OrderBy(sort, summaryAliases: true)}
              LIMIT @limit OFFSET @offset
              """
            : $"""
              SELECT {FailedGenerationSummary.Columns}
              FROM failed_generations {where}
              ORDER BY {OrderBy(sort)}
              LIMIT @limit OFFSET @offset
              """;

    /// <summary>Offsets from which a page in date order skips whole days (<see cref="SkipByDaySql"/>).</summary>
    internal const long SkipByDayFrom = 2_000;

    /// <summary>
    /// A page deep in date order. An offset reads every row it skips (the middle of 900,000 rows took 358-440 ms),
    /// but the rollup counts the matches per UTC day: summed newest (or oldest) first, they name the day the page
    /// starts in and how many matches come before it, so the walk down the date index starts at that day's edge and
    /// skips at most a day's rows. One statement, so the rollup (kept exact in the same transaction as every write to
    /// the rows) and the rows are read in the same snapshot and the page holds exactly the rows of its offset.
    /// </summary>
    private static string SkipByDaySql(string where, string rollupWhere, FailedGenerationSort sort)
    {
        var newestFirst = sort == FailedGenerationSort.NewestFirst;
        var (order, reverse) = newestFirst ? ("DESC", "ASC") : ("ASC", "DESC");
        // Newest first, the page's rows are older than the end of its first day; oldest first, no older than its start.
        var bound = newestFirst
            ? "created_at < (SELECT (day + 1)::timestamp AT TIME ZONE 'UTC' FROM first_day)"
            : "created_at >= (SELECT day::timestamp AT TIME ZONE 'UTC' FROM first_day)";
        return $"""
            WITH days AS (
                SELECT day, sum(n) AS n FROM failed_generation_counts {rollupWhere} GROUP BY day HAVING sum(n) > 0),
            first_day AS (
                -- The last day, in reading order, whose matches start at or before the offset.
                SELECT day, before FROM (SELECT day, sum(n) OVER (ORDER BY day {order}) - n AS before FROM days) AS d
                WHERE before <= @offset
                ORDER BY day {reverse}
                LIMIT 1)
            SELECT {FailedGenerationSummary.Columns}
            FROM failed_generations {AndWhere(where, bound)}
            ORDER BY {OrderBy(sort)}
            LIMIT @limit OFFSET @offset - (SELECT before FROM first_day)
            """;
    }

    /// <param name="sort">The order.</param>
    /// <param name="summaryAliases">Name the columns as <see cref="FailedGenerationSummary.Columns"/> aliases them (the fenced page of PageSql orders its subquery's output).</param>
    private static string OrderBy(FailedGenerationSort sort, bool summaryAliases = false)
    {
        var (createdAt, outputTokens) = summaryAliases ? ("createdat", "outputtokens") : ("created_at", "output_tokens");
        return sort switch
        {
            FailedGenerationSort.NewestFirst => $"{createdAt} DESC, id DESC",
            FailedGenerationSort.OldestFirst => $"{createdAt} ASC, id ASC",
            FailedGenerationSort.MostOutputTokens => $"{outputTokens} DESC NULLS LAST, id DESC",
            FailedGenerationSort.FewestOutputTokens => $"{outputTokens} ASC NULLS FIRST, id ASC",
            _ => throw new ArgumentOutOfRangeException(nameof(sort), sort, null),
        };
    }
}
