using BRun.Diagnostics.Core.Validation;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>The chip counts: one aggregate, from the rollup when it can answer the filters, else from the rows.</summary>
public sealed partial class FailedGenerationReader
{
    /// <summary>
    /// The facets of <paramref name="filter"/> (text search already resolved) from one aggregate: matches are counted
    /// per combination of the five chip dimensions (a few thousand groups at most), and the total and each dimension
    /// are summed from those here. With <paramref name="exceptOwn"/> each dimension is counted under every filter but
    /// its own (the chips); otherwise under all of them. The source is the rollup (milliseconds) or, for a text search
    /// or an hour-level bound, the narrow search copy of the rows (migration 0089): one parallel scan of it, 0.2 s for
    /// a term in 80 % of a million rows, where the rows themselves took 0.55 s (docs/dashboard.md).
    /// </summary>
    private static async Task<FailureFacets> FacetsAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, FailedGenerationFilter filter, bool exceptOwn, CancellationToken cancellationToken)
    {
        // The dimensions are applied below, per dimension; the aggregate keeps every other filter (owner, dates, text).
        var rollup = CanUseRollup(filter);
        var (where, parameters) = BuildWhere(
            filter with { FailureType = null, StopReason = null, TruncationPattern = null, Model = null, RunId = null },
            rollup ? FilterTable.Rollup : FilterTable.Search);
        var sql = rollup
            ? $"""
              SELECT failure_type AS failuretype, stop_reason AS stopreason, truncation_pattern AS truncationpattern, model, run_id AS runid,
                     sum(n)::bigint AS n
              FROM failed_generation_counts {where}
              GROUP BY 1, 2, 3, 4, 5
              HAVING sum(n) > 0
              """
            // The rows' copy (0089) groups by one integer per combination; the combinations are joined afterwards.
            : $"""
              SELECT d.failure_type AS failuretype, d.stop_reason AS stopreason, d.truncation_pattern AS truncationpattern,
                     d.model, d.run_id AS runid, m.n
              FROM (SELECT dimensions, count(*) AS n FROM failed_generation_search {where} GROUP BY dimensions) AS m
              JOIN failed_generation_dimensions d ON d.id = m.dimensions
              """;
        var command = new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken);
        // Under row-level security a text filter is estimated at a few dozen rows (the planner may not read column
        // statistics for LIKE, which is not leakproof), so PostgreSQL sorts to group and spills hundreds of thousands
        // of rows to disk; the groups are few, and hashing them is right at any size. The rollup needs no such help.
        var groups = rollup
            ? await connection.QueryAsync<FacetGroup>(command).ConfigureAwait(false)
            : await QueryWithPlannerSettingsAsync<FacetGroup>(connection, command, [("enable_sort", "off")]).ConfigureAwait(false);
        return Fold(groups, filter, exceptOwn);
    }

    /// <summary>
    /// <paramref name="command"/> with the planner's <paramref name="settings"/> (constant names and values, such as
    /// <c>enable_sort = off</c>) for that statement only: in its own transaction when the command has none, else set
    /// and then reset inside the caller's.
    /// </summary>
    internal static async Task<IEnumerable<T>> QueryWithPlannerSettingsAsync<T>(
        NpgsqlConnection connection, CommandDefinition command, (string Name, string Value)[] settings)
    {
        var token = command.CancellationToken;
        await using var own = command.Transaction is null ? await connection.BeginTransactionAsync(token).ConfigureAwait(false) : null;
        var scope = (NpgsqlTransaction?)command.Transaction ?? own!;
        await connection.ExecuteAsync(new CommandDefinition(
            string.Join("; ", settings.Select(s => $"SET LOCAL {s.Name} = {s.Value}")), transaction: scope, cancellationToken: token)).ConfigureAwait(false);
        var rows = await connection.QueryAsync<T>(new CommandDefinition(command.CommandText, command.Parameters, scope, cancellationToken: token)).ConfigureAwait(false);
        if (own is not null)
        {
            await own.CommitAsync(token).ConfigureAwait(false);
        }
        else
        {
            await connection.ExecuteAsync(new CommandDefinition(
                string.Join("; ", settings.Select(s => $"SET LOCAL {s.Name} = DEFAULT")), transaction: scope, cancellationToken: token)).ConfigureAwait(false);
        }

        return rows;
    }

    /// <summary>Sums <paramref name="groups"/> into the facets of <paramref name="filter"/> (see <see cref="FacetsAsync"/>).</summary>
    internal static FailureFacets Fold(IEnumerable<FacetGroup> groups, FailedGenerationFilter filter, bool exceptOwn)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(filter);
        var type = filter.FailureType?.ToWire();
        long total = 0;
        var byType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byStop = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byPattern = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byModel = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byRun = new Dictionary<Guid, long>();
        foreach (var group in groups)
        {
            // Which filters the group fails: a dimension counts it when no other dimension (or, without exceptOwn, none
            // at all) refuses it.
            var misses = (type is null || group.FailureType == type ? 0 : Dimension.Type)
                | (filter.StopReason is null || (group.StopReason ?? FailureStatistics.NoStopReason) == filter.StopReason ? 0 : Dimension.Stop)
                | (filter.TruncationPattern is null || group.TruncationPattern == filter.TruncationPattern ? 0 : Dimension.Pattern)
                | (filter.Model is null || group.Model == filter.Model ? 0 : Dimension.Model)
                | (filter.RunId is null || group.RunId == filter.RunId ? 0 : Dimension.Run);
            if (misses == 0)
            {
                total += group.N;
            }

            if (Counts(Dimension.Type) && group.FailureType is { } t)
            {
                byType[t] = byType.GetValueOrDefault(t) + group.N;
            }

            if (Counts(Dimension.Stop))
            {
                var key = group.StopReason ?? FailureStatistics.NoStopReason;
                byStop[key] = byStop.GetValueOrDefault(key) + group.N;
            }

            if (Counts(Dimension.Pattern) && group.TruncationPattern is { } p)
            {
                byPattern[p] = byPattern.GetValueOrDefault(p) + group.N;
            }

            if (Counts(Dimension.Model) && group.Model is { } m)
            {
                byModel[m] = byModel.GetValueOrDefault(m) + group.N;
            }

            if (Counts(Dimension.Run) && group.RunId is { } r)
            {
                byRun[r] = byRun.GetValueOrDefault(r) + group.N;
            }

            bool Counts(int dimension) => (misses & ~(exceptOwn ? dimension : 0)) == 0;
        }

        return new FailureFacets(total, byType, byStop, byPattern, byModel, byRun);
    }

    /// <summary>Matching rows with one combination of the chip dimensions.</summary>
    internal sealed record FacetGroup(string? FailureType, string? StopReason, string? TruncationPattern, string? Model, Guid? RunId, long N);

    private static class Dimension
    {
        public const int Type = 1;
        public const int Stop = 2;
        public const int Pattern = 4;
        public const int Model = 8;
        public const int Run = 16;
    }
}
