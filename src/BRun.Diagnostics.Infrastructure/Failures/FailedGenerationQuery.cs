using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>Filters for listing failures and for statistics. Null members do not filter.</summary>
public sealed record FailedGenerationFilter
{
    public FailureType? FailureType { get; init; }

    /// <summary>Exact stop_reason; <see cref="FailureStatistics.NoStopReason"/> matches rows without one.</summary>
    public string? StopReason { get; init; }
    public string? TruncationPattern { get; init; }
    public Guid? RunId { get; init; }
    public Guid? CreatedBy { get; init; }
    public string? Model { get; init; }

    /// <summary>Inclusive lower bound on created_at.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Exclusive upper bound on created_at.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Case-insensitive substring of truncation_details or error_message.</summary>
    public string? Query { get; init; }

    /// <summary>
    /// The ids <see cref="Query"/> matches, when the reader resolved them first (few matches; see
    /// FailedGenerationReader.ResolveTextSearchAsync). Not part of what a caller asks.
    /// </summary>
    internal IReadOnlyList<Guid>? QueryMatches { get; init; }

    public static FailedGenerationFilter None { get; } = new();
}

/// <summary>A page request. <paramref name="PageIndex"/> is zero-based.</summary>
public sealed record PageRequest(int PageIndex = 0, int PageSize = 25)
{
    public const int MaxPageSize = 500;

    // Widened before multiplying: page 10,000,000 of 500 is past the end (an empty page), not an overflow.
    internal long Offset => (long)PageIndex * PageSize;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(PageIndex);
        ArgumentOutOfRangeException.ThrowIfLessThan(PageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PageSize, MaxPageSize);
    }
}

/// <summary>One page of results and the total matching the filter.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, long TotalCount, int PageIndex, int PageSize);

/// <summary>Counts over the failures a user may see.</summary>
public sealed record FailureStatistics(
    long Total,
    IReadOnlyDictionary<string, long> ByFailureType,
    IReadOnlyDictionary<string, long> ByStopReason,
    IReadOnlyDictionary<string, long> ByTruncationPattern)
{
    /// <summary>The <see cref="ByStopReason"/> key for rows without a stop_reason (stream cut, API or transport error).</summary>
    public const string NoStopReason = "(none)";
}
