using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// Ends with a backslash that escapes nothing: the escape sequence was cut in half. An even run
/// (<c>\\</c>, an escaped backslash such as a Windows path) is complete and does not count.
/// </summary>
public sealed class LoneBackslashStrategy : ITruncationStrategy
{
    public string Pattern => "lone_backslash";

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        var text = input.Trimmed;
        if (text.IsEmpty || TextEndings.BackslashRunBefore(text, text.Length) % 2 == 0)
        {
            return null;
        }

        return new TruncationFinding(
            Pattern,
            TextEndings.Describe("Ends with a lone backslash: an escape sequence was cut before its second character", input),
            Confidence.High);
    }
}
