using System.Globalization;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// The failed-generations filters as they travel in the URL query (page links and the HTTP API use the same
/// names): failure_type, stop_reason, pattern, model, run_id, from, to, q. <see cref="From"/> is inclusive and
/// <see cref="To"/> exclusive, both exact instants; a date alone in <c>to</c> means "through the end of that day"
/// and is stored as the next midnight. Build one from a query with <see cref="FailureFilterQuery"/>.
/// </summary>
public sealed record FailureFilterState
{
    public const string FailureTypeKey = "failure_type";
    public const string StopReasonKey = "stop_reason";
    public const string PatternKey = "pattern";
    public const string ModelKey = "model";
    public const string RunIdKey = "run_id";
    public const string FromKey = "from";
    public const string ToKey = "to";
    public const string QueryKey = "q";

    public static FailureFilterState Empty { get; } = new();

    public string? FailureType { get; init; }
    public string? StopReason { get; init; }
    public string? Pattern { get; init; }
    public string? Model { get; init; }
    public Guid? RunId { get; init; }

    /// <summary>Earliest created_at included (UTC).</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>First created_at no longer included (UTC).</summary>
    public DateTimeOffset? To { get; init; }
    public string? Query { get; init; }

    public bool IsEmpty => this == Empty;

    /// <summary>The UTC day <see cref="From"/> falls on (for a date picker).</summary>
    public DateOnly? FromDay => From is { } from ? DateOnly.FromDateTime(from.UtcDateTime) : null;

    /// <summary>The last UTC day with an included instant (for a date picker).</summary>
    public DateOnly? LastDay => To is { } to ? DateOnly.FromDateTime(to.UtcDateTime.AddTicks(-1)) : null;

    /// <summary>The state for whole UTC days, <paramref name="first"/> through <paramref name="last"/> inclusive.</summary>
    public FailureFilterState WithDays(DateOnly? first, DateOnly? last) => this with
    {
        From = first is { } f ? Midnight(f) : null,
        To = last is { } l ? Midnight(l.AddDays(1)) : null,
    };

    /// <summary>The reader's filter.</summary>
    public FailedGenerationFilter ToFilter() => new()
    {
        FailureType = FailureType is null ? null : FailureTypeNames.Parse(FailureType),
        StopReason = StopReason,
        TruncationPattern = Pattern,
        Model = Model,
        RunId = RunId,
        From = From,
        To = To,
        Query = Query,
    };

    /// <summary>The query values, in a stable order, without empty members; <see cref="FailureFilterQuery"/> reads them back to an equal state.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ToQuery()
    {
        var values = new List<KeyValuePair<string, string>>();
        Add(FailureTypeKey, FailureType);
        Add(StopReasonKey, StopReason);
        Add(PatternKey, Pattern);
        Add(ModelKey, Model);
        Add(RunIdKey, RunId?.ToString("D"));
        Add(FromKey, From is { } from ? FormatBound(from, exclusiveEnd: false) : null);
        Add(ToKey, To is { } to ? FormatBound(to, exclusiveEnd: true) : null);
        Add(QueryKey, Query);
        return values;

        void Add(string key, string? value)
        {
            if (value is not null)
            {
                values.Add(new(key, value));
            }
        }
    }

    /// <summary>The filters in words ("failure type truncation", "run 1a2b3c4d", "from 2026-12-02"), in query order.</summary>
    public IReadOnlyList<string> Describe() => [.. ToQuery().Select(p => p.Key switch
    {
        FailureTypeKey => "failure type " + p.Value,
        StopReasonKey => "stop reason " + p.Value,
        PatternKey => "pattern " + p.Value,
        ModelKey => "model " + p.Value,
        RunIdKey => "run " + p.Value[..8],
        FromKey => "from " + p.Value,
        ToKey => "to " + p.Value,
        _ => $"text \"{p.Value}\"",
    })];

    /// <summary>The value of one query key, or null.</summary>
    public string? QueryValue(string key) => ToQuery().FirstOrDefault(p => p.Key == key).Value;

    /// <summary>"?failure_type=...&amp;..." (empty when nothing filters), escaped.</summary>
    public string ToQueryString()
    {
        var query = ToQuery();
        return query.Count == 0 ? string.Empty : "?" + string.Join('&', query.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
    }

    internal static DateTimeOffset Midnight(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    // Whole days read back as dates (a `to` at midnight is "through the day before"), anything else as an exact instant.
    private static string FormatBound(DateTimeOffset bound, bool exclusiveEnd)
    {
        var utc = bound.ToUniversalTime();
        if (utc.TimeOfDay == TimeSpan.Zero)
        {
            var day = DateOnly.FromDateTime(utc.UtcDateTime);
            return (exclusiveEnd ? day.AddDays(-1) : day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        return utc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
    }
}
