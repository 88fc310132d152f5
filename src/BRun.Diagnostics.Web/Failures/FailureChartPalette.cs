using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// One fixed colour per failure type and per stop reason, the same on every chart whatever else the chart shows (a
/// chart's palette is otherwise by series position, so a colour would change meaning from chart to chart). A value not
/// listed gets a colour from a spare list chosen by a stable hash of its name, so it too keeps its colour.
/// </summary>
public static class FailureChartPalette
{
    private static readonly Dictionary<string, string> FailureTypeColors = new(StringComparer.Ordinal)
    {
        ["truncation"] = "#D32F2F",
        ["parse_error"] = "#F57C00",
        ["api_error"] = "#455A64",
        ["validation_error"] = "#7B1FA2",
    };

    private static readonly Dictionary<string, string> StopReasonColors = new(StringComparer.Ordinal)
    {
        ["end_turn"] = "#1976D2",
        ["max_tokens"] = "#D32F2F",
        ["refusal"] = "#7B1FA2",
        ["stop_sequence"] = "#00897B",
        ["tool_use"] = "#5D4037",
        ["pause_turn"] = "#FBC02D",
        ["model_context_window_exceeded"] = "#C2185B",
        [FailureStatistics.NoStopReason] = "#9E9E9E",
    };

    private static readonly string[] Spare = ["#0097A7", "#689F38", "#E64A19", "#512DA8", "#AFB42B", "#303F9F", "#5E35B1", "#00796B"];

    /// <summary>Failures and successes in the output-token histogram.</summary>
    public const string Failures = "#E53935";
    public const string Successes = "#43A047";

    public static string ForFailureType(string failureType) => Pick(FailureTypeColors, failureType);

    public static string ForStopReason(string stopReason) => Pick(StopReasonColors, stopReason);

    private static string Pick(Dictionary<string, string> colors, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (colors.TryGetValue(key, out var color))
        {
            return color;
        }

        // FNV-1a: string.GetHashCode is randomised per process, and a colour must not change between visits.
        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return Spare[hash % (uint)Spare.Length];
    }
}
