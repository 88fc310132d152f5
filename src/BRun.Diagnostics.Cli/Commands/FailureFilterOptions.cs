using System.CommandLine;
using System.Globalization;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// The failure list's filters as command-line options, shared by every command that acts on "the failures matching
/// these filters" (<c>export-reports</c>, <c>run rerun</c>), so they accept and refuse the same values with the same words.
/// </summary>
internal sealed class FailureFilterOptions
{
    private readonly Option<string?> _failureType;
    private readonly Option<string?> _stopReason;
    private readonly Option<string?> _pattern;
    private readonly Option<string?> _model;
    private readonly Option<Guid?> _runId;
    private readonly Option<string?> _from;
    private readonly Option<string?> _to;
    private readonly Option<string?> _query;

    /// <param name="modelOption">The model filter's name: <c>--model</c>, or another where <c>--model</c> means something else.</param>
    public FailureFilterOptions(string modelOption = "--model")
    {
        _failureType = new Option<string?>("--failure-type") { Description = "truncation, parse_error, api_error or validation_error." };
        _failureType.AcceptOnlyFromAmong(FailureTypeNames.Truncation, FailureTypeNames.ParseError, FailureTypeNames.ApiError, FailureTypeNames.ValidationError);
        _stopReason = new Option<string?>("--stop-reason") { Description = $"Exact stop_reason; {FailureStatistics.NoStopReason} for failures without one." };
        _pattern = new Option<string?>("--pattern") { Description = "Truncation pattern, e.g. lone_backslash." };
        _model = new Option<string?>(modelOption) { Description = "Failures of this model, e.g. claude-sonnet-4-5." };
        _runId = CliValues.IdOption("--run-id", "run id", "Only this run's failures.");
        _from = new Option<string?>("--from") { Description = "From this UTC day (yyyy-MM-dd, included) or instant (ISO 8601)." };
        _to = new Option<string?>("--to") { Description = "Up to this UTC day (yyyy-MM-dd, included) or instant (ISO 8601, excluded)." };
        _query = new Option<string?>("--q") { Description = "Text in the truncation details or error message (case-insensitive)." };
    }

    public IEnumerable<Option> All => [_failureType, _stopReason, _pattern, _model, _runId, _from, _to, _query];

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in All)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The filter as typed.</summary>
    /// <exception cref="CliException">A --from or --to that is neither a day nor an instant (exit 2).</exception>
    public FailedGenerationFilter Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var fromValue = ParseBound(parse.GetValue(_from), upper: false);
        var toValue = ParseBound(parse.GetValue(_to), upper: true);
        if (fromValue is { Valid: false } || toValue is { Valid: false })
        {
            throw CliException.Usage("--from and --to take a day (yyyy-MM-dd) or an ISO 8601 instant such as 2026-03-01T12:00:00Z.");
        }

        return new FailedGenerationFilter
        {
            FailureType = parse.GetValue(_failureType) is { } type ? FailureTypeNames.Parse(type) : null,
            StopReason = parse.GetValue(_stopReason),
            TruncationPattern = parse.GetValue(_pattern),
            Model = parse.GetValue(_model),
            RunId = parse.GetValue(_runId),
            From = fromValue?.Value,
            To = toValue?.Value,
            Query = parse.GetValue(_query),
        };
    }

    /// <summary>A day means the whole day (an upper bound then ends at the next midnight); an instant is taken as is.</summary>
    private static (bool Valid, DateTimeOffset? Value)? ParseBound(string? text, bool upper)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return (true, new DateTimeOffset((upper ? day.AddDays(1) : day).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant)
            ? (true, instant)
            : (false, null);
    }
}
