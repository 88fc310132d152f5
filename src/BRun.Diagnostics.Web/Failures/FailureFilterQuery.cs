using System.Globalization;
using System.Text.RegularExpressions;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Api;
using Microsoft.Extensions.Primitives;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>What a query asked for: the filter, and every parameter that could not be honoured.</summary>
public sealed record FailureFilterParseResult(FailureFilterState State, IReadOnlyList<ParameterProblem> Problems)
{
    public bool IsValid => Problems.Count == 0;

    /// <summary>The first problem as a 400 problem+json result.</summary>
    public IResult ToProblemResult() => Problems[0].ToResult();
}

/// <summary>
/// The one place that turns failure-list query parameters into a filter, for the list, the exports, the dashboard
/// URL and anything else that takes "the same filters as the list" (bulk actions, ZIP export). Strict: a value
/// that cannot be honoured exactly is a problem naming its parameter, never dropped (dropping would widen what
/// was asked). Rules, also in docs/api.md:
/// <list type="bullet">
/// <item>Each parameter at most once; a repeated parameter is a problem (there is no OR).</item>
/// <item>An empty value is the same as leaving the parameter out.</item>
/// <item>Parameter names are case-insensitive (as in all of ASP.NET Core); values are case-sensitive.</item>
/// <item>An unknown parameter is a problem, so a misspelt name cannot silently return everything.</item>
/// <item><c>from</c>/<c>to</c>: a UTC date (<c>2026-12-02</c>) or an ISO 8601 date-time (<c>2026-12-02T10:15:00Z</c>,
/// offset optional, UTC assumed). <c>from</c> is inclusive, <c>to</c> exclusive; a date alone in <c>to</c> includes that day.</item>
/// </list>
/// </summary>
public static partial class FailureFilterQuery
{
    /// <summary>Longest accepted free-text value (q, model).</summary>
    public const int MaxTextLength = 200;

    /// <summary>The filter parameters, in documentation order.</summary>
    public static IReadOnlyList<string> Keys { get; } =
    [
        FailureFilterState.FailureTypeKey, FailureFilterState.StopReasonKey, FailureFilterState.PatternKey, FailureFilterState.ModelKey,
        FailureFilterState.RunIdKey, FailureFilterState.FromKey, FailureFilterState.ToKey, FailureFilterState.QueryKey,
    ];

    /// <summary>The accepted failure_type values.</summary>
    public static IReadOnlyList<string> FailureTypes { get; } =
        [FailureTypeNames.Truncation, FailureTypeNames.ParseError, FailureTypeNames.ApiError, FailureTypeNames.ValidationError];

    internal const string FailureTypeAccepts = "one of truncation, parse_error, api_error, validation_error (lower case)";
    internal const string StopReasonAccepts = "a stop_reason such as end_turn, max_tokens, refusal, stop_sequence, tool_use, pause_turn, model_context_window_exceeded (letters, digits, '_', up to 64 characters), or (none) for failures without one";
    internal const string PatternAccepts = "a truncation pattern such as escaped_quote, lone_backslash, mid_word, stream_cut (lower-case letters, digits and '_', up to 64 characters)";
    internal const string ModelAccepts = "a model id such as claude-sonnet-4-5 (letters, digits and . _ - : @ /, up to 200 characters)";
    internal const string RunIdAccepts = "a run id, a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    internal const string TimeAccepts = "a UTC date such as 2026-12-02 or an ISO 8601 date-time such as 2026-12-02T10:15:00Z";
    internal const string QueryAccepts = "text to search for, up to 200 characters without control characters";

    /// <summary>
    /// Parses <paramref name="query"/>. Parameters in <paramref name="otherKeys"/> belong to the caller (paging, format)
    /// and are neither parsed nor refused here.
    /// </summary>
    public static FailureFilterParseResult Parse(IEnumerable<KeyValuePair<string, StringValues>> query, IReadOnlyCollection<string>? otherKeys = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        var problems = new List<ParameterProblem>();
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (rawKey, rawValues) in query)
        {
            var key = Keys.FirstOrDefault(k => string.Equals(k, rawKey, StringComparison.OrdinalIgnoreCase));
            if (key is null)
            {
                if (otherKeys is null || !otherKeys.Contains(rawKey, StringComparer.OrdinalIgnoreCase))
                {
                    var accepted = string.Join(", ", Keys.Concat(otherKeys ?? []));
                    problems.Add(new ParameterProblem(Shorten(rawKey), $"'{Shorten(rawKey)}' is not a parameter of this endpoint.", accepted));
                }

                continue;
            }

            if (rawValues.Count > 1)
            {
                problems.Add(new ParameterProblem(key, $"{key} is given {rawValues.Count} times; give it at most once (several values are not combined).", Accepts(key)));
                continue;
            }

            if (!string.IsNullOrWhiteSpace(rawValues.ToString()))
            {
                values[key] = rawValues.ToString();
            }
        }

        var state = FailureFilterState.Empty;
        foreach (var (key, value) in values)
        {
            state = Apply(state, key, value, problems);
        }

        if (state.From is { } from && state.To is { } to && to <= from)
        {
            problems.Add(new ParameterProblem(FailureFilterState.ToKey, $"to ({state.QueryValue(FailureFilterState.ToKey)}) must be after from ({state.QueryValue(FailureFilterState.FromKey)}).", TimeAccepts + ", later than from"));
        }

