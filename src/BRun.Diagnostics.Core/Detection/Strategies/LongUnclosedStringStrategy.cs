using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// A JSON document cut inside a string that had been open for a while. JSON input only: in prose a quotation
/// mark is not a string delimiter (5'10" or a quote that spans sentences), and telling whether one is open
/// would mean counting quotes over the whole text, which the plan's <c>"[^"]{50,}\s*$</c> gets wrong anyway.
/// </summary>
public sealed class LongUnclosedStringStrategy : ITruncationStrategy
{
    /// <summary>Characters the string must have been open for (the plan's threshold).</summary>
    public const int MinimumLength = 50;

    public string Pattern => "long_unclosed_string";

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        if (input.Json is not { CutPoint: JsonCutPoint.InString or JsonCutPoint.InKey } scan
            || scan.OpenStringLength < MinimumLength)
        {
            return null;
        }

        return new TruncationFinding(
            Pattern,
            TextEndings.Describe($"Ends inside a string that was opened {scan.OpenStringLength} characters earlier and never closed", input),
            Confidence.High);
    }
}
