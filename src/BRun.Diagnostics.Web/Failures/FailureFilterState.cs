using System.Globalization;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// The failed-generations filters as they travel in the URL query (page links and the HTTP API use the same
/// names): failure_type, stop_reason, pattern, model, run_id, from, to, q. Dates are UTC; a date without a time
/// in <c>to</c> includes that whole day. Unknown or malformed values are dropped rather than failing the page.
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

    /// <summary>First day included.</summary>
    public DateOnly? From { get; init; }

    /// <summary>Last day included.</summary>
    public DateOnly? To { get; init; }
    public string? Query { get; init; }

    public bool IsEmpty => this == Empty;

    /// <summary>Builds the state from raw query values, keeping only values that make sense.</summary>
    public static FailureFilterState Parse(
        string? failureType, string? stopReason, string? pattern, string? model, string? runId, string? from, string? to, string? query) => new()
    {
        FailureType = failureType is FailureTypeNames.Truncation or FailureTypeNames.ParseError or FailureTypeNames.ApiError or FailureTypeNames.ValidationError
            ? failureType
            : null,
        StopReason = Clean(stopReason),
        Pattern = Clean(pattern),
        Model = Clean(model),
        RunId = Guid.TryParse(runId, out var run) ? run : null,
        From = ParseDate(from),
        To = ParseDate(to),
        Query = Clean(query),
    };

    /// <summary>The reader's filter: [from 00:00, to+1 00:00) in UTC.</summary>
    public FailedGenerationFilter ToFilter() => new()
    {
        FailureType = FailureType is null ? null : FailureTypeNames.Parse(FailureType),
        StopReason = StopReason,
        TruncationPattern = Pattern,
        Model = Model,
        RunId = RunId,
        From = From is { } f ? new DateTimeOffset(f.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null,
        To = To is { } t ? new DateTimeOffset(t.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null,
        Query = Query,
    };

    /// <summary>The query values, in a stable order, without empty members.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ToQuery()
    {
        var values = new List<KeyValuePair<string, string>>();
        Add(FailureTypeKey, FailureType);
        Add(StopReasonKey, StopReason);
        Add(PatternKey, Pattern);
        Add(ModelKey, Model);
        Add(RunIdKey, RunId?.ToString("D"));
        Add(FromKey, From?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Add(ToKey, To?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
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

    /// <summary>"?failure_type=...&amp;..." (empty when nothing filters), escaped.</summary>
    public string ToQueryString()
    {
        var query = ToQuery();
        return query.Count == 0 ? string.Empty : "?" + string.Join('&', query.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
    }

    private static string? Clean(string? value) =>
        string.IsNullOrWhiteSpace(value) ? null : value.Trim() is { Length: <= 200 } trimmed ? trimmed : null;

    private static DateOnly? ParseDate(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var moment)
            ? DateOnly.FromDateTime(moment.UtcDateTime)
            : null;
    }
}