        return new FailureFilterParseResult(state, problems);
    }

    /// <summary>Parses single values, one per key (the dashboard page receives its query this way).</summary>
    public static FailureFilterParseResult Parse(IReadOnlyDictionary<string, string?> query) =>
        Parse(query.Where(p => p.Value is not null).Select(p => new KeyValuePair<string, StringValues>(p.Key, p.Value)));

    private static FailureFilterState Apply(FailureFilterState state, string key, string value, List<ParameterProblem> problems)
    {
        switch (key)
        {
            case FailureFilterState.FailureTypeKey:
                if (FailureTypes.Contains(value, StringComparer.Ordinal))
                {
                    return state with { FailureType = value };
                }

                problems.Add(new ParameterProblem(key, $"failure_type '{Shorten(value)}' is not a failure type.", FailureTypeAccepts));
                return state;
            case FailureFilterState.StopReasonKey:
                if (value == FailureStatistics.NoStopReason || StopReasonPattern().IsMatch(value))
                {
                    return state with { StopReason = value };
                }

                problems.Add(new ParameterProblem(key, $"stop_reason '{Shorten(value)}' is not a stop reason.", StopReasonAccepts));
                return state;
            case FailureFilterState.PatternKey:
                if (PatternPattern().IsMatch(value))
                {
                    return state with { Pattern = value };
                }

                problems.Add(new ParameterProblem(key, $"pattern '{Shorten(value)}' is not a truncation pattern name.", PatternAccepts));
                return state;
            case FailureFilterState.ModelKey:
                if (ModelPattern().IsMatch(value))
                {
                    return state with { Model = value };
                }

                problems.Add(new ParameterProblem(key, $"model '{Shorten(value)}' is not a model id.", ModelAccepts));
                return state;
            case FailureFilterState.RunIdKey:
                if (Guid.TryParseExact(value, "D", out var runId))
                {
                    return state with { RunId = runId };
                }

                problems.Add(new ParameterProblem(key, $"run_id '{Shorten(value)}' is not a run id.", RunIdAccepts));
                return state;
            case FailureFilterState.FromKey:
                if (ParseBound(value, exclusiveEnd: false) is { } from)
                {
                    return state with { From = from };
                }

                problems.Add(new ParameterProblem(key, $"from '{Shorten(value)}' is not a date or an ISO 8601 date-time.", TimeAccepts));
                return state;
            case FailureFilterState.ToKey:
                if (ParseBound(value, exclusiveEnd: true) is { } to)
                {
                    return state with { To = to };
                }

                problems.Add(new ParameterProblem(key, $"to '{Shorten(value)}' is not a date or an ISO 8601 date-time.", TimeAccepts));
                return state;
            default:
                if (value.Length <= MaxTextLength && !value.Any(char.IsControl))
                {
                    return state with { Query = value.Trim() };
                }

                problems.Add(new ParameterProblem(key, value.Length > MaxTextLength
                    ? $"q is {value.Length.ToString("N0", CultureInfo.InvariantCulture)} characters long."
                    : "q contains a control character.", QueryAccepts));
                return state;
        }
    }

    private static string Accepts(string key) => key switch
    {
        FailureFilterState.FailureTypeKey => FailureTypeAccepts,
        FailureFilterState.StopReasonKey => StopReasonAccepts,
        FailureFilterState.PatternKey => PatternAccepts,
        FailureFilterState.ModelKey => ModelAccepts,
        FailureFilterState.RunIdKey => RunIdAccepts,
        FailureFilterState.FromKey or FailureFilterState.ToKey => TimeAccepts,
        _ => QueryAccepts,
    };

    /// <summary>A UTC date (its midnight) or an ISO 8601 date-time, strictly; null for anything else ("yesterday", "12/02/2026").</summary>
    public static DateTimeOffset? ParseInstant(string value) => ParseBound(value, exclusiveEnd: false);

    /// <summary>A date means its midnight (or, as an exclusive end, the next one); a date-time is taken exactly.</summary>
    private static DateTimeOffset? ParseBound(string value, bool exclusiveEnd)
    {
        // The shape is checked first: DateTimeOffset.TryParse alone would read "12/02/2026" or "Monday" as well.
        if (DatePattern().IsMatch(value))
        {
            if (!DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                return null;
            }

            if (!exclusiveEnd)
            {
                return FailureFilterState.Midnight(day);
            }

            return day == DateOnly.MaxValue ? null : FailureFilterState.Midnight(day.AddDays(1));
        }

        return DateTimePattern().IsMatch(value)
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var moment)
            ? moment
            : null;
    }

    /// <summary>Echoes at most 100 characters of a value back (a 10 KB value makes no better message).</summary>
    internal static string Shorten(string value) => value.Length <= 100 ? value : string.Concat(value.AsSpan(0, 100), "…");

    [GeneratedRegex(@"^[A-Za-z0-9_]{1,64}\z")]
    private static partial Regex StopReasonPattern();

    [GeneratedRegex(@"^[a-z0-9_]{1,64}\z")]
    private static partial Regex PatternPattern();

    [GeneratedRegex(@"^[A-Za-z0-9._:@/\-]{1,200}\z")]
    private static partial Regex ModelPattern();

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}\z")]
    private static partial Regex DatePattern();

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,7})?)?(Z|[+\-][0-9]{2}:?[0-9]{2})?\z")]
    private static partial Regex DateTimePattern();
}
