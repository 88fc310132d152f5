using System.Text.RegularExpressions;

namespace BRun.Diagnostics.Benchmarks.Validation;

/// <summary>
/// BASELINE ONLY, not used by the product: the execution plan's <c>detectTruncatedContent</c> ported as
/// written (its regex list, its order, its proper-ending check and its 100-char rule), so the benchmark can
/// show what the strategy detector replaced. Compiled regexes stand in for the JIT-compiled ones of V8.
/// </summary>
public static class PlanRegexBaselineDetector
{
    private static readonly (Regex Pattern, string Name, string Description, string Confidence)[] TruncationPatterns =
    [
        (new Regex("""\\"\s*$""", RegexOptions.Compiled), "escaped_quote", "Ends with escaped quote (incomplete string literal)", "high"),
        (new Regex("""\\\s*$""", RegexOptions.Compiled), "lone_backslash", "Ends with lone backslash (incomplete escape sequence)", "high"),
        (new Regex("""[a-zA-Z]{3,}\s*$""", RegexOptions.Compiled), "mid_word", "Ends mid-word without punctuation", "medium"),
        (new Regex(""",\s*$""", RegexOptions.Compiled), "trailing_comma", "Ends with comma (incomplete list/object)", "medium"),
        (new Regex(""":\s*$""", RegexOptions.Compiled), "trailing_colon", "Ends after property colon (incomplete JSON key-value)", "high"),
        (new Regex("""\(\s*$""", RegexOptions.Compiled), "open_paren", "Ends with unclosed parenthesis", "medium"),
        (new Regex("""\[\s*$""", RegexOptions.Compiled), "open_bracket", "Ends with unclosed bracket", "medium"),
        (new Regex("""\{\s*$""", RegexOptions.Compiled), "open_brace", "Ends with unclosed brace", "medium"),
        (new Regex(""""[^"]{50,}\s*$"""", RegexOptions.Compiled), "long_unclosed_string", "Ends with long unclosed string (>50 chars without closing quote)", "high"),
    ];

    private static readonly Regex ProperEndings = new("""[.!?'")\]}\n]\s*$""", RegexOptions.Compiled);

    public sealed record Result(bool IsTruncated, string? Pattern, string Details, string Confidence);

    public static Result DetectTruncatedContent(string content)
    {
        if (string.IsNullOrWhiteSpace(content))
        {
            return new(false, null, "Empty content", "low");
        }

        var trimmed = content.Trim();
        foreach (var (pattern, name, description, confidence) in TruncationPatterns)
        {
            if (pattern.IsMatch(trimmed))
            {
                return new(true, name, description, confidence);
            }
        }

        if (ProperEndings.IsMatch(trimmed))
        {
            return new(false, null, "Content appears complete (ends with proper punctuation)", "high");
        }

        if (trimmed.Length > 100)
        {
            return new(true, "no_punctuation", "Long content does not end with expected punctuation", "low");
        }

        return new(false, null, "Content appears complete (no truncation patterns detected)", "medium");
    }
}
