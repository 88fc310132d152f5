using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// Decoded prose that ends with a literal backslash, such as a Windows path at the end of a sentence
/// (<c>Save it under C:\Reports\</c>). Its JSON escapes were resolved when the text was parsed, so the backslash
/// is a character that was really written, not half of a cut escape sequence. A finished sentence still ends with
/// punctuation, so the ending is reported, with low confidence and in words that say what was seen.
/// </summary>
public sealed class TrailingBackslashStrategy : ITruncationStrategy
{
    public string Pattern => "trailing_backslash";

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        var text = input.Trimmed;
        if (input.Json is not null || text.IsEmpty || text[^1] != '\\')
        {
            return null;
        }

        var run = TextEndings.BackslashRunBefore(text, text.Length);
        var what = run == 1 ? "a literal backslash character" : $"{run} literal backslash characters";
        return new TruncationFinding(
            Pattern,
            TextEndings.Describe(
                $"The decoded text ends with {what} and no closing punctuation (a character that was written, such as the end of a Windows path; not a cut escape sequence)",
                input),
            Confidence.Low);
    }
}
