using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// JSON text that ends with <c>\"</c>: an escaped quote whose string was never closed. Only an odd run of
/// backslashes escapes the quote; <c>\\"</c> is an escaped backslash followed by a closing quote, which is fine.
/// In decoded prose the backslash is a literal character and the quote closes a quotation, so prose is not judged.
/// </summary>
public sealed class EscapedQuoteStrategy : ITruncationStrategy
{
    public string Pattern => "escaped_quote";

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        var text = input.Trimmed;
        if (input.Json is null || text.Length < 2 || text[^1] != '"' || TextEndings.BackslashRunBefore(text, text.Length - 1) % 2 == 0)
        {
            return null;
        }

        return new TruncationFinding(
            Pattern,
            TextEndings.Describe("The JSON text ends with an escaped quote (\\\") that opens a quotation inside a string that was never closed", input),
            Confidence.High);
    }
}
