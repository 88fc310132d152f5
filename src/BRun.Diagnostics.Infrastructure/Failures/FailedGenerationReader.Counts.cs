using Dapper;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>
/// Counting from the rollup <c>failed_generation_counts</c> (migration 0070), kept exact by triggers in the same
/// transaction as every write to failed_generations. A filter can be answered from it when it has no text search
/// and its time bounds fall on UTC midnights (the dashboard's date filters always do).
/// </summary>
public sealed partial class FailedGenerationReader
{
    /// <summary>Whether counts under <paramref name="filter"/> come from the rollup rather than a scan of the rows.</summary>
    public static bool CanUseRollup(FailedGenerationFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return string.IsNullOrWhiteSpace(filter.Query) && IsUtcMidnight(filter.From) && IsUtcMidnight(filter.To);
    }

    /// <summary>A statement returning the number of visible rows matching <paramref name="filter"/>.</summary>
    private static (string Sql, DynamicParameters Parameters) CountSql(FailedGenerationFilter filter)
    {
        if (CanUseRollup(filter))
        {
            var (where, parameters) = BuildWhere(filter, rollup: true);
            return ($"SELECT COALESCE(sum(n), 0)::bigint FROM failed_generation_counts {where}", parameters);
        }

        // The narrow copy of the rows (0089) holds every filtered column at a quarter of the table's width.
        var (searchWhere, searchParameters) = BuildWhere(filter, FilterTable.Search);
        return ($"SELECT count(*) FROM failed_generation_search {searchWhere}", searchParameters);
    }

    private static bool IsUtcMidnight(DateTimeOffset? moment) =>
        moment is not { } value || value.UtcDateTime.TimeOfDay == TimeSpan.Zero;
}
