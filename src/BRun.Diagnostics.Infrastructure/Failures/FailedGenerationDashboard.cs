namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>Orders the failures grid can be sorted by; each has an index behind it (migration 0030).</summary>
public enum FailedGenerationSort
{
    /// <summary>created_at DESC, id DESC (the default).</summary>
    NewestFirst,
    OldestFirst,

    /// <summary>output_tokens DESC NULLS LAST, id DESC.</summary>
    MostOutputTokens,
    FewestOutputTokens,
}

/// <summary>
/// How many failures match the filter in total and per value of each chip dimension (one aggregate under the
/// same filter). Keys are wire values; a missing stop_reason is <see cref="FailureStatistics.NoStopReason"/>.
/// </summary>
public sealed record FailureFacets(
    long Total,
    IReadOnlyDictionary<string, long> ByFailureType,
    IReadOnlyDictionary<string, long> ByStopReason,
    IReadOnlyDictionary<string, long> ByTruncationPattern,
    IReadOnlyDictionary<string, long> ByModel,
    IReadOnlyDictionary<Guid, long> ByRun)
{
    public static FailureFacets Empty { get; } = new(0,
        new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, long>(),
        new Dictionary<string, long>(), new Dictionary<Guid, long>());
}

/// <summary>Time unit of the failures-over-time chart (a <c>date_trunc</c> field).</summary>
public enum ChartTimeUnit
{
    Hour,
    Day,
}

/// <summary>Failures of one type that started in the bucket at <paramref name="BucketStart"/> (UTC).</summary>
public sealed record FailureTimeBucket(DateTime BucketStart, string FailureType, long Count);

/// <summary>
/// One output-token bucket: [<paramref name="LowerBound"/>, LowerBound + width). The last bucket holds everything
/// at or above its lower bound.
/// </summary>
public sealed record OutputTokenBucket(int LowerBound, long Failures, long Successes);
