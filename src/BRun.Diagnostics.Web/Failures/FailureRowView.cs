using System.Globalization;
using System.Text.Json.Serialization;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// One grid row: what the failures table shows, formatted by the service, not the page. The formatted texts are not
/// serialized: a row persisted into the prerendered page carries only its fields, and only what the grid shows (no
/// error message; the details cut to a tooltip's length), since the page's persisted state must fit the circuit's
/// start message (see <see cref="Components.PrerenderStateBudget"/>). The report dialog reads the whole row.
/// </summary>
public sealed record FailureRowView(
    Guid Id,
    DateTimeOffset CreatedAt,
    string FailureType,
    string? StopReason,
    string? TruncationPattern,
    string? TruncationDetails,
    int? OutputTokens,
    int MaxTokens,
    string Model,
    Guid? RunId,
    bool Simulated = false,
    string? Owner = null)
{
    /// <param name="row">The stored summary.</param>
    /// <param name="owner">The owner's display name, for an admin's grid; null otherwise.</param>
    public static FailureRowView From(FailedGenerationSummary row, string? owner = null)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new(row.Id, new DateTimeOffset(DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc)), row.FailureType, row.StopReason,
            row.TruncationPattern, Tooltip(row.TruncationDetails), row.OutputTokens, row.MaxTokens, row.Model, row.RunId, row.Simulated, owner);
    }

    /// <summary>The longest details kept for the pattern cell's tooltip (a stream cut's event count comes first).</summary>
    public const int TooltipLength = 300;

    private static string? Tooltip(string? details)
    {
        if (details is not { Length: > TooltipLength })
        {
            return details;
        }

        // Never half of a surrogate pair (an emoji in a stream cut's content description).
        var keep = char.IsHighSurrogate(details[TooltipLength - 2]) ? TooltipLength - 2 : TooltipLength - 1;
        return string.Concat(details.AsSpan(0, keep), "…");
    }

    /// <summary>output / max, e.g. 0.041; null when the API reported no output tokens.</summary>
    [JsonIgnore]
    public double? Utilisation => OutputTokens is { } output && MaxTokens > 0 ? (double)output / MaxTokens : null;

    [JsonIgnore]
    public string CreatedText => FailureFormat.Time(CreatedAt);

    /// <summary>
    /// "1,003 / 24,576 (4.1%)"; for a stream cut "stream cut after 12 events": its output count is only what
    /// message_start announced (usually 1), not the usage, so a ratio would mislead.
    /// </summary>
    [JsonIgnore]
    public string TokensText => TruncationPattern == StreamCutPattern
        ? FailureFormat.StreamCut(TruncationDetails)
        : FailureFormat.Tokens(OutputTokens, MaxTokens);

    /// <summary>No utilisation bar for a stream cut (see <see cref="TokensText"/>).</summary>
    [JsonIgnore]
    public double? ShownUtilisation => TruncationPattern == StreamCutPattern ? null : Utilisation;

    private const string StreamCutPattern = "stream_cut";

    [JsonIgnore]
    public string RunText => RunId is { } run ? run.ToString("N", CultureInfo.InvariantCulture)[..8] : "–";
}

/// <summary>Display formats of the failures views.</summary>
public static partial class FailureFormat
{
    /// <summary>"stream cut after 12 events", the count read from the validator's details ("... after 12 complete events ...").</summary>
    public static string StreamCut(string? details) =>
        details is not null && StreamCutEvents().Match(details) is { Success: true } match
            ? $"stream cut after {Number(long.Parse(match.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture))} {(match.Groups[1].Value == "1" ? "event" : "events")}"
            : "stream cut";

    [System.Text.RegularExpressions.GeneratedRegex(@"after ([0-9][0-9,]*) complete events?\b", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex StreamCutEvents();

    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Number(long? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "–";

    public static string Percent(double? share) => share is { } s ? s.ToString("0.0%", CultureInfo.InvariantCulture) : "–";

    public static string Tokens(int? output, int max) =>
        $"{Number(output)} / {Number(max)} ({Percent(output is { } o && max > 0 ? (double)o / max : null)})";
}
