using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// A JSON document cut inside a <c>\uXXXX</c> escape. Only the scanner can tell this apart from a word that
/// ends in hex letters, so this strategy applies to JSON input only.
/// </summary>
public sealed class PartialUnicodeEscapeStrategy : ITruncationStrategy
{
    public string Pattern => "partial_unicode_escape";

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        if (input.Json is not { CutPoint: JsonCutPoint.InUnicodeEscape } scan)
        {
            return null;
        }

        return new TruncationFinding(
            Pattern,
            TextEndings.Describe($"Ends inside a \\u escape with {scan.UnicodeDigitsSeen} of its 4 hex digits", input),
            Confidence.High);
    }
}
