using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// JSON text that ends with a backslash escaping nothing: the escape sequence was cut in half. An even run
/// (<c>\\</c>, an escaped backslash such as a Windows path) is complete and does not count.
/// </summary>
/// <remarks>
/// A backslash is an escape only in JSON text. Decoded prose (a turn's content) has had its escapes resolved,
/// so a backslash there is a literal character; <see cref="TrailingBackslashStrategy"/> judges that case.
/// </remarks>
public sealed class LoneBackslashStrategy : ITruncationStrategy
{
    public string Pattern => "lone_backslash";

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        var text = input.Trimmed;
        if (input.Json is null || text.IsEmpty || TextEndings.BackslashRunBefore(text, text.Length) % 2 == 0)
        {
            return null;
        }

        return new TruncationFinding(
            Pattern,
            TextEndings.Describe("The JSON text ends with a lone backslash: an escape sequence was cut before its second character", input),
            Confidence.High);
    }
}
